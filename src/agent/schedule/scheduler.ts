/**
 * The scheduler: decides when each scheduled job's slot is due and starts it through the same
 * path as `POST /v1/runs`. Everything outside comes in as a port — the clock and sleep, the slot
 * store, the conditions (power, metered, DNS), the RNG and the supervisor — so tests drive it with
 * virtual time and a fake machine.
 *
 * Rules, in the order they apply to a job's latest slot that is not yet decided:
 * 1. Only slots after the job's watermark (the last decided slot, persisted) are candidates: a
 *    clock jump backwards, a wake-up or a restart can't bring a decided slot back.
 * 2. A slot's run is due at its instant plus its random delay (fixed per slot by the RNG).
 * 3. A slot found due long after its time (the machine slept or the agent was off) is a missed
 *    run: `catchUp: once` runs the latest missed slot once, `skip` records it skipped. Several
 *    missed slots are always one decision.
 * 4. A due slot waits while its conditions are unmet (battery, metered, gateway not resolvable,
 *    no network yet after a wake-up), until they are or a later slot replaces it.
 * 5. A run of the job still going: `overlap: wait` keeps the slot pending until it ends, `skip`
 *    records it skipped.
 * 6. The slot is claimed in the store (fsync'ed) and only then started.
 * Sleeps are capped at a minute: timers stop during suspend, the wall clock does not.
 */
import type { Schedule } from '../../config/schedule-expression.js';
import { latestSlotBetween, nextSlot, upcomingSlots } from './next-slot.js';
import type { SlotStore } from './slot-store.js';

export type CatchUp = 'once' | 'skip';
export type Overlap = 'wait' | 'skip';

/** A job's schedule as the scheduler needs it (built from the config by schedule-config.ts). */
export interface ScheduledJob {
  readonly name: string;
  readonly schedule: Schedule;
  /** IANA zone the schedule's wall times are read in. */
  readonly zone: string;
  /** Each slot starts up to this much later (0 = exactly on time), to spread a fleet. */
  readonly randomDelayMs: number;
  readonly catchUp: CatchUp;
  readonly overlap: Overlap;
  readonly onlyOnAc: boolean;
  readonly requireGatewayDns: boolean;
  readonly skipOnMetered: boolean;
}

export type PowerSource = 'ac' | 'battery' | 'unknown';
export type Metered = 'yes' | 'no' | 'unknown';

/** What the scheduler asks the machine before a run counts. */
export interface ConditionPorts {
  powerSource(): Promise<PowerSource>;
  metered(): Promise<Metered>;
  /** Whether a gateway of the job's profile resolves in DNS. */
  gatewayResolves(job: string): Promise<boolean>;
  /** Whether the network is up enough to try: the job's host resolves (after a wake-up or boot). */
  networkReady(job: string): Promise<boolean>;
}

export interface SchedulerPorts {
  readonly now: () => number;
  /** Resolves after `ms`, or rejects when `signal` aborts (an early wake-up). */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly store: SlotStore;
  /** A number in [0, 1) that is always the same for the same key (the slot), e.g. an HMAC. */
  readonly random: (key: string) => number;
  readonly conditions: ConditionPorts;
  readonly isRunning: (job: string) => boolean;
  /** Starts the job's run (the supervisor queue), with the slot for the history's notes. */
  readonly start: (job: string, slot: { readonly slotMs: number }) => void;
  readonly log?: (level: 'info' | 'warn' | 'debug', message: string, fields: Record<string, unknown>) => void;
  /** Called after every evaluation (the agent re-checks overdue jobs there). */
  readonly afterTick?: () => void;
}

/** A due slot that has not started yet, and what it waits for. */
export interface PendingSlot {
  readonly slotMs: number;
  readonly dueMs: number;
  readonly waitingFor?: string;
}

/** Later than this after its due time, a slot is a missed run (the loop wakes within a minute). */
export const MISSED_AFTER_MS = 5 * 60_000;
/** The longest the loop sleeps: suspend stops timers, so the wall clock is re-read this often. */
export const MAX_SLEEP_MS = 60_000;
/** How often unmet conditions are checked again. */
export const CONDITION_POLL_MS = 30_000;
/**
 * A machine that still runs this long after it said "suspend" is awake: the resume event was lost
 * (the tray quit, the request failed). Without this, one lost event would stop every schedule.
 */
export const SUSPEND_GRACE_MS = 2 * 60_000;

export class Scheduler {
  #jobs = new Map<string, ScheduledJob>();
  readonly #pending = new Map<string, PendingSlot>();
  /** Jobs that have not seen a working network since the agent started or the machine woke. */
  readonly #needsNetwork = new Set<string>();
  #pausedUntil: number | undefined;
  /** When the machine said it is going to sleep; undefined while awake. */
  #asleepSince: number | undefined;
  #wake = new AbortController();
  #stopped = new AbortController();
  #loop: Promise<void> | undefined;
  #ticking: Promise<void> = Promise.resolve();

