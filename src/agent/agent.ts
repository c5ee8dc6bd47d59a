import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { homedir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigResponse, HealthItem, JobSummary, JobView, LastRun, LogLine, ProfileView, RestoreRequest, RestoreResponse, SnapshotInfo, SnapshotsResponse, StatusResponse, TreeResponse } from '../api/types.js';
import type { BackupFailure } from '../backup/engine.js';
import type { ResticSnapshot } from '../backup/restic-json.js';
import { editJob } from '../config/edit.js';
import { editProfile } from '../config/profile-edit.js';
import type { LayerName } from '../config/layers.js';
import { loadConfig } from '../config/load.js';
import type { LoadedPolicy } from '../config/policy/format.js';
import { policyLocation, type PolicyLocation } from '../config/policy/read.js';
import type { Config } from '../config/schema.js';
import { createCommandRunner, type CommandRunner } from '../os/command.js';
import { lookupServiceGroup } from '../os/service/service-group.js';
import { createFileLogger, type Logger } from '../os/log.js';
import { currentHost, type BackhaulPaths } from '../os/paths.js';
import { defaultRedactor, type SecretRedactor } from '../os/redact.js';
import { secretStoresBySetting, type SecretStore, type SecretStoreSetting } from '../os/secret-store.js';
import { ApiProblem, createApiHandler, socketGuard, type ApiBackend } from './api-server.js';
import { EventBus } from './event-bus.js';
import { HealthRegistry } from './health.js';
import { acquireInstanceLock } from './instance-lock.js';
import { policyFingerprint, policyInForce, POLICY_POLL_MS } from './managed-policy.js';
import { editProblem, jobRunning, jobView } from './job-edit.js';
import { configBackups, profileInUse, profileViews, unknownProfile } from './profile-edit.js';
import { driverForCleanUp } from './tunnel-plan.js';
import { renderMetrics } from './metrics.js';
import { recoverSession } from './recovery.js';
import { defaultResourcesDir, findJob, newSessionId, runJob, type RunContext } from './run-job.js';
import { bundledResticHealth } from './bundled-restic-health.js';
import { choreError, resticJob, withRepository } from './repository-chores.js';
import { appendHistory, readHistory, type SessionRecord } from './session/history.js';
import { readUnfinishedSessions } from './session/journal.js';
import { Supervisor } from './supervisor.js';
import { ScheduleService } from './schedule/service.js';
import { handleLogin, webGuard } from './web-guard.js';
import { staticHandler } from './web-static.js';

export interface AgentOptions {
  readonly paths: BackhaulPaths;
  readonly mode: 'user' | 'system';
  readonly version: string;
  /** Serve the API and the web UI on 127.0.0.1 too (port 0 = any free port). */
  readonly web?: { readonly port: number };
  /** Sessions that may run at once. Default 1: they share the tunnel. */
  readonly concurrency?: number;
  readonly runner?: CommandRunner;
  readonly redactor?: SecretRedactor;
  /** restic's own retries are survived this long (default 15 min). */
  readonly networkGiveUpMs?: number;
  /** Also write the metrics to this file (node_exporter's textfile collector), after every session. */
  readonly metricsTextfile?: string;
  /** The built renderer bundle the web listener serves (default: the package's dist/ui). */
  readonly webRoot?: string;
  /** Where the managed policy is (default: this OS's place for the agent's mode, see config/policy/read.ts). */
  readonly policyLocation?: PolicyLocation;
  /** How often to look at the policy again while running (default 5 min). */
  readonly policyPollMs?: number;
  /** Where the bundled restic and its pin are (default: this installation's, see run-job.ts resourcesDirFor). */
  readonly resourcesDir?: string;
}

/** dist/ui of this package (the built renderer): the same relative place from src/agent and dist/agent. */
export function defaultWebRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'ui');
}

