/**
 * `backhaul schedule`: the upcoming scheduled runs of each job, as the agent computes them (the
 * agent owns the clock, the zone rules and the slot store), in each job's own time zone.
 * `--pause 2h` / `--resume` pause and resume scheduled runs (the tray's "Pause schedules").
 */
import type { JobScheduleInfo, ScheduleResponse } from '../../api/types.js';
import { parseDelay } from '../../config/schedule-expression.js';
import { wallTimeAt } from '../../agent/schedule/zoned-time.js';
import { agentClient } from '../client.js';
import type { GlobalOptions } from '../context.js';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Output } from '../run-view.js';

type Io = { out: Output; err: Output };

const two = (n: number) => String(n).padStart(2, '0');

/** "2026-11-26 02:07:00" on a clock in `zone`. */
export function formatInZone(iso: string, zone: string): string {
  const w = wallTimeAt(Date.parse(iso), zone);
  return `${w.year}-${two(w.month)}-${two(w.day)} ${two(w.hour)}:${two(w.minute)}:${two(w.second)}`;
}

function describeJob(job: JobScheduleInfo): string[] {
  const lines = [`${job.job}  ${job.at}  (${job.timezone})`];
  if (job.upcoming.length === 0) lines.push('  no upcoming run');
  job.upcoming.forEach((run, index) => {
    const delay = Math.round((Date.parse(run.startsAt) - Date.parse(run.slot)) / 1000);
    const late = delay > 0 ? `  (slot ${formatInZone(run.slot, job.timezone).slice(11)}, random delay ${delay >= 60 ? `${Math.round(delay / 60)}m` : `${delay}s`})` : '';
    lines.push(`  ${index === 0 ? 'next' : 'then'}  ${formatInZone(run.startsAt, job.timezone)}${late}`);
  });
  if (job.waitingFor !== undefined) lines.push(`  waiting for ${job.waitingFor}`);
  if (job.overdueSince !== undefined) lines.push(`  overdue since ${formatInZone(job.overdueSince, job.timezone)}`);
  return lines;
}

/** The human listing. */
export function describeSchedule(response: ScheduleResponse): string {
  const lines = response.jobs.length === 0 ? ['No job has a schedule. Add one to a job in the config file, e.g. schedule: { at: "daily at 02:00" }.'] : response.jobs.flatMap(describeJob);
  if (response.pausedUntil !== undefined) lines.push(`Scheduled runs are paused until ${response.pausedUntil} (backhaul schedule --resume).`);
  return `${lines.join('\n')}\n`;
}

export async function scheduleCommand(options: { json?: boolean; count?: string; pause?: string; resume?: boolean }, global: GlobalOptions, io: Io): Promise<ExitCodeValue> {
  const count = options.count === undefined ? 3 : Number(options.count);
  if (!Number.isInteger(count) || count < 1 || count > 100) throw new CliError(`--count must be a whole number 1–100, got ${JSON.stringify(options.count)}`, ExitCode.usage, 'e.g. backhaul schedule --count 5');
  const client = agentClient(global);
  if (options.pause !== undefined && options.resume === true) throw new CliError('--pause and --resume exclude each other', ExitCode.usage, 'Give one of them.');
  if (options.pause !== undefined) {
    const ms = parseDelay(options.pause);
    if (ms === undefined || ms <= 0) throw new CliError(`--pause takes a duration such as 30m, 2h or 12h, got ${JSON.stringify(options.pause.slice(0, 20))}`, ExitCode.usage, 'e.g. backhaul schedule --pause 2h');
    await client.pauseSchedules(new Date(Date.now() + ms));
  } else if (options.resume === true) {
    await client.pauseSchedules(null);
  }
  const response = await client.schedule(count);
  io.out.write(options.json === true ? `${JSON.stringify(response)}\n` : describeSchedule(response));
  return ExitCode.ok;
}
