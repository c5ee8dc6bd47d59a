import type { LiveSession } from '../api/types.js';
import type { EventBus } from './event-bus.js';
import type { SessionEvent } from './session/session.js';
import type { SessionRecord, SessionTrigger } from './session/history.js';
import { SessionCancel, type CancelledBy } from './session/states.js';

/** Runs one session; the agent binds it to its context (config, runner, state dir). */
export type SessionRunner = (
  job: string,
  trigger: SessionTrigger,
  sessionId: string,
  signal: AbortSignal,
  onEvent: (event: SessionEvent) => void,
) => Promise<SessionRecord>;

/** The job already has a live session: starting it again would overlap. */
export class AlreadyRunningError extends Error {
  override readonly name = 'AlreadyRunningError';
  readonly code = 'run.already-running';
  readonly hint: string;
  constructor(
    readonly job: string,
    readonly sessionId: string,
  ) {
    super(`job "${job}" is already running (session ${sessionId})`);
    this.hint = `Wait for it to finish, or cancel it: backhaul cancel ${sessionId}`;
  }
}

interface Entry {
  session: LiveSession;
  readonly controller: AbortController;
  done?: Promise<void>;
}

/**
 * Owns every live session: a FIFO queue with a concurrency limit (default 1: sessions share the
 * tunnel), no overlap for the same job, cancellation that records who cancelled, and events for
 * each change. The only place sessions are started in the agent.
 */
export class Supervisor {
  readonly #entries = new Map<string, Entry>();
  readonly #queue: string[] = [];
  #running = 0;
  #accepting = true;

  constructor(
    private readonly deps: {
      readonly run: SessionRunner;
      readonly bus: EventBus;
      readonly now: () => Date;
      readonly newSessionId: () => string;
      readonly concurrency: number;
      /**
       * Saves a record the supervisor made itself (a run cancelled while queued, a run that crashed
       * before its session could record anything); sessions save their own.
       */
      readonly saveRecord: (record: SessionRecord) => Promise<void>;
    },
  ) {}

  /** Queues a run of `job`. @throws AlreadyRunningError when the job has a live session. */
  start(job: string, trigger: SessionTrigger): { sessionId: string; queued: boolean } {
    if (!this.#accepting) throw Object.assign(new Error('the agent is shutting down'), { code: 'agent.stopping', hint: 'Start the run again once the agent is back.' });
    const live = [...this.#entries.values()].find((e) => e.session.job === job);
    if (live !== undefined) throw new AlreadyRunningError(job, live.session.id);
    const id = this.deps.newSessionId();
    const entry: Entry = { session: { id, job, trigger, state: 'queued', queuedAt: this.deps.now().toISOString() }, controller: new AbortController() };
    this.#entries.set(id, entry);
    this.#queue.push(id);
    this.#publish(entry);
    this.#pump();
    return { sessionId: id, queued: this.#queue.includes(id) };
  }

  /** Cancels a queued or running session. Returns false when there is no such live session. */
  cancel(sessionId: string, by: CancelledBy): boolean {
    const entry = this.#entries.get(sessionId);
    if (entry === undefined) return false;
    entry.controller.abort(new SessionCancel(by));
    const queuedAt = this.#queue.indexOf(sessionId);
    if (queuedAt >= 0) {
      // Never started: nothing to tear down. It still gets a record, so the user sees what happened.
      this.#queue.splice(queuedAt, 1);
      this.#entries.delete(sessionId);
      const now = this.deps.now().toISOString();
      const record: SessionRecord = {
        id: sessionId, job: entry.session.job, trigger: entry.session.trigger, startedAt: now, endedAt: now,
        states: [{ state: 'cancelled', at: now }], end: 'cancelled', cancelledBy: by, notes: [],
      };
      this.#synthesized(record);
    }
    return true;
  }

  live(): LiveSession[] {
    return [...this.#entries.values()].map((e) => e.session);
  }

  get(sessionId: string): LiveSession | undefined {
    return this.#entries.get(sessionId)?.session;
  }

  /** Cancels everything (by the system) and waits until every running session has torn down. */
  async shutdown(): Promise<void> {
    this.#accepting = false;
    for (const id of [...this.#queue]) this.cancel(id, 'system');
    const running = [...this.#entries.values()];
    for (const entry of running) entry.controller.abort(new SessionCancel('system'));
    await Promise.all(running.map((e) => e.done ?? Promise.resolve()));
  }

  #publish(entry: Entry): void {
    this.deps.bus.publish({ type: 'session', session: entry.session });
  }

  #pump(): void {
    while (this.#running < this.deps.concurrency && this.#queue.length > 0) {
      const id = this.#queue.shift();
      const entry = id === undefined ? undefined : this.#entries.get(id);
      if (entry === undefined) continue;
      this.#running++;
      entry.done = this.#run(entry).finally(() => {
        this.#running--;
        this.#entries.delete(entry.session.id);
        this.#pump();
      });
    }
  }

  async #run(entry: Entry): Promise<void> {
    const { id, job, trigger } = entry.session;
    try {
      await this.deps.run(job, trigger, id, entry.controller.signal, (event) => {
        this.#onSessionEvent(entry, event);
      });
    } catch (error) {
      // runSession never throws for a backup problem; this is a bug or a broken state dir.
      const now = this.deps.now().toISOString();
      const message = error instanceof Error ? error.message : String(error);
      const record: SessionRecord = {
        id, job, trigger, startedAt: entry.session.startedAt ?? now, endedAt: now,
        states: [{ state: 'failed', at: now }], end: 'failed', notes: [],
        failure: { code: 'session.internal', message: `internal error: ${message}`, hint: 'This is a bug in Backhaul. The log file has the details; please report it.' },
      };
      this.#synthesized(record);
    }
  }

  #synthesized(record: SessionRecord): void {
    this.deps.saveRecord(record).catch(() => undefined);
    this.deps.bus.publish({ type: 'ended', record });
  }

  #onSessionEvent(entry: Entry, event: SessionEvent): void {
    switch (event.type) {
      case 'state': {
        // The attempt counter belongs to reconnecting only: any other state clears it.
        const { reconnect: _reconnect, ...rest } = entry.session;
        const session = event.state === 'reconnecting' ? entry.session : rest;
        entry.session = { ...session, state: event.state, ...(entry.session.startedAt === undefined ? { startedAt: event.at } : {}) };
        this.#publish(entry);
        return;
      }
      case 'reconnecting':
        entry.session = { ...entry.session, reconnect: { attempt: event.attempt, maxAttempts: event.maxAttempts, nextTryAt: event.nextTryAt, cause: event.cause } };
        this.#publish(entry);
        return;
      case 'backup':
        if (event.event.type === 'progress') {
          entry.session = { ...entry.session, progress: event.event };
          this.deps.bus.publish({ type: 'progress', sessionId: entry.session.id, job: entry.session.job, progress: event.event });
        } else {
          this.deps.bus.publish({ type: 'backup-event', sessionId: entry.session.id, job: entry.session.job, event: event.event });
        }
        return;
      case 'end':
        this.deps.bus.publish({ type: 'ended', record: event.record });
        return;
    }
  }
}
