import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackupEngine } from '../backup/engine.js';
import { repositoryEndpoint } from '../backup/repository.js';
import { locateRestic, ResticBinaryError } from '../backup/restic-binary.js';
import { createResticEngine, type ResticEngine } from '../backup/restic.js';
import { planTunnel } from './tunnel-plan.js';
import type { Config, JobConfig } from '../config/schema.js';
import type { CommandRunner } from '../os/command.js';
import type { Logger } from '../os/log.js';
import { probeTcp, ProbeError } from '../os/net.js';
import { processIdentity } from '../os/process.js';
import type { BackhaulPaths } from '../os/paths.js';
import type { SecretRedactor } from '../os/redact.js';
import { resolveSecret } from '../os/secrets.js';
import { appendHistory, type SessionTrigger } from './session/history.js';
import { openJournal } from './session/journal.js';
import { runSession, type SessionEvent, type SessionPlan, type SessionPorts } from './session/session.js';
import type { SessionRecord } from './session/history.js';

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
}

/** A user-facing error with a stable code and a hint (the shape the session and CLI print). */
export class JobError extends Error {
  override readonly name = 'JobError';
  constructor(
    readonly code: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** The package's resources/ folder: the same relative place from src/agent and dist/agent. */
export function defaultResourcesDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'resources');
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
  return resolveSecret(job.password, { redactor: ctx.redactor });
}

/** Proves the repository's host answers before the engine hides the problem in its retries. */
export async function checkRepositoryReachable(repository: string, signal: AbortSignal): Promise<void> {
  const endpoint = repositoryEndpoint(repository);
  if (endpoint.kind !== 'tcp') return;
  try {
    await probeTcp(endpoint.host, endpoint.port, 10_000, signal);
  } catch (error) {
    if (!(error instanceof ProbeError)) throw error;
    throw new JobError(
      'verify.unreachable',
      `the repository server ${endpoint.host}:${endpoint.port} can't be reached (${error.reason})`,
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
  if (job.engine !== 'restic') {
    throw new JobError('config.engine-unavailable', `jobs.${jobName}.engine is ${job.engine}, which this version can't run yet`, 'Use engine: restic.');
  }
  return {
    job: jobName,
    trigger,
    backup: {
      jobName,
      repository: job.repository,
      sources: job.sources,
      excludes: job.excludes,
      streams: job.streams,
      ...(job.uploadLimitKiBps === undefined ? {} : { uploadLimitKiBps: job.uploadLimitKiBps }),
    },
    tunnel: () => planTunnel({ config: ctx.config, runner: ctx.runner, redactor: ctx.redactor, stateDir: ctx.paths.stateDir }, jobName, job.profile),
  };
}

/** The real ports: state dir on disk, secrets from their references, restic from PATH or bundle. */
export function sessionPorts(ctx: RunContext, jobName: string, options: { engine?: () => Promise<BackupEngine>; sessionId?: string } = {}): SessionPorts {
  const job = findJob(ctx.config, jobName);
  const { engine, sessionId } = options;
  return {
    now: () => new Date(),
    newSessionId: () => sessionId ?? newSessionId(),
    openJournal: (id) => openJournal(ctx.paths.stateDir, id),
    resolvePassword: () => jobPassword(ctx, jobName, job),
    prepareEngine: engine ?? (() => prepareResticEngine(ctx)),
    checkReachable: checkRepositoryReachable,
    scratchDirFor: (id) => join(ctx.paths.stateDir, 'tmp', id),
    processIdentity,
    makePrivateDir: async (path) => {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await mkdir(path, { mode: 0o700 });
    },
    removeDir: (path) => rm(path, { recursive: true, force: true }),
    saveHistory: (record) => appendHistory(ctx.paths.stateDir, record),
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
  return runSession(plan, ports, signal, (event) => {
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
}
