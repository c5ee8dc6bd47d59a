/**
 * The one table that turns how restic ended (exit code, stderr, whether we stopped it) into a
 * BackupFailureClass and a plain sentence (STYLE.md point 9).
 *
 * Measured: restic 0.14 exits 1 for a missing repository, a lock and a wrong password, so those are
 * told apart by stderr; 0.17+ has 10/11/12, and 0.18 also writes a final `exit_error` JSON line.
 * SIGINT gives 130 on 0.14 and 1 on 0.18, so a cancel is known from having sent the signal, never
 * from the code. "Is there a repository at the following location?" follows network errors as well
 * as a missing repository, so network patterns are checked before the no-repository ones.
 */
import type { BackupFailureClass } from './engine.js';
import { cleanLine, parseStderrLine } from './restic-json.js';
import { resticFeatures, type ResticVersion } from './restic-binary.js';

/** What we know about a restic run that did not exit 0. */
export interface ResticExitFacts {
  /** null when restic was killed by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** restic's stderr (redacted); the tail is enough. */
  readonly stderr: string;
  /** We sent the stop signal because the user or the system cancelled. */
  readonly cancelledByUs: boolean;
  /** We sent the stop signal because restic kept retrying past the network deadline. */
  readonly networkGaveUp: boolean;
  /** That deadline, for the message. */
  readonly networkGiveUpMs?: number;
  /** Decides which exit codes are trusted (10/11/12 only from 0.17+); absent = trust them all. */
  readonly version?: ResticVersion;
}

/** Who holds the lock, as restic reports it (`locked exclusively by PID 15261 on vm by root …`). */
export interface ResticLockHolder {
  readonly pid?: number;
  readonly host?: string;
  readonly user?: string;
  readonly exclusive: boolean;
  /** As restic prints it, local time of the holder: `2026-11-25 08:48:02`. */
  readonly createdAt?: string;
  /** As restic prints it, rounded: `594ms`, `1m2s`. */
  readonly age?: string;
}

export interface ResticDiagnosis {
  readonly class: BackupFailureClass;
  /** One plain sentence for the user. */
  readonly message: string;
  /** What to do, when there is something to do. The session adds its own hints. */
  readonly fix?: string;
  /** Present for class 'locked' when stderr named the holder. */
  readonly lock?: ResticLockHolder;
}

/** Plain-text stderr lines written while restic retries a backend operation (0.14 and 0.18 alike). */
export const RETRY_LINE = /returned error, retrying after/;
/** restic recovered from a retried backend operation. */
export const RETRY_RECOVERED_LINE = /operation successful after \d+ retr/;

/** Go network errors as restic prints them for rest/sftp/s3 backends. */
const NETWORK_PATTERNS: readonly RegExp[] = [
  /dial tcp/,
  /connection refused/,
  /network is unreachable/,
  /no route to host/,
  /host is unreachable/,
  /no such host/,
  /i\/o timeout/,
  /connection reset/,
  /broken pipe/,
  /TLS handshake timeout/,
  /context deadline exceeded/,
  /\bEOF\b/,
  /ssh: (?:handshake failed|unable to authenticate)|subprocess ssh: .*(?:Connection closed|Could not resolve)/,
];

const FIX = {
  partial:
    'Check the files named in the warnings (permissions, or files that vanished during the run); the snapshot holds everything else.',
  noRepository: 'Check the repository address, or create the repository with `backhaul init JOB`.',
  locked:
    'Wait for the other backup or maintenance run to finish; if no restic is running on that host any more, remove the stale lock with `backhaul unlock JOB`.',
  wrongPassword: 'Set the password the repository was created with in the job settings.',
  network: 'Check the VPN tunnel and that the repository server is running and reachable through it.',
  unknown: "See the log for restic's full output.",
} as const;

interface Row {
  readonly class: BackupFailureClass;
  /** All conditions given must hold. */
  readonly when: {
    readonly exitCodes?: readonly number[];
    /** Feature the exit code depends on; without it the code is not trusted. */
    readonly codeNeeds?: 'repoAndLockExitCodes' | 'wrongPasswordExitCode';
    readonly anyPattern?: readonly RegExp[];
    readonly cancelledByUs?: boolean;
    readonly networkGaveUp?: boolean;
    readonly killedBySignal?: boolean;
  };
  readonly message: (ctx: Context) => string;
  readonly fix?: string;
}

interface Context {
  readonly facts: ResticExitFacts;
  /** The fatal error text: exit_error messages and plain lines, without retry and file-error lines. */
  readonly fatal: string;
}

const LOCK_PATTERNS = [/repository is already locked/, /unable to create lock/, /failed to lock repository/i];
const WRONG_PASSWORD_PATTERNS = [/wrong password or no key found/];
const NO_REPO_PATTERNS = [
  /Is there a repository at the following location\?/,
  /repository does not exist/,
  /config file does not exist|<config\/> does not exist|stat .*\/config: no such file or directory/,
];

