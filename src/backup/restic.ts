/**
 * The restic BackupEngine: runs `restic backup --json` through the CommandRunner, streams its
 * progress, file errors and backend retries as events while it runs, and ends with one typed
 * result from the exit-code table (restic-errors.ts). It never throws for a failure the user can
 * act on. Besides `run`, it offers the repository chores a job needs: `init`, `snapshots`, `unlock`,
 * and for browsing and restoring: `ls`, `restore`.
 *
 * Network outages: restic retries backend operations on its own (0.18: for up to 15 minutes),
 * which is what we want while the session repairs the tunnel underneath. Past `networkGiveUpMs`
 * of retrying without progress, the engine stops restic (SIGINT, grace, SIGKILL) and fails with
 * class 'network'.
 */
import { rm } from 'node:fs/promises';
import { CommandError, type CommandResult, type CommandRunner, type CommandSpec } from '../os/command.js';
import {
  safeLog,
  type BackupEngine,
  type BackupEvent,
  type BackupLog,
  type BackupLogLevel,
  type BackupFailure,
  type BackupProgress,
  type BackupRequest,
  type BackupResult,
  type BackupSummary,
} from './engine.js';
import {
  backupArgv,
  initArgv,
  lsArgv,
  restoreArgv,
  snapshotsArgv,
  unlockArgv,
  type ResticRepoArgs,
} from './restic-args.js';
import { resticFeatures, type ResticVersion } from './restic-binary.js';
import {
  classifyResticExit,
  RETRY_LINE,
  RETRY_RECOVERED_LINE,
  stderrTail,
  type ResticDiagnosis,
} from './restic-errors.js';
import {
  parseLs,
  parseRestoreSummary,
  parseSnapshots,
  parseStderrLine,
  parseStdoutLine,
  statusToProgress,
  toBackupSummary,
  type ResticBackupSummaryMessage,
  type ResticListing,
  type ResticRestoreSummary,
  type ResticSnapshot,
} from './restic-json.js';
import { writePasswordFile, withPasswordFile } from './restic-password.js';
import { EventQueue } from './event-queue.js';

/** restic's own retry horizon (internal/global: retry.New(be, 15*time.Minute, …)). */
export const DEFAULT_NETWORK_GIVE_UP_MS = 15 * 60_000;
/** SIGINT lets restic remove its lock; 0.18 with --limit-upload first finishes the pack in flight. */
export const DEFAULT_KILL_GRACE_MS = 30_000;
/** restic 0.18 prints ~60 status lines a second into a pipe; 2 is plenty for a progress bar. */
export const DEFAULT_PROGRESS_FPS = 2;

export type ResticLogLevel = BackupLogLevel;
/** Structured log sink; messages and fields are already redacted by the runner. */
export type ResticLog = BackupLog;

export interface ResticEngineOptions {
  readonly runner: CommandRunner;
  readonly binary: { readonly path: string; readonly version: ResticVersion };
  /** Stop restic after it has retried the backend this long without progress. Default 15 min. */
  readonly networkGiveUpMs?: number;
  /** SIGINT → SIGKILL grace when stopping restic. Default 30 s. */
  readonly killGraceMs?: number;
  /** Status lines per second (RESTIC_PROGRESS_FPS). Default 2. */
  readonly progressFps?: number;
  /** Wait this long for another process's lock before failing (restic 0.16+ only; ignored on older). */
  readonly retryLockMs?: number;
  /**
   * Files restic reads in parallel (`backup --read-concurrency`, restic 0.15+; ignored with a debug
   * line on older). Absent: restic's default, 2 — kept on purpose: on the measured machines more did
   * not help (docs/benchmarks.md, `npm run bench -- restic-read`); it is for fast local disks.
   */
  readonly readConcurrency?: number;
  readonly log?: ResticLog;
}

/** What `init`, `snapshots` and `unlock` need: BackupRequest satisfies it. */
export type ResticRepoRequest = Pick<BackupRequest, 'repository' | 'password' | 'scratchDir'> & {
  readonly streams?: number;
};

