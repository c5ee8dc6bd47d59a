/**
 * The scheduler wired to a real machine, for the agent: the slot store and RNG key under
 * `<state>/schedule`, this OS's power and metered probes, DNS through node:dns, the real clock,
 * and the overdue check. The agent hands it how to start a run (the supervisor queue, trigger
 * `schedule`) and tells it about ended runs, config reloads and power events.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { HealthRegistry } from '../health.js';
import type { JobScheduleInfo, ScheduleResponse } from '../../api/types.js';
import type { Config } from '../../config/schema.js';
import type { CommandRunner } from '../../os/command.js';
import type { Logger } from '../../os/log.js';
import type { SessionRecord } from '../session/history.js';
import { meteredProbeFor } from './metered.js';
import { overdueHealthItem, overdueSince } from './overdue.js';
import { powerProbeFor } from './power.js';
import { gatewayResolves, networkReady, type Lookup } from './reachability.js';
import { scheduledJobs } from './schedule-config.js';
import { Scheduler } from './scheduler.js';
import { SlotStore } from './slot-store.js';
import { slotRandom } from './slot-random.js';
import { systemTimeZone } from './zoned-time.js';

export interface ScheduleServiceOptions {
  readonly stateDir: string;
  readonly runner: CommandRunner;
  readonly health: HealthRegistry;
  readonly logger: Logger;
  /** Queues a run of the job exactly as `POST /v1/runs` does, with trigger `schedule`. */
  readonly start: (job: string) => void;
  readonly isRunning: (job: string) => boolean;
  /** The history so far (newest first), for each job's last success. */
  readonly history: readonly SessionRecord[];
  readonly platform?: NodeJS.Platform;
  readonly sysfsRoot?: string;
  readonly lookup?: Lookup;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly systemZone?: string;
}

const realSleep = (ms: number, signal: AbortSignal): Promise<void> => sleepFor(ms, undefined, { signal });

export class ScheduleService {
  readonly #lastSuccess = new Map<string, number>();
  /** Each job's first run in the history: "overdue" counts from there for a job never tracked. */
  readonly #firstSeen = new Map<string, number>();
  #config: Config | undefined;
  #current: { config?: Config } = {};
  /** The pause survives a restart: "until tomorrow" means tomorrow. */
  #pauseFile = '';
  #overdue = new Map<string, number>();

  private constructor(
    private readonly options: ScheduleServiceOptions,
    readonly store: SlotStore,
    readonly scheduler: Scheduler,
  ) {}

