/** The config's `jobs.NAME.schedule` as the scheduler takes it (validated by the schema already). */
import { parseDelay, parseSchedule } from '../../config/schedule-expression.js';
import type { Config } from '../../config/schema.js';
import type { ScheduledJob } from './scheduler.js';

export function scheduledJobs(config: Config, systemZone: string): ScheduledJob[] {
  return Object.entries(config.jobs).flatMap(([name, job]) => {
    const schedule = job.schedule;
    if (schedule === undefined) return [];
    const parsed = parseSchedule(schedule.at);
    if (!parsed.ok) return [];
    return [{
      name,
      schedule: parsed.schedule,
      zone: schedule.timezone ?? systemZone,
      randomDelayMs: schedule.randomDelay === undefined ? 0 : parseDelay(schedule.randomDelay) ?? 0,
      catchUp: schedule.catchUp,
      overlap: schedule.overlap,
      onlyOnAc: schedule.onlyOnAc,
      requireGatewayDns: schedule.requireGatewayDns,
      skipOnMetered: schedule.skipOnMetered,
    }];
  });
}
