import { drainRun, type BackupEngine, type BackupEvent, type BackupRequest, type BackupResult, type BackupSummary } from '../../backup/engine.js';
import type { ResourceJournal, TunnelDriver, TunnelProfile } from '../../connect/driver.js';
import { repositoryEndpoint, type RepositoryEndpoint } from '../../backup/repository.js';
import { backupFailure, toSessionFailure, type SessionFailure } from './failures.js';
import { phaseSeconds, type SessionRecord, type SessionTrigger } from './history.js';
import type { Journal, SessionEffect } from './journal.js';
import { allowedNext, cancelledBy, isEndState, type EndState, type SessionState } from './states.js';
import { connectFirstGateway, gatewayCandidates } from './failover.js';
import { supervise, type Supervision } from './supervise.js';
import type { ReconnectInfo, SupervisorSettings } from './tunnel-supervisor.js';
import type { PathChoice } from '../path-choice.js';

/** What one run of a job needs to know, with secrets still as references behind `resolvePassword`. */
export interface SessionPlan {
  readonly job: string;
  readonly trigger: SessionTrigger;
  /** The engine request, minus the secret and the scratch dir the session provides. */
  readonly backup: Omit<BackupRequest, 'password' | 'scratchDir'>;
  /**
   * Where the backup goes on the network, which verifying proves reachable: an rsync job's SSH
   * server. Default: parsed from `backup.repository` (restic's syntax).
   */
  readonly endpoint?: RepositoryEndpoint;
  /** Keepalive, stall and reconnect settings of the tunnel supervisor (defaults: tunnel-supervisor.ts). */
  readonly supervision?: Partial<SupervisorSettings>;
  /**
   * Chooses the driver and resolves the profile's secrets: part of preflight, so it can fail there.
   * `path` says why a job that may go either way (`tunnel: whenNeeded`) went the way it did.
   */
  tunnel(signal: AbortSignal): Promise<{ readonly driver: TunnelDriver; readonly profile: TunnelProfile; readonly path?: PathChoice }>;
}

/**
 * What runs around the session besides tunnel and engine (src/agent/around-run): keep-awake and
 * the job's hooks. `begin` runs in preflight; a pre hook that fails throws and fails the run.
 * `end` runs in tearing-down when `begin` was called, or when the run failed before it (so the
 * on-failure hooks hear about a refused plan too), and returns problems to note.
 */
export interface SessionSurroundings {
  begin(run: {
    readonly sessionId: string;
    readonly signal: AbortSignal;
    /** A process was started: journal it, so a crash stops it. */
    readonly trackProcess: (pid: number) => void;
    /** It exited on its own: nothing is left for a crash to clean up. */
    readonly processEnded: (pid: number) => void;
  }): Promise<void>;
  end(run: { readonly sessionId: string; readonly result: 'success' | 'warning' | 'failed' | 'cancelled' }): Promise<readonly SessionFailure[]>;
}

/** Every side effect the session needs, injected so tests drive it with fakes and a fixed clock. */
export interface SessionPorts {
  now(): Date;
  newSessionId(): string;
  openJournal(sessionId: string): Promise<Journal>;
  resolvePassword(signal: AbortSignal): Promise<string>;
  /** Finds the engine binary and checks its version. Throws a user-facing error if unusable. */
  prepareEngine(signal: AbortSignal): Promise<BackupEngine>;
  /** Proves the backup server can be reached (through the tunnel, if any). Throws a user-facing error. */
  checkReachable(endpoint: RepositoryEndpoint, signal: AbortSignal): Promise<void>;
  scratchDirFor(sessionId: string): string;
  /** Identifies a process beyond its pid (src/os/process.ts), for the journal. */
  processIdentity?(pid: number): Promise<string | undefined>;
  /** Creates the scratch dir with mode 0700. */
  makePrivateDir(path: string): Promise<void>;
  removeDir(path: string): Promise<void>;
  saveHistory(record: SessionRecord): Promise<void>;
  /** Teardown gets its own deadline: it must run even when the session's signal has fired. */
  readonly teardownTimeoutMs?: number;
  /** The supervisor's timers and jitter; real timers and Math.random by default. */
  sleep?(ms: number, signal: AbortSignal): Promise<void>;
  random?(): number;
  /**
   * Remembers that a run stopped while the repository was unreachable left a stale lock, so the
   * job's next session removes it once it has a good connection (restic can't while the tunnel is down).
   */
  readonly staleLocks?: { pending(job: string): Promise<boolean>; set(job: string, pending: boolean): Promise<void> };
  /** Session log lines (the supervisor's decisions). */
  log?(level: 'info' | 'warn', message: string, fields?: Readonly<Record<string, unknown>>): void;
  readonly surroundings?: SessionSurroundings;
}