/** The last run of a job as the tray and Status page summarise it. */
function lastRunOf(record: SessionRecord): LastRun {
  return {
    id: record.id,
    end: record.end,
    endedAt: record.endedAt,
    ...(record.result === undefined ? {} : { result: record.result }),
    ...(record.summary === undefined ? {} : { bytesProcessed: record.summary.bytesProcessed, bytesAdded: record.summary.bytesAdded, durationSeconds: record.summary.durationSeconds }),
    ...(record.failure === undefined ? {} : { failure: record.failure }),
  };
}

/** restic's "no matching ID" (0.14 on stderr with exit 0, 0.18 exit 1) as the 404 it is. */
function snapshotProblem(snapshot: string, failure: BackupFailure): ApiProblem | undefined {
  if (!/no matching ID found/.test(failure.stderrTail)) return undefined;
  return new ApiProblem(404, 'snapshot.unknown', `there is no snapshot ${snapshot.slice(0, 16)} in the repository`, 'Pick one from the list of snapshots; a prune may have removed it.');
}

function snapshotInfo({ username: _user, ...snapshot }: ResticSnapshot): SnapshotInfo {
  return snapshot;
}

const emptyConfig: Config = { version: 1, settings: {}, jobs: {}, profiles: {} } as unknown as Config;
const RECENT_LOG_LINES = 2000;

/**
 * Where the agent listens: a unix socket under the runtime dir (`/run/backhaul/agent.sock` in
 * system mode, `$XDG_RUNTIME_DIR/backhaul/agent.sock` or `BACKHAUL_HOME/run/agent.sock` for a
 * user), or on Windows a named pipe — `\\.\pipe\backhaul` for the service, and one per runtime dir
 * for user agents so several instances never collide.
 */
export function socketPath(paths: BackhaulPaths, platform: NodeJS.Platform = process.platform, mode: 'user' | 'system' = 'user'): string {
  if (platform !== 'win32') return join(paths.runtimeDir, 'agent.sock');
  if (mode === 'system') return '\\\\.\\pipe\\backhaul';
  return `\\\\.\\pipe\\backhaul-${createHash('sha256').update(paths.runtimeDir).digest('hex').slice(0, 16)}`;
}

/**
 * The long-running agent: the only process that runs OS commands, holds secrets and writes state.
 * It owns the supervisor, history, health and the Local API servers.
 */
export class Agent {
  readonly bus = new EventBus();
  readonly health: HealthRegistry;
  readonly startedAt = new Date();
  readonly #recentLogs: LogLine[] = [];
  #config: Config = emptyConfig;
  /** Which config layer set each leaf, for the locks of the job editor. */
  #origins: ReadonlyMap<string, LayerName> = new Map();
  /** The managed policy in force (current or last good), merged over the config and applied to edits. */
  #policy: LoadedPolicy | undefined;
  /** Job edits run one at a time: each reads, checks and writes the whole file. */
  #edits: Promise<unknown> = Promise.resolve();
  #configResponse: ConfigResponse;
  #supervisor!: Supervisor;
  /** Starts scheduled jobs; absent until the agent has recovered and read its history. */
  #schedule?: ScheduleService;
  #socketServer?: Server;
  #webServer?: Server;
  #releaseLock?: () => Promise<void>;
  /** What the last policy read found, and the timer that reads it again. */
  #policySeen = '';
  #policyPoll?: NodeJS.Timeout;
  /** The look in progress: one at a time, and stop() waits for it (it may reload and log). */
  #policyCheck: Promise<void> = Promise.resolve();
  #fileLogger?: Logger & { close(): Promise<void> };
  #logger!: Logger;
  #runner: CommandRunner;
  #redactor: SecretRedactor;
  /** Where `keychain:` secrets are, per settings.secretStore; a fallback to files is a health item. */
  #secretStores?: (setting: SecretStoreSetting | undefined) => SecretStore;
  /** Each job's last finished session, kept from the history and every `ended` event. */
  readonly #lastRuns = new Map<string, LastRun>();
  /** The login link of the web UI, when it listens. */
  webUrl?: string;

