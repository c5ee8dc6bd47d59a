import { rm } from 'node:fs/promises';
import type { DriverResource, TunnelDriver } from '../connect/driver.js';
import { stopLeftoverProcess } from '../os/process.js';
import type { SessionFailure } from './session/failures.js';
import { phaseSeconds, type SessionRecord, type SessionTrigger } from './session/history.js';
import type { JournalEntry, UnfinishedSession } from './session/journal.js';

export interface RecoveryDeps {
  readonly now: () => Date;
  /** The driver that can clean up after a session of `driverName`, if this host has it. */
  readonly driverFor: (driverName: string) => Promise<TunnelDriver | undefined>;
  readonly saveRecord: (record: SessionRecord) => Promise<void>;
  /** Deletes the journal once its record is saved. */
  readonly discardJournal: (session: UnfinishedSession) => Promise<void>;
}

/**
 * Cleans up after a session the agent never finished (it was killed, or the machine lost power):
 * stops the backup tool it left running, has the driver remove the tunnel and every resource the
 * journal recorded, deletes the scratch dir that held a secret, and records the session as
 * `interrupted`. Order matters: the process first (it may still use the tunnel and the secret).
 */
export async function recoverSession(session: UnfinishedSession, deps: RecoveryDeps): Promise<SessionRecord> {
  const notes: SessionFailure[] = [];
  const pending = session.pendingEffects;

  for (const effect of pending) {
    if (effect.effect !== 'process') continue;
    const outcome = await stopLeftoverProcess(effect.pid, effect.identity);
    if (outcome === 'not-ours') {
      notes.push({ code: 'recovery.pid-reused', message: `process ${effect.pid} is no longer the backup tool this session started; left alone`, hint: 'Nothing to do.' });
    }
  }

  const tunnels = new Map<string, { driver: string; profile: string; tunnelUp: boolean; resources: DriverResource[] }>();
  for (const effect of pending) {
    if (effect.effect !== 'tunnel-up' && effect.effect !== 'driver-resource') continue;
    const key = `${effect.driver}\u0000${effect.profile}`;
    const entry = tunnels.get(key) ?? { driver: effect.driver, profile: effect.profile, tunnelUp: false, resources: [] };
    if (effect.effect === 'tunnel-up') entry.tunnelUp = true;
    else entry.resources.push({ kind: effect.resourceKind, id: effect.id });
    tunnels.set(key, entry);
  }
  for (const leftover of tunnels.values()) {
    const driver = await deps.driverFor(leftover.driver).catch(() => undefined);
    if (driver?.cleanUp === undefined) {
      notes.push({
        code: 'recovery.driver-unavailable',
        message: `the ${leftover.driver} driver is not available to remove the ${leftover.profile} tunnel and ${leftover.resources.length} resource(s) it left`,
        hint: `Disconnect the VPN "${leftover.profile}" by hand and check its routes.`,
      });
      continue;
    }
    try {
      await driver.cleanUp(leftover, AbortSignal.timeout(60_000));
    } catch (error) {
      notes.push({ code: 'recovery.tunnel', message: `could not remove what the ${leftover.profile} tunnel left: ${error instanceof Error ? error.message : String(error)}`, hint: `Disconnect the VPN "${leftover.profile}" by hand and check its routes.` });
    }
  }

  for (const effect of pending) {
    if (effect.effect !== 'scratch-dir') continue;
    try {
      await rm(effect.path, { recursive: true, force: true });
    } catch (error) {
      notes.push({ code: 'recovery.scratch-dir', message: `could not remove ${effect.path}: ${String(error)}`, hint: 'Remove the folder by hand; it may hold a secret.' });
    }
  }

  const record = interruptedRecord(session, deps.now(), notes);
  await deps.saveRecord(record);
  await deps.discardJournal(session);
  return record;
}

function interruptedRecord(session: UnfinishedSession, now: Date, notes: readonly SessionFailure[]): SessionRecord {
  const start = session.entries.find((e): e is JournalEntry & { kind: 'start' } => e.kind === 'start');
  const states = session.entries.flatMap((e) => (e.kind === 'state' ? [{ state: e.state, at: e.at }] : []));
  const lastState = states.at(-1)?.state ?? 'preflight';
  const at = now.toISOString();
  const allStates = [...states, { state: 'interrupted' as const, at }];
  return {
    id: session.sessionId,
    job: start?.job ?? 'unknown',
    trigger: (start?.trigger ?? 'api') as SessionTrigger,
    startedAt: start?.at ?? at,
    endedAt: at,
    states: allStates,
    end: 'interrupted',
    phaseSeconds: phaseSeconds(allStates),
    failure: {
      code: 'session.interrupted',
      message: `the agent stopped while this session was ${lastState}; what it left behind was cleaned up`,
      hint: 'Run the job again. If the agent keeps stopping, check the system log for crashes or power loss.',
    },
    notes,
  };
}
