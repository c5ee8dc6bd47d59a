import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackupEngine } from '../backup/engine.js';
import type { RepositoryEndpoint } from '../backup/repository.js';
import { locateRestic, ResticBinaryError } from '../backup/restic-binary.js';
import { createResticEngine, type ResticEngine } from '../backup/restic.js';
import { JobError } from './job-error.js';
import { jobEndpoint } from './job-endpoint.js';
import { prepareRsyncEngine } from './rsync-plan.js';
import { planTunnel, type TunnelPlanContext } from './tunnel-plan.js';
import type { Config, JobConfig } from '../config/schema.js';
import type { CommandRunner } from '../os/command.js';
import type { Logger } from '../os/log.js';
import { probeTcp, ProbeError } from '../os/net.js';
import { processIdentity } from '../os/process.js';
import type { BackhaulPaths } from '../os/paths.js';
import type { SecretRedactor } from '../os/redact.js';
import type { SecretStore } from '../os/secret-store.js';
import { resolveSecret } from '../os/secrets.js';
import { appendHistory, type SessionTrigger } from './session/history.js';
import { openJournal } from './session/journal.js';
import { runSession, type SessionEvent, type SessionPlan, type SessionPorts } from './session/session.js';
import type { SessionRecord } from './session/history.js';
import { choosePath } from './path-choice.js';
import { createSurroundings } from './around-run/surroundings.js';
import { jobNotifier } from './around-run/job-notifier.js';

/** Everything a run needs from its surroundings: the loaded config and the process's ports. */
export interface RunContext {
  readonly config: Config;
  readonly paths: BackhaulPaths;
  readonly runner: CommandRunner;
  readonly redactor: SecretRedactor;
  readonly logger: Logger;
  /** The app's resources dir (bundled binaries). */
  readonly resourcesDir?: string;
  readonly platform?: NodeJS.Platform;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** restic's own retries are survived up to this long before the engine gives up (default 15 min). */
  readonly networkGiveUpMs?: number;
  /**
   * How the agent runs: a system service dials VPN entries every user can see (Windows' all-users
   * phone book), a user agent its own. Absent for `run --foreground`, which runs as the user.
   */
  readonly agentMode?: 'user' | 'system';
  /** Where `keychain:` secrets are looked up (src/os/secret-store.ts); without it they can't be resolved. */
  readonly secretStore?: SecretStore | undefined;
  /** What the host offers for tunnels (default: probed through the runner). */
  readonly hostProbe?: TunnelPlanContext['probe'];
  /** The TCP connect behind `tunnel: whenNeeded` (default src/os/net.ts). */
  readonly probeTcp?: typeof probeTcp;
  /** HTTP for notifications (default the global fetch). */
  readonly fetch?: typeof fetch;
}

export { JobError };

/** The package's resources/ folder: the same relative place from src/agent and dist/agent. */
export function defaultResourcesDir(): string {
  return resourcesDirFor(dirname(fileURLToPath(import.meta.url)));
}

/**
 * Where the pinned restic and restic.json live, seen from this module's folder. From a checkout or
 * the agent-only package: `<package>/resources`. Inside the desktop app the code is in
 * `<Resources>/app.asar/dist/agent`, where nothing can be executed, so electron-builder's
 * beforePack hook (electron/before-pack.mjs) puts restic beside the asar: `<Resources>/restic`.
 */
export function resourcesDirFor(moduleDir: string): string {
  const inAsar = /^(.+)[\\/]app\.asar(?:[\\/]|$)/.exec(moduleDir);
  if (inAsar?.[1] !== undefined) return join(inAsar[1], 'restic');
  return join(moduleDir, '..', '..', 'resources');
}

export function findJob(config: Config, name: string): JobConfig {
  const job = config.jobs[name];
  if (job === undefined) {
    const known = Object.keys(config.jobs);
    throw new JobError(
      'config.unknown-job',
      `there is no job named "${name}"`,
      known.length > 0 ? `Known jobs: ${known.join(', ')}.` : 'The config has no jobs yet: add one under "jobs:" (see docs/configuration.md).',
    );
  }
  return job;
}

