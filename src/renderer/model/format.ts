/**
 * Humanised numbers for people: sizes ("1.2 GB"), rates, durations ("12 min"), percentages and
 * clock times. Pure, no DOM: shared by the renderer and the tray (src/main).
 */

const SIZE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] as const;

/** Decimal units as file managers show them: 999 B, 1.2 kB, 12 MB, 120 GB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 999.5 && unit < SIZE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const text = unit === 0 ? String(Math.round(value)) : value < 9.95 ? value.toFixed(1) : String(Math.round(value));
  return `${text} ${SIZE_UNITS[unit] ?? 'B'}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** "45 s", "12 min", "1 h 5 min", "2 d 3 h": two units at most, rounded, never "0 min". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}

/** "12 min left"; under a minute reads "less than a minute left". */
export function formatEta(seconds: number): string {
  return seconds < 60 ? 'less than a minute left' : `${formatDuration(seconds)} left`;
}

/** "42 %" (floored, so 100 % means done). */
export function formatPercent(fraction: number): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  return `${Math.floor(f * 100)} %`;
}

export interface ClockOptions {
  readonly now: Date;
  /** IANA zone; the system's when absent. Tests pass 'UTC'. */
  readonly timeZone?: string;
}

function parts(date: Date, timeZone: string | undefined): Record<string, string> {
  const format = new Intl.DateTimeFormat('en-GB', {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', weekday: 'short', hourCycle: 'h23',
    ...(timeZone === undefined ? {} : { timeZone }),
  });
  return Object.fromEntries(format.formatToParts(date).map((p) => [p.type, p.value]));
}

/** "02:03" today, "Tue 24 Nov 02:03" otherwise, "24 Nov 2025 02:03" in another year. */
export function formatClock(iso: string, options: ClockOptions): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  const p = parts(date, options.timeZone);
  const n = parts(options.now, options.timeZone);
  const time = `${p.hour ?? ''}:${p.minute ?? ''}`;
  if (p.year === n.year && p.month === n.month && p.day === n.day) return time;
  if (p.year === n.year) return `${p.weekday ?? ''} ${p.day ?? ''} ${p.month ?? ''} ${time}`;
  return `${p.day ?? ''} ${p.month ?? ''} ${p.year ?? ''} ${time}`;
}

/** "3 min ago", "2 h ago", "just now"; for times in the past. */
export function formatAgo(iso: string, now: Date): string {
  const seconds = (now.getTime() - Date.parse(iso)) / 1000;
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 45) return 'just now';
  return `${formatDuration(seconds)} ago`;
}