  /** Opens the slot store, starts the loop over `config`'s scheduled jobs. */
  static async start(options: ScheduleServiceOptions, config: Config): Promise<ScheduleService> {
    const dir = join(options.stateDir, 'schedule');
    const store = await SlotStore.open(dir);
    const random = await slotRandom(dir);
    const platform = options.platform ?? process.platform;
    const power = powerProbeFor(platform, options.runner, options.sysfsRoot);
    const metered = meteredProbeFor(platform, options.runner);
    const lookup = options.lookup ?? ((host: string) => dnsLookup(host));
    // The conditions read the config of the moment; the service sets it on every (re)load.
    const current: { config?: Config; afterTick?: () => void } = {};
    const scheduler = new Scheduler({
      now: options.now ?? (() => Date.now()),
      sleep: options.sleep ?? realSleep,
      store,
      random,
      conditions: {
        powerSource: power,
        metered,
        gatewayResolves: (job) => (current.config === undefined ? Promise.resolve(true) : gatewayResolves(current.config, job, lookup)),
        networkReady: (job) => (current.config === undefined ? Promise.resolve(true) : networkReady(current.config, job, lookup)),
      },
      isRunning: options.isRunning,
      start: (job) => { options.start(job); },
      log: (level, message, fields) => { options.logger.log(level, message, fields); },
      afterTick: () => { current.afterTick?.(); },
    });
    const service = new ScheduleService(options, store, scheduler);
    service.#pauseFile = join(dir, 'pause.json');
    const saved = await readFile(service.#pauseFile, 'utf8').then((text) => (JSON.parse(text) as { until?: unknown }).until, () => undefined);
    if (typeof saved === 'string' && !Number.isNaN(Date.parse(saved))) scheduler.pause(Date.parse(saved));
    for (const record of options.history) service.#noteRecord(record);
    current.afterTick = () => { service.#checkOverdue(); };
    service.#current = current;
    service.configure(config);
    scheduler.start();
    return service;
  }

  #now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** After each config (re)load: the scheduled jobs and their overdue limits. */
  configure(config: Config): void {
    this.#config = config;
    this.#current.config = config;
    this.scheduler.setJobs(scheduledJobs(config, this.options.systemZone ?? systemTimeZone()));
    this.#checkOverdue();
  }

  /** A run ended: a success resets the overdue clock; the next slot may be waiting for it. */
  runEnded(record: SessionRecord): void {
    this.#noteRecord(record);
    this.#checkOverdue();
    this.scheduler.poke();
  }

  power(event: 'suspend' | 'resume'): void {
    if (event === 'suspend') this.scheduler.suspended();
    else this.scheduler.resumed();
  }

  pause(untilMs: number | undefined): void {
    this.scheduler.pause(untilMs);
    const tmp = `${this.#pauseFile}.tmp`;
    writeFile(tmp, JSON.stringify({ until: untilMs === undefined ? null : new Date(untilMs).toISOString() }), { mode: 0o600 })
      .then(() => rename(tmp, this.#pauseFile))
      .catch((error: unknown) => { this.options.logger.log('warn', 'could not save the schedule pause', { error: String(error) }); });
    this.options.logger.log('info', untilMs === undefined ? 'schedules resumed' : 'schedules paused', untilMs === undefined ? {} : { until: new Date(untilMs).toISOString() });
  }

  pausedUntil(): string | undefined {
    const until = this.scheduler.pausedUntil();
    return until === undefined ? undefined : new Date(until).toISOString();
  }

  /** The fields of a job summary the scheduler owns. */
  jobFields(job: string): { nextRunAt?: string; overdueSince?: string } {
    const next = this.scheduler.nextRun(job);
    const overdue = this.#overdue.get(job);
    return {
      ...(next === undefined ? {} : { nextRunAt: new Date(next.dueMs).toISOString() }),
      ...(overdue === undefined ? {} : { overdueSince: new Date(overdue).toISOString() }),
    };
  }

  /** `GET /v1/schedule`: every scheduled job with its next `count` runs. */
  listing(count: number): ScheduleResponse {
    const jobs: JobScheduleInfo[] = [];
    for (const [name, job] of Object.entries(this.#config?.jobs ?? {})) {
      if (job.schedule === undefined) continue;
      const pending = this.scheduler.pending(name);
      const overdue = this.#overdue.get(name);
      jobs.push({
        job: name,
        at: job.schedule.at,
        timezone: job.schedule.timezone ?? this.options.systemZone ?? systemTimeZone(),
        upcoming: this.scheduler.upcoming(name, count).map((u) => ({ slot: new Date(u.slotMs).toISOString(), startsAt: new Date(u.dueMs).toISOString() })),
        ...(pending?.waitingFor === undefined ? {} : { waitingFor: pending.waitingFor }),
        ...(overdue === undefined ? {} : { overdueSince: new Date(overdue).toISOString() }),
      });
    }
    const paused = this.pausedUntil();
    return { jobs, ...(paused === undefined ? {} : { pausedUntil: paused }) };
  }

  stop(): Promise<void> {
    return this.scheduler.stop();
  }

  #noteRecord(record: SessionRecord): void {
    const started = Date.parse(record.startedAt);
    if (started < (this.#firstSeen.get(record.job) ?? Infinity)) this.#firstSeen.set(record.job, started);
    if (record.end !== 'done') return;
    const ended = Date.parse(record.endedAt);
    if (ended > (this.#lastSuccess.get(record.job) ?? -Infinity)) this.#lastSuccess.set(record.job, ended);
  }

  #checkOverdue(): void {
    const overdue = new Map<string, number>();
    const items: { job: string; sinceMs: number; afterDays: number }[] = [];
    for (const [name, job] of Object.entries(this.#config?.jobs ?? {})) {
      const since = overdueSince({ afterDays: job.overdueAfterDays, lastSuccessMs: this.#lastSuccess.get(name), trackedSinceMs: this.store.trackedSince(name) ?? this.#firstSeen.get(name), nowMs: this.#now() });
      if (since === undefined || job.overdueAfterDays === undefined) continue;
      overdue.set(name, since);
      items.push({ job: name, sinceMs: since, afterDays: job.overdueAfterDays });
    }
    const changed = overdue.size !== this.#overdue.size || [...overdue].some(([job, since]) => this.#overdue.get(job) !== since);
    this.#overdue = overdue;
    if (!changed) return;
    const item = overdueHealthItem(items);
    if (item === undefined) this.options.health.clear('job.overdue');
    else this.options.health.set(item);
  }
}