/** Finds restic and wraps it as the engine. @throws JobError backup.engine-missing */
export async function prepareResticEngine(ctx: RunContext): Promise<ResticEngine> {
  const env = ctx.env ?? process.env;
  try {
    const resticPath = ctx.config.settings.resticPath;
    const binary = await locateRestic(
      {
        ...(resticPath === undefined ? {} : { configuredPath: resticPath }),
        resourcesDir: ctx.resourcesDir ?? defaultResourcesDir(),
        platform: ctx.platform ?? process.platform,
        arch: process.arch,
        pathEnv: env.PATH ?? '',
      },
      ctx.runner,
    );
    return createResticEngine({
      runner: ctx.runner,
      binary,
      ...(ctx.networkGiveUpMs === undefined ? {} : { networkGiveUpMs: ctx.networkGiveUpMs }),
    });
  } catch (error) {
    if (error instanceof ResticBinaryError) throw new JobError('backup.engine-missing', error.problem, error.fix);
    throw error;
  }
}

/** Resolves a job's repository password. @throws a SecretError (user-facing) or JobError. */
export async function jobPassword(ctx: RunContext, jobName: string, job: JobConfig): Promise<string> {
  if (job.password === undefined) {
    throw new JobError(
      'config.missing-password',
      `jobs.${jobName}.password is not set; restic needs the repository's password`,
      `Add "password: file:/path/to/file" (a file with mode 0600) to jobs.${jobName}.`,
    );
  }
  return resolveSecret(job.password, { redactor: ctx.redactor, store: ctx.secretStore });
}

/** The engine a job runs with, found and version-checked. @throws JobError backup.engine-missing */
export function prepareJobEngine(ctx: RunContext, jobName: string, job: JobConfig): Promise<BackupEngine> {
  return job.engine === 'rsync' ? prepareRsyncEngine(ctx, jobName, job) : prepareResticEngine(ctx);
}

/** Proves the backup server answers before the engine hides the problem in its retries. */
export async function checkReachable(endpoint: RepositoryEndpoint, signal: AbortSignal): Promise<void> {
  if (endpoint.kind !== 'tcp') return;
  const server = endpoint.scheme === 'ssh' ? 'SSH server' : 'repository server';
  try {
    await probeTcp(endpoint.host, endpoint.port, 10_000, signal);
  } catch (error) {
    if (!(error instanceof ProbeError)) throw error;
    throw new JobError(
      'verify.unreachable',
      `the ${server} ${endpoint.host}:${endpoint.port} can't be reached (${error.reason})`,
      'Check that the server is running and that this machine can reach it; if the job uses a VPN profile, check its split routes.',
    );
  }
}

/** A sortable, unique session id: 20261125T031500Z-9f3a1c. */
export function newSessionId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** The plan for one run of `jobName`. @throws a user-facing error when the job can't be run at all. */
export function planSession(ctx: RunContext, jobName: string, trigger: SessionTrigger): SessionPlan {
  const job = findJob(ctx.config, jobName);
  return {
    job: jobName,
    trigger,
    endpoint: jobEndpoint(jobName, job),
    backup: {
      jobName,
      repository: job.repository,
      sources: job.sources,
      excludes: job.excludes,
      streams: job.streams,
      ...(job.uploadLimitKiBps === undefined ? {} : { uploadLimitKiBps: job.uploadLimitKiBps }),
    },
    ...supervisionOf(ctx.config, job.profile),
    tunnel: async (signal) => {
      const tunnelCtx: TunnelPlanContext = {
        config: ctx.config,
        runner: ctx.runner,
        redactor: ctx.redactor,
        secretStore: ctx.secretStore,
        stateDir: ctx.paths.stateDir,
        agentMode: ctx.agentMode ?? 'user',
        ...(ctx.hostProbe === undefined ? {} : { probe: ctx.hostProbe }),
      };
      if (job.tunnel !== 'whenNeeded' || job.profile === 'direct') return planTunnel(tunnelCtx, jobName, job.profile);
      // Where am I: tried before any tunnel exists, so a direct answer really means "on the LAN".
      const path = await choosePath(jobEndpoint(jobName, job), ctx.probeTcp ?? probeTcp, signal);
      ctx.logger.child({ job: jobName }).log('info', `${path.via === 'direct' ? 'going direct' : `using the ${job.profile} tunnel`}: ${path.reason}`, { path: path.via });
      return { ...(await planTunnel(tunnelCtx, jobName, path.via === 'direct' ? 'direct' : job.profile)), path };
    },
  };
}

