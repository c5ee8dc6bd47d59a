/**
 * Reading what rsync prints, line by line (lines split at "\r" as well as "\n", because
 * `--info=progress2` rewrites one line with "\r"; see recorded/rsync/rsync-progress2-success.txt):
 * progress2 updates, `--stats` totals, `--list-only` entries, and the per-file problems behind
 * exit codes 23 and 24. Pure; names arrive escaped the way rsync escapes them (`\#ooo`).
 */

/** One `--info=progress2` update (progress.c, rprint_progress). */
export interface RsyncProgressLine {
  readonly kind: 'progress';
  /** Bytes sent so far by this rsync process. */
  readonly bytes: number;
  readonly percent: number;
  readonly bytesPerSecond: number;
  /** Files transferred so far (`xfr#N`), when the line carries it. */
  readonly transferred?: number;
  /** Files still to check / total files of this run (`to-chk=R/T`), when the line carries it. */
  readonly toCheck?: { readonly remaining: number; readonly total: number };
}

/** A `--stats` line we use ("Number of created files: 3 (reg: 3)" carries two values). */
export interface RsyncStatsLine {
  readonly kind: 'stats';
  readonly values: Readonly<Partial<Record<RsyncStatsKey, number>>>;
}

export type RsyncStatsKey = 'files' | 'created' | 'createdRegular' | 'deleted' | 'transferred' | 'totalSize' | 'literal' | 'matched';

/** A file rsync could not copy: `file has vanished: "…"`, `rsync: [sender] link_stat "…" failed: …`. */
export interface RsyncFileProblemLine {
  readonly kind: 'file-problem';
  /** The path as rsync printed it, unescaped. */
  readonly path: string;
  /** vanished: gone since the list was made; unreadable: any other per-file error. */
  readonly problem: 'vanished' | 'unreadable';
  readonly message: string;
}

export interface RsyncOtherLine {
  readonly kind: 'text';
  readonly text: string;
}

export type RsyncLine = RsyncProgressLine | RsyncStatsLine | RsyncFileProblemLine | RsyncOtherLine;

/**
 * `\r%15s %3d%% %7.2f%s %s%s`: bytes (grouped with "," or "." at --human-readable 1, or with a
 * K/M/G/T suffix at level 2+), percent, rate + unit, time, and optionally `(xfr#N, to-chk=R/T)`.
 */
