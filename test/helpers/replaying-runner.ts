/**
 * A CommandRunner for tests that asserts the exact commands issued, in order, and answers each
 * with a scripted or recorded reply (see recorded.ts). It decides success and words errors with
 * the same helpers as the real runner (src/os/command.ts), so code under test sees identical
 * CommandResults and CommandErrors. An unexpected command is a test failure even when the code
 * under test catches the error: `assertDone()` throws it again.
 */
import {
  acceptResult,
  DEFAULT_MAX_OUTPUT_BYTES,
  notStartedResult,
  OutputCollector,
  spawnFailedError,
  specRedactor,
  type CommandResult,
  type CommandRunner,
  type CommandSpec,
} from '../../src/os/command.js';
import { defaultRedactor, type SecretRedactor } from '../../src/os/redact.js';

/** What the command "printed" and how it ended. A `Recording` from recorded.ts fits here as is. */
export interface ReplayReply {
  readonly stdout?: string;
  readonly stderr?: string;
  /** Default 0. A recording whose exit was not captured (null) must be given one explicitly. */
  readonly exitCode?: number | null;
  /** Killed by this signal (the exit code is then ignored). */
  readonly signal?: NodeJS.Signals | null;
  /** The program could not be started: rejects with reason 'spawn-failed'. */
  readonly spawnError?: 'ENOENT' | 'EACCES';
  /** Where the reply comes from, for messages (recordings set it). */
  readonly source?: string;
}

/** One command the code under test must issue next. */
export interface Expectation {
  /** Strings must be equal, RegExps must match; the lengths must be equal. */
  readonly argv: readonly (string | RegExp)[];
  readonly reply: ReplayReply;
  /** Whether the command must run in a pty. Default false: spawn mode. */
  readonly pty?: boolean;
}

/** A command the code under test issued, as it issued it (not redacted: this is test data). */
export interface RecordedCall {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>> | undefined;
  readonly hasStdin: boolean;
  readonly stdin: string | null;
  readonly pty: boolean;
  /** The texts handed over on fds 3… (CommandSpec.pipes), when there were any. */
  readonly pipes?: readonly string[];
}

/** Thrown for a command nobody expected; the test fails. */
export class UnexpectedCommandError extends Error {
  override readonly name = 'UnexpectedCommandError';
}

export class ReplayingCommandRunner implements CommandRunner {
  /** Every command issued, in order, including unexpected ones. */
  readonly calls: RecordedCall[] = [];
  readonly #remaining: Expectation[];
  readonly #failures: UnexpectedCommandError[] = [];
  readonly #redactor: SecretRedactor;

  constructor(expectations: readonly Expectation[], options: { readonly redactor?: SecretRedactor } = {}) {
    this.#remaining = [...expectations];
    this.#redactor = options.redactor ?? defaultRedactor;
  }