/** The last row: matches anything, so classification always has an answer. */
const UNKNOWN: Row = {
  class: 'unknown',
  when: {},
  message: ({ facts, fatal }) => {
    const last = lastMeaningfulLine(fatal);
    const code = facts.exitCode === null ? 'no exit code' : `exit code ${facts.exitCode}`;
    return last === undefined ? `restic failed (${code}).` : `restic failed (${code}): ${last}`;
  },
  fix: FIX.unknown,
};

/**
 * The table, first match wins. Order matters: a snapshot was written (3) beats everything; our own
 * stop beats what restic said about it; dedicated exit codes beat text; network beats no-repository.
 */
const TABLE: readonly Row[] = [
  {
    class: 'partial',
    when: { exitCodes: [3] },
    message: () => 'Some files could not be read; the snapshot was saved without them.',
    fix: FIX.partial,
  },
  {
    class: 'network',
    when: { networkGaveUp: true },
    message: ({ facts }) => {
      const retries = facts.stderr.split(/\r?\n/).filter((l) => RETRY_LINE.test(l));
      const cause = retries.length > 0 ? ` (${networkCause(retries[retries.length - 1] ?? '')})` : '';
      const span = facts.networkGiveUpMs !== undefined ? `for ${formatSpan(facts.networkGiveUpMs)}` : 'past the network deadline';
      return `The repository stayed unreachable ${span}${cause}, so Backhaul stopped restic.`;
    },
    fix: FIX.network,
  },
  { class: 'cancelled', when: { cancelledByUs: true }, message: () => 'The backup was cancelled.' },
  {
    class: 'no-repository',
    when: { exitCodes: [10], codeNeeds: 'repoAndLockExitCodes' },
    message: ({ fatal }) => noRepoMessage(fatal),
    fix: FIX.noRepository,
  },
  {
    class: 'locked',
    when: { exitCodes: [11], codeNeeds: 'repoAndLockExitCodes' },
    message: ({ fatal }) => lockMessage(fatal),
    fix: FIX.locked,
  },
  {
    class: 'wrong-password',
    when: { exitCodes: [12], codeNeeds: 'wrongPasswordExitCode' },
    message: () => 'restic could not open the repository with this password.',
    fix: FIX.wrongPassword,
  },
  {
    class: 'network',
    when: { anyPattern: NETWORK_PATTERNS },
    message: ({ fatal }) => `The repository could not be reached: ${networkCause(fatal)}.`,
    fix: FIX.network,
  },
  { class: 'locked', when: { anyPattern: LOCK_PATTERNS }, message: ({ fatal }) => lockMessage(fatal), fix: FIX.locked },
  {
    class: 'wrong-password',
    when: { anyPattern: WRONG_PASSWORD_PATTERNS },
    message: () => 'restic could not open the repository with this password.',
    fix: FIX.wrongPassword,
  },
  {
    class: 'no-repository',
    when: { anyPattern: NO_REPO_PATTERNS },
    message: ({ fatal }) => noRepoMessage(fatal),
    fix: FIX.noRepository,
  },
  {
    class: 'unknown',
    when: { killedBySignal: true },
    message: ({ facts }) =>
      facts.exitCode === 130
        ? 'restic was interrupted by a signal Backhaul did not send.'
        : `restic was killed by ${facts.signal ?? 'a signal'}, which Backhaul did not send.`,
    fix: FIX.unknown,
  },
  UNKNOWN,
];

function rowMatches(row: Row, ctx: Context): boolean {
  const { facts, fatal } = ctx;
  const w = row.when;
  if (w.exitCodes !== undefined) {
    if (facts.exitCode === null || !w.exitCodes.includes(facts.exitCode)) return false;
    if (w.codeNeeds !== undefined && facts.version !== undefined && !resticFeatures(facts.version)[w.codeNeeds]) {
      return false;
    }
  }
  if (w.networkGaveUp !== undefined && facts.networkGaveUp !== w.networkGaveUp) return false;
  if (w.cancelledByUs !== undefined && facts.cancelledByUs !== w.cancelledByUs) return false;
  if (w.killedBySignal !== undefined && (facts.exitCode === null || facts.exitCode === 130) !== w.killedBySignal) {
    return false;
  }
  if (w.anyPattern !== undefined && !w.anyPattern.some((p) => p.test(fatal))) return false;
  return true;
}

/**
 * The text restic gave as the reason it failed: 0.18's exit_error message plus every plain stderr
 * line, minus retry chatter (it names network errors that may have recovered) and file errors.
 */
