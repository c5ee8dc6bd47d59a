/**
 * When a schedule's next slot is: the first instant strictly after a given one, in the job's time
 * zone. The DST rules live here, once:
 * - a wall time in a spring-forward gap (02:30 in Berlin on the last Sunday of March) runs at the
 *   first valid time after it (03:00 CEST); several gap times land on that one instant, so once;
 * - a wall time that happens twice (01:30 in New York on the first Sunday of November) runs at
 *   its first occurrence only.
 * A slot is identified by its instant, so these rules also decide what "the same slot" is.
 */
import type { CalendarSchedule, Schedule } from '../../config/schedule-expression.js';
import { firstInstantAtOrAfter, offsetAt, wallAsUtc, wallTimeAt } from './zoned-time.js';

const DAY_MS = 86_400_000;
/** Far enough for any satisfiable cron (29 February on a given weekday recurs within 28 years). */
const HORIZON_DAYS = 366 * 30;

/** The first slot strictly after `afterMs`, or undefined when the schedule never matches again. */
export function nextSlot(schedule: Schedule, afterMs: number, zone: string): number | undefined {
  if (schedule.kind === 'interval') return (Math.floor(afterMs / schedule.everyMs) + 1) * schedule.everyMs;
  return nextCalendarSlot(schedule, afterMs, zone);
}

/** The next `count` slots after `afterMs` (for `backhaul schedule`). */
export function upcomingSlots(schedule: Schedule, afterMs: number, zone: string, count: number): number[] {
  const slots: number[] = [];
  let cursor = afterMs;
  while (slots.length < count) {
    const next = nextSlot(schedule, cursor, zone);
    if (next === undefined) break;
    slots.push(next);
    cursor = next;
  }
  return slots;
}

/** The latest slot at or before `atMs` and after `sinceMs`, if any: what a catch-up would run. */
export function latestSlotBetween(schedule: Schedule, sinceMs: number, atMs: number, zone: string): number | undefined {
  let latest: number | undefined;
  if (schedule.kind === 'interval') {
    const slot = Math.floor(atMs / schedule.everyMs) * schedule.everyMs;
    return slot > sinceMs ? slot : undefined;
  }
  // Look back in growing windows, so a minutely cron after a year offline costs little.
  for (const window of [3_600_000, DAY_MS, 8 * DAY_MS, 32 * DAY_MS, 400 * DAY_MS]) {
    const from = Math.max(sinceMs, atMs - window);
    let cursor = from;
    for (;;) {
      const next = nextCalendarSlot(schedule, cursor, zone);
      if (next === undefined || next > atMs) break;
      latest = next;
      cursor = next;
    }
    if (latest !== undefined || from === sinceMs) return latest;
  }
  return latest;
}

function dayMatches(schedule: CalendarSchedule, year: number, month: number, day: number): boolean {
  if (!schedule.months.has(month)) return false;
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  const byDay = schedule.days.has(day);
  const byWeekday = schedule.weekdays.has(weekday);
  if (schedule.daysRestricted && schedule.weekdaysRestricted) return byDay || byWeekday;
  return byDay && byWeekday;
}

function nextCalendarSlot(schedule: CalendarSchedule, afterMs: number, zone: string): number | undefined {
  // Start a day early: a gap time of the previous local day can land after `afterMs`.
  const start = wallTimeAt(afterMs - DAY_MS, zone);
  const startDay = Date.UTC(start.year, start.month - 1, start.day);
  for (let i = 0; i <= HORIZON_DAYS; i++) {
    const date = new Date(startDay + i * DAY_MS);
    const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    if (!dayMatches(schedule, year, month, day)) continue;
    // Most days have one offset throughout: plain arithmetic. A DST day asks Intl per time.
    const midnight = wallAsUtc({ year, month, day, hour: 0, minute: 0, second: 0 });
    const offsetStart = offsetAt(midnight - offsetAt(midnight, zone), zone);
    const offsetEnd = offsetAt(midnight + DAY_MS - offsetAt(midnight + DAY_MS, zone), zone);
    const steady = offsetStart === offsetEnd && offsetAt(midnight + DAY_MS / 2 - offsetStart, zone) === offsetStart;
    for (const hour of schedule.hours) {
      for (const minute of schedule.minutes) {
        for (const second of schedule.seconds) {
          const wall = { year, month, day, hour, minute, second };
          const instant = steady ? wallAsUtc(wall) - offsetStart : firstInstantAtOrAfter(wall, zone);
          if (instant > afterMs) return instant;
        }
      }
    }
  }
  return undefined;
}