  private constructor(private readonly options: AgentOptions) {
    this.health = new HealthRegistry((health) => this.bus.publish({ type: 'health', health }));
    this.#redactor = options.redactor ?? defaultRedactor;
    this.#runner = options.runner ?? createCommandRunner({ redactor: this.#redactor, log: (entry) => { this.#logger.log('debug', 'command finished', { ...entry }); } });
    this.#configResponse = { ok: true, file: options.paths.configFile, config: emptyConfig };
  }

  /** Starts an agent: takes the instance lock, recovers crashed sessions, then listens. */
  static async start(options: AgentOptions): Promise<Agent> {
    const agent = new Agent(options);
    await agent.#start();
    return agent;
  }

  get socket(): string {
    return socketPath(this.options.paths, process.platform, this.options.mode);
  }

  async #start(): Promise<void> {
    const { paths } = this.options;
    this.#releaseLock = await acquireInstanceLock(join(paths.runtimeDir, 'agent.pid'));
    this.#fileLogger = createFileLogger({ logDir: paths.logDir, redactor: this.#redactor, level: 'debug', tap: (line) => { this.#tapLog(line); } });
    this.#logger = this.#fileLogger;
    await this.reloadConfig();
    // Group Policy and MDM change the policy underneath a running agent: look again now and then.
    this.#policyPoll = setInterval(() => { this.#policyCheck = this.#policyCheck.then(() => this.#recheckPolicy()); }, this.options.policyPollMs ?? POLICY_POLL_MS);
    this.#policyPoll.unref();
    this.#supervisor = new Supervisor({
      bus: this.bus,
      now: () => new Date(),
      newSessionId: () => newSessionId(),
      concurrency: this.options.concurrency ?? 1,
      run: (job, trigger, sessionId, signal, onEvent) => runJob(this.#runContext(), job, trigger, signal, onEvent, sessionId),
      saveRecord: (record) => appendHistory(paths.stateDir, record),
    });
    await this.#recover();
    for (const record of (await readHistory(paths.stateDir)).reverse()) this.#lastRuns.set(record.job, lastRunOf(record));
    this.bus.subscribe(({ event }) => { if (event.type === 'ended') this.#lastRuns.set(event.record.job, lastRunOf(event.record)); });
    // Scheduled runs take the same path as POST /v1/runs: the supervisor's queue, trigger "schedule".
    this.#schedule = await ScheduleService.start({
      stateDir: paths.stateDir,
      runner: this.#runner,
      health: this.health,
      logger: this.#logger,
      start: (job) => {
        findJob(this.#config, job);
        this.#supervisor.start(job, 'schedule');
      },
      isRunning: (job) => this.#supervisor.live().some((s) => s.job === job),
      history: await readHistory(paths.stateDir),
    }, this.#config);
    this.bus.subscribe(({ event }) => { if (event.type === 'ended') this.#schedule?.runEnded(event.record); });
    if (this.options.metricsTextfile !== undefined) {
      const file = this.options.metricsTextfile;
      const write = () => {
        this.#writeMetricsTextfile(file).catch((error: unknown) => {
          this.#logger.log('warn', 'could not write the metrics textfile', { file, error: String(error) });
        });
      };
      this.bus.subscribe(({ event }) => { if (event.type === 'ended') write(); });
      write();
    }
    await this.#checkBundledRestic();
    await this.#listenSocket();
    if (this.options.web !== undefined) await this.#listenWeb(this.options.web.port);
    this.#logger.log('info', 'agent started', { pid: process.pid, mode: this.options.mode, socket: this.socket, version: this.options.version });
  }

  /**
   * Loads the managed policy and the config file; an invalid config, or a broken policy with no
   * good copy to fall back on (fail closed), leaves the agent up with no jobs and a health item.
   */
  async reloadConfig(): Promise<void> {
    const file = this.options.paths.configFile;
    const policy = await policyInForce({
      location: this.#policyLocation(),
      runner: this.#runner,
      stateDir: this.options.paths.stateDir,
      health: this.health,
      now: () => new Date(),
    });
    this.#policy = policy.ok ? policy.loaded : undefined;
    this.#policySeen = policy.fingerprint;
    const loaded = policy.ok ? await loadConfig({ file, ...(policy.loaded === undefined ? {} : { policy: policy.loaded }) }) : { ok: false as const, errors: policy.errors };
    if (loaded.ok) {
      this.#config = loaded.config;
      this.#origins = loaded.origins;
      this.#configResponse = { ok: true, file, config: loaded.config };
      this.#schedule?.configure(this.#config);
      this.health.clear('config.invalid');
    } else {
      this.#config = emptyConfig;
      this.#origins = new Map();
      this.#configResponse = { ok: false, file, errors: loaded.errors };
      // No valid config, no jobs: nothing is scheduled until it is fixed.
      this.#schedule?.configure(this.#config);
      if (!policy.ok) {
        // The policy's own health item says what is wrong; the config file may be fine.
        this.health.clear('config.invalid');
        return;
      }
      this.health.set({
        code: 'config.invalid',
        title: 'The configuration file has errors',
        text: `${file}: ${loaded.errors.map((e) => `${e.source === undefined ? '' : `${e.source}: `}${e.path === '' ? '' : `${e.path}: `}${e.message}`).join('; ')}`,
        severity: 'error',
        badge: true,
        since: new Date().toISOString(),
      });
    }
  }

  /** A damaged or swapped bundled restic shows on the health list from the start (jobs refuse it too). */
  async #checkBundledRestic(): Promise<void> {
    try {
      const item = await bundledResticHealth({
        resourcesDir: this.options.resourcesDir ?? defaultResourcesDir(),
        platform: process.platform,
        arch: process.arch,
        ...(this.#config.settings.resticPath === undefined ? {} : { configuredPath: this.#config.settings.resticPath }),
        now: () => new Date(),
      });
      if (item === undefined) return;
      this.health.set(item);
      this.#logger.log('error', item.text);
    } catch (error) {
      this.#logger.log('warn', 'could not check the bundled restic', { error: String(error) });
    }
  }

  /** Reloads the config when the policy changed since it was last read (new, fixed, broken, withdrawn). */
  async #recheckPolicy(): Promise<void> {
    try {
      if ((await policyFingerprint(this.#policyLocation(), this.#runner)) === this.#policySeen) return;
      await this.reloadConfig();
      this.#logger.log('info', 'the managed policy changed; config reloaded', { policy: this.#policy?.source ?? 'none' });
      this.bus.publish({ type: 'snapshot', status: this.status() });
    } catch (error) {
      this.#logger.log('warn', 'could not check the managed policy', { error: String(error) });
    }
  }

  #policyLocation(): PolicyLocation {
    return this.options.policyLocation ?? policyLocation({ ...currentHost(this.options.mode) });
  }

  #runContext(): RunContext {
    return {
      config: this.#config,
      paths: this.options.paths,
      runner: this.#runner,
      redactor: this.#redactor,
      logger: this.#logger,
      agentMode: this.options.mode,
      secretStore: this.#secretStore(),
      ...(this.options.resourcesDir === undefined ? {} : { resourcesDir: this.options.resourcesDir }),
      ...(this.options.networkGiveUpMs === undefined ? {} : { networkGiveUpMs: this.options.networkGiveUpMs }),
    };
  }

  #secretStore(): SecretStore {
    this.#secretStores ??= secretStoresBySetting({
      mode: this.options.mode,
      stateDir: this.options.paths.stateDir,
      onFallback: (warning) => {
        this.#logger.log('warn', warning);
        this.health.set({
          code: 'secrets.file-store',
          title: 'Secrets are kept in files, not in an OS keychain',
          text: warning,
          severity: 'warning',
          badge: false,
          since: new Date().toISOString(),
        });
      },
    });
    return this.#secretStores(this.#config.settings.secretStore);
  }

  #tapLog(line: string): void {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const text = (key: string) => (typeof parsed[key] === 'string' ? parsed[key] : undefined);
    const logLine: LogLine = {
      at: text('timestamp') ?? new Date().toISOString(),
      level: text('level') ?? 'info',
      message: text('message') ?? '',
      ...(text('sessionId') === undefined ? {} : { sessionId: text('sessionId') }),
      ...(text('job') === undefined ? {} : { job: text('job') }),
    } as LogLine;
    if (logLine.level === 'debug') return;
    this.#recentLogs.push(logLine);
    if (this.#recentLogs.length > RECENT_LOG_LINES) this.#recentLogs.splice(0, this.#recentLogs.length - RECENT_LOG_LINES);
    this.bus.publish({ type: 'log', line: logLine });
  }

  async #recover(): Promise<void> {
    const unfinished = await readUnfinishedSessions(this.options.paths.stateDir);
    const recovered: SessionRecord[] = [];
    const cleanUpContext = { runner: this.#runner, stateDir: this.options.paths.stateDir, agentMode: this.options.mode };
    const driverFor = (name: string) => Promise.resolve(driverForCleanUp(name, cleanUpContext));
    for (const session of unfinished) {
      const record = await recoverSession(session, {
        now: () => new Date(),
        driverFor,
        saveRecord: (r) => appendHistory(this.options.paths.stateDir, r),
        discardJournal: (s) => rm(s.file, { force: true }),
      });
      recovered.push(record);
      this.#logger.log('warn', 'recovered an interrupted session', { sessionId: record.id, job: record.job, notes: record.notes });
    }
    if (recovered.length > 0) {
      this.health.set({
        code: 'session.interrupted',
        title: recovered.length === 1 ? `A backup of "${recovered[0]?.job ?? ''}" was interrupted` : `${recovered.length} backups were interrupted`,
        text: 'The agent stopped while backing up (a crash, a kill, or power loss). What the sessions left behind was cleaned up; run the jobs again.',
        severity: 'warning',
        badge: true,
        since: new Date().toISOString(),
      });
    }
  }

  async #listenSocket(): Promise<void> {
    const path = this.socket;
    await rm(path, { force: true }); // a stale socket of a dead agent (we hold the lock)
    const server = createServer(createApiHandler(this.#backend(), socketGuard));
    // The socket is created with the process umask: make it private from the first instant.
    const umask = process.umask(this.options.mode === 'system' ? 0o117 : 0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => { resolve(); });
      });
    } finally {
      process.umask(umask);
    }
    if (process.platform !== 'win32') {
      await chmod(path, this.options.mode === 'system' ? 0o660 : 0o600);
      if (this.options.mode === 'system') await this.#shareWithGroup(path);
    }
    this.#socketServer = server;
  }

  /** Atomically (write + rename), so node_exporter never reads half a file. */
  async #writeMetricsTextfile(file: string): Promise<void> {
    const text = await this.#backend().metrics();
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, text, { mode: 0o644 });
    await rename(tmp, file);
  }

  /**
   * System mode: members of the `backhaul` group may use the socket (the tray runs as a user). The
   * group lives in /etc/group on Linux and in Directory Services on macOS (service-group.ts).
   */
  async #shareWithGroup(path: string): Promise<void> {
    const group = await lookupServiceGroup({ platform: process.platform, runner: this.#runner });
    if (group.kind === 'found') {
      await chown(path, -1, group.gid);
    } else if (group.kind !== 'not-applicable') {
      if (group.kind === 'failed') this.#logger.log('warn', 'could not look up the backhaul group', { detail: group.detail });
      this.health.set({
        code: 'agent.no-group',
        title: 'Only root can use the agent',
        text: 'The system has no "backhaul" group, so the tray and the CLI of other users can\'t reach the agent socket.',
        severity: 'warning',
        badge: false,
        since: new Date().toISOString(),
      });
    }
  }

  async #listenWeb(port: number): Promise<void> {
    const token = randomBytes(24).toString('base64url');
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => { resolve(); });
    });
    const address = server.address();
    const actualPort = typeof address === 'object' && address !== null ? address.port : port;
    const api = createApiHandler(this.#backend(), webGuard(actualPort, token), staticHandler(this.options.webRoot ?? defaultWebRoot()));
    server.on('request', (req, res) => {
      if (!handleLogin(req, res, actualPort, token)) api(req, res);
    });
    this.#webServer = server;
    this.webUrl = `http://127.0.0.1:${actualPort}/login?token=${token}`;
    this.#redactor.add(token);
  }

  #backend(): ApiBackend {
    return {
      bus: this.bus,
      status: () => this.status(),
      jobs: () => this.#jobViews(),
      editJob: (name, patch) => {
        const edit = this.#edits.then(() => this.#editJob(name, patch));
        this.#edits = edit.catch(() => undefined);
        return edit;
      },
      profiles: () => profileViews(this.#config, this.#origins),
      editProfile: (name, patch) => {
        const edit = this.#edits.then(() => this.#editProfile(name, patch));
        this.#edits = edit.catch(() => undefined);
        return edit;
      },
      health: () => this.health.list(),
      config: () => this.#configResponse,
      startRun: (job) => {
        findJob(this.#config, job);
        return this.#supervisor.start(job, 'api');
      },
      cancelRun: (id) => this.#supervisor.cancel(id, 'user'),
      run: async (id) => this.#supervisor.get(id) ?? (await readHistory(this.options.paths.stateDir)).find((r) => r.id === id),
      history: async ({ job, limit, before }) => {
        const all = await readHistory(this.options.paths.stateDir, job === undefined ? {} : { job });
        const start = before === undefined ? 0 : all.findIndex((r) => r.id === before) + 1;
        if (before !== undefined && start === 0) throw new ApiProblem(400, 'api.bad-parameter', `before=${before.slice(0, 80)} is not a session in the history`, 'Use the "next" value of the previous page.');
        const records = all.slice(start, start + limit);
        const last = records.at(-1);
        return start + limit < all.length && last !== undefined ? { records, next: last.id } : { records };
      },
      logs: (lines) => ({ lines: this.#recentLogs.slice(-lines) }),
      snapshots: (job) => this.#snapshots(job),
      tree: (job, snapshot, path) => this.#tree(job, snapshot, path),
      restore: (request) => this.#restore(request),
      // Logged for now; the tunnel supervisor (keepalive issue) re-checks the tunnel on resume.
      power: (event) => {
        this.#logger.log('info', event === 'suspend' ? 'the system is going to sleep' : 'the system woke up', { power: event });
        this.#schedule?.power(event);
      },
      schedule: (count) => this.#scheduleService().listing(count),
      pauseSchedules: (untilMs) => {
        this.#scheduleService().pause(untilMs);
        this.bus.publish({ type: 'snapshot', status: this.status() });
        return this.#scheduleService().listing(5);
      },
      metrics: async () => {
        const live = this.#supervisor.live();
        return renderMetrics(await readHistory(this.options.paths.stateDir), {
          running: live.filter((s) => s.state !== 'queued').length,
          queued: live.filter((s) => s.state === 'queued').length,
          uptimeSeconds: (Date.now() - this.startedAt.getTime()) / 1000,
        });
      },
    };
  }

  status(): StatusResponse {
    return {
      agent: {
        pid: process.pid,
        version: this.options.version,
        mode: this.options.mode,
        startedAt: this.startedAt.toISOString(),
        configFile: this.options.paths.configFile,
        socket: this.socket,
      },
      sessions: this.#supervisor.live(),
      jobs: this.#jobs(),
      health: this.health.list(),
      ...this.#pausedField(),
    };
  }

  #pausedField(): { schedulesPausedUntil?: string } {
    const until = this.#schedule?.pausedUntil();
    return until === undefined ? {} : { schedulesPausedUntil: until };
  }

  #scheduleService(): ScheduleService {
    if (this.#schedule === undefined) throw new ApiProblem(503, 'agent.starting', 'the scheduler is not running yet', 'Try again in a moment.');
    return this.#schedule;
  }

  #jobs(): JobSummary[] {
    const live = this.#supervisor.live();
    return Object.entries(this.#config.jobs).map(([name, job]) => {
      const session = live.find((s) => s.job === name);
      const lastRun = this.#lastRuns.get(name);
      return {
        name, engine: job.engine, profile: job.profile, repository: job.repository,
        ...(session === undefined ? {} : { sessionId: session.id }),
        ...(lastRun === undefined ? {} : { lastRun }),
        ...this.#schedule?.jobFields(name),
      };
    });
  }

  #jobViews(): JobView[] {
    return this.#jobs().flatMap((summary) => {
      const job = this.#config.jobs[summary.name];
      return job === undefined ? [] : [jobView(summary, job, this.#origins)];
    });
  }

  /**
   * Writes the change to the config file and reloads it. A job with a session is refused: a running
   * session keeps the plan it started with, and a queued one would start with half an intention.
   */
  async #editJob(name: string, patch: Readonly<Record<string, unknown>>): Promise<JobView> {
    findJob(this.#config, name);
    const session = this.#supervisor.live().find((s) => s.job === name);
    if (session !== undefined) throw jobRunning(name, session.id);
    const result = await editJob({ file: this.options.paths.configFile, job: name, patch, origins: this.#origins, backup: configBackups(this.options.paths.stateDir), ...(this.#policy === undefined ? {} : { policy: this.#policy }) });
    if (!result.ok) throw editProblem(result.problem);
    await this.reloadConfig();
    this.#logger.log('info', 'job settings changed', { job: name, fields: Object.keys(patch) });
    // Clients (the tray, other windows) see the new settings without reconnecting.
    this.bus.publish({ type: 'snapshot', status: this.status() });
    const view = this.#jobViews().find((j) => j.name === name);
    if (view === undefined) throw new ApiProblem(409, 'config.changed', `"${name}" is gone from the config file`, 'The file was changed at the same time; reload the page.');
    return view;
  }

  /** Like #editJob, for a VPN profile: refused while a job that uses it has a session. */
  async #editProfile(name: string, patch: Readonly<Record<string, unknown>>): Promise<ProfileView> {
    if (this.#config.profiles[name] === undefined) throw unknownProfile(this.#config, name);
    const session = this.#supervisor.live().find((s) => this.#config.jobs[s.job]?.profile === name);
    if (session !== undefined) throw profileInUse(name, session.job, session.id);
    const result = await editProfile({ file: this.options.paths.configFile, profile: name, patch, origins: this.#origins, backup: configBackups(this.options.paths.stateDir), ...(this.#policy === undefined ? {} : { policy: this.#policy }) });
    if (!result.ok) throw editProblem(result.problem);
    await this.reloadConfig();
    this.#logger.log('info', 'profile settings changed', { profile: name, fields: Object.keys(patch) });
    this.bus.publish({ type: 'snapshot', status: this.status() });
    const view = profileViews(this.#config, this.#origins).find((p) => p.name === name);
    if (view === undefined) throw new ApiProblem(409, 'config.changed', `"${name}" is gone from the config file`, 'The file was changed at the same time; reload the page.');
    return view;
  }

  /** Where a restore goes unless the user picks a folder: under the home (user) or the state dir (system). */
  #restoreRoot(): string {
    return this.options.mode === 'system' ? join(this.options.paths.stateDir, 'restores') : join(homedir(), 'Backhaul restores');
  }

  async #snapshots(job: string): Promise<SnapshotsResponse> {
    const outcome = await withRepository(this.#runContext(), job, (engine, request) => engine.snapshots(request));
    if (!outcome.ok) throw choreError(job, outcome.failure);
    return { job, snapshots: [...outcome.value].reverse().map(snapshotInfo), suggestedTarget: join(this.#restoreRoot(), job) };
  }

  async #tree(job: string, snapshot: string, path: string): Promise<TreeResponse> {
    const outcome = await withRepository(this.#runContext(), job, (engine, request) => engine.ls(request, snapshot, path));
    if (!outcome.ok) throw snapshotProblem(snapshot, outcome.failure) ?? choreError(job, outcome.failure);
    const dir = path.length > 1 ? path.replace(/\/+$/, '') : path;
    const entries = outcome.value.nodes
      .filter((n) => n.path !== dir)
      .sort((a, b) => Number(b.type === 'dir') - Number(a.type === 'dir') || a.name.localeCompare(b.name));
    return { job, snapshot: snapshotInfo(outcome.value.snapshot), path: dir, entries };
  }

  /**
   * Restores into a folder that is new or empty, so a restore never overwrites anything. A system
   * agent runs as root: it restores only under its own restores folder, or a group member could
   * write anywhere.
   */
  async #restore(request: RestoreRequest): Promise<RestoreResponse> {
    resticJob(this.#config, request.job);
    const root = this.#restoreRoot();
    if (this.options.mode === 'system' && !request.target.startsWith(root + sep)) {
      throw new ApiProblem(403, 'restore.target-refused', `the system agent restores only under ${root}`, `Pick a folder inside ${root}, then move the files where they belong.`);
    }
    const existing = await readdir(request.target).catch((caught: unknown) => {
      const error = caught as NodeJS.ErrnoException;
      if (error.code === 'ENOENT') return undefined;
      if (error.code === 'ENOTDIR') throw new ApiProblem(409, 'restore.target-not-a-folder', `${request.target} is a file`, 'Pick a folder that does not exist yet, or an empty one.');
      throw new ApiProblem(409, 'restore.target-unusable', `${request.target} can't be used (${error.code ?? error.message})`, 'Pick a folder this agent may write to.');
    });
    if (existing !== undefined && existing.length > 0) {
      throw new ApiProblem(409, 'restore.target-not-empty', `${request.target} is not empty`, 'Restores never overwrite files: pick a new or empty folder.');
    }
    await mkdir(request.target, { recursive: true, mode: 0o700 });
    const outcome = await withRepository(this.#runContext(), request.job, (engine, repo) => engine.restore(repo, request.snapshot, request.target, request.paths));
    if (!outcome.ok) throw snapshotProblem(request.snapshot, outcome.failure) ?? choreError(request.job, outcome.failure);
    this.#logger.log('info', 'restored from a snapshot', { job: request.job, snapshot: request.snapshot, paths: request.paths.length, target: request.target });
    return { target: request.target, paths: request.paths, ...outcome.value };
  }

  /** Graceful stop: running sessions are cancelled (by the system) and torn down, then servers close. */
  async stop(): Promise<void> {
    clearInterval(this.#policyPoll);
    await this.#policyCheck;
    await this.#schedule?.stop();
    await this.#supervisor.shutdown();
    for (const server of [this.#socketServer, this.#webServer]) {
      if (server === undefined) continue;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    }
    await rm(this.socket, { force: true });
    this.#logger.log('info', 'agent stopped', { pid: process.pid });
    await this.#fileLogger?.close();
    await this.#releaseLock?.();
  }
}

/** The version in package.json, read once. */
export async function packageVersion(): Promise<string> {
  try {
    const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export type { HealthItem };
