/**
 * From a validated rsync job in the config to the rsync engine's job-specific options, so the agent
 * wiring is one call: `createRsyncEngine({ runner, binary, ...rsyncJobOptions(job) })`.
 */
import type { JobConfig } from '../config/schema.js';
import type { RsyncEngineOptions } from './rsync.js';

export type RsyncJobOptions = Pick<RsyncEngineOptions, 'target' | 'mirror' | 'ioTimeoutSeconds' | 'connectTimeoutSeconds'>;

/** The engine options of an rsync job; undefined when the job has no ssh block (not an rsync job). */
export function rsyncJobOptions(job: JobConfig): RsyncJobOptions | undefined {
  const { ssh } = job;
  if (ssh === undefined || ssh.identity.kind !== 'file') return undefined;
  return {
    target: {
      host: ssh.host,
      port: ssh.port,
      user: ssh.user,
      identityFile: ssh.identity.path,
      ...(ssh.knownHosts === undefined ? {} : { knownHostsFile: ssh.knownHosts }),
    },
    mirror: job.mirror ?? false,
    ...(job.timeouts === undefined ? {} : { ioTimeoutSeconds: job.timeouts.ioSeconds, connectTimeoutSeconds: job.timeouts.connectSeconds }),
  };
}
