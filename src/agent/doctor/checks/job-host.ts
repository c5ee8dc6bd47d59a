/**
 * The host a job's backup traffic goes to — the SSH server of an rsync job, the repository's host
 * otherwise — for the checks that ask whether it is routed and reachable through the tunnel.
 */
import { repositoryEndpoint } from '../../../backup/repository.js';
import type { JobConfig } from '../../../config/schema.js';

/** Undefined when the job has no network host (a local repository, a cloud backend left to restic). */
export function jobHost(job: JobConfig | undefined): string | undefined {
  if (job === undefined) return undefined;
  if (job.engine === 'rsync') return job.ssh?.host;
  const endpoint = repositoryEndpoint(job.repository);
  return endpoint.kind === 'tcp' ? endpoint.host : undefined;
}