export type SessionEvent =
  | { readonly type: 'state'; readonly sessionId: string; readonly state: SessionState; readonly at: string }
  | { readonly type: 'backup'; readonly sessionId: string; readonly event: BackupEvent }
  /** The tunnel is being repaired under the running engine: which attempt, and when it starts. */
  | ({ readonly type: 'reconnecting'; readonly sessionId: string } & ReconnectInfo)
  | { readonly type: 'end'; readonly record: SessionRecord };

/** The outcome of the steps before teardown. */
type Outcome =
  | { readonly kind: 'success'; readonly summary: BackupSummary }
  | { readonly kind: 'warning'; readonly summary: BackupSummary; readonly failure: SessionFailure }
  | { readonly kind: 'failed'; readonly failure: SessionFailure; readonly summary?: BackupSummary }
  | { readonly kind: 'cancelled' };

/**
 * Runs one session: preflight → connecting → verifying → backing-up → tearing-down → end.
 * Each transition is journaled before the step acts; teardown always runs and undoes only what this
 * session did. Never throws for a backup problem: the returned record says what happened.
 */
export async function runSession(
  plan: SessionPlan,
  ports: SessionPorts,
  signal: AbortSignal,
  onEvent: (event: SessionEvent) => void = () => undefined,
): Promise<SessionRecord> {
  const sessionId = ports.newSessionId();
  const startedAt = ports.now().toISOString();
  const states: { state: SessionState; at: string }[] = [];
  const notes: SessionFailure[] = [];
  const journal = await ports.openJournal(sessionId);
  await journal.append({ kind: 'start', sessionId, job: plan.job, trigger: plan.trigger, at: startedAt });

  let current: SessionState | undefined;
  const enter = async (state: SessionState): Promise<void> => {
    if (current !== undefined && !allowedNext[current].includes(state)) {
      throw new Error(`session ${sessionId}: illegal transition ${current} → ${state}`);
    }
    const at = ports.now().toISOString();
    await journal.append({ kind: 'state', state, at });
    current = state;
    states.push({ state, at });
    onEvent({ type: 'state', sessionId, state, at });
  };
  const recordEffect = (effect: SessionEffect) => journal.append({ kind: 'effect', at: ports.now().toISOString(), ...effect });
  const recordUndone = (effect: SessionEffect) => journal.append({ kind: 'undone', at: ports.now().toISOString(), ...effect });

  let tunnel: { readonly driver: TunnelDriver; readonly profile: TunnelProfile } | undefined;
  // Drivers journal each resource before creating it and mark it released after removing it.
  const resourceEffect = (r: { kind: string; id: string }): SessionEffect => ({
    effect: 'driver-resource',
    driver: tunnel?.driver.name ?? 'unknown',
    profile: tunnel?.profile.name ?? 'unknown',
    resourceKind: r.kind,
    id: r.id,
  });
  const resources: ResourceJournal = {
    acquire: (r) => recordEffect(resourceEffect(r)),
    release: (r) => recordUndone(resourceEffect(r)),
  };
  let tunnelEffect: SessionEffect | undefined;
  let scratchEffect: (SessionEffect & { effect: 'scratch-dir' }) | undefined;
  let outcome: Outcome;
  let tunnelReport: { readonly losses: SessionRecord['tunnelLosses']; readonly stalls: number } | undefined;
  let usedEngine: BackupEngine | undefined;
  /** The gateway that carried the session last (after any failover). */
  let servedBy: string | undefined;
  let path: PathChoice | undefined;
  // Processes the surroundings start (keep-awake), journaled like the engine's so a crash stops them.
  const surroundingProcesses: SessionEffect[] = [];
  let surroundingJournaling: Promise<void> = Promise.resolve();
  let surroundingsBegun = false;
  try {
    await enter('preflight');
    const planned = await plan.tunnel(signal);
    tunnel = { driver: planned.driver, profile: planned.profile };
    path = planned.path;
    const { driver } = tunnel;
    const password = await ports.resolvePassword(signal);
    const engine = await ports.prepareEngine(signal);
    usedEngine = engine;
    signal.throwIfAborted();
    if (ports.surroundings !== undefined) {
      surroundingsBegun = true;
      await ports.surroundings.begin({
        sessionId,
        signal,
        trackProcess: (pid) => {
          surroundingJournaling = surroundingJournaling.then(async () => {
            const identity = await ports.processIdentity?.(pid);
            const effect: SessionEffect = identity === undefined ? { effect: 'process', pid } : { effect: 'process', pid, identity };
            surroundingProcesses.push(effect);
            await recordEffect(effect);
          });
        },
        processEnded: (pid) => {
          surroundingJournaling = surroundingJournaling.then(async () => {
            const index = surroundingProcesses.findIndex((effect) => effect.effect === 'process' && effect.pid === pid);
            const [effect] = index < 0 ? [] : surroundingProcesses.splice(index, 1);
            if (effect !== undefined) await recordUndone(effect);
          });
        },
      });
      signal.throwIfAborted();
    }

    await enter('connecting');
    // Journaled before connecting: a crash while the tunnel comes up must still tear it down. If
    // the tunnel turns out to be the user's own, the entry is marked undone at once.
    tunnelEffect = { effect: 'tunnel-up', driver: driver.name, profile: tunnel.profile.name };
    if (driver.name !== 'direct') await recordEffect(tunnelEffect);
    // Several gateways: the first that connects serves (failover.ts); teardown uses the same one.
    const plannedProfile = tunnel.profile;
    const up = await connectFirstGateway(driver, plannedProfile, signal, resources, (level, message) => { ports.log?.(level, message); });
    const { connected, profile } = up;
    tunnel = { driver, profile };
    if (profile.gateways.length > 0 && driver.name !== 'direct') servedBy = profile.gateways[0];
    if (!connected.broughtUp) {
      if (driver.name !== 'direct') await recordUndone(tunnelEffect);
      tunnelEffect = undefined;
    }
    signal.throwIfAborted();

    await enter('verifying');
    const status = await driver.status(profile, signal);
    if (status.state !== 'up') {
      throw Object.assign(new Error(`the ${profile.name} tunnel is ${status.state} right after connecting`), {
        code: 'verify.tunnel-down',
        hint: 'The VPN dropped as soon as it came up. Check the gateway and the credentials of the profile.',
      });
    }
    const endpoint = plan.endpoint ?? repositoryEndpoint(plan.backup.repository);
    await driver.verify?.(profile, endpoint.kind === 'tcp' ? endpoint.host : undefined, signal, resources);
    await ports.checkReachable(endpoint, signal);
    signal.throwIfAborted();

    await enter('backing-up');
    scratchEffect = { effect: 'scratch-dir', path: ports.scratchDirFor(sessionId) };
    await recordEffect(scratchEffect);
    await ports.makePrivateDir(scratchEffect.path);
    // Verified just now: a good connection, so the lock a lost run left can go.
    if (engine.removeStaleLocks !== undefined && (await ports.staleLocks?.pending(plan.job)) === true) {
      const removed = await engine.removeStaleLocks({ repository: plan.backup.repository, password, scratchDir: scratchEffect.path }, signal);
      ports.log?.(removed ? 'info' : 'warn', removed ? 'removed the stale lock the last (lost) run left' : 'could not remove the stale lock the last run left; will try again next run');
      if (removed) await ports.staleLocks?.set(plan.job, false);
    }
    // Each process the engine starts is journaled as soon as it exists, and marked done when the
    // engine returns (it has exited by then): a crashed agent's recovery stops what was left.
    const processes: SessionEffect[] = [];
    // The engine gets its own stop, so the supervisor can end it without cancelling the session.
    const engineStop = new AbortController();
    const onSessionAbort = () => { engineStop.abort(signal.reason); };
    signal.addEventListener('abort', onSessionAbort, { once: true });
    const supervisor: Supervision | undefined = driver.name === 'direct' ? undefined : supervise({
      settings: plan.supervision ?? {},
      ports,
      driver,
      profile,
      gatewayIndex: up.index,
      candidates: gatewayCandidates(plannedProfile),
      endpoint,
      broughtUp: connected.broughtUp,
      resources,
      enter,
      step: (step) => journal.append({ kind: 'step', state: 'reconnecting', step, at: ports.now().toISOString() }),
      onReconnecting: (info) => { onEvent({ type: 'reconnecting', sessionId, ...info }); },
      stopEngine: () => { engineStop.abort(new Error('tunnel lost')); },
    });
    let journaling: Promise<void> = Promise.resolve();
    const onProcessStarted = (pid: number) => {
      journaling = journaling.then(async () => {
        const identity = await ports.processIdentity?.(pid);
        const effect: SessionEffect = identity === undefined ? { effect: 'process', pid } : { effect: 'process', pid, identity };
        processes.push(effect);
        await recordEffect(effect);
      });
    };
    try {
      supervisor?.start();
      const result = await drainRun(
        engine.run({ ...plan.backup, password, scratchDir: scratchEffect.path, onProcessStarted }, engineStop.signal),
        (event) => {
          if (event.type === 'progress') supervisor?.progress(event.bytesDone, event.filesDone, event.bytesTotal);
          onEvent({ type: 'backup', sessionId, event });
        },
      );
      const supervised = await supervisor?.stop(result);
      if (supervised !== undefined) tunnelReport = supervised;
      if (supervisor !== undefined) {
        tunnel = { driver, profile: supervisor.profile() };
        servedBy = supervisor.profile().gateways[0] ?? servedBy;
      }
      // A tunnel that never came back is the cause, whatever the stopped engine reported.
      outcome = supervised?.failure !== undefined && !signal.aborted ? { kind: 'failed', failure: supervised.failure } : outcomeOf(plan.job, result);
    } finally {
      signal.removeEventListener('abort', onSessionAbort);
      await supervisor?.stop();
      await journaling;
      for (const effect of processes) await recordUndone(effect);
    }
  } catch (error) {
    outcome = signal.aborted ? { kind: 'cancelled' } : { kind: 'failed', failure: toSessionFailure(error) };
  }

  // restic stopped with the repository unreachable could not remove its lock (host-lab.md §c).
  if (outcome.kind === 'failed' && outcome.failure.code === 'tunnel.lost' && usedEngine?.removeStaleLocks !== undefined) {
    await ports.staleLocks?.set(plan.job, true).catch((error: unknown) => { notes.push(toSessionFailure(error)); });
  }

  // Teardown: always, and only what this session did. Failures here are noted, never thrown.
  try {
    await enter('tearing-down');
  } catch (error) {
    notes.push(toSessionFailure(error));
  }
  if (scratchEffect !== undefined) {
    try {
      await ports.removeDir(scratchEffect.path);
      await recordUndone(scratchEffect);
    } catch (error) {
      notes.push({ code: 'teardown.scratch-dir', message: `could not remove ${scratchEffect.path}: ${String(error)}`, hint: 'Remove the folder by hand; it may hold a secret.' });
    }
  }
  if (tunnelEffect !== undefined && tunnel !== undefined) {
    const { driver, profile } = tunnel;
    try {
      await driver.disconnect(profile, AbortSignal.timeout(ports.teardownTimeoutMs ?? 60_000), resources);
      if (driver.name !== 'direct') await recordUndone(tunnelEffect);
    } catch (error) {
      const failure = toSessionFailure(error);
      notes.push({ code: 'teardown.tunnel', message: `the ${profile.name} tunnel could not be disconnected: ${failure.message}`, hint: failure.hint });
    }
  }

  if (ports.surroundings !== undefined && (surroundingsBegun || outcome.kind === 'failed')) {
    try {
      notes.push(...(await ports.surroundings.end({ sessionId, result: outcome.kind })));
    } catch (error) {
      notes.push(toSessionFailure(error));
    }
    await surroundingJournaling.catch((error: unknown) => { notes.push(toSessionFailure(error)); });
    for (const effect of surroundingProcesses) await recordUndone(effect).catch((error: unknown) => { notes.push(toSessionFailure(error)); });
  }

  const end: EndState = outcome.kind === 'cancelled' ? 'cancelled' : outcome.kind === 'failed' ? 'failed' : 'done';
  try {
    await enter(end);
  } catch (error) {
    notes.push(toSessionFailure(error));
    states.push({ state: end, at: ports.now().toISOString() });
  }
  const record = buildRecord({ sessionId, plan, startedAt, endedAt: ports.now().toISOString(), states, notes, outcome, end, signal, tunnelReport, servedBy, path });
  await ports.saveHistory(record);
  await journal.discard();
  onEvent({ type: 'end', record });
  return record;
}

