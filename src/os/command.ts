/**
 * The CommandRunner seam: every OS command Backhaul runs goes through here, so logic can be tested
 * against a replaying fake and so secrets, timeouts and cancellation are handled in one place.
 *
 * `createCommandRunner` is the real implementation (node:child_process, or a pseudo-terminal via
 * @lydell/node-pty for tools that only read passwords from a terminal). The helpers exported
 * below it (`acceptResult`, `commandError`, `spawnFailedError`, `OutputCollector`, ...) are shared
 * with the replaying fake in test/helpers so both decide success and word errors the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { defaultRedactor, type SecretRedactor } from './redact.js';

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
  /**
   * Also end a line at a lone "\r". rsync --info=progress2 rewrites one progress line with "\r"
   * and never prints "\n" until the end (recorded/rsync/rsync-progress2-success.txt), so without
   * this its progress would only arrive at exit. Default false: lines end at "\n" only.
   */
  readonly splitOnCarriageReturn?: boolean;
  /** Run in a pseudo-terminal (stdout and stderr merged into stdout), answering prompts. */
  readonly pty?: { readonly answers?: readonly PtyAnswer[]; readonly cols?: number; readonly rows?: number };
  /**
   * Called once the process exists, with its pid (also its process-group id on POSIX). The agent
   * journals it so a crash of the agent can't leave a backup tool running unsupervised.
   */
  readonly onSpawn?: (pid: number) => void;
  /** Secrets known only to this call (besides the runner's registry): redacted from everything. */
  readonly secrets?: readonly string[];
  /**
   * Texts the command reads from extra file descriptors, for tools that take a secret only as a
   * file path (nmcli `passwd-file /dev/fd/3`): the first is readable as fd 3, the next as fd 4, ….
   * Each is a real anonymous pipe holding the text, closed after it, so the secret never touches
   * the disk, argv or the environment. Treated as secrets: redacted everywhere. POSIX spawn mode
   * only; needs bash (its process substitution makes the pipes). Results and logs show `argv`.
   */
  readonly pipes?: readonly string[];
}

