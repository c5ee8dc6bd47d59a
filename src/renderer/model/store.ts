/**
 * The UI's view of the agent, built from the event stream alone (STYLE.md point 2): the first
 * event is a full snapshot, then partial updates. Per live session it also keeps what the Status
 * page charts — throughput samples and tunnel/phase markers — and a stable-only ETA. Pure and
 * DOM-free: `reduce` is tested with plain events; `connectEvents` drives it with reconnects.
 */
import type { AgentClient } from '../../api/client.js';
import type { AgentEvent, LiveSession, LogLine, SessionRecord, StatusResponse } from '../../api/types.js';
import { EtaEstimator } from './eta.js';

export const MAX_LOG_LINES = 1000;
export const MAX_SAMPLES = 600;

export interface ThroughputSample {
  /** Milliseconds since the epoch, when the UI received it. */
  readonly at: number;
  readonly bytesDone: number;
  readonly bytesPerSecond?: number;
}

/** A moment worth marking on the throughput chart. */
export interface SessionMarker {
  readonly at: number;
  readonly kind: 'connect' | 'drop' | 'reconnect';
  readonly label: string;
}

export interface SessionView {
  readonly session: LiveSession;
  readonly samples: readonly ThroughputSample[];
  readonly markers: readonly SessionMarker[];
  readonly bytesPerSecond?: number;
  /** Only once stable (EtaEstimator). */
  readonly etaSeconds?: number;
}

export type Connection = 'connecting' | 'live' | 'reconnecting';

export interface UiState {
  readonly connection: Connection;
  /** Why the last connection attempt failed, for the banner. */
  readonly connectionError?: { readonly message: string; readonly hint: string };
  readonly status?: StatusResponse;
  readonly sessions: Readonly<Record<string, SessionView>>;
  readonly logs: readonly LogLine[];
  /** Sessions that ended while the page was open, newest first (History refreshes on each). */
  readonly ended: readonly SessionRecord[];
}

export const initialState: UiState = { connection: 'connecting', sessions: {}, logs: [], ended: [] };

/** Per-session estimators live outside the (immutable) state: one per session id. */
export class Estimators {
  readonly #bySession = new Map<string, EtaEstimator>();
  for(sessionId: string): EtaEstimator {
    let estimator = this.#bySession.get(sessionId);
    if (estimator === undefined) {
      estimator = new EtaEstimator();
      this.#bySession.set(sessionId, estimator);
    }
    return estimator;
  }
  drop(sessionId: string): void {
    this.#bySession.delete(sessionId);
  }
}

function markerFor(previous: string | undefined, next: LiveSession, at: number): SessionMarker | undefined {
  const state: string = next.state;
  if (state === 'reconnecting' || (next.reconnect !== undefined && previous !== 'reconnecting')) {
    return previous === 'reconnecting' ? undefined : { at, kind: 'drop', label: 'Tunnel lost' };
  }
  if (previous === 'reconnecting') return { at, kind: 'reconnect', label: 'Tunnel back' };
  if (previous === 'connecting' && state !== 'tearing-down') return { at, kind: 'connect', label: 'Connected' };
  return undefined;
}

function withSession(state: UiState, session: LiveSession): UiState {
  const sessions = state.status?.sessions ?? [];
  const others = sessions.filter((s) => s.id !== session.id);
  const status = state.status === undefined ? undefined : {
    ...state.status,
    sessions: [...others, session],
    jobs: state.status.jobs.map((j) => (j.name === session.job ? { ...j, sessionId: session.id } : j)),
  };
  return status === undefined ? state : { ...state, status };
}