const PROGRESS =
  /^\s*([\d,.]+)([KMGTP]?)\s+(\d+)%\s+([\d.,]+)([kMGT]?B)\/s\s+(?:\d+:\d\d:\d\d|\?\?:\?\?:\?\?)(?:\s+\(xfr#(\d+), (?:to|ir)-chk=(\d+)\/(\d+)\))?\s*$/;

/** A grouped number: `7`, `1,238,099`. */
const N = String.raw`(\d[\d,.]*\d|\d)`;
const STATS: readonly (readonly [RegExp, RsyncStatsKey])[] = [
  [new RegExp(`^Number of files: ${N}`), 'files'],
  [new RegExp(`^Number of created files: ${N}`), 'created'],
  [new RegExp(`^Number of created files: .*?\\breg: ${N}`), 'createdRegular'],
  [new RegExp(`^Number of deleted files: ${N}`), 'deleted'],
  [new RegExp(`^Number of regular files transferred: ${N}`), 'transferred'],
  [new RegExp(`^Total file size: ${N} bytes`), 'totalSize'],
  [new RegExp(`^Literal data: ${N} bytes`), 'literal'],
  [new RegExp(`^Matched data: ${N} bytes`), 'matched'],
];

const VANISHED = /^file has vanished: "(.*)"\s*$/;
/** `rsync: [sender] link_stat "/x" failed: No such file or directory (2)`, `send_files failed to open "/x": …` */
const PER_FILE = /^rsync: (?:\[(\w+)\] )?(.*?)"(.*)"(.*)$/;
/** Per-file errors that are about the connection or the whole run, not a file. */
const NOT_A_FILE = /connection unexpectedly closed|error in rsync protocol|mkdir .* failed|change_dir#?\d* .* failed|write error|failed to set times on "\/?\.?"/;

const SCALE: Readonly<Record<string, number>> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };
const RATE_SCALE: Readonly<Record<string, number>> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** A number as rsync groups it: `1,238,099` (or `1.238.099` in some locales; we force LC_ALL=C). */
function grouped(text: string): number {
  return Number(text.replace(/[,.](?=\d{3}(?:\D|$))/g, ''));
}

/** Classifies one output line (stdout or stderr). */
export function parseRsyncLine(line: string): RsyncLine {
  const progress = PROGRESS.exec(line);
  if (progress !== null) return progressLine(progress);
  const values: Partial<Record<RsyncStatsKey, number>> = {};
  for (const [pattern, key] of STATS) {
    const m = pattern.exec(line);
    if (m?.[1] !== undefined) values[key] = grouped(m[1]);
  }
  if (Object.keys(values).length > 0) return { kind: 'stats', values };
  const vanished = VANISHED.exec(line);
  if (vanished?.[1] !== undefined) {
    return { kind: 'file-problem', path: unescapeRsyncName(vanished[1]), problem: 'vanished', message: line.trim() };
  }
  const perFile = PER_FILE.exec(line);
  if (perFile?.[3] !== undefined && !NOT_A_FILE.test(line)) {
    const gone = /\(2\)\s*$|No such file or directory/.test(perFile[4] ?? '') && /link_stat|open|readlink/.test(perFile[2] ?? '');
    return { kind: 'file-problem', path: unescapeRsyncName(perFile[3]), problem: gone ? 'vanished' : 'unreadable', message: line.trim() };
  }
  return { kind: 'text', text: line };
}

function progressLine(m: RegExpExecArray): RsyncProgressLine {
  const bytes = Math.round(grouped(m[1] ?? '0') * (SCALE[m[2] ?? ''] ?? 1));
  const rate = Number((m[4] ?? '0').replace(',', '.')) * (RATE_SCALE[m[5] ?? 'B'] ?? 1);
  const line: RsyncProgressLine = { kind: 'progress', bytes, percent: Number(m[3]), bytesPerSecond: Math.round(rate) };
  if (m[6] === undefined) return line;
  return {
    ...line,
    transferred: Number(m[6]),
    toCheck: { remaining: Number(m[7]), total: Number(m[8]) },
  };
}

/**
 * Undoes rsync's escaping of names in messages and listings: `\#ooo` is the byte with that octal
 * value (rsync escapes control characters, and with LC_ALL=C every non-ASCII byte, this way).
 * Returns the raw bytes, so a name that is not valid UTF-8 survives the round trip.
 */
export function unescapeRsyncNameBytes(text: string): Buffer {
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of text.matchAll(/\\#([0-7]{3})/g)) {
    parts.push(Buffer.from(text.slice(last, m.index), 'utf8'), Buffer.from([parseInt(m[1] ?? '0', 8) & 0xff]));
    last = m.index + m[0].length;
  }
  parts.push(Buffer.from(text.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

/** {@link unescapeRsyncNameBytes} as text for people (invalid UTF-8 shows as U+FFFD). */
export function unescapeRsyncName(text: string): string {
  return unescapeRsyncNameBytes(text).toString('utf8');
}

/** One entry of `rsync -a -R --list-only`. */
export interface RsyncListEntry {
  /** d: directory, f: regular file, l: symlink, o: device, fifo or socket. */
  readonly type: 'd' | 'f' | 'l' | 'o';
  /** Path relative to the transfer root (`/` with -R), raw bytes. */
  readonly path: Buffer;
  readonly size: number;
}

/** `-rw-r--r--      1,234 2026/11/25 10:33:27 tmp/lt/src/a`, `lrwxrwxrwx  1 … link -> a` */
const LIST_ENTRY = /^([-dlcbps])[-rwxsStTl]{9}[.+@]?\s+([\d,.]+)\s+\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d (.+)$/;

/** Parses a `--list-only` line; undefined for anything else (warnings, blank lines). */
export function parseListEntry(line: string): RsyncListEntry | undefined {
  const m = LIST_ENTRY.exec(line);
  if (m === null) return undefined;
  const mode = m[1] ?? '-';
  let name = m[3] ?? '';
  // A symlink is listed as "name -> target"; rsync does not escape " -> " inside names.
  if (mode === 'l') {
    const arrow = name.indexOf(' -> ');
    if (arrow >= 0) name = name.slice(0, arrow);
  }
  const type = mode === 'd' ? 'd' : mode === '-' ? 'f' : mode === 'l' ? 'l' : 'o';
  return { type, path: unescapeRsyncNameBytes(name), size: grouped(m[2] ?? '0') };
}
