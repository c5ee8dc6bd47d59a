import { describe, expect, it } from 'vitest';
import type { BackupEngine, BackupEvent, BackupRequest, BackupResult } from '../../../src/backup/engine.js';
import type { ConnectOutcome, TunnelDriver, TunnelProfile, TunnelState } from '../../../src/connect/driver.js';
import type { SessionRecord } from '../../../src/agent/session/history.js';
import type { Journal, JournalEntry } from '../../../src/agent/session/journal.js';
import { SessionCancel } from '../../../src/agent/session/states.js';
import { runSession, type SessionEvent, type SessionPlan, type SessionPorts } from '../../../src/agent/session/session.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const profile: TunnelProfile = { name: 'office', type: 'ikev2', gateways: ['vpn.example.com'], routes: ['10.99.0.0/24'], fullTunnel: false };

/** A tunnel that goes down when the test says so and comes back on the next reconnect (if allowed). */
class FlakyDriver implements TunnelDriver {
  readonly name = 'linux-swan' as const;
  state: TunnelState = 'up';
  repairable = true;
  calls: string[] = [];
  ensureProfile() { return Promise.resolve('unchanged' as const); }
  connect(): Promise<ConnectOutcome> {
    this.calls.push('connect');
    return Promise.resolve({ broughtUp: true, status: { state: 'up', interfaceName: 'ipsec0' } });
  }
  constructor(private readonly clock: FakeClock) {}
  /** Takes 2 s, as restarting charon and initiating does. */
  async reconnect(_profile: TunnelProfile, signal: AbortSignal): Promise<ConnectOutcome> {
    this.calls.push('reconnect');
    await this.clock.sleep(2_000, signal);
    if (!this.repairable) throw new Error('no answer from the gateway');
    this.state = 'up';
    return { broughtUp: true, status: { state: 'up', interfaceName: 'ipsec0' } };
  }
  status() { return Promise.resolve({ state: this.state }); }
  verify() { this.calls.push('verify'); return Promise.resolve(); }
  disconnect() { this.calls.push('disconnect'); return Promise.resolve(); }
}

const progress = (bytesDone: number, elapsedSeconds: number): BackupEvent => ({
  type: 'progress', fraction: bytesDone / 100_000, bytesDone, bytesTotal: 100_000, filesDone: 0, filesTotal: 10, elapsedSeconds, errorCount: 0, currentFiles: [],
});

/**
 * restic as the lab saw it: a status line per second, bytes frozen while the tunnel is down, carrying
 * on when it returns; SIGINT (the abort) ends it as cancelled.
 */
function patientEngine(clock: FakeClock, driver: FlakyDriver, bytesToSend: number, dropAt: readonly number[], unlocks: string[] = []): BackupEngine {
  return {
    name: 'restic',
    removeStaleLocks: (request) => { unlocks.push(request.repository); return Promise.resolve(true); },
    async *run(_request: BackupRequest, signal: AbortSignal): AsyncGenerator<BackupEvent, BackupResult, void> {
      let bytes = 0;
      let second = 0;
      while (bytes < bytesToSend) {
        try {
          await clock.sleep(1_000, signal);
        } catch {
          return { outcome: 'cancelled', failure: { class: 'cancelled', message: 'The backup was cancelled.', exitCode: 130, stderrTail: '' } };
        }
        second++;
        if (dropAt.includes(second)) driver.state = 'down';
        if (driver.state === 'up') bytes += 1_000;
        yield progress(bytes, second);
      }
      return { outcome: 'success', summary: { snapshotId: 'feedbeef', filesNew: 10, filesChanged: 0, filesUnmodified: 0, bytesAdded: bytes, bytesProcessed: bytes, filesProcessed: 10, durationSeconds: second } };
    },
  };
}

function setup(options: { drops: readonly number[]; repairable?: boolean; bytes?: number; deadlineMs?: number; maxAttempts?: number; onEvent?: (event: SessionEvent, session: AbortController) => void; staleLocks?: Set<string> }) {
  const staleLocks = options.staleLocks ?? new Set<string>();
  const unlocks: string[] = [];
  const clock = new FakeClock();
  const driver = new FlakyDriver(clock);
  driver.repairable = options.repairable ?? true;
  const entries: JournalEntry[] = [];
  const journal: Journal = { append: (entry) => { entries.push(entry); return Promise.resolve(); }, discard: () => Promise.resolve() };
  const history: SessionRecord[] = [];
  const ports: SessionPorts = {
    now: clock.date,
    newSessionId: () => 'sess-r',
    openJournal: () => Promise.resolve(journal),
    resolvePassword: () => Promise.resolve('pw'),
    prepareEngine: () => Promise.resolve(patientEngine(clock, driver, options.bytes ?? 60_000, options.drops, unlocks)),
    staleLocks: {
      pending: (job) => Promise.resolve(staleLocks.has(job)),
      set: (job, pending) => { if (pending) staleLocks.add(job); else staleLocks.delete(job); return Promise.resolve(); },
    },
    checkReachable: () => (driver.state === 'up' ? Promise.resolve() : Promise.reject(new Error('unreachable'))),
    scratchDirFor: (id) => `/tmp/never/${id}`,
    makePrivateDir: () => Promise.resolve(),
    removeDir: () => Promise.resolve(),
    saveHistory: (record) => { history.push(record); return Promise.resolve(); },
    sleep: clock.sleep,
    random: () => 0.5,
  };
  const plan: SessionPlan = {
    job: 'nightly',
    trigger: 'cli',
    backup: { jobName: 'nightly', repository: 'rest:http://10.99.0.1:8000/office', sources: ['/data'], excludes: [], streams: 4 },
    supervision: { keepaliveMs: 5_000, stallIntervals: 4, maxAttempts: options.maxAttempts ?? 4, deadlineMs: options.deadlineMs ?? 60_000, backoffBaseMs: 1_000, backoffMaxMs: 4_000 },
    tunnel: () => Promise.resolve({ driver, profile }),
  };
  const events: SessionEvent[] = [];
  const controller = new AbortController();
  const run = () => clock.run(runSession(plan, ports, controller.signal, (e) => { events.push(e); options.onEvent?.(e, controller); }));
  return { clock, driver, entries, history, events, run, staleLocks, unlocks };
}

