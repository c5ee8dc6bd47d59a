/**
 * Wall-clock time in an IANA time zone, with nothing but Intl: what a UTC instant reads on a clock
 * in the zone, and which instants a wall-clock time names there — none in a spring-forward gap, two
 * in a fall-back hour. The schedule module builds its DST rules on these two answers.
 */

/** A wall-clock reading. `month` is 1–12, `weekday` 0 (Sunday)–6. */
export interface WallTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (format === undefined) {
    // h23 and a fixed locale: `hour` reads 0–23 (never "24" at midnight), digits are ASCII.
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(zone, format);
  }
  return format;
}

/** The zone of this machine (what `timezone` defaults to). */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** What a clock in `zone` shows at `instantMs`. */
export function wallTimeAt(instantMs: number, zone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(instantMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return { year: parts['year'] ?? 0, month: parts['month'] ?? 1, day: parts['day'] ?? 1, hour: parts['hour'] ?? 0, minute: parts['minute'] ?? 0, second: parts['second'] ?? 0 };
}

/** A wall time as if it were UTC: plain arithmetic on calendar fields. */
export function wallAsUtc(wall: WallTime): number {
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
}

/** The zone's offset from UTC at `instantMs`, in ms (Berlin in winter: +3 600 000). */
export function offsetAt(instantMs: number, zone: string): number {
  const whole = Math.floor(instantMs / 1000) * 1000;
  return wallAsUtc(wallTimeAt(whole, zone)) - whole;
}

const DAY_MS = 86_400_000;

/**
 * The instants at which a clock in `zone` shows `wall`, earliest first: one normally, none when
 * the time falls into a spring-forward gap, two during a fall-back hour. Offsets are taken a day
 * either side, so a transition inside that window is found (zones change at most once a day).
 */
export function instantsOf(wall: WallTime, zone: string): number[] {
  const local = wallAsUtc(wall);
  const candidates = new Set([local - offsetAt(local - DAY_MS, zone), local - offsetAt(local + DAY_MS, zone), local - offsetAt(local, zone)]);
  return [...candidates].filter((instant) => wallAsUtc(wallTimeAt(instant, zone)) === local).sort((a, b) => a - b);
}

/**
 * The first instant whose wall time in `zone` is at or after `wall`: `wall` itself when it exists
 * (the earlier of two in a fall-back hour), otherwise the end of the gap it falls in (02:30 on a
 * Berlin spring-forward day → 03:00 CEST).
 */
export function firstInstantAtOrAfter(wall: WallTime, zone: string): number {
  const exact = instantsOf(wall, zone)[0];
  if (exact !== undefined) return exact;
  const local = wallAsUtc(wall);
  // In a gap: the instant read with the offset after the change is before the change, the one
  // read with the offset before it is after. Search between them, to the second.
  let low = local - Math.max(offsetAt(local - DAY_MS, zone), offsetAt(local + DAY_MS, zone));
  let high = local - Math.min(offsetAt(local - DAY_MS, zone), offsetAt(local + DAY_MS, zone));
  if (low > high) [low, high] = [high, low];
  while (high - low > 1000) {
    const middle = low + Math.floor((high - low) / 2000) * 1000;
    if (wallAsUtc(wallTimeAt(middle, zone)) >= local) high = middle;
    else low = middle;
  }
  return high;
}