export interface CommandResult {
  /** Redacted argv. */
  readonly argv: readonly string[];
  /** null when killed by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /**
   * Redacted, possibly truncated (tail kept). Lines are joined with "\n"; a "\r" ending a line
   * (pty output, CRLF tools) is dropped.
   */
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

/** One line per finished command for the structured log. Never holds output, only redacted argv. */
export interface CommandLogEntry {
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly durationMs: number;
  /** Why the command counts as failed; absent when it succeeded. */
  readonly reason?: CommandFailureReason;
}

export interface CommandRunnerOptions {
  /** Secrets to hide; defaults to the process-wide `defaultRedactor`. */
  readonly redactor?: SecretRedactor;
  /** Receives one entry per command end. Exceptions it throws are ignored. */
  readonly log?: (entry: CommandLogEntry) => void;
}

export const DEFAULT_KILL_GRACE_MS = 10_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024;
/** How many trailing lines of stderr a CommandError carries. */
export const STDERR_TAIL_LINES = 20;
const DEFAULT_OK_EXIT_CODES: readonly number[] = [0];
/**
 * After the process exited, how long to wait for its stdout/stderr to close. A daemon started by
 * the command (`ipsec start`) may inherit them and keep them open for ever.
 */
const STDIO_DRAIN_MS = 2_000;
/** Only the last this many characters of pty output are searched for the next prompt. */
const PROMPT_WINDOW_CHARS = 16 * 1024;
/** A partial line longer than the output cap is cut; this margin keeps a secret being received whole. */
const PARTIAL_LINE_MARGIN_CHARS = 4 * 1024;
const MAX_COMMAND_DESCRIPTION_CHARS = 160;
const MAX_MESSAGE_LINE_CHARS = 300;

/** Creates the real CommandRunner: spawn (own process group) or pty, with redaction everywhere. */
export function createCommandRunner(options: CommandRunnerOptions = {}): CommandRunner {
  const redactor = options.redactor ?? defaultRedactor;
  return { run: (spec) => runCommand(spec, redactor, options.log) };
}

async function runCommand(
  spec: CommandSpec,
  baseRedactor: SecretRedactor,
  log: CommandRunnerOptions['log'],
): Promise<CommandResult> {
  if (spec.pty !== undefined && spec.stdin !== undefined) {
    throw new TypeError('CommandSpec.stdin is not supported in pty mode: answer prompts with pty.answers');
  }
  if (spec.pipes !== undefined && spec.pipes.length > 0 && (spec.pty !== undefined || process.platform === 'win32')) {
    throw new TypeError('CommandSpec.pipes needs POSIX spawn mode (no pty, not Windows)');
  }
  const redactor = specRedactor(baseRedactor, spec);
  const argv = spec.argv.map((arg) => redactor.redact(arg));
  const started = performance.now();
  let outcome: Outcome;
  try {
    outcome = await execute(spec, redactor, argv, started);
  } catch (error) {
    if (error instanceof CommandError) writeLog(log, logEntry(argv, null, null, elapsed(started), error.reason));
    throw error;
  }
  const { result, callbackError } = outcome;
  const reason = failureReason(result, spec.okExitCodes);
  writeLog(log, logEntry(argv, result.exitCode, result.signal, result.durationMs, reason));
  if (callbackError !== undefined) throw callbackError;
  return acceptResult(result, spec);
}

/** The finished command, plus the first exception an onStdoutLine/onStderrLine callback threw. */
interface Outcome {
  readonly result: CommandResult;
  readonly callbackError?: Error;
}

async function execute(spec: CommandSpec, redactor: SecretRedactor, argv: readonly string[], started: number): Promise<Outcome> {
  const program = spec.argv[0];
  if (program === undefined || program === '') throw spawnFailedError(argv, new Error('argv is empty'));
  const env = commandEnv(spec.env);
  let launch: Launcher = launchSpawn;
  if (spec.pty !== undefined) {
    const missing = process.platform === 'win32' ? undefined : findProgramError(program, env.PATH, spec.cwd);
    if (missing !== undefined) throw spawnFailedError(argv, missing, spec.cwd);
    launch = await ptyLauncher(argv);
  }
  if (spec.signal?.aborted === true) return { result: notStartedResult(argv) };
  return new Promise((resolve, reject) => {
    new Execution(spec, redactor, argv, started, { resolve, reject }).start(launch, env);
  });
}

/** The environment every command gets: ours, then the spec's, then LC_ALL=C and LANG=C. */
export function commandEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined) env[name] = value;
  return { ...env, ...extra, LC_ALL: 'C', LANG: 'C' };
}

/** The redactor for one call: the runner's secrets plus the spec's own secrets and pty answers. */
export function specRedactor(base: SecretRedactor, spec: CommandSpec): SecretRedactor {
  const answers = spec.pty?.answers?.map((answer) => answer.answer) ?? [];
  return base.derive([...(spec.secrets ?? []), ...answers, ...(spec.pipes ?? [])]);
}