export function fatalText(stderr: string): string {
  const out: string[] = [];
  for (const raw of stderr.split(/\r?\n/)) {
    const msg = parseStderrLine(raw);
    if (msg.kind === 'exit-error') out.push(...msg.message.split('\n'));
    else if (msg.kind === 'text' && msg.text !== '' && !RETRY_LINE.test(msg.text) && !RETRY_RECOVERED_LINE.test(msg.text)) {
      out.push(msg.text);
    }
  }
  return out.join('\n');
}

/** Classifies a restic run that did not exit 0. Pure. */
export function classifyResticExit(facts: ResticExitFacts): ResticDiagnosis {
  const fatal = fatalText(facts.stderr);
  const ctx: Context = { facts, fatal };
  const row = TABLE.find((r) => rowMatches(r, ctx)) ?? UNKNOWN;
  const lock = row.class === 'locked' ? parseLockHolder(fatal) : undefined;
  return {
    class: row.class,
    message: row.message(ctx),
    ...(row.fix !== undefined ? { fix: row.fix } : {}),
    ...(lock !== undefined ? { lock } : {}),
  };
}

/** Reads who holds the lock from restic's "already locked" text (same wording in 0.14 and 0.18). */
export function parseLockHolder(text: string): ResticLockHolder | undefined {
  const m = /repository is already locked (exclusively )?by PID (\d+) on (\S+) by (.+?) \(UID \d+, GID \d+\)/.exec(text);
  if (m === null) return undefined;
  const created = /lock was created at (.+?) \((.+?) ago\)/.exec(text);
  return {
    exclusive: m[1] !== undefined,
    pid: Number(m[2]),
    ...(m[3] !== undefined ? { host: m[3] } : {}),
    ...(m[4] !== undefined ? { user: m[4] } : {}),
    ...(created?.[1] !== undefined ? { createdAt: created[1] } : {}),
    ...(created?.[2] !== undefined ? { age: roundGoDuration(created[2]) } : {}),
  };
}

/** 900000 → `15 min`, 3000 → `3 s`: the network deadline in the give-up message. */
function formatSpan(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${Math.round(ms / 100) / 10} s`;
}

/** `594.325286ms` → `594ms`, `1m2.5s` → `1m2s`: restic prints Go durations with nanosecond noise. */
function roundGoDuration(d: string): string {
  return d.replace(/(\d+)\.\d+/g, '$1');
}

function lockMessage(fatal: string): string {
  const holder = parseLockHolder(fatal);
  if (holder === undefined) return 'The repository is locked by another restic process.';
  const parts = [
    holder.pid !== undefined ? `PID ${holder.pid}` : undefined,
    holder.host !== undefined ? `on ${holder.host}` : undefined,
    holder.user !== undefined ? `user ${holder.user}` : undefined,
  ].filter((p): p is string => p !== undefined);
  const when =
    holder.createdAt !== undefined
      ? `, since ${holder.createdAt}${holder.age !== undefined ? ` (${holder.age} ago)` : ''}`
      : '';
  const kind = holder.exclusive ? 'exclusively ' : '';
  return `The repository is locked ${kind}by another restic process (${parts.join(', ')}${when}).`;
}

function noRepoMessage(fatal: string): string {
  const lines = fatal.split('\n');
  const i = lines.findIndex((l) => l.startsWith('Is there a repository at the following location?'));
  const where = i >= 0 ? lines[i + 1]?.trim() : undefined;
  return where !== undefined && where !== ''
    ? `There is no restic repository at ${where}.`
    : 'There is no restic repository at the configured location.';
}

/** The most specific network error in the text, e.g. `dial tcp 127.0.0.1:8000: connect: connection refused`. */
function networkCause(fatal: string): string {
  const dial = /dial tcp [^\s:]+(?::\d+)?: [^\n"]+/.exec(fatal);
  if (dial !== null) return dial[0].trim();
  const line = fatal.split('\n').find((l) => NETWORK_PATTERNS.some((p) => p.test(l)));
  return (line ?? 'network error').replace(/^Fatal: /, '').trim();
}

function lastMeaningfulLine(fatal: string): string | undefined {
  const lines = fatal
    .split('\n')
    .map((l) => cleanLine(l).trim())
    .filter((l) => l !== '');
  const fatalLine = lines.find((l) => l.startsWith('Fatal:'));
  return fatalLine ?? lines[lines.length - 1];
}

/**
 * The last `maxLines` non-empty lines of stderr for people: terminal escapes removed, and 0.18's
 * JSON lines shown as their text (`exit_error` and `error` → their message).
 */
export function stderrTail(stderr: string, maxLines = 20): string {
  const out: string[] = [];
  for (const raw of stderr.split(/\r?\n/)) {
    const msg = parseStderrLine(raw);
    if (msg.kind === 'exit-error') out.push(...msg.message.split('\n'));
    else if (msg.kind === 'file-error') out.push(msg.message);
    else out.push(cleanLine(raw));
  }
  return out
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .slice(-maxLines)
    .join('\n');
}