/** Applies one event. `now` is when it arrived (ms); `estimators` keep each session's ETA state. */
export function reduce(state: UiState, event: AgentEvent, now: number, estimators: Estimators): UiState {
  switch (event.type) {
    case 'snapshot': {
      const sessions: Record<string, SessionView> = {};
      for (const s of event.status.sessions) sessions[s.id] = state.sessions[s.id] ?? { session: s, samples: [], markers: [] };
      for (const [id, view] of Object.entries(sessions)) sessions[id] = { ...view, session: event.status.sessions.find((s) => s.id === id) ?? view.session };
      const { connectionError: _dropped, ...rest } = state;
      return { ...rest, connection: 'live', status: event.status, sessions };
    }
    case 'session': {
      const view = state.sessions[event.session.id];
      const marker = markerFor(view?.session.state, event.session, now);
      const next: SessionView = {
        ...(view ?? { samples: [], markers: [] }),
        session: event.session,
        markers: marker === undefined ? (view?.markers ?? []) : [...(view?.markers ?? []), marker],
      };
      return withSession({ ...state, sessions: { ...state.sessions, [event.session.id]: next } }, event.session);
    }
    case 'progress': {
      const view = state.sessions[event.sessionId];
      const liveSession = state.status?.sessions.find((s) => s.id === event.sessionId);
      const base = view?.session ?? liveSession;
      if (base === undefined) return state;
      const estimate = estimators.for(event.sessionId).push(event.progress);
      const session = { ...base, progress: event.progress };
      const samples = [...(view?.samples ?? []), { at: now, bytesDone: event.progress.bytesDone, ...(estimate.bytesPerSecond === undefined ? {} : { bytesPerSecond: estimate.bytesPerSecond }) }].slice(-MAX_SAMPLES);
      const next: SessionView = {
        session,
        samples,
        markers: view?.markers ?? [],
        ...(estimate.bytesPerSecond === undefined ? {} : { bytesPerSecond: estimate.bytesPerSecond }),
        ...(estimate.etaSeconds === undefined ? {} : { etaSeconds: estimate.etaSeconds }),
      };
      return withSession({ ...state, sessions: { ...state.sessions, [event.sessionId]: next } }, session);
    }
    case 'backup-event':
      return state;
    case 'ended': {
      const { record } = event;
      estimators.drop(record.id);
      const { [record.id]: _gone, ...sessions } = state.sessions;
      const status = state.status === undefined ? undefined : {
        ...state.status,
        sessions: state.status.sessions.filter((s) => s.id !== record.id),
        jobs: state.status.jobs.map((j) => {
          if (j.name !== record.job) return j;
          const { sessionId: _s, ...rest } = j;
          return {
            ...rest,
            lastRun: {
              id: record.id, end: record.end, endedAt: record.endedAt,
              ...(record.result === undefined ? {} : { result: record.result }),
              ...(record.summary === undefined ? {} : { bytesProcessed: record.summary.bytesProcessed, bytesAdded: record.summary.bytesAdded, durationSeconds: record.summary.durationSeconds }),
              ...(record.failure === undefined ? {} : { failure: record.failure }),
            },
          };
        }),
      };
      return { ...state, sessions, ended: [record, ...state.ended].slice(0, 50), ...(status === undefined ? {} : { status }) };
    }
    case 'health':
      return state.status === undefined ? state : { ...state, status: { ...state.status, health: event.health } };
    case 'log':
      return { ...state, logs: [...state.logs, event.line].slice(-MAX_LOG_LINES) };
  }
}

/** Backoff between reconnects: 0.5 s, 1 s, 2 s … capped at 15 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(15_000, 500 * 2 ** Math.max(0, attempt));
}

/**
 * Keeps the event stream open until `signal` aborts: every (re)connect starts with a snapshot, so
 * nothing is missed; failures back off. `sleep` is injectable for tests.
 */
export async function connectEvents(
  client: Pick<AgentClient, 'events'>,
  dispatch: (update: (state: UiState) => UiState) => void,
  signal: AbortSignal,
  options: { now?: () => number; sleep?: (ms: number, signal: AbortSignal) => Promise<void>; estimators?: Estimators } = {},
): Promise<void> {
  const now = options.now ?? (() => Date.now());
  const estimators = options.estimators ?? new Estimators();
  const sleep = options.sleep ?? ((ms, s) => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    s.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  }));
  // Read through a function: TypeScript would keep the loop condition's narrowing across awaits.
  const stopped = (): boolean => signal.aborted;
  let attempt = 0;
  while (!stopped()) {
    const seen = { snapshot: false };
    try {
      await client.events((event) => {
        if (event.type === 'snapshot') seen.snapshot = true;
        dispatch((state) => reduce(state, event, now(), estimators));
      }, signal);
      if (stopped()) return;
      dispatch((state) => ({ ...state, connection: 'reconnecting' }));
    } catch (error) {
      if (stopped()) return;
      const e = error as { message?: string; hint?: string };
      dispatch((state) => ({ ...state, connection: 'reconnecting', connectionError: { message: e.message ?? String(error), hint: e.hint ?? '' } }));
    }
    attempt = seen.snapshot ? 0 : attempt + 1;
    await sleep(reconnectDelayMs(attempt), signal);
  }
}