function outcomeOf(job: string, result: BackupResult): Outcome {
  switch (result.outcome) {
    case 'success':
      return { kind: 'success', summary: result.summary };
    case 'warning':
      return { kind: 'warning', summary: result.summary, failure: backupFailure(job, result.failure) };
    case 'cancelled':
      return { kind: 'cancelled' };
    case 'failed':
      return result.summary === undefined
        ? { kind: 'failed', failure: backupFailure(job, result.failure) }
        : { kind: 'failed', failure: backupFailure(job, result.failure), summary: result.summary };
  }
}

function buildRecord(input: {
  sessionId: string;
  plan: SessionPlan;
  startedAt: string;
  endedAt: string;
  states: readonly { state: SessionState; at: string }[];
  notes: readonly SessionFailure[];
  outcome: Outcome;
  end: EndState;
  signal: AbortSignal;
  tunnelReport: { readonly losses: SessionRecord['tunnelLosses']; readonly stalls: number } | undefined;
  servedBy: string | undefined;
  path: PathChoice | undefined;
}): SessionRecord {
  const { outcome } = input;
  const states = input.states.filter((s) => !isEndState(s.state) || s.state === input.end);
  const base = {
    id: input.sessionId,
    job: input.plan.job,
    trigger: input.plan.trigger,
    startedAt: input.startedAt,
    endedAt: input.endedAt,
    states,
    end: input.end,
    notes: input.notes,
    phaseSeconds: phaseSeconds(states),
    ...(input.servedBy === undefined ? {} : { gateway: input.servedBy }),
    ...(input.path === undefined ? {} : { path: input.path }),
    ...(input.tunnelReport?.losses === undefined || input.tunnelReport.losses.length === 0 ? {} : { tunnelLosses: input.tunnelReport.losses }),
    ...(input.tunnelReport === undefined || input.tunnelReport.stalls === 0 ? {} : { stalls: input.tunnelReport.stalls }),
  };
  switch (outcome.kind) {
    case 'success':
      return { ...base, result: input.notes.length > 0 ? 'warning' : 'success', summary: outcome.summary };
    case 'warning':
      return { ...base, result: 'warning', summary: outcome.summary, failure: outcome.failure };
    case 'failed':
      return outcome.summary === undefined ? { ...base, failure: outcome.failure } : { ...base, failure: outcome.failure, summary: outcome.summary };
    case 'cancelled':
      return { ...base, cancelledBy: cancelledBy(input.signal) };
  }
}
