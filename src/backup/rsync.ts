/**
 * The rsync BackupEngine: copies the sources to a directory on an SSH host with N rsync worker
 * processes in parallel, because one TCP stream over a long, lossy VPN path uses a fraction of the
 * link (docs/benchmarks.md has the measurements).
 *
 * A run: list the files locally (`rsync --list-only`, so rsync itself applies the excludes) →
 * split them into N size-balanced parts (partition.ts) → create the directory tree once → delete
 * what is gone (mirror jobs only) → N workers, one per part → the directory pass again to restore
 * directory times. Every step is an rsync over ssh with host key checking on, `--partial-dir`
 * (an interrupted file resumes) and `--timeout` (a silent stall ends). A step that fails in a way
 * a re-run can fix (the connection dropped, a worker was killed) is retried after a delay; a
 * failure a retry can't fix (host key, refused key, no destination) stops every worker at once.
 * Progress from all workers is merged into one stream (rsync-progress.ts); exit codes go through
 * one table (rsync-errors.ts); files rsync could not copy (23/24) end the run as a warning that
 * lists them. It never throws for a failure the user can act on.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CommandError, lastLines, type CommandResult, type CommandRunner } from '../os/command.js';
import {
  safeLog,
  type BackupEngine,
  type BackupEvent,
  type BackupFailure,
  type BackupLog,
  type BackupRequest,
  type BackupResult,
  type BackupSummary,
} from './engine.js';
import { EventQueue } from './event-queue.js';
import { partitionBySize } from './partition.js';
import {
  deleteArgv,
  directoriesArgv,
  listArgv,
  workerArgv,
  type RsyncSshTarget,
  type RsyncTransferContext,
} from './rsync-args.js';
import { classifyRsyncExit, type RsyncDiagnosis } from './rsync-errors.js';
import { parseListEntry, parseRsyncLine, type RsyncListEntry, type RsyncStatsKey } from './rsync-output.js';
import { MergedProgress } from './rsync-progress.js';

/** rsync --timeout: a VPN that stalls silently must end the transfer, not hang it. */
export const DEFAULT_IO_TIMEOUT_SECONDS = 300;
/** ssh ConnectTimeout. */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 30;
/** Waits before each retry of a step that failed in a retryable way; their count is the retry budget. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [5_000, 30_000, 120_000];
/** rsync saves the partial file on SIGTERM; SIGKILL after this. */
export const DEFAULT_KILL_GRACE_MS = 10_000;
/** At most this many progress events a second reach the consumer. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 500;
/** The warning lists at most this many files (the count is always complete). */
export const MAX_LISTED_FILES = 200;

export interface RsyncEngineOptions {
  readonly runner: CommandRunner;
  readonly binary: { readonly path: string };
  /** The ssh client rsync starts. Default `ssh` from PATH. */
  readonly ssh?: string;
  readonly target: RsyncSshTarget;
  /** Delete on the destination what is gone from the sources (`--delete`). Default false. */
  readonly mirror?: boolean;
  readonly ioTimeoutSeconds?: number;
  readonly connectTimeoutSeconds?: number;
  /** Delay before each retry; `[]` never retries. Default 5 s, 30 s, 2 min. */
  readonly retryDelaysMs?: readonly number[];
  readonly killGraceMs?: number;
  readonly progressIntervalMs?: number;
  /** Monotonic milliseconds (tests inject one). Default performance.now. */
  readonly clock?: () => number;
  readonly log?: BackupLog;
}

export interface RsyncEngine extends BackupEngine {
  readonly name: 'rsync';
}

/** One rsync step as the run needs it. */
interface Step {
  /** For messages and logs: `directories`, `delete`, `worker 3`. */
  readonly label: string;
  readonly argv: readonly string[];
  /** The worker index whose progress this step reports, if it is a worker. */
  readonly worker?: number;
}

type StepOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'partial'; readonly diagnosis: RsyncDiagnosis; readonly result: CommandResult }
  | { readonly kind: 'failed'; readonly diagnosis: RsyncDiagnosis; readonly result?: CommandResult };