  constructor(private readonly ports: SchedulerPorts) {}

  /** Replaces the set of scheduled jobs (at start and after each config reload). */
  setJobs(jobs: readonly ScheduledJob[]): void {
    const next = new Map(jobs.map((job) => [job.name, job]));
    for (const name of this.#pending.keys()) if (!next.has(name)) this.#pending.delete(name);
    for (const name of next.keys()) if (!this.#jobs.has(name)) this.#needsNetwork.add(name);
    this.#jobs = next;
    this.poke();
  }

  /** Starts the loop. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops the loop and waits for the tick in progress. */
  async stop(): Promise<void> {
    this.#stopped.abort();
    this.#wake.abort();
    await this.#loop;
  }

  /** Re-evaluates now (a run ended, the config changed, the machine woke). */
  poke(): void {
    this.#wake.abort();
  }

  /** The machine is going to sleep: nothing starts until it wakes. */
  suspended(): void {
    this.#asleepSince = this.ports.now();
  }

  /** The machine woke: slots it slept through are missed runs; the network must come back first. */
  resumed(): void {
    this.#asleepSince = undefined;
    for (const name of this.#jobs.keys()) this.#needsNetwork.add(name);
    this.poke();
  }

  /** Pauses scheduled runs (slots due meanwhile are skipped); undefined resumes them. */
  pause(untilMs: number | undefined): void {
    this.#pausedUntil = untilMs;
    this.poke();
  }

  pausedUntil(): number | undefined {
    return this.#pausedUntil !== undefined && this.#pausedUntil > this.ports.now() ? this.#pausedUntil : undefined;
  }

  /** When the job's next run is due: its pending slot, or the next slot plus its delay. */
  nextRun(job: string): { slotMs: number; dueMs: number } | undefined {
    const pending = this.#pending.get(job);
    if (pending !== undefined) return pending;
    const scheduled = this.#jobs.get(job);
    if (scheduled === undefined) return undefined;
    const slotMs = nextSlot(scheduled.schedule, this.#afterMs(job), scheduled.zone);
    return slotMs === undefined ? undefined : { slotMs, dueMs: slotMs + this.#delay(scheduled, slotMs) };
  }

  /** The next `count` slots of a job, each with when it would start. */
  upcoming(job: string, count: number): { slotMs: number; dueMs: number }[] {
    const scheduled = this.#jobs.get(job);
    if (scheduled === undefined) return [];
    const pending = this.#pending.get(job);
    const after = pending?.slotMs ?? this.#afterMs(job);
    const later = upcomingSlots(scheduled.schedule, after, scheduled.zone, count - (pending === undefined ? 0 : 1))
      .map((slotMs) => ({ slotMs, dueMs: slotMs + this.#delay(scheduled, slotMs) }));
    return pending === undefined ? later : [pending, ...later];
  }

  /** The slot waiting to start, if any, and what it waits for. */
  pending(job: string): PendingSlot | undefined {
    return this.#pending.get(job);
  }

  /** One evaluation of every job (the loop calls it; tests may too). Ticks never overlap. */
  tick(): Promise<void> {
    const tick = this.#ticking.then(() => this.#tick());
    this.#ticking = tick.catch(() => undefined);
    return tick;
  }

  async #run(): Promise<void> {
    const stopped = this.#stopped.signal;
    while (!stopped.aborted) {
      // A fresh wake-up signal before the tick: a poke during the tick cuts the next sleep short.
      const wake = new AbortController();
      this.#wake = wake;
      try {
        await this.tick();
      } catch (error) {
        this.ports.log?.('warn', 'the scheduler could not evaluate its jobs', { error: error instanceof Error ? error.message : String(error) });
      }
      await this.ports.sleep(this.#sleepMs(), wake.signal).catch(() => undefined);
    }
  }

  #sleepMs(): number {
    const now = this.ports.now();
    let wait = MAX_SLEEP_MS;
    if (this.#pending.size > 0) wait = Math.min(wait, CONDITION_POLL_MS);
    for (const name of this.#jobs.keys()) {
      const next = this.nextRun(name);
      if (next !== undefined && !this.#pending.has(name)) wait = Math.min(wait, Math.max(0, next.dueMs - now));
    }
    return wait;
  }

  /** Slots after this are candidates: the watermark, or now for a job never seen. */
  #afterMs(job: string): number {
    return this.ports.store.watermark(job) ?? this.ports.now();
  }

  #delay(job: ScheduledJob, slotMs: number): number {
    if (job.randomDelayMs <= 0) return 0;
    const r = this.ports.random(`${job.name}@${new Date(slotMs).toISOString()}`);
    return Math.floor(Math.min(Math.max(r, 0), 0.999_999_999) * job.randomDelayMs);
  }

  async #tick(): Promise<void> {
    if (this.#asleepSince !== undefined) {
      if (this.ports.now() - this.#asleepSince < SUSPEND_GRACE_MS) return;
      this.ports.log?.('info', 'no resume event after a suspend, but the agent runs: the machine is awake', {});
      this.resumed();
    }
    for (const job of this.#jobs.values()) {
      if (this.#stopped.signal.aborted) return;
      await this.#evaluate(job);
    }
    this.ports.afterTick?.();
  }

  async #evaluate(job: ScheduledJob): Promise<void> {
    const { store } = this.ports;
    const now = this.ports.now();
    if (store.watermark(job.name) === undefined) await store.track(job.name, now);
    const mark = store.watermark(job.name) ?? now;
    if (now <= mark) return; // the clock went back: nothing after the watermark is due yet
    let latest = latestSlotBetween(job.schedule, mark, now, job.zone);
    if (latest === undefined) return;
    const previous = this.#pending.get(job.name);
    let dueMs = latest + this.#delay(job, latest);
    if (dueMs > now) {
      // The latest slot's delay is still running; an older slot waiting for a condition still counts.
      if (previous === undefined || previous.slotMs >= latest) return;
      latest = previous.slotMs;
      dueMs = previous.dueMs;
    }
    if (previous !== undefined && previous.slotMs !== latest) {
      this.ports.log?.('info', 'a waiting scheduled run was replaced by a later slot', { job: job.name, slot: new Date(previous.slotMs).toISOString(), waitingFor: previous.waitingFor });
    }
    if (previous?.slotMs !== latest && now - dueMs > MISSED_AFTER_MS && job.catchUp === 'skip') {
      this.#pending.delete(job.name);
      await this.#skip(job, latest, 'missed (catchUp: skip)');
      return;
    }
    const paused = this.pausedUntil();
    if (paused !== undefined) {
      this.#pending.delete(job.name);
      await this.#skip(job, latest, `schedules paused until ${new Date(paused).toISOString()}`);
      return;
    }
    const waitingFor = await this.#unmet(job);
    if (waitingFor !== undefined) {
      if (previous?.waitingFor !== waitingFor || previous.slotMs !== latest) this.ports.log?.('info', `a scheduled run waits: ${waitingFor}`, { job: job.name, slot: new Date(latest).toISOString() });
      this.#pending.set(job.name, { slotMs: latest, dueMs, waitingFor });
      return;
    }
    if (this.ports.isRunning(job.name)) {
      if (job.overlap === 'skip') {
        this.#pending.delete(job.name);
        await this.#skip(job, latest, 'the previous run was still going (overlap: skip)');
      } else {
        this.#pending.set(job.name, { slotMs: latest, dueMs, waitingFor: 'the previous run to end' });
      }
      return;
    }
    this.#pending.delete(job.name);
    if (!(await store.claim(job.name, latest, now))) return;
    this.ports.log?.('info', 'starting a scheduled run', { job: job.name, slot: new Date(latest).toISOString() });
    try {
      this.ports.start(job.name, { slotMs: latest });
    } catch (error) {
      const e = error as { message?: string; code?: string };
      this.ports.log?.('warn', 'a scheduled run could not start', { job: job.name, code: e.code, error: e.message ?? String(error) });
    }
  }

  async #skip(job: ScheduledJob, slotMs: number, reason: string): Promise<void> {
    if (await this.ports.store.skip(job.name, slotMs, this.ports.now(), reason)) {
      this.ports.log?.('info', 'a scheduled run was skipped', { job: job.name, slot: new Date(slotMs).toISOString(), reason });
    }
  }

  /** The first unmet condition, worded for "waits for …", or undefined when the job may run. */
  async #unmet(job: ScheduledJob): Promise<string | undefined> {
    const { conditions } = this.ports;
    if (this.#needsNetwork.has(job.name)) {
      if (!(await conditions.networkReady(job.name).catch(() => false))) return 'the network (its host does not resolve yet)';
      this.#needsNetwork.delete(job.name);
    }
    if (job.onlyOnAc && (await conditions.powerSource().catch((): PowerSource => 'unknown')) === 'battery') return 'AC power (onlyOnAc)';
    if (job.skipOnMetered && (await conditions.metered().catch((): Metered => 'unknown')) === 'yes') return 'an unmetered connection (skipOnMetered)';
    if (job.requireGatewayDns && !(await conditions.gatewayResolves(job.name).catch(() => false))) return 'the gateway to resolve in DNS (requireGatewayDns)';
    return undefined;
  }
}