  run(spec: CommandSpec): Promise<CommandResult> {
    return Promise.resolve().then(() => this.#run(spec));
  }

  /** Fails when expected commands were never issued, or when an unexpected one was. */
  assertDone(): void {
    const failure = this.#failures[0];
    if (failure !== undefined) throw failure;
    if (this.#remaining.length === 0) return;
    const list = this.#remaining.map((expectation) => `  ${formatExpected(expectation)}`).join('\n');
    throw new UnexpectedCommandError(`${this.#remaining.length} expected command(s) were never run:\n${list}`);
  }

  #run(spec: CommandSpec): CommandResult {
    const redactor = specRedactor(this.#redactor, spec);
    const argv = spec.argv.map((arg) => redactor.redact(arg));
    // Like the real runner: an already-aborted command is never started, so it is not a call.
    if (spec.signal?.aborted === true) return acceptResult(notStartedResult(argv), spec);
    this.calls.push({
      argv: [...spec.argv],
      env: spec.env,
      hasStdin: spec.stdin !== undefined,
      stdin: spec.stdin ?? null,
      pty: spec.pty !== undefined,
      ...(spec.pipes === undefined ? {} : { pipes: [...spec.pipes] }),
    });
    const expectation = this.#take(spec);
    const { reply } = expectation;
    if (reply.spawnError !== undefined) {
      throw spawnFailedError(argv, Object.assign(new Error(reply.spawnError), { code: reply.spawnError }));
    }
    return acceptResult(replay(spec, argv, reply, (text) => redactor.redact(text)), spec);
  }

  /** The next expectation when `spec` matches it; otherwise records and throws the failure. */
  #take(spec: CommandSpec): Expectation {
    const number = this.calls.length;
    const expectation = this.#remaining[0];
    const got = `got:      ${formatArgv(spec.argv)} (${spec.pty === undefined ? 'spawn' : 'pty'})`;
    let problem: string | undefined;
    if (expectation === undefined) {
      problem = `command #${number} was not expected: all expected commands already ran\n  ${got}`;
    } else {
      const mismatch = describeMismatch(expectation, spec);
      if (mismatch !== undefined) problem = `command #${number} is not the expected one (${mismatch})\n  expected: ${formatExpected(expectation)}\n  ${got}`;
    }
    if (problem === undefined && expectation !== undefined) {
      this.#remaining.shift();
      return expectation;
    }
    const failure = new UnexpectedCommandError(`ReplayingCommandRunner: ${problem ?? ''}`);
    this.#failures.push(failure);
    throw failure;
  }
}

/** Feeds the reply through the same line splitting, redaction and cap as the real runner. */
function replay(spec: CommandSpec, argv: readonly string[], reply: ReplayReply, redact: (text: string) => string): CommandResult {
  const common = {
    redact,
    maxBytes: spec.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    splitOnCarriageReturn: spec.splitOnCarriageReturn ?? false,
  };
  const stdout = new OutputCollector({ ...common, ...(spec.onStdoutLine === undefined ? {} : { onLine: spec.onStdoutLine }) });
  const stderr = new OutputCollector({ ...common, ...(spec.onStderrLine === undefined ? {} : { onLine: spec.onStderrLine }) });
  // In a pty both streams arrive merged on stdout.
  stdout.write(reply.stdout ?? '');
  (spec.pty === undefined ? stderr : stdout).write(reply.stderr ?? '');
  stdout.end();
  stderr.end();
  const { exitCode, signal } = replyExit(reply);
  return {
    argv,
    exitCode,
    signal,
    stdout: stdout.text(),
    stderr: stderr.text(),
    truncated: stdout.truncated || stderr.truncated,
    aborted: false,
    timedOut: false,
    durationMs: 0,
  };
}

function replyExit(reply: ReplayReply): { exitCode: number | null; signal: NodeJS.Signals | null } {
  if (reply.signal != null) return { exitCode: null, signal: reply.signal };
  if (reply.exitCode === null) {
    throw new Error(`${reply.source ?? 'the reply'} has no exit code (not captured): give one, e.g. { ...recording, exitCode: 0 }`);
  }
  return { exitCode: reply.exitCode ?? 0, signal: null };
}

function describeMismatch(expectation: Expectation, spec: CommandSpec): string | undefined {
  if ((expectation.pty ?? false) !== (spec.pty !== undefined)) {
    return expectation.pty === true ? 'expected pty mode' : 'expected spawn mode, got pty';
  }
  const length = Math.max(expectation.argv.length, spec.argv.length);
  for (let i = 0; i < length; i++) {
    const want = expectation.argv[i];
    const got = spec.argv[i];
    if (want === undefined || got === undefined) return `argv has ${spec.argv.length} elements, expected ${expectation.argv.length}`;
    const same = typeof want === 'string' ? want === got : new RegExp(want.source, want.flags.replace(/[gy]/g, '')).test(got);
    if (!same) return `argv[${i}]: expected ${formatPart(want)}, got ${JSON.stringify(got)}`;
  }
  return undefined;
}

function formatExpected(expectation: Expectation): string {
  const source = expectation.reply.source === undefined ? '' : `, reply from ${expectation.reply.source}`;
  return `${formatArgv(expectation.argv)} (${expectation.pty === true ? 'pty' : 'spawn'}${source})`;
}

function formatArgv(argv: readonly (string | RegExp)[]): string {
  return `[${argv.map(formatPart).join(', ')}]`;
}

function formatPart(part: string | RegExp): string {
  return typeof part === 'string' ? JSON.stringify(part) : String(part);
}