/** The result of a repository chore: a value, or a failure classified like a backup's. */
export type ResticOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly failure: BackupFailure; readonly fix?: string };

export interface ResticInitResult {
  /** False when a repository already existed there (init is idempotent for Backhaul). */
  readonly created: boolean;
  /** The repository id restic printed (short on 0.14, full on 0.18), when it did. */
  readonly repositoryId?: string;
}

export interface ResticEngine extends BackupEngine {
  readonly name: 'restic';
  /** `restic init`. An existing repository is `{ created: false }`, not a failure. */
  init(request: ResticRepoRequest, signal?: AbortSignal): Promise<ResticOutcome<ResticInitResult>>;
  /** `restic snapshots --json`, oldest first as restic lists them. */
  snapshots(request: ResticRepoRequest, signal?: AbortSignal): Promise<ResticOutcome<readonly ResticSnapshot[]>>;
  /** `restic unlock`: removes stale locks (dead processes on this host, or older than 30 min). */
  unlock(request: ResticRepoRequest, signal?: AbortSignal): Promise<ResticOutcome<void>>;
  /** `restic ls --json SNAPSHOT DIR`: the directory and its direct children. */
  ls(request: ResticRepoRequest, snapshotId: string, dir: string, signal?: AbortSignal): Promise<ResticOutcome<ResticListing>>;
  /** `restic restore SNAPSHOT --target DIR --include P…`: the selected paths, under their full paths. */
  restore(request: ResticRepoRequest, snapshotId: string, target: string, paths: readonly string[], signal?: AbortSignal): Promise<ResticOutcome<ResticRestoreSummary>>;
}