/** The result for a command whose AbortSignal had fired before it could be started. */
export function notStartedResult(argv: readonly string[]): CommandResult {
  return {
    argv,
    exitCode: null,
    signal: null,
    stdout: '',
    stderr: '',
    truncated: false,
    aborted: true,
    timedOut: false,
    durationMs: 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Supervising one process: output, timeout, abort, grace, settle.

/** What a started process reports back, whichever way it was started. */
interface ProcessEvents {
  stdout(chunk: string): void;
  stderr(chunk: string): void;
  /** The process itself ended; its output may still be draining. */
  exited(exitCode: number | null, signal: NodeJS.Signals | null): void;
  /** All output has been read. */
  closed(): void;
  spawnFailed(error: unknown): void;
}

/** A started process, as the supervisor needs it. */
interface ProcessHandle {
  /** Sends a signal to the process and everything in its process group. */
  signalGroup(signal: NodeJS.Signals): void;
  /** Stops reading output (used when output never closes after exit). */
  release(): void;
}

type Launcher = (spec: CommandSpec, env: Record<string, string>, events: ProcessEvents) => ProcessHandle;

type StopCause = 'aborted' | 'timeout' | 'callback';

interface Settle {
  resolve(outcome: Outcome): void;
  reject(error: unknown): void;
}

/** Runs one launched process to its end and settles exactly once, leaving no timers or listeners. */
class Execution {
  readonly #stdout: OutputCollector;
  readonly #stderr: OutputCollector;
  #handle: ProcessHandle | undefined;
  #aborted = false;
  #timedOut = false;
  #stopping = false;
  #exit: { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined;
  #settled = false;
  #callbackError: Error | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #onAbort = (): void => {
    this.#stop('aborted');
  };

  constructor(
    private readonly spec: CommandSpec,
    redactor: SecretRedactor,
    private readonly argv: readonly string[],
    private readonly started: number,
    private readonly settle: Settle,
  ) {
    const common = {
      redact: (text: string) => redactor.redact(text),
      maxBytes: spec.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
      splitOnCarriageReturn: spec.splitOnCarriageReturn ?? false,
    };
    this.#stdout = new OutputCollector({ ...common, ...optionalLine(spec.onStdoutLine) });
    this.#stderr = new OutputCollector({ ...common, ...optionalLine(spec.onStderrLine) });
  }

  start(launch: Launcher, env: Record<string, string>): void {
    try {
      this.#handle = launch(this.spec, env, this.#events());
    } catch (error) {
      this.#fail(spawnFailedError(this.argv, error, this.spec.cwd));
      return;
    }
    if (this.#settled) return;
    if (this.spec.timeoutMs !== undefined) this.#after(this.spec.timeoutMs, () => { this.#stop('timeout'); });
    this.spec.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  #events(): ProcessEvents {
    return {
      stdout: (chunk) => { this.#guard(() => { this.#stdout.write(chunk); }); },
      stderr: (chunk) => { this.#guard(() => { this.#stderr.write(chunk); }); },
      exited: (code, signal) => { this.#exited(code, signal); },
      closed: () => { this.#finish(); },
      spawnFailed: (error) => { this.#fail(spawnFailedError(this.argv, error, this.spec.cwd)); },
    };
  }

  #exited(code: number | null, signal: NodeJS.Signals | null): void {
    this.#exit = { code, signal };
    // While stopping, the grace timer still owes the rest of the group its SIGKILL: wait for it.
    if (!this.#stopping) this.#startDrain();
  }

  #startDrain(): void {
    this.#after(STDIO_DRAIN_MS, () => {
      this.#handle?.release();
      this.#finish();
    });
  }

  /** Cancel signal to the whole group now, SIGKILL after the grace period. */
  #stop(cause: StopCause): void {
    if (this.#exit !== undefined || this.#settled) return;
    if (cause === 'aborted') this.#aborted = true;
    if (cause === 'timeout') this.#timedOut = true;
    if (this.#stopping) return;
    this.#stopping = true;
    this.#handle?.signalGroup(this.spec.cancelSignal ?? 'SIGTERM');
    this.#after(this.spec.killGraceMs ?? DEFAULT_KILL_GRACE_MS, () => {
      this.#handle?.signalGroup('SIGKILL');
      this.#startDrain();
    });
  }

  /** Runs a user callback; the first exception stops the command and becomes run()'s rejection. */
  #guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      if (this.#callbackError !== undefined) return;
      this.#callbackError = error instanceof Error ? error : new Error(String(error));
      this.#stop('callback');
    }
  }

  #finish(): void {
    if (this.#settled) return;
    this.#guard(() => { this.#stdout.end(); });
    this.#guard(() => { this.#stderr.end(); });
    this.#cleanUp();
    const exit = this.#exit ?? { code: null, signal: null };
    const result: CommandResult = {
      argv: this.argv,
      exitCode: exit.code,
      signal: exit.signal,
      stdout: this.#stdout.text(),
      stderr: this.#stderr.text(),
      truncated: this.#stdout.truncated || this.#stderr.truncated,
      aborted: this.#aborted,
      timedOut: this.#timedOut,
      durationMs: elapsed(this.started),
    };
    this.settle.resolve(this.#callbackError === undefined ? { result } : { result, callbackError: this.#callbackError });
  }

  #fail(error: CommandError): void {
    if (this.#settled) return;
    this.#cleanUp();
    this.settle.reject(error);
  }

  #cleanUp(): void {
    this.#settled = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.spec.signal?.removeEventListener('abort', this.#onAbort);
  }

  #after(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, ms);
    this.#timers.add(timer);
  }
}

