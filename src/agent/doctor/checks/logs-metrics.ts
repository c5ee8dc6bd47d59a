/**
 * host.logs-metrics: the log directory takes writes (a session's only record when something goes
 * wrong), and — when the agent runs — its /metrics answer with Backhaul's series.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DoctorCheck } from '../types.js';

export const logsMetricsCheck: DoctorCheck = {
  id: 'host.logs-metrics',
  title: 'Logs and metrics wired',
  group: 'host',
  scope: 'host',
  async run(ctx) {
    const logDir = ctx.paths.logDir;
    const probe = join(logDir, `.doctor-${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(logDir, { recursive: true });
      await writeFile(probe, 'doctor\n');
      await rm(probe, { force: true });
    } catch (error) {
      return { status: 'fail', evidence: `the log directory ${logDir} takes no writes (${(error as NodeJS.ErrnoException).code ?? String(error)})`, fix: `Give the agent's user write access to ${logDir} (or set BACKHAUL_HOME / run with --system as the service does).` };
    }
    let metrics: string | undefined;
    try {
      metrics = await ctx.agentMetrics();
    } catch (error) {
      return { status: 'fail', evidence: `logs: ${logDir} is writable; the agent's socket answers but /metrics failed: ${error instanceof Error ? error.message : String(error)}`, fix: 'Restart the agent; if it persists, the agent log says why.' };
    }
    if (metrics === undefined) return { status: 'pass', evidence: `logs: ${logDir} is writable; metrics: the agent is not running, so /metrics was not asked (start it with "backhaul agent" or the service)` };
    const series = new Set([...metrics.matchAll(/^(backhaul_[a-z_]+)/gm)].map((m) => m[1]));
    if (series.size === 0) return { status: 'fail', evidence: `logs: ${logDir} is writable; /metrics answered without any backhaul_ series`, fix: 'The agent answering is not Backhaul\'s, or a version without metrics: check which process holds the socket.' };
    return { status: 'pass', evidence: `logs: ${logDir} is writable; /metrics answers with ${series.size} backhaul_ series` };
  },
};