/** Creates the restic engine for one located binary. */
export function createResticEngine(options: ResticEngineOptions): ResticEngine {
  const { runner, binary } = options;
  const features = resticFeatures(binary.version);
  const networkGiveUpMs = options.networkGiveUpMs ?? DEFAULT_NETWORK_GIVE_UP_MS;
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const log = safeLog(options.log);
  const retryLockSeconds =
    options.retryLockMs !== undefined && options.retryLockMs > 0 && features.retryLock
      ? options.retryLockMs / 1000
      : undefined;
  const readConcurrency = options.readConcurrency !== undefined && features.readConcurrency ? options.readConcurrency : undefined;
  if (options.readConcurrency !== undefined && readConcurrency === undefined) {
    log('debug', 'restic is older than 0.15: --read-concurrency not passed', { version: binary.version });
  }
  if (options.retryLockMs !== undefined && retryLockSeconds === undefined && options.retryLockMs > 0) {
    log('debug', 'restic is older than 0.16: --retry-lock not passed', { version: binary.version });
  }

  /**
   * Environment for every restic call: steady progress rate, and the password and repository
   * variables a user may have exported emptied, so ours are the only ones restic sees
   * (RESTIC_PASSWORD_COMMAND or RESTIC_REPOSITORY_FILE would conflict with our flags).
   */
  const env: Readonly<Record<string, string>> = {
    RESTIC_PROGRESS_FPS: String(options.progressFps ?? DEFAULT_PROGRESS_FPS),
    RESTIC_PASSWORD: '',
    RESTIC_PASSWORD_COMMAND: '',
    RESTIC_PASSWORD_FILE: '',
    RESTIC_REPOSITORY: '',
    RESTIC_REPOSITORY_FILE: '',
  };

  function failure(result: CommandResult | undefined, diagnosis: ResticDiagnosis): BackupFailure {
    return {
      class: diagnosis.class,
      message: diagnosis.message,
      exitCode: result?.exitCode ?? null,
      stderrTail: result === undefined ? '' : stderrTail(result.stderr),
    };
  }

  function notStarted(error: unknown, argv0: string): ResticDiagnosis {
    if (error instanceof CommandError && error.reason === 'spawn-failed') {
      return {
        class: 'engine-missing',
        message: `restic could not be started from ${argv0}: ${error.message}`,
        fix: 'Check settings.resticPath, or reinstall restic.',
      };
    }
    return { class: 'unknown', message: `restic could not be run: ${error instanceof Error ? error.message : String(error)}` };
  }

  /** Runs one short restic command to completion and classifies a non-zero exit. */
  async function chore<T>(
    request: ResticRepoRequest,
    signal: AbortSignal | undefined,
    argvFor: (args: ResticRepoArgs) => readonly string[],
    interpret: (result: CommandResult) => ResticOutcome<T>,
  ): Promise<ResticOutcome<T>> {
    return withPasswordFile(request.scratchDir, request.password, async (passwordFile) => {
      const argv = argvFor({
        repository: request.repository,
        passwordFile,
        ...(request.streams !== undefined ? { streams: request.streams } : {}),
      });
      let result: CommandResult;
      try {
        result = await runner.run({
          argv,
          env,
          secrets: [request.password],
          okExitCodes: 'any',
          cancelSignal: 'SIGINT',
          killGraceMs,
          ...(signal !== undefined ? { signal } : {}),
        });
      } catch (error) {
        const d = notStarted(error, binary.path);
        return { ok: false, failure: failure(undefined, d), ...(d.fix !== undefined ? { fix: d.fix } : {}) };
      }
      if (result.exitCode === 0 && !result.aborted) return interpret(result);
      const d = classifyResticExit({
        exitCode: result.exitCode,
        signal: result.signal,
        stderr: result.stderr,
        cancelledByUs: result.aborted,
        networkGaveUp: false,
        version: binary.version,
      });
      return { ok: false, failure: failure(result, d), ...(d.fix !== undefined ? { fix: d.fix } : {}) };
    });
  }

  async function init(request: ResticRepoRequest, signal?: AbortSignal): Promise<ResticOutcome<ResticInitResult>> {
    const outcome = await chore(
      request,
      signal,
      (args) => initArgv(binary.path, args),
      (result): ResticOutcome<ResticInitResult> => {
        const id = initRepositoryId(result.stdout);
        return { ok: true, value: { created: true, ...(id !== undefined ? { repositoryId: id } : {}) } };
      },
    );
    // restic refuses to init over an existing repository; for Backhaul that is "already done".
    if (!outcome.ok && /config file already exists/.test(outcome.failure.stderrTail)) {
      return { ok: true, value: { created: false } };
    }
    return outcome;
  }

  async function snapshots(
    request: ResticRepoRequest,
    signal?: AbortSignal,
  ): Promise<ResticOutcome<readonly ResticSnapshot[]>> {
    return chore(
      request,
      signal,
      (args) => snapshotsArgv(binary.path, args),
      (result): ResticOutcome<readonly ResticSnapshot[]> => {
        const list = parseSnapshots(result.stdout);
        return list !== undefined ? { ok: true, value: list } : unparsed(result, 'restic snapshots did not print a JSON list.');
      },
    );
  }

  async function unlock(request: ResticRepoRequest, signal?: AbortSignal): Promise<ResticOutcome<void>> {
    return chore(
      request,
      signal,
      (args) => unlockArgv(binary.path, args),
      (): ResticOutcome<void> => ({ ok: true, value: undefined }),
    );
  }

  async function ls(request: ResticRepoRequest, snapshotId: string, dir: string, signal?: AbortSignal): Promise<ResticOutcome<ResticListing>> {
    return chore(
      request,
      signal,
      (args) => lsArgv(binary.path, args, snapshotId, dir),
      (result): ResticOutcome<ResticListing> => {
        const listing = parseLs(result.stdout);
        if (listing !== undefined) return { ok: true, value: listing };
        // 0.14 exits 0 for an unknown id and says "Ignoring …: no matching ID" on stderr.
        return unparsed(result, /no matching ID/.test(result.stderr) ? `There is no snapshot ${snapshotId.slice(0, 16)} in the repository.` : 'restic ls did not print a snapshot.');
      },
    );
  }

  async function restore(
    request: ResticRepoRequest,
    snapshotId: string,
    target: string,
    paths: readonly string[],
    signal?: AbortSignal,
  ): Promise<ResticOutcome<ResticRestoreSummary>> {
    return chore(
      request,
      signal,
      (args) => restoreArgv(binary.path, args, snapshotId, target, paths),
      (result): ResticOutcome<ResticRestoreSummary> => ({ ok: true, value: parseRestoreSummary(result.stdout) }),
    );
  }

  async function* run(request: BackupRequest, signal: AbortSignal): AsyncGenerator<BackupEvent, BackupResult, void> {
    if (signal.aborted) {
      return {
        outcome: 'cancelled',
        failure: { class: 'cancelled', message: 'The backup was cancelled before it started.', exitCode: null, stderrTail: '' },
      };
    }
    const queue = new EventQueue<BackupEvent>();
    const stop = new AbortController();
    let cancelledByUs = false;
    let networkGaveUp = false;
    let summary: ResticBackupSummaryMessage | undefined;
    let lastProgress: BackupProgress | undefined;
    let retry: { timer: NodeJS.Timeout; bytesDone: number; filesDone: number } | undefined;
    let running: Promise<CommandResult> | undefined;
    let passwordFile: string | undefined;

    const endRetryEpisode = (): void => {
      if (retry === undefined) return;
      clearTimeout(retry.timer);
      retry = undefined;
      log('info', 'restic reached the repository again');
    };
    const onAbort = (): void => {
      cancelledByUs = true;
      stop.abort();
    };
    const giveUp = (): void => {
      retry = undefined;
      networkGaveUp = true;
      log('warn', 'restic kept retrying past the network deadline; stopping it', { networkGiveUpMs });
      stop.abort();
    };

    const onStdoutLine = (line: string): void => {
      const msg = parseStdoutLine(line);
      switch (msg.kind) {
        case 'status': {
          const progress = statusToProgress(msg.status);
          // Progress past where the retries began means the backend works again.
          if (retry !== undefined && (progress.bytesDone > retry.bytesDone || progress.filesDone > retry.filesDone)) {
            endRetryEpisode();
          }
          lastProgress = progress;
          queue.push(progress, (last, next) => last.type === 'progress' && next.type === 'progress');
          break;
        }
        case 'summary':
          summary = msg.summary;
          break;
        case 'verbose':
          break;
        case 'unknown':
          log('debug', 'restic stdout: unknown message type', { messageType: msg.messageType });
          break;
        case 'text':
          if (msg.text !== '') log('debug', 'restic stdout: not JSON', { line: msg.text });
          break;
      }
    };

    const onStderrLine = (line: string): void => {
      const msg = parseStderrLine(line);
      switch (msg.kind) {
        case 'file-error':
          log('warn', 'restic could not back up a file', { path: msg.item, during: msg.during, error: msg.message });
          queue.push({ type: 'file-error', path: msg.item, during: msg.during, message: msg.message });
          break;
        case 'exit-error':
          log('info', 'restic exit error', { code: msg.code, message: msg.message });
          break;
        case 'unknown':
          log('debug', 'restic stderr: unknown message type', { messageType: msg.messageType });
          break;
        case 'text':
          if (RETRY_LINE.test(msg.text)) {
            queue.push({ type: 'retrying', message: msg.text });
            if (retry === undefined && !stop.signal.aborted) {
              log('info', 'restic lost the repository and is retrying', { line: msg.text });
              retry = {
                timer: setTimeout(giveUp, networkGiveUpMs),
                bytesDone: lastProgress?.bytesDone ?? 0,
                filesDone: lastProgress?.filesDone ?? 0,
              };
            }
          } else if (RETRY_RECOVERED_LINE.test(msg.text)) {
            endRetryEpisode();
          } else if (msg.text !== '') {
            log('debug', 'restic stderr', { line: msg.text });
          }
          break;
      }
    };

    signal.addEventListener('abort', onAbort, { once: true });
    try {
      passwordFile = await writePasswordFile(request.scratchDir, request.password);
      const spec: CommandSpec = {
        argv: backupArgv(binary.path, request, passwordFile, {
          ...(retryLockSeconds !== undefined ? { retryLockSeconds } : {}),
          ...(readConcurrency !== undefined ? { readConcurrency } : {}),
        }),
        env,
        secrets: [request.password],
        signal: stop.signal,
        cancelSignal: 'SIGINT',
        killGraceMs,
        okExitCodes: 'any',
        onStdoutLine,
        onStderrLine,
        ...(request.onProcessStarted === undefined ? {} : { onSpawn: request.onProcessStarted }),
      };
      running = runner.run(spec);
      running.then(
        () => {
          queue.close();
        },
        () => {
          queue.close();
        },
      );
      for await (const event of queue) yield event;

      let result: CommandResult;
      try {
        result = await running;
      } catch (error) {
        const d = notStarted(error, binary.path);
        return { outcome: 'failed', failure: failure(undefined, d) };
      }
      return toResult(result);
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (retry !== undefined) clearTimeout(retry.timer);
      retry = undefined;
      if (running !== undefined) {
        // The consumer stopped early (return/throw): restic must not outlive the generator.
        stop.abort();
        await running.catch(() => undefined);
      }
      if (passwordFile !== undefined) await rm(passwordFile, { force: true });
    }

    function toResult(result: CommandResult): BackupResult {
      const mapped: BackupSummary | undefined = summary === undefined ? undefined : toBackupSummary(summary);
      if (result.exitCode === 0 && mapped !== undefined) return { outcome: 'success', summary: mapped };
      const d: ResticDiagnosis =
        result.exitCode === 0
          ? cancelledByUs
            ? { class: 'cancelled', message: 'The backup was cancelled.' }
            : { class: 'unknown', message: 'restic ended without reporting a summary.' }
          : classifyResticExit({
              exitCode: result.exitCode,
              signal: result.signal,
              stderr: result.stderr,
              cancelledByUs,
              networkGaveUp,
              networkGiveUpMs,
              version: binary.version,
            });
      const f = failure(result, d);
      if (d.class === 'cancelled') return { outcome: 'cancelled', failure: f };
      if (d.class === 'partial' && mapped !== undefined) return { outcome: 'warning', summary: mapped, failure: f };
      return { outcome: 'failed', failure: f, ...(mapped !== undefined ? { summary: mapped } : {}) };
    }
  }

  const removeStaleLocks = async (request: ResticRepoRequest, signal: AbortSignal): Promise<boolean> => (await unlock(request, signal)).ok;
  return { name: 'restic', run, init, snapshots, unlock, ls, restore, removeStaleLocks };
}

/** A command that exited 0 but printed nothing we could read. */
function unparsed<T>(result: CommandResult, message: string): ResticOutcome<T> {
  return { ok: false, failure: { class: 'unknown', message, exitCode: result.exitCode, stderrTail: stderrTail(result.stderr) } };
}

/** The id from `init`: 0.18 prints `{"message_type":"initialized","id":…}`, 0.14 plain text even under --json. */
function initRepositoryId(stdout: string): string | undefined {
  for (const line of stdout.split('\n')) {
    const msg = line.trim();
    if (msg.startsWith('{')) {
      try {
        const value = JSON.parse(msg) as { message_type?: unknown; id?: unknown };
        if (value.message_type === 'initialized' && typeof value.id === 'string') return value.id;
      } catch {
        // not JSON after all: try the text form below
      }
    }
    const text = /^created restic repository (\w+) at /.exec(msg);
    if (text?.[1] !== undefined) return text[1];
  }
  return undefined;
}
