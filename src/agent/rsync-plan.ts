/**
 * The agent's wiring of an rsync job: find rsync (settings.rsyncPath, else PATH), build the engine
 * with the job's ssh target, mirror and timeouts, and name the endpoint verifying must reach (the
 * SSH server, not the destination directory). Everything rsync-specific stays behind BackupEngine.
 */
import type { RepositoryEndpoint } from '../backup/repository.js';
import { locateRsync, RsyncBinaryError } from '../backup/rsync-binary.js';
import { rsyncJobOptions } from '../backup/rsync-job.js';
import { createRsyncEngine, type RsyncEngine } from '../backup/rsync.js';
import type { JobConfig } from '../config/schema.js';
import { JobError } from './job-error.js';
import type { RunContext } from './run-job.js';

function notAnRsyncJob(jobName: string): JobError {
  return new JobError(
    'config.rsync-ssh',
    `jobs.${jobName} is an rsync job without a usable ssh block`,
    `Add "ssh: { host: …, user: …, identity: file:/path/to/key }" to jobs.${jobName} (see docs/configuration.md).`,
  );
}

/** The SSH server an rsync job copies to, as the TCP endpoint verifying probes. */
export function sshEndpoint(jobName: string, job: JobConfig): RepositoryEndpoint {
  if (job.ssh === undefined) throw notAnRsyncJob(jobName);
  return { kind: 'tcp', scheme: 'ssh', host: job.ssh.host, port: job.ssh.port };
}

/** Finds rsync and wraps it as the job's engine. @throws JobError backup.engine-missing */
export async function prepareRsyncEngine(ctx: RunContext, jobName: string, job: JobConfig): Promise<RsyncEngine> {
  const options = rsyncJobOptions(job);
  if (options === undefined) throw notAnRsyncJob(jobName);
  const rsyncPath = ctx.config.settings.rsyncPath;
  try {
    const binary = await locateRsync(ctx.runner, {
      ...(rsyncPath === undefined ? {} : { configuredPath: rsyncPath }),
      platform: ctx.platform ?? process.platform,
    });
    const log = ctx.logger.child({ job: jobName, engine: 'rsync' });
    return createRsyncEngine({
      runner: ctx.runner,
      binary,
      ...options,
      log: (level, message, fields) => { log.log(level, message, fields); },
    });
  } catch (error) {
    if (error instanceof RsyncBinaryError) throw new JobError('backup.engine-missing', error.problem, error.fix);
    throw error;
  }
}