/** Creates the rsync engine for one job's ssh target. */
export function createRsyncEngine(options: RsyncEngineOptions): RsyncEngine {
  const { runner } = options;
  const log = safeLog(options.log);
  const clock = options.clock ?? (() => performance.now());
  const retryDelays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const progressIntervalMs = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;

  async function* run(request: BackupRequest, signal: AbortSignal): AsyncGenerator<BackupEvent, BackupResult, void> {
    if (signal.aborted) return cancelled('The backup was cancelled before it started.');
    const queue = new EventQueue<BackupEvent>();
    const stop = new AbortController();
    const onAbort = (): void => {
      stop.abort();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const listDir = path.join(request.scratchDir, `rsync-${randomBytes(6).toString('hex')}`);
    const job = new RsyncRun(request, stop.signal, queue, listDir).run();
    job.then(
      () => {
        queue.close();
      },
      () => {
        queue.close();
      },
    );
    try {
      for await (const event of queue) yield event;
      return await job;
    } finally {
      signal.removeEventListener('abort', onAbort);
      // When the consumer stopped early (return/throw), no rsync may outlive the generator; after
      // a normal end this is a no-op.
      stop.abort();
      await job.catch(() => undefined);
      await rm(listDir, { recursive: true, force: true });
    }
  }

  /** One backup run: its steps, its merged progress, its problems. */
  class RsyncRun {
    readonly #ctx: RsyncTransferContext;
    readonly #started = clock();
    /** Files rsync could not copy, by path (first message kept). */
    readonly #problems = new Map<string, string>();
    readonly #stats: Partial<Record<RsyncStatsKey, number>> = {};
    #progress: MergedProgress | undefined;
    #lastProgressAt = Number.NEGATIVE_INFINITY;
    #failure: { readonly diagnosis: RsyncDiagnosis; readonly result?: CommandResult } | undefined;
    #partial: { readonly diagnosis: RsyncDiagnosis; readonly result: CommandResult } | undefined;
    /** Stops the workers when one of them fails for good. */
    readonly #workersStop = new AbortController();
    /** Every rsync we start is reported, so a crashed agent's recovery can stop what it left running. */
    get #onSpawn(): { onSpawn?: (pid: number) => void } {
      const report = this.request.onProcessStarted;
      return report === undefined ? {} : { onSpawn: report };
    }

    constructor(
      private readonly request: BackupRequest,
      private readonly signal: AbortSignal,
      private readonly queue: EventQueue<BackupEvent>,
      private readonly listDir: string,
    ) {
      this.#ctx = {
        rsync: options.binary.path,
        ssh: options.ssh ?? 'ssh',
        target: options.target,
        destination: request.repository,
        ioTimeoutSeconds: options.ioTimeoutSeconds ?? DEFAULT_IO_TIMEOUT_SECONDS,
        connectTimeoutSeconds: options.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS,
      };
    }

    async run(): Promise<BackupResult> {
      const listed = await this.#list();
      if (listed === undefined) return this.#result(undefined);
      const directories = listed.filter((e) => e.type === 'd');
      const files = listed.filter((e) => e.type !== 'd');
      if (directories.length === 0 && files.length === 0) {
        this.#failure = {
          diagnosis: {
            class: 'unknown',
            detail: 'unknown',
            retryable: false,
            message: `Nothing to back up: none of the sources exist (${this.request.sources.join(', ')}).`,
            fix: 'Check jobs.<name>.sources.',
          },
        };
        return this.#result(undefined);
      }

      const workers = Math.max(1, Math.min(Math.trunc(this.request.streams) || 1, files.length));
      const parts = partitionBySize(files, workers).filter((p) => p.items.length > 0);
      this.#progress = new MergedProgress(
        parts.map((p) => ({ bytes: p.bytes, files: p.items.length })),
        clock,
      );
      const dirList = path.join(this.listDir, 'directories.list');
      await writeFile(dirList, nulList(directories), { mode: 0o600 });
      const workerLists = await Promise.all(
        parts.map(async (part, i) => {
          const file = path.join(this.listDir, `worker-${i}.list`);
          await writeFile(file, nulList(part.items), { mode: 0o600 });
          return file;
        }),
      );
      log('info', 'rsync run planned', {
        files: files.length,
        directories: directories.length,
        bytes: parts.reduce((sum, p) => sum + p.bytes, 0),
        workers: parts.length,
        partBytes: parts.map((p) => p.bytes),
      });

      const limit = this.request.uploadLimitKiBps;
      const perWorker = limit === undefined ? undefined : limit / parts.length;
      const dirs: Step = { label: 'directories', argv: directoriesArgv(this.#ctx, dirList, limit) };
      if (!(await this.#step(dirs, this.signal))) return this.#result(undefined);
      if (options.mirror === true) {
        const del: Step = { label: 'delete', argv: deleteArgv(this.#ctx, this.request.sources, this.request.excludes, limit) };
        if (!(await this.#step(del, this.signal))) return this.#result(undefined);
      }
      if (parts.length > 0 && files.length > 0) {
        const workerSignal = AbortSignal.any([this.signal, this.#workersStop.signal]);
        const results = await Promise.all(
          workerLists.map((list, i) =>
            this.#step({ label: `worker ${i + 1}`, argv: workerArgv(this.#ctx, list, perWorker), worker: i }, workerSignal),
          ),
        );
        if (results.includes(false)) return this.#result(files.length);
        await this.#step(dirs, this.signal);
      }
      return this.#result(files.length);
    }

    /** The local file list. Undefined when it failed (the failure is recorded). */
    async #list(): Promise<RsyncListEntry[] | undefined> {
      const entries: RsyncListEntry[] = [];
      await mkdir(this.listDir, { recursive: true, mode: 0o700 });
      const argv = listArgv(this.#ctx.rsync, this.request.sources, this.request.excludes, this.listDir);
      let result: CommandResult;
      try {
        result = await runner.run({
          argv,
          signal: this.signal,
          okExitCodes: 'any',
          killGraceMs,
          maxOutputBytes: 64 * 1024,
          ...this.#onSpawn,
          onStdoutLine: (line) => {
            const entry = parseListEntry(line);
            if (entry !== undefined) entries.push(entry);
          },
          onStderrLine: (line) => {
            this.#onProblemLine(line, 'list');
          },
        });
      } catch (error) {
        this.#failure = { diagnosis: notStarted(error, this.#ctx.rsync) };
        return undefined;
      }
      if (result.exitCode === 0 && !result.aborted) return entries;
      const diagnosis = this.#classify(result, result.stderr);
      if (diagnosis.class === 'partial') {
        this.#partial ??= { diagnosis, result };
        return entries;
      }
      this.#failure = { diagnosis, result };
      return undefined;
    }

    /** Runs one step with retries. True when it copied what it could (ok or partial). */
    async #step(step: Step, signal: AbortSignal): Promise<boolean> {
      for (let attempt = 0; ; attempt++) {
        if (step.worker !== undefined && attempt > 0) this.#progress?.restart(step.worker);
        const outcome = await this.#attempt(step, signal);
        if (outcome.kind === 'ok') return true;
        if (outcome.kind === 'partial') {
          this.#partial ??= { diagnosis: outcome.diagnosis, result: outcome.result };
          if (step.worker !== undefined) this.#progress?.finish(step.worker);
          return true;
        }
        const delay = retryDelays[attempt];
        if (outcome.diagnosis.retryable && delay !== undefined && !signal.aborted) {
          const message = `rsync ${step.label}: ${outcome.diagnosis.message} Retrying in ${formatDelay(delay)} (retry ${attempt + 1} of ${retryDelays.length}).`;
          log('warn', 'rsync step failed; retrying', { step: step.label, detail: outcome.diagnosis.detail, exitCode: outcome.result?.exitCode, delayMs: delay });
          this.queue.push({ type: 'retrying', message });
          if (await sleep(delay, signal)) continue;
        }
        // Our own stop of a sibling is not this step's failure: the sibling's failure is reported.
        if (outcome.diagnosis.class !== 'cancelled' || this.signal.aborted) this.#failure ??= outcome;
        this.#workersStop.abort();
        return false;
      }
    }

    async #attempt(step: Step, signal: AbortSignal): Promise<StepOutcome> {
      const output: string[] = [];
      const onLine = (line: string): void => {
        const parsed = parseRsyncLine(line);
        switch (parsed.kind) {
          case 'progress':
            if (step.worker !== undefined) this.#progress?.update(step.worker, parsed);
            this.#emitProgress(false);
            break;
          case 'stats':
            // Only the workers copy files; the directory passes would count directories as created.
            if (step.worker === undefined) break;
            for (const [key, value] of Object.entries(parsed.values) as [RsyncStatsKey, number][]) {
              this.#stats[key] = (this.#stats[key] ?? 0) + value;
            }
            break;
          case 'file-problem':
            this.#onProblem(parsed.path, parsed.problem, parsed.message, step.label);
            keep(output, line);
            break;
          case 'text':
            if (parsed.text.trim() !== '') keep(output, parsed.text);
            break;
        }
      };
      let result: CommandResult;
      try {
        result = await runner.run({
          argv: step.argv,
          signal,
          okExitCodes: 'any',
          killGraceMs,
          ...this.#onSpawn,
          splitOnCarriageReturn: true,
          maxOutputBytes: 256 * 1024,
          onStdoutLine: onLine,
          onStderrLine: onLine,
        });
      } catch (error) {
        return { kind: 'failed', diagnosis: notStarted(error, this.#ctx.rsync) };
      }
      if (result.exitCode === 0 && !result.aborted) {
        if (step.worker !== undefined) this.#progress?.finish(step.worker);
        this.#emitProgress(true);
        return { kind: 'ok' };
      }
      const diagnosis = this.#classify(result, output.join('\n'));
      log('info', 'rsync step ended', { step: step.label, exitCode: result.exitCode, signal: result.signal, detail: diagnosis.detail });
      if (diagnosis.class === 'partial') {
        this.#emitProgress(true);
        return { kind: 'partial', diagnosis, result };
      }
      return { kind: 'failed', diagnosis, result };
    }

    #classify(result: CommandResult, output: string): RsyncDiagnosis {
      return classifyRsyncExit({
        exitCode: result.exitCode,
        signal: result.signal,
        output: `${output}\n${result.stderr}`,
        stoppedByUs: result.aborted,
        target: options.target,
        destination: this.request.repository,
      });
    }

    #onProblemLine(line: string, during: string): void {
      const parsed = parseRsyncLine(line);
      if (parsed.kind === 'file-problem') this.#onProblem(parsed.path, parsed.problem, parsed.message, during);
    }

    #onProblem(raw: string, problem: 'vanished' | 'unreadable', message: string, during: string): void {
      const file = raw.startsWith('/') ? raw : `/${raw}`;
      if (this.#problems.has(file)) return;
      this.#problems.set(file, message);
      log('warn', 'rsync could not copy a file', { path: file, problem, step: during });
      this.queue.push({ type: 'file-error', path: file, during: problem === 'vanished' ? 'vanished' : 'read', message });
    }

    #emitProgress(force: boolean): void {
      const progress = this.#progress;
      if (progress === undefined) return;
      const now = clock();
      if (!force && now - this.#lastProgressAt < progressIntervalMs) return;
      this.#lastProgressAt = now;
      this.queue.push(progress.snapshot(this.#problems.size), (last, next) => last.type === 'progress' && next.type === 'progress');
    }

    #summary(filesProcessed: number | undefined): BackupSummary | undefined {
      if (filesProcessed === undefined) return undefined;
      const s = this.#stats;
      const filesNew = s.created ?? 0;
      // "regular files transferred" counts new and changed regular files; new ones are also "created".
      const filesChanged = Math.max(0, (s.transferred ?? 0) - (s.createdRegular ?? 0));
      return {
        filesNew,
        filesChanged,
        filesUnmodified: Math.max(0, filesProcessed - filesNew - filesChanged),
        bytesAdded: s.literal ?? 0,
        bytesProcessed: this.#progress?.snapshot(0).bytesTotal ?? 0,
        filesProcessed,
        durationSeconds: Math.max(0, (clock() - this.#started) / 1000),
      };
    }

    #result(filesProcessed: number | undefined): BackupResult {
      const summary = this.#summary(filesProcessed);
      const withSummary = summary === undefined ? {} : { summary };
      if (this.signal.aborted) {
        const result = this.#failure?.result;
        return {
          outcome: 'cancelled',
          failure: {
            class: 'cancelled',
            detail: 'cancelled',
            message: 'The backup was cancelled.',
            exitCode: result?.exitCode ?? null,
            stderrTail: result === undefined ? '' : lastLines(result.stderr, 20),
          },
        };
      }
      if (this.#failure !== undefined) {
        return { outcome: 'failed', failure: toFailure(this.#failure.diagnosis, this.#failure.result), ...withSummary };
      }
      if (this.#problems.size > 0 || this.#partial !== undefined) {
        const files = [...this.#problems.keys()];
        const failure = toFailure(this.#partial?.diagnosis ?? partialDiagnosis(), this.#partial?.result);
        const listed = files.slice(0, MAX_LISTED_FILES);
        const more = files.length > listed.length ? ` (and ${files.length - listed.length} more)` : '';
        const message =
          files.length === 0
            ? failure.message
            : `${files.length === 1 ? '1 file was' : `${files.length} files were`} not copied: ${listed.slice(0, 5).join(', ')}${files.length > 5 ? ', …' : ''}${more}. ${failure.message}`;
        const warned: BackupFailure = { ...failure, message, files: listed };
        if (summary === undefined) return { outcome: 'failed', failure: warned };
        return { outcome: 'warning', summary, failure: warned };
      }
      if (summary === undefined) {
        return { outcome: 'failed', failure: toFailure({ class: 'unknown', detail: 'unknown', retryable: false, message: 'rsync ended without copying anything.' }) };
      }
      return { outcome: 'success', summary };
    }
  }

  return { name: 'rsync', run };
}

function cancelled(message: string): BackupResult {
  return { outcome: 'cancelled', failure: { class: 'cancelled', detail: 'cancelled', message, exitCode: null, stderrTail: '' } };
}

function partialDiagnosis(): RsyncDiagnosis {
  return { class: 'partial', detail: 'partial', retryable: false, message: 'Some files could not be copied.' };
}

function toFailure(diagnosis: RsyncDiagnosis, result?: CommandResult): BackupFailure {
  return {
    class: diagnosis.class,
    detail: diagnosis.detail,
    message: diagnosis.message,
    exitCode: result?.exitCode ?? null,
    stderrTail: result === undefined ? '' : lastLines(result.stderr, 20),
    ...(diagnosis.fix !== undefined ? { fix: diagnosis.fix } : {}),
  };
}

function notStarted(error: unknown, rsync: string): RsyncDiagnosis {
  if (error instanceof CommandError && error.reason === 'spawn-failed') {
    return {
      class: 'engine-missing',
      detail: 'unknown',
      retryable: false,
      message: `rsync could not be started from ${rsync}: ${error.message}`,
      fix: 'Install rsync (Debian/Ubuntu: apt-get install rsync), or set settings.rsyncPath.',
    };
  }
  return { class: 'unknown', detail: 'unknown', retryable: false, message: `rsync could not be run: ${error instanceof Error ? error.message : String(error)}` };
}

/** NUL-separated paths for `--files-from --from0` (names may hold newlines). */
function nulList(entries: readonly RsyncListEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) parts.push(entry.path, Buffer.from([0]));
  return Buffer.concat(parts);
}

/** Keeps the last 50 lines of a step's own words for classification. */
function keep(lines: string[], line: string): void {
  lines.push(line);
  if (lines.length > 50) lines.shift();
}

function formatDelay(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 100) / 10} s`;
}

/** Waits `ms`, or less when `signal` fires. True when the whole wait passed without an abort. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) {
      resolve(!signal.aborted);
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve(!signal.aborted);
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
