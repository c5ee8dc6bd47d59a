/**
 * Schedule expressions: one parser for 5-field cron (`30 2 * * 1-5`, lists, ranges, steps, names)
 * and the simple forms people write (`daily at 02:00`, `weekly on sunday at 03:00`, `hourly`,
 * `every 6h`). It never throws: bad input comes back as a message naming the part that is wrong and
 * a hint with what would be valid. Pure: no clock and no zone (src/agent/schedule/next-slot.ts
 * reads slots in a zone); it lives with the config because the schema validates with it.
 */

/** Wall-clock slots: the times of day, on the days that match (cron and daily/weekly/hourly). */
export interface CalendarSchedule {
  readonly kind: 'calendar';
  readonly text: string;
  /** Sorted ascending. Cron has only second 0; `daily at 02:00:05` has 5. */
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 = Sunday … 6 = Saturday (cron's 7 is folded into 0). */
  readonly weekdays: ReadonlySet<number>;
  /** Cron's rule: when both day fields are restricted, a day matching either one counts. */
  readonly daysRestricted: boolean;
  readonly weekdaysRestricted: boolean;
}

/** Elapsed-time slots: every `everyMs`, counted from 1970-01-01 00:00 UTC (so restarts agree). */
export interface IntervalSchedule {
  readonly kind: 'interval';
  readonly text: string;
  readonly everyMs: number;
}

export type Schedule = CalendarSchedule | IntervalSchedule;

export type ScheduleParse =
  | { readonly ok: true; readonly schedule: Schedule }
  | { readonly ok: false; readonly message: string; readonly hint: string };

const FORMS_HINT = 'Write a 5-field cron expression ("30 2 * * *": minute hour day-of-month month day-of-week) or one of: "daily at 02:00", "weekly on sunday at 03:00", "hourly", "every 6h", "every 30m".';
const CRON_HINT = 'Cron fields are minute (0–59), hour (0–23), day of month (1–31), month (1–12 or jan–dec) and day of week (0–7 or sun–sat; 0 and 7 are Sunday); each takes *, a value, a range a-b, a list a,b and a step */n or a-b/n.';

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FULL_DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

interface FieldRule {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names accepted instead of numbers, the first standing for `min`. */
  readonly names?: readonly string[];
}

const CRON_FIELDS: readonly FieldRule[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { name: 'day of week', min: 0, max: 7, names: DAY_NAMES },
];

// Maps, not object literals: "__proto__" or "constructor" typed by a user must not find Object's.
const MACROS: ReadonlyMap<string, string> = new Map([
  ['@hourly', '0 * * * *'],
  ['@daily', '0 0 * * *'],
  ['@midnight', '0 0 * * *'],
  ['@weekly', '0 0 * * 0'],
  ['@monthly', '0 0 1 * *'],
]);

/** The shortest and longest `every` a schedule may have. */
export const MIN_INTERVAL_MS = 60_000;
export const MAX_INTERVAL_MS = 31 * 86_400_000;

type Result<T> = { ok: true; value: T } | { ok: false; message: string; hint: string };

function failure(message: string, hint: string): { ok: false; message: string; hint: string } {
  return { ok: false, message, hint };
}

/** Shows a piece of the input safely: short, quoted, control characters escaped by JSON. */
function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 37)}…` : text);
}

/** Parses one schedule expression. Never throws. */
export function parseSchedule(input: unknown): ScheduleParse {
  if (typeof input !== 'string') return failure('expected a schedule expression as text', FORMS_HINT);
  const text = input.trim().replace(/\s+/g, ' ');
  if (text === '') return failure('must not be empty', FORMS_HINT);
  const lower = text.toLowerCase();
  const macro = MACROS.get(lower);
  if (macro !== undefined) return parseCron(macro, text);
  if (lower === 'hourly') return parseCron('0 * * * *', text);
  if (lower.startsWith('daily') || lower.startsWith('weekly')) return parseDailyOrWeekly(lower, text);
  if (lower.startsWith('every')) return parseEvery(lower, text);
  const fields = text.split(' ');
  if (fields.length === 5) return parseCron(text, text);
  if (/^[\d*]/.test(text)) return failure(`a cron expression has 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`, `${CRON_HINT} Seconds and years are not supported.`);
  return failure(`not a schedule: ${quote(text)}`, FORMS_HINT);
}

function parseDailyOrWeekly(lower: string, text: string): ScheduleParse {
  const daily = /^daily at (\S+)$/.exec(lower);
  const weekly = /^weekly on (\S+) at (\S+)$/.exec(lower);
  if (daily === null && weekly === null) {
    return failure(`not a schedule: ${quote(text)}`, 'Write "daily at 02:00" or "weekly on sunday at 03:00" (24-hour time, seconds optional: 02:00:30).');
  }
  const time = parseTimeOfDay((daily?.[1] ?? weekly?.[2]) ?? '');
  if (!time.ok) return time;
  let weekdays: ReadonlySet<number> = new Set([0, 1, 2, 3, 4, 5, 6]);
  if (weekly !== null) {
    const day = weekly[1] ?? '';
    const index = Math.max(FULL_DAY_NAMES.indexOf(day), DAY_NAMES.indexOf(day));
    if (index < 0) return failure(`${quote(day)} is not a day of the week`, 'Name the day: sunday, monday, tuesday, wednesday, thursday, friday or saturday (or sun, mon, …).');
    weekdays = new Set([index]);
  }
  return {
    ok: true,
    schedule: {
      kind: 'calendar', text, seconds: [time.value.second], minutes: [time.value.minute], hours: [time.value.hour],
      days: range(1, 31), months: range(1, 12), weekdays, daysRestricted: false, weekdaysRestricted: weekly !== null,
    },
  };
}

function parseTimeOfDay(text: string): Result<{ hour: number; minute: number; second: number }> {
  const match = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  const hint = 'Write the time as 24-hour HH:MM, e.g. 02:00 or 23:30 (seconds optional: 02:00:30).';
  if (match === null) return failure(`${quote(text)} is not a time of day`, hint);
  const [hour, minute, second] = [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return failure(`${quote(text)} is not a time of day (hours 0–23, minutes and seconds 0–59)`, hint);
  return { ok: true, value: { hour, minute, second } };
}

const UNITS: ReadonlyMap<string, number> = new Map([
  ...['m', 'min', 'mins', 'minute', 'minutes'].map((u) => [u, 60_000] as const),
  ...['h', 'hour', 'hours'].map((u) => [u, 3_600_000] as const),
  ...['d', 'day', 'days'].map((u) => [u, 86_400_000] as const),
]);

function parseEvery(lower: string, text: string): ScheduleParse {
  const hint = 'Write "every" with a number and a unit: every 30m, every 6h, every 2d (minutes, hours or days; at least 1 minute, at most 31 days).';
  const match = /^every ?(\d{1,6}) ?([a-z]+)$/.exec(lower);
  if (match === null) return failure(`not a schedule: ${quote(text)}`, hint);
  const count = Number(match[1]);
  const unit = UNITS.get(match[2] ?? '');
  if (unit === undefined) {
    const seconds = /^s(ec(ond)?s?)?$/.test(match[2] ?? '');
    return failure(seconds ? 'seconds are too short for a backup schedule' : `${quote(match[2] ?? '')} is not a unit of time`, hint);
  }
  const everyMs = count * unit;
  if (everyMs < MIN_INTERVAL_MS || everyMs > MAX_INTERVAL_MS) return failure(`${quote(text)} is out of range`, hint);
  return { ok: true, schedule: { kind: 'interval', text, everyMs } };
}

function range(from: number, to: number): Set<number> {
  const values = new Set<number>();
  for (let v = from; v <= to; v++) values.add(v);
  return values;
}

function parseCron(expression: string, text: string): ScheduleParse {
  const parts = expression.toLowerCase().split(' ');
  const sets: Set<number>[] = [];
  for (const [index, rule] of CRON_FIELDS.entries()) {
    const parsed = parseField(parts[index] ?? '', rule);
    if (!parsed.ok) return parsed;
    sets.push(parsed.value);
  }
  const [minutes, hours, days, months, rawWeekdays] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const weekdays = new Set([...rawWeekdays].map((d) => d % 7));
  const daysRestricted = (parts[2] ?? '*') !== '*';
  const weekdaysRestricted = (parts[4] ?? '*') !== '*';
  // Only a day-of-month restriction alone can name dates that never exist (31 February).
  if (daysRestricted && !weekdaysRestricted && ![...months].some((m) => [...days].some((d) => d <= (DAYS_IN_MONTH[m - 1] ?? 31)))) {
    return failure(`${quote(text)} never matches: no chosen month has the chosen day of month`, 'Check the day-of-month and month fields (e.g. 30 2 names 30 February).');
  }
  return {
    ok: true,
    schedule: {
      kind: 'calendar', text, seconds: [0], minutes: sorted(minutes), hours: sorted(hours), days, months, weekdays, daysRestricted, weekdaysRestricted,
    },
  };
}

/** The longest each month gets (29 for February: leap years exist). */
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function sorted(values: Set<number>): number[] {
  return [...values].sort((a, b) => a - b);
}

function parseField(field: string, rule: FieldRule): Result<Set<number>> {
  const where = `${rule.name} field ${quote(field)}`;
  const values = new Set<number>();
  if (field === '') return failure(`the ${rule.name} field is missing`, CRON_HINT);
  for (const item of field.split(',')) {
    const match = /^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
    if (match === null) return failure(`${where}: ${quote(item)} is not *, a value, a range or a step`, CRON_HINT);
    const base = match[1] ?? '*';
    const step = match[2] === undefined ? 1 : Number(match[2]);
    if (!Number.isSafeInteger(step) || step < 1 || step > rule.max) return failure(`${where}: the step must be 1–${rule.max}`, CRON_HINT);
    let from = rule.min;
    let to = rule.max;
    if (base !== '*') {
      const [first, second] = base.split('-');
      const start = fieldValue(first ?? '', rule);
      if (!start.ok) return failure(`${where}: ${start.message}`, start.hint);
      from = start.value;
      // "a/n" means a through the end, stepping n (Vixie cron).
      to = second === undefined ? (match[2] === undefined ? from : rule.max) : NaN;
      if (second !== undefined) {
        const end = fieldValue(second, rule);
        if (!end.ok) return failure(`${where}: ${end.message}`, end.hint);
        to = end.value;
        if (to < from) return failure(`${where}: the range ${quote(base)} runs backwards`, `Write the smaller value first, e.g. ${rule.min}-${rule.max}.`);
      }
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return { ok: true, value: values };
}

function fieldValue(text: string, rule: FieldRule): Result<number> {
  const named = rule.names?.indexOf(text) ?? -1;
  if (named >= 0) return { ok: true, value: named + (rule.name === 'month' ? 1 : 0) };
  if (!/^\d{1,2}$/.test(text)) {
    const names = rule.names === undefined ? '' : ` or ${rule.names[0] ?? ''}–${rule.names.at(-1) ?? ''}`;
    return failure(`${quote(text)} is not a ${rule.name} (${rule.min}–${rule.max}${names})`, CRON_HINT);
  }
  const value = Number(text);
  if (value < rule.min || value > rule.max) return failure(`${value} is out of range ${rule.min}–${rule.max}`, CRON_HINT);
  return { ok: true, value };
}

/** Whether `zone` is an IANA time zone this runtime knows ("Europe/Berlin", "UTC"). */
export function isKnownTimeZone(zone: string): boolean {
  try {
    return zone !== '' && new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone !== '';
  } catch {
    return false;
  }
}

/** The longest random delay: a slot should still start the same night. */
export const MAX_RANDOM_DELAY_MS = 12 * 3_600_000;

/** A delay such as "15m", "90s", "1h" or "0" in ms; undefined when it is not one. */
export function parseDelay(text: string): number | undefined {
  const match = /^\s*(\d{1,6})\s*(s|m|h)?\s*$/.exec(text);
  if (match === null) return undefined;
  const count = Number(match[1]);
  if (match[2] === undefined) return count === 0 ? 0 : undefined;
  return count * { s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'];
}