const states = (record: SessionRecord) => record.states.map((s) => s.state);

describe('runSession with a tunnel that drops', () => {
  it('repairs two drops underneath the running engine and ends done', async () => {
    const { driver, entries, events, run } = setup({ drops: [12, 33] });
    const record = await run();
    expect(states(record)).toEqual([
      'preflight', 'connecting', 'verifying',
      'backing-up', 'reconnecting', 'backing-up', 'reconnecting', 'backing-up',
      'tearing-down', 'done',
    ]);
    expect(record.result).toBe('success');
    expect(driver.calls).toEqual(['connect', 'verify', 'reconnect', 'verify', 'reconnect', 'verify', 'disconnect']);
    // The re-verification is a step inside reconnecting, in the journal.
    const steps = entries.flatMap((e) => (e.kind === 'step' ? [`${e.state}:${e.step}`] : []));
    expect(steps).toEqual([
      'reconnecting:connecting', 'reconnecting:verifying', 'reconnecting:waiting-for-bytes',
      'reconnecting:connecting', 'reconnecting:verifying', 'reconnecting:waiting-for-bytes',
    ]);
    expect(record.tunnelLosses).toMatchObject([{ cause: 'down', attempts: 1 }, { cause: 'down', attempts: 1 }]);
    expect(events.filter((e) => e.type === 'reconnecting')).toMatchObject([{ attempt: 1, maxAttempts: 4 }, { attempt: 1, maxAttempts: 4 }]);
    // Each repair took the driver's 2 s; the engine's status line of that same second already moved.
    expect(record.phaseSeconds?.reconnecting).toBe(4);
  });

  it('a tunnel that never returns: the engine is stopped at the deadline, the session fails tunnel.lost', async () => {
    const { clock, driver, history, run } = setup({ drops: [12], repairable: false, bytes: 10_000_000 });
    const start = clock.now();
    const record = await run();
    expect(states(record)).toEqual(['preflight', 'connecting', 'verifying', 'backing-up', 'reconnecting', 'tearing-down', 'failed']);
    expect(record.failure?.code).toBe('tunnel.lost');
    expect(record.failure?.hint).toContain('vpn.example.com');
    expect(record.tunnelLosses).toMatchObject([{ cause: 'down', gaveUp: 'attempts', attempts: 4 }]);
    expect(driver.calls.at(-1)).toBe('disconnect');
    expect(history).toEqual([record]);
    // Detected at the 15 s poll; 4 attempts with backoff ≤ 1+2+4 s: well inside the 60 s deadline.
    expect((clock.now() - start) / 1000).toBeLessThan(15 + 60);
  });

  it('the deadline ends the repair when attempts are left', async () => {
    const { clock, run } = setup({ drops: [12], repairable: false, bytes: 10_000_000, deadlineMs: 20_000, maxAttempts: 100 });
    const start = clock.now();
    const record = await run();
    expect(record.failure?.code).toBe('tunnel.lost');
    expect(record.failure?.message).toContain('within 20 s');
    expect(record.tunnelLosses).toMatchObject([{ gaveUp: 'deadline' }]);
    // Detected at the 15 s poll, given up at 35 s: the engine stops right there (the attempt in flight is abandoned).
    expect((clock.now() - start) / 1000).toBe(35);
  });

  it('cancelled by the user while reconnecting: the engine and the repair stop, the session is cancelled', async () => {
    const { driver, run } = setup({
      drops: [12], repairable: false, bytes: 10_000_000, maxAttempts: 100,
      onEvent: (e, session) => { if (e.type === 'reconnecting' && e.attempt === 2) session.abort(new SessionCancel('user')); },
    });
    const record = await run();
    expect(states(record)).toEqual(['preflight', 'connecting', 'verifying', 'backing-up', 'reconnecting', 'tearing-down', 'cancelled']);
    expect(record.cancelledBy).toBe('user');
    expect(record.failure).toBeUndefined();
    expect(driver.calls.at(-1)).toBe('disconnect');
  });

  it('after tunnel.lost the next session removes the stale lock once it is connected, and only then', async () => {
    const lost = setup({ drops: [12], repairable: false, bytes: 10_000_000 });
    expect((await lost.run()).failure?.code).toBe('tunnel.lost');
    expect(lost.unlocks).toEqual([]);
    expect([...lost.staleLocks]).toEqual(['nightly']);

    const next = setup({ drops: [], staleLocks: lost.staleLocks });
    expect((await next.run()).result).toBe('success');
    expect(next.unlocks).toEqual(['rest:http://10.99.0.1:8000/office']);
    expect([...next.staleLocks]).toEqual([]);

    const after = setup({ drops: [], staleLocks: next.staleLocks });
    await after.run();
    expect(after.unlocks).toEqual([]);
  });
});