function optionalLine(onLine: ((line: string) => void) | undefined): { onLine?: (line: string) => void } {
  return onLine === undefined ? {} : { onLine };
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

// ---------------------------------------------------------------------------------------------
// Launchers.

/** A plain child process in its own process group (so cancellation reaches its children too). */
function launchSpawn(spec: CommandSpec, env: Record<string, string>, events: ProcessEvents): ProcessHandle {
  const pipes = spec.pipes ?? [];
  const [program = '', ...args] = pipes.length === 0 ? spec.argv : pipeWrapper(spec.argv, pipes.length);
  const child = spawn(program, args, {
    ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
    env,
    detached: process.platform !== 'win32',
    stdio: [spec.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...pipes.map(() => 'pipe' as const)],
    windowsHide: true,
  });
  child.on('error', (error) => {
    if (child.pid === undefined) events.spawnFailed(error);
  });
  if (child.pid !== undefined) notifySpawn(spec, child.pid);
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { events.stdout(chunk); });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { events.stderr(chunk); });
  child.on('exit', (code, signal) => { events.exited(code, signal); });
  child.on('close', () => { if (child.pid !== undefined) events.closed(); });
  writeStdin(child, spec.stdin);
  writePipes(child, pipes);
  return {
    signalGroup: (signal) => { signalProcessGroup(child.pid, signal, () => child.kill(signal)); },
    release: () => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    },
  };
}

function notifySpawn(spec: CommandSpec, pid: number): void {
  try {
    spec.onSpawn?.(pid);
  } catch {
    // A journal hook that fails must not orphan the process we just started.
  }
}

/**
 * The argv that gives `argv` real anonymous pipes on fds 3… : Node's extra stdio channels are
 * socketpairs, which `open("/dev/fd/3")` refuses (ENXIO), so bash relays each one through a
 * `cat` in a process substitution (an anonymous pipe, which opens without waiting for a writer),
 * puts the pipe where the socket was, and execs the command.
 */
function pipeWrapper(argv: readonly string[], count: number): string[] {
  const steps: string[] = [];
  for (let fd = 3; fd < 3 + count; fd++) steps.push(`exec ${fd}< <(exec cat <&${fd})`);
  steps.push('exec "$@"');
  return ['bash', '-c', steps.join('; '), 'bash', ...argv];
}

/** Hands each pipe text to the child (Node's fds 3+n… after the wrapper moved them up). */
function writePipes(child: ChildProcess, pipes: readonly string[]): void {
  pipes.forEach((text, i) => {
    const stream = child.stdio[3 + i];
    if (stream === null || stream === undefined || !('end' in stream)) return;
    stream.on('error', () => undefined);
    stream.end(text);
  });
}

function writeStdin(child: ChildProcess, stdin: string | undefined): void {
  if (stdin === undefined || child.stdin === null) return;
  // The command may exit without reading all of it (EPIPE): that is its business, not a crash.
  child.stdin.on('error', () => undefined);
  child.stdin.end(stdin);
}

/** Signals the group led by `pid`; on Windows (no groups) or when that is refused, the process alone. */
function signalProcessGroup(pid: number | undefined, signal: NodeJS.Signals, signalOne: () => void): void {
  if (pid === undefined) return;
  if (process.platform === 'win32') {
    signalOne();
    return;
  }
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if (errorCode(error) !== 'ESRCH') signalOne();
  }
}

type PtyModule = typeof import('@lydell/node-pty');
let ptyModule: Promise<PtyModule> | undefined;

/** Loads node-pty on first use, so a host without its native module can still run plain commands. */
async function ptyLauncher(argv: readonly string[]): Promise<Launcher> {
  ptyModule ??= import('@lydell/node-pty');
  try {
    const pty = await ptyModule;
    return (spec, env, events) => launchPty(pty, spec, env, events);
  } catch (error) {
    ptyModule = undefined;
    throw spawnFailedError(argv, new Error(`pseudo-terminal support (node-pty) is unavailable: ${errorMessage(error)}`));
  }
}

/** A process on a pseudo-terminal (a session leader, so its pid is its group), answering prompts. */
function launchPty(pty: PtyModule, spec: CommandSpec, env: Record<string, string>, events: ProcessEvents): ProcessHandle {
  const [program = '', ...args] = spec.argv;
  const term = pty.spawn(program, args, {
    name: 'dumb',
    env,
    ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
    ...(spec.pty?.cols === undefined ? {} : { cols: spec.pty.cols }),
    ...(spec.pty?.rows === undefined ? {} : { rows: spec.pty.rows }),
  });
  notifySpawn(spec, term.pid);
  const answerer = new PromptAnswerer(spec.pty?.answers ?? [], (text) => { term.write(text); });
  const data = term.onData((chunk) => {
    events.stdout(chunk);
    answerer.observe(chunk);
  });
  const exit = term.onExit(({ exitCode, signal }) => {
    data.dispose();
    exit.dispose();
    const name = signal === undefined || signal === 0 ? null : signalName(signal);
    events.exited(name === null ? exitCode : null, name);
    events.closed();
  });
  return {
    signalGroup: (signal) => { signalProcessGroup(term.pid, signal, () => { term.kill(signal); }); },
    release: () => undefined,
  };
}

