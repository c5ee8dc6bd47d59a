import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResticRepoRequest } from '../backup/restic.js';
import { findJob, jobPassword, JobError, prepareResticEngine, type RunContext } from './run-job.js';
import { backupFailure } from './session/failures.js';
import type { BackupFailure } from '../backup/engine.js';
import type { ResticEngine } from '../backup/restic.js';
import type { Config, JobConfig } from '../config/schema.js';

/**
 * The job, when it has a restic repository. An rsync job has no snapshots to list, browse or
 * restore (nor a repository to init): it keeps a plain copy on the SSH host, browsed there.
 * @throws JobError job.no-snapshots (or config.unknown-job)
 */
export function resticJob(config: Config, jobName: string): JobConfig {
  const job = findJob(config, jobName);
  if (job.engine === 'restic') return job;
  const where = job.ssh === undefined ? job.repository : `${job.ssh.user}@${job.ssh.host}:${job.repository}`;
  const port = job.ssh === undefined || job.ssh.port === 22 ? '' : ` -p ${job.ssh.port}`;
  throw new JobError(
    'job.no-snapshots',
    `"${jobName}" is an rsync job: it keeps no snapshots, only a plain copy at ${where}`,
    `Browse the copy there (each source under its full path), e.g. ssh${port} ${job.ssh?.user ?? 'user'}@${job.ssh?.host ?? 'host'} ls ${job.repository}; copy files back with rsync or scp.`,
  );
}

/**
 * Runs `fn` with the job's engine and a request whose password file lives in a private scratch
 * dir for exactly as long as `fn` runs. For chores outside a session: init, snapshots. restic jobs
 * only: an rsync job is refused with job.no-snapshots.
 */
export async function withRepository<T>(ctx: RunContext, jobName: string, fn: (engine: ResticEngine, request: ResticRepoRequest) => Promise<T>): Promise<T> {
  const job = resticJob(ctx.config, jobName);
  const password = await jobPassword(ctx, jobName, job);
  const engine = await prepareResticEngine(ctx);
  const scratchDir = join(ctx.paths.stateDir, 'tmp', `chore-${randomBytes(6).toString('hex')}`);
  await mkdir(join(ctx.paths.stateDir, 'tmp'), { recursive: true, mode: 0o700 });
  await mkdir(scratchDir, { mode: 0o700 });
  try {
    return await fn(engine, { repository: job.repository, password, scratchDir, streams: job.streams });
  } finally {
    await rm(scratchDir, { recursive: true, force: true });
  }
}

/** A chore's failure as the same user-facing error a session would report. */
export function choreError(jobName: string, failure: BackupFailure): JobError {
  const f = backupFailure(jobName, failure);
  return new JobError(f.code, f.message, f.hint);
}
