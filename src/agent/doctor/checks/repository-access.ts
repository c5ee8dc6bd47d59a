/**
 * repository.access: the repository answers and the password opens it — `restic snapshots`
 * through the job's own engine (through the tunnel when the job has a profile), bounded so a
 * broken path fails here instead of inside restic's 15-minute retries. rsync jobs: the SSH port.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { probeTcp, ProbeError } from '../../../os/net.js';
import { resolveSecret } from '../../../os/secrets.js';
import { backupFailure } from '../../session/failures.js';
import type { DoctorCheck } from '../types.js';

/** restic's answer must come within this; restic itself would retry for 15 minutes. */
export const REPOSITORY_TIMEOUT_MS = 60_000;

export const repositoryAccessCheck: DoctorCheck = {
  id: 'repository.access',
  title: 'Repository reachable and password valid',
  group: 'repository',
  scope: 'job',
  async run(ctx) {
    const job = ctx.target.job;
    const jobName = ctx.target.jobName ?? '';
    if (job === undefined) return { status: 'skip', evidence: 'no job' };
    if (ctx.target.profile !== undefined) {
      const tunnel = await ctx.tunnel();
      if (!tunnel.ok) return { status: 'skip', evidence: 'the tunnel is not up (see network.tunnel), so the repository behind it can\'t be reached' };
    }
    if (job.engine === 'rsync') {
      const ssh = job.ssh;
      if (ssh === undefined) return { status: 'skip', evidence: 'no ssh host' };
      try {
        await probeTcp(ssh.host, ssh.port, 10_000, ctx.signal);
        return { status: 'pass', evidence: `the SSH server ${ssh.host}:${ssh.port} accepts connections` };
      } catch (error) {
        if (!(error instanceof ProbeError)) throw error;
        return { status: 'fail', evidence: `the SSH server ${ssh.host}:${ssh.port} can't be reached (${error.reason})`, fix: `Check that sshd runs on ${ssh.host} and that jobs.${jobName}.ssh is right; if the job uses a VPN profile, check its routes.` };
      }
    }
    if (job.password === undefined) return { status: 'fail', evidence: `jobs.${jobName}.password is not set`, fix: `Add password: file:/path (mode 0600) to jobs.${jobName}.` };
    const password = await resolveSecret(job.password, { redactor: ctx.redactor, store: ctx.secretStore });
    const engine = await ctx.resticEngine();
    const scratchDir = join(ctx.paths.stateDir, 'tmp', `doctor-${randomBytes(6).toString('hex')}`);
    await mkdir(scratchDir, { recursive: true, mode: 0o700 });
    try {
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(REPOSITORY_TIMEOUT_MS)]);
      const outcome = await engine.snapshots({ repository: job.repository, password, scratchDir }, signal);
      if (outcome.ok) return { status: 'pass', evidence: `${job.repository}: the password opens it; ${outcome.value.length} snapshot${outcome.value.length === 1 ? '' : 's'}` };
      ctx.signal.throwIfAborted();
      if (outcome.failure.class === 'cancelled') {
        return {
          status: 'fail',
          evidence: `${job.repository}: no answer from restic within ${REPOSITORY_TIMEOUT_MS / 1000} s`,
          fix: `Check that the repository server runs and is reachable${ctx.target.profile === undefined ? '' : ' through the tunnel (see network.routes and network.mtu: a path that drops large packets connects and then hangs)'}.`,
        };
      }
      const failure = backupFailure(jobName, { ...outcome.failure, ...(outcome.fix === undefined ? {} : { fix: outcome.fix }) });
      return { status: 'fail', evidence: `${job.repository}: ${failure.code}: ${failure.message}`, fix: failure.hint };
    } finally {
      await rm(scratchDir, { recursive: true, force: true });
    }
  },
};