/**
 * Types each answer once, in order, when the output since the previous answer matches its prompt.
 */
class PromptAnswerer {
  #next = 0;
  #seen = '';
  readonly #prompts: readonly RegExp[];

  constructor(
    private readonly answers: readonly PtyAnswer[],
    private readonly type: (text: string) => void,
  ) {
    // A global or sticky RegExp carries lastIndex between exec calls: match with a plain copy.
    this.#prompts = answers.map(({ prompt }) => new RegExp(prompt.source, prompt.flags.replace(/[gy]/g, '')));
  }

  observe(chunk: string): void {
    if (this.#next >= this.answers.length) return;
    this.#seen = (this.#seen + chunk).slice(-PROMPT_WINDOW_CHARS);
    for (;;) {
      const answer = this.answers[this.#next];
      const match = this.#prompts[this.#next]?.exec(this.#seen);
      if (answer === undefined || match == null) return;
      this.type(`${answer.answer}\r`);
      this.#seen = this.#seen.slice(match.index + match[0].length);
      this.#next++;
    }
  }
}

function signalName(signal: number): NodeJS.Signals | null {
  for (const [name, value] of Object.entries(osConstants.signals)) {
    if (value === signal) return name as NodeJS.Signals;
  }
  return null;
}

/**
 * Why `program` can't be executed ('ENOENT' / 'EACCES' errors), or undefined when it can. node-pty
 * only reports a failed exec as output of an exiting child, so pty mode checks first.
 */
function findProgramError(program: string, path = '', cwd?: string): NodeJS.ErrnoException | undefined {
  const candidates = program.includes('/')
    ? [cwd === undefined || program.startsWith('/') ? program : join(cwd, program)]
    : path.split(delimiter).filter((dir) => dir !== '').map((dir) => join(dir, program));
  let code = 'ENOENT';
  for (const candidate of candidates) {
    const found = executableError(candidate);
    if (found === undefined) return undefined;
    if (found === 'EACCES') code = found;
  }
  return Object.assign(new Error(`${code}: ${program}`), { code });
}

function executableError(file: string): 'ENOENT' | 'EACCES' | undefined {
  try {
    if (!statSync(file).isFile()) return 'EACCES';
    accessSync(file, fsConstants.X_OK);
    return undefined;
  } catch (error) {
    return errorCode(error) === 'EACCES' ? 'EACCES' : 'ENOENT';
  }
}

// ---------------------------------------------------------------------------------------------
// Output: line splitting, redaction, tail-keeping cap.

export interface OutputCollectorOptions {
  readonly redact: (text: string) => string;
  readonly onLine?: (line: string) => void;
  /** Bytes of (redacted) text kept; older output is dropped. */
  readonly maxBytes: number;
  readonly splitOnCarriageReturn?: boolean;
}

/**
 * Collects one output stream: splits it into lines, redacts each line before anything sees it,
 * hands it to `onLine`, and keeps the last `maxBytes` bytes. Because lines are redacted before
 * the cap cuts anything, a cut never leaves part of a secret behind.
 */
export class OutputCollector {
  #partial: string[] = [];
  #partialChars = 0;
  #skipLineFeed = false;
  #kept: string[] = [];
  #keptSizes: number[] = [];
  #keptHead = 0;
  #keptBytes = 0;
  #truncated = false;
  readonly #breaks: RegExp;

  constructor(private readonly options: OutputCollectorOptions) {
    this.#breaks = options.splitOnCarriageReturn === true ? /\r\n|\r|\n/g : /\n/g;
  }

  /** True once output was dropped to respect the cap. */
  get truncated(): boolean {
    return this.#truncated;
  }

  write(chunk: string): void {
    let text = chunk;
    if (this.#skipLineFeed && text.startsWith('\n')) text = text.slice(1);
    this.#skipLineFeed = false;
    let start = 0;
    this.#breaks.lastIndex = 0;
    for (let match = this.#breaks.exec(text); match !== null; match = this.#breaks.exec(text)) {
      this.#partial.push(text.slice(start, match.index));
      this.#line(this.#takePartial());
      start = match.index + match[0].length;
    }
    // "\r" at a chunk end may be the first half of "\r\n": don't count a second line break.
    this.#skipLineFeed = this.options.splitOnCarriageReturn === true && text.endsWith('\r');
    this.#addPartial(text.slice(start));
  }

  /** Flushes the last line when the output didn't end with a line break. */
  end(): void {
    if (this.#partialChars === 0) return;
    const last = this.#takePartial();
    const line = this.options.redact(stripCarriageReturn(last));
    this.options.onLine?.(line);
    this.#keep(line);
  }

  /** The kept output, redacted (again, for secrets registered while the command ran). */
  text(): string {
    const joined = this.#kept.slice(this.#keptHead).join('');
    if (this.#keptBytes <= this.options.maxBytes) return this.options.redact(joined);
    return this.options.redact(utf8Tail(joined, this.options.maxBytes));
  }

  #line(raw: string): void {
    const line = this.options.redact(stripCarriageReturn(raw));
    this.options.onLine?.(line);
    this.#keep(`${line}\n`);
  }

  #addPartial(text: string): void {
    if (text === '') return;
    this.#partial.push(text);
    this.#partialChars += text.length;
    const limit = this.options.maxBytes + PARTIAL_LINE_MARGIN_CHARS;
    if (this.#partialChars <= 2 * limit) return;
    // A line longer than the cap: keep its (redacted) tail so memory stays bounded.
    const tail = this.options.redact(this.#takePartial()).slice(-limit);
    this.#partial = [tail];
    this.#partialChars = tail.length;
    this.#truncated = true;
  }

  #takePartial(): string {
    const text = this.#partial.join('');
    this.#partial = [];
    this.#partialChars = 0;
    return text;
  }

  #keep(text: string): void {
    const size = Buffer.byteLength(text);
    this.#kept.push(text);
    this.#keptSizes.push(size);
    this.#keptBytes += size;
    for (;;) {
      const oldest = this.#keptSizes[this.#keptHead];
      if (oldest === undefined || this.#keptBytes - oldest < this.options.maxBytes) break;
      this.#keptBytes -= oldest;
      this.#keptHead++;
      this.#truncated = true;
    }
    if (this.#keptBytes > this.options.maxBytes) this.#truncated = true;
    this.#compact();
  }

  /** Drops consumed entries now and then, so a long stream doesn't grow the arrays for ever. */
  #compact(): void {
    if (this.#keptHead < 1024 || this.#keptHead < this.#kept.length / 2) return;
    this.#kept = this.#kept.slice(this.#keptHead);
    this.#keptSizes = this.#keptSizes.slice(this.#keptHead);
    this.#keptHead = 0;
  }
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** The last `maxBytes` bytes of `text`, not starting in the middle of a UTF-8 character. */
function utf8Tail(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  let start = Math.max(0, bytes.length - maxBytes);
  while (start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Deciding success and wording failures (shared with the replaying fake).

/**
 * Why `result` counts as a failure under `okExitCodes`, or undefined when it succeeded. Abort and
 * timeout win over the exit status: a cancel is known because we sent the signal. With 'any',
 * only abort, timeout and death by signal are reported (for the log); `acceptResult` still
 * resolves.
 */
export function failureReason(
  result: CommandResult,
  okExitCodes: CommandSpec['okExitCodes'] = DEFAULT_OK_EXIT_CODES,
): Exclude<CommandFailureReason, 'spawn-failed'> | undefined {
  if (result.aborted) return 'aborted';
  if (result.timedOut) return 'timeout';
  if (result.exitCode === null) return 'signal';
  if (okExitCodes === 'any' || okExitCodes.includes(result.exitCode)) return undefined;
  return 'exit';
}

/** `result` when it counts as success under the spec's okExitCodes; otherwise throws a CommandError. */
export function acceptResult(result: CommandResult, spec: Pick<CommandSpec, 'okExitCodes' | 'timeoutMs' | 'pty'>): CommandResult {
  if (spec.okExitCodes === 'any') return result;
  const reason = failureReason(result, spec.okExitCodes);
  if (reason === undefined) return result;
  throw commandError(result, reason, spec);
}

/**
 * The CommandError for a failed result, e.g. `restic -r … backup --json /data exited with code 1:
 * Fatal: wrong password or no key found`. Takes the tail from stderr (pty: from the merged output).
 */
export function commandError(
  result: CommandResult,
  reason: Exclude<CommandFailureReason, 'spawn-failed'>,
  spec: Pick<CommandSpec, 'timeoutMs' | 'pty'>,
): CommandError {
  const tail = lastLines(spec.pty === undefined ? result.stderr : result.stdout, STDERR_TAIL_LINES);
  const lastLine = clip(tail.slice(tail.lastIndexOf('\n') + 1).trim(), MAX_MESSAGE_LINE_CHARS);
  const what = `${describeCommand(result.argv)} ${describeFailure(result, reason, spec.timeoutMs)}`;
  const message = lastLine === '' ? what : `${what}: ${lastLine}`;
  return new CommandError(reason, result.argv, result.exitCode, result.signal, tail, message);
}

function describeFailure(result: CommandResult, reason: CommandFailureReason, timeoutMs: number | undefined): string {
  const killedBy = result.signal === null ? '' : ` (${result.signal})`;
  switch (reason) {
    case 'exit':
      return `exited with code ${result.exitCode ?? 'unknown'}`;
    case 'signal':
      return `was killed by ${result.signal ?? 'a signal'}`;
    case 'timeout':
      return `timed out after ${formatMs(timeoutMs)} and was stopped${killedBy}`;
    case 'aborted':
      return result.exitCode === null && result.signal === null ? 'was cancelled before it started' : `was cancelled${killedBy}`;
    case 'spawn-failed':
      return 'could not be started';
  }
}

/**
 * The CommandError for a program that could not be started, saying what to do about it
 * ("restic was not found in PATH: install it or set its path").
 */
export function spawnFailedError(argv: readonly string[], error: unknown, cwd?: string): CommandError {
  const program = argv[0] ?? '';
  const name = programName(program);
  const code = errorCode(error);
  let message: string;
  if (code === 'ENOENT' && cwd !== undefined && !existsSync(cwd)) {
    message = `${name} could not be started: its working directory ${cwd} does not exist`;
  } else if (code === 'ENOENT') {
    message = /[\\/]/.test(program)
      ? `${program} does not exist: install ${name} there or correct its configured path`
      : `${name} was not found in PATH: install it or set its path`;
  } else if (code === 'EACCES') {
    message = `${program} is not executable (permission denied): make it executable (chmod +x) or set another path`;
  } else {
    message = `${name === '' ? 'the command' : name} could not be started: ${errorMessage(error)}`;
  }
  return new CommandError('spawn-failed', argv, null, null, '', message);
}

/** A short, shell-like rendering of an (already redacted) argv for messages. */
export function describeCommand(argv: readonly string[]): string {
  const [program = '', ...args] = argv;
  return clip([programName(program), ...args].map(shellQuote).join(' '), MAX_COMMAND_DESCRIPTION_CHARS);
}

function programName(program: string): string {
  return program.split(/[\\/]/).pop() ?? program;
}

function shellQuote(arg: string): string {
  if (/^[\w@%+=:,./[\]-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", "'\\''")}'`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function formatMs(ms: number | undefined): string {
  if (ms === undefined) return 'its time limit';
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** The last `count` lines of `text`, without trailing empty lines. */
export function lastLines(text: string, count: number): string {
  const trimmed = text.replace(/\n+$/, '');
  let start = trimmed.length;
  for (let i = 0; i < count; i++) {
    const lineBreak = trimmed.lastIndexOf('\n', start - 1);
    if (lineBreak < 0) return trimmed;
    start = lineBreak;
  }
  return trimmed.slice(start + 1);
}

function logEntry(
  argv: readonly string[],
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  durationMs: number,
  reason: CommandFailureReason | undefined,
): CommandLogEntry {
  const entry = { argv, exitCode, signal, durationMs };
  return reason === undefined ? entry : { ...entry, reason };
}

function writeLog(log: CommandRunnerOptions['log'], entry: CommandLogEntry): void {
  try {
    log?.(entry);
  } catch {
    // Logging must never change the outcome of a command.
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