/** One empty file per job under `<state>/stale-locks/`: its next session runs `restic unlock`. */
function staleLockMarks(stateDir: string): NonNullable<SessionPorts['staleLocks']> {
  const mark = (job: string) => join(stateDir, 'stale-locks', job);
  return {
    pending: async (job) => (await stat(mark(job)).then(() => true, () => false)),
    set: async (job, pending) => {
      if (!pending) {
        await rm(mark(job), { force: true });
        return;
      }
      await mkdir(dirname(mark(job)), { recursive: true, mode: 0o700 });
      await writeFile(mark(job), '', { mode: 0o600 });
    },
  };
}

/** The tunnel supervisor's settings from the job's profile (none for `direct`: nothing to keep up). */
function supervisionOf(config: Config, profileName: string): Pick<SessionPlan, 'supervision'> {
  const profile = config.profiles[profileName];
  if (profile === undefined) return {};
  return {
    supervision: {
      keepaliveMs: profile.keepaliveSeconds * 1000,
      stallIntervals: profile.stallIntervals,
      maxAttempts: profile.reconnectAttempts,
      deadlineMs: profile.reconnectDeadlineSeconds * 1000,
    },
  };
}

/**
 * The real ports: state dir on disk, secrets from their references, the job's engine (restic from
 * its configured path, the bundle or PATH; rsync from its configured path or PATH). rsync jobs
 * have no repository password: ssh logs in with the job's key, which ssh reads itself.
 */
export function sessionPorts(ctx: RunContext, jobName: string, options: { engine?: () => Promise<BackupEngine>; sessionId?: string } = {}): SessionPorts {
  const job = findJob(ctx.config, jobName);
  const { engine, sessionId } = options;
  return {
    now: () => new Date(),
    newSessionId: () => sessionId ?? newSessionId(),
    openJournal: (id) => openJournal(ctx.paths.stateDir, id),
    resolvePassword: () => (job.engine === 'rsync' ? Promise.resolve('') : jobPassword(ctx, jobName, job)),
    prepareEngine: engine ?? (() => prepareJobEngine(ctx, jobName, job)),
    checkReachable,
    scratchDirFor: (id) => join(ctx.paths.stateDir, 'tmp', id),
    processIdentity,
    makePrivateDir: async (path) => {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await mkdir(path, { mode: 0o700 });
    },
    removeDir: (path) => rm(path, { recursive: true, force: true }),
    saveHistory: (record) => appendHistory(ctx.paths.stateDir, record),
    log: (level, message, fields) => { ctx.logger.child({ job: jobName }).log(level, message, fields); },
    staleLocks: staleLockMarks(ctx.paths.stateDir),
    surroundings: createSurroundings({
      job: jobName,
      runner: ctx.runner,
      platform: ctx.platform ?? process.platform,
      agentPid: process.pid,
      keepAwake: job.keepAwake,
      ...(job.hooks === undefined ? {} : { hooks: job.hooks }),
      log: (level, message) => { ctx.logger.child({ job: jobName }).log(level, message); },
    }),
  };
}

/** Runs one job in this process, logging one line per state change. */
export async function runJob(
  ctx: RunContext,
  jobName: string,
  trigger: SessionTrigger,
  signal: AbortSignal,
  onEvent: (event: SessionEvent) => void = () => undefined,
  sessionId?: string,
): Promise<SessionRecord> {
  const plan = planSession(ctx, jobName, trigger);
  const ports = sessionPorts(ctx, jobName, sessionId === undefined ? {} : { sessionId });
  let log = ctx.logger.child({ job: jobName });
  const notifier = jobNotifier(findJob(ctx.config, jobName).notify, {
    fetch: ctx.fetch ?? fetch,
    log: (level, message) => { log.log(level, message); },
    redact: (text) => ctx.redactor.redact(text),
  });
  const record = await runSession(plan, ports, signal, (event) => {
    if (event.type === 'state' && event.state === 'preflight') notifier.started(jobName, event.sessionId, event.at);
    if (event.type === 'state') {
      log = ctx.logger.child({ job: jobName, sessionId: event.sessionId });
      log.log('info', `session ${event.state}`, { state: event.state });
    } else if (event.type === 'backup' && event.event.type !== 'progress') {
      log.log('warn', event.event.message, { event: event.event.type });
    } else if (event.type === 'end') {
      const { record } = event;
      log.log(record.end === 'failed' ? 'error' : 'info', `session ended ${record.end}${record.result === undefined ? '' : ` (${record.result})`}`, {
        failure: record.failure,
        summary: record.summary,
      });
    }
    onEvent(event);
  });
  // Bounded by notify.timeoutSeconds and retries; the record is already saved.
  await notifier.finished(record);
  return record;
}
