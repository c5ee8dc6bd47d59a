/**
 * The CommandRunner seam: every OS command Backhaul runs goes through here, so logic can be tested
 * against a replaying fake and so secrets, timeouts and cancellation are handled in one place.
 *
 * IMPLEMENTATION IN PROGRESS — types are the contract other modules code against.
 */

/** A prompt in pty mode and what to type when it appears (e.g. rasdial's password prompt). */
export interface PtyAnswer {
  readonly prompt: RegExp;
  /** Typed followed by "\r". Treated as a secret: redacted everywhere. */
  readonly answer: string;
}

export interface CommandSpec {
  /** argv[0] is the program (a path or a name looked up in PATH). Never put a secret here. */
  readonly argv: readonly string[];
  readonly cwd?: string;
  /** Added to the inherited environment. LC_ALL=C is always forced so output parses the same everywhere. */
  readonly env?: Readonly<Record<string, string>>;
  /** Written to stdin, then stdin is closed (spawn mode only). */
  readonly stdin?: string;
  /** Kill the command (grace then SIGKILL) after this long. No default: long backups set none. */
  readonly timeoutMs?: number;
  /** Abort: send `cancelSignal` to the process group, SIGKILL after `killGraceMs`. */
  readonly signal?: AbortSignal;
  /** First signal on abort or timeout. Default SIGTERM; restic wants SIGINT to clean up its lock. */
  readonly cancelSignal?: NodeJS.Signals;
  /** Wait this long after `cancelSignal` before SIGKILL. Default 10 s. */
  readonly killGraceMs?: number;
  /** Keep at most this many bytes of each stream (the tail is kept). Default 4 MiB. */
  readonly maxOutputBytes?: number;
  /** Exit codes that count as success. Default [0]. 'any' never throws on exit, abort or timeout. */
  readonly okExitCodes?: readonly number[] | 'any';
  /** Called with each complete line (without the newline), already redacted. */
  readonly onStdoutLine?: (line: string) => void;
  readonly onStderrLine?: (line: string) => void;
  /** Run in a pseudo-terminal (stdout and stderr merged into stdout), answering prompts. */
  readonly pty?: { readonly answers?: readonly PtyAnswer[]; readonly cols?: number; readonly rows?: number };
  /** Secrets known only to this call (besides the runner's registry): redacted from everything. */
  readonly secrets?: readonly string[];
}

export interface CommandResult {
  /** Redacted argv. */
  readonly argv: readonly string[];
  /** null when killed by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Redacted, possibly truncated (tail kept). */
  readonly stdout: string;
  readonly stderr: string;
  readonly truncated: boolean;
  /** True when the AbortSignal fired before the command ended. */
  readonly aborted: boolean;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

export type CommandFailureReason = 'exit' | 'signal' | 'timeout' | 'aborted' | 'spawn-failed';

/** A command that did not succeed. Every field is redacted: safe to log and to show. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly reason: CommandFailureReason,
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    /** The last lines of stderr (or of the pty output), redacted. */
    readonly stderrTail: string,
    message: string,
  ) {
    super(message);
  }
}

export interface CommandRunner {
  /**
   * Runs one command to completion. Resolves with the result when the exit code is ok (or
   * okExitCodes is 'any'); otherwise rejects with a CommandError. A program that can't be started
   * always rejects with reason 'spawn-failed'.
   */
  run(spec: CommandSpec): Promise<CommandResult>;
}
