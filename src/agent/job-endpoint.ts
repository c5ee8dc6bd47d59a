/**
 * Where a job's data goes on the network — restic's repository host, or an rsync job's SSH
 * server — for everything that asks: the session's verifying, "where am I", the scheduler's
 * network check after a wake-up and doctor's route and MTU checks.
 */
import { repositoryEndpoint, type RepositoryEndpoint } from '../backup/repository.js';
import type { JobConfig } from '../config/schema.js';
import { sshEndpoint } from './rsync-plan.js';

export function jobEndpoint(jobName: string, job: JobConfig): RepositoryEndpoint {
  return job.engine === 'rsync' ? sshEndpoint(jobName, job) : repositoryEndpoint(job.repository);
}
