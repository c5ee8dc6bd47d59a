/**
 * The host of the job's backup traffic (jobEndpoint: the repository's, or an rsync job's SSH
 * server), for the checks that ask whether it is routed and reachable through the tunnel.
 */
import type { JobConfig } from '../../../config/schema.js';
import { jobEndpoint } from '../../job-endpoint.js';

/** Undefined without a job, or when it has no network host (a local repository, a cloud backend left to restic). */
export function jobHost(jobName: string | undefined, job: JobConfig | undefined): string | undefined {
  if (job === undefined) return undefined;
  const endpoint = jobEndpoint(jobName ?? '', job);
  return endpoint.kind === 'tcp' ? endpoint.host : undefined;
}
