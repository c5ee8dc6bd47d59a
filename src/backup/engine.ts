/**
 * The BackupEngine contract: what the session needs from restic or rsync. An engine turns a job into
 * a stream of typed progress events and ends with one typed result; it never throws for a failure
 * the user can act on — those are results with a failure class.
 */

/** Why a backup did not succeed, as far as the engine can tell. Stable: UI text and hints key off it. */
export type BackupFailureClass =
  | 'partial' // some files could not be read; a snapshot was still made (a warning, not a failure)
  | 'no-repository' // nothing at the repository location: run `backhaul init JOB`
  | 'locked' // another process holds an exclusive lock
  | 'wrong-password'
  | 'cancelled' // we sent the signal (user or system)
  | 'network' // the repository could not be reached, or the connection was lost
  | 'engine-missing' // binary not found or too old
  | 'unknown';

export interface BackupProgress {
  readonly type: 'progress';
  /** 0..1 */
  readonly fraction: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly elapsedSeconds: number;
  /** Absent while the engine can't estimate. */
  readonly etaSeconds?: number;
  readonly errorCount: number;
  readonly currentFiles: readonly string[];
}

/** A file the engine could not back up (the run goes on). */
export interface BackupFileError {
  readonly type: 'file-error';
  readonly path: string;
  readonly during: string;
  readonly message: string;
}

/** The engine lost the repository and is retrying on its own (restic retries for up to 15 min). */
export interface BackupRetrying {
  readonly type: 'retrying';
  readonly message: string;
}

export type BackupEvent = BackupProgress | BackupFileError | BackupRetrying;

export interface BackupSummary {
  /** Absent when no snapshot was written (e.g. an rsync engine). */
  readonly snapshotId?: string;
  readonly filesNew: number;
  readonly filesChanged: number;
  readonly filesUnmodified: number;
  /** Bytes added to the repository (before compression) — near 0 on a deduplicated re-run. */
  readonly bytesAdded: number;
  readonly bytesProcessed: number;
  readonly filesProcessed: number;
  readonly durationSeconds: number;
}

export interface BackupFailure {
  readonly class: BackupFailureClass;
  /** One plain sentence, redacted. */
  readonly message: string;
  readonly exitCode: number | null;
  /** The last lines of the engine's stderr, redacted. */
  readonly stderrTail: string;
}

export type BackupResult =
  | { readonly outcome: 'success'; readonly summary: BackupSummary }
  | { readonly outcome: 'warning'; readonly summary: BackupSummary; readonly failure: BackupFailure }
  | { readonly outcome: 'failed'; readonly failure: BackupFailure; readonly summary?: BackupSummary }
  | { readonly outcome: 'cancelled'; readonly failure: BackupFailure };

/** What an engine needs to run one backup. Secrets arrive as values, already resolved. */
export interface BackupRequest {
  readonly jobName: string;
  readonly repository: string;
  readonly password: string;
  readonly sources: readonly string[];
  readonly excludes: readonly string[];
  /** Parallel connections (restic) or worker processes (rsync). 1..32. */
  readonly streams: number;
  /** KiB/s, absent = unlimited. */
  readonly uploadLimitKiBps?: number;
  /** Private scratch directory (0700) the engine may use for secret files; removed by the caller. */
  readonly scratchDir: string;
  /** Told the pid of each process the engine starts, so a crashed agent's leftovers can be stopped. */
  readonly onProcessStarted?: (pid: number) => void;
}

export interface BackupEngine {
  readonly name: 'restic' | 'rsync';
  /** Runs one backup. Yields progress; returns the result. Aborting the signal cancels the run. */
  run(request: BackupRequest, signal: AbortSignal): AsyncGenerator<BackupEvent, BackupResult, void>;
}

/** Feeds each event of a run to `onEvent` and returns the run's result. */
export async function drainRun(
  run: AsyncGenerator<BackupEvent, BackupResult, void>,
  onEvent: (event: BackupEvent) => void = () => undefined,
): Promise<BackupResult> {
  for (;;) {
    const next = await run.next();
    if (next.done === true) return next.value;
    onEvent(next.value);
  }
}
