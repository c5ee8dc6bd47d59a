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

/**
 * A finer, stable reason inside a class, for engines that can tell (rsync over ssh): the UI and
 * the session may key hints off it. Optional on every failure; restic does not set it yet.
 */
export type BackupFailureDetail =
  | 'partial' // some files were not copied (rsync 23/24)
  | 'cancelled'
  | 'ssh-host-key-unknown' // the server's key is not in known_hosts: we refuse to connect
  | 'ssh-host-key-changed' // the server's key differs from known_hosts: possible man in the middle
  | 'ssh-auth' // the server refused our key
  | 'ssh-key-unusable' // ssh could not load the private key (missing, too open)
  | 'ssh-unreachable' // connect failed: refused, unreachable, DNS
  | 'ssh-missing' // no ssh client on this machine
  | 'remote-rsync-missing'
  | 'connection-lost' // rsync 12/255/10 mid-transfer
  | 'timeout' // rsync --timeout (30) or a connection timeout (35)
  | 'destination-missing'
  | 'destination-denied'
  | 'disk-full'
  | 'killed' // a worker was stopped by a signal we did not send
  | 'protocol' // rsync refused the command (1/2/4)
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
  /** Current transfer rate, when the engine measures one (rsync: over the last few seconds). */
  readonly bytesPerSecond?: number;
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
  /** A finer reason within the class, when the engine can tell. */
  readonly detail?: BackupFailureDetail;
  /** What to do about it, one or two sentences, when the engine knows better than the class hint. */
  readonly fix?: string;
  /** The files concerned (rsync 23/24: the files that were not copied), at most a few hundred. */
  readonly files?: readonly string[];
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
  /**
   * Removes the stale locks a run stopped while the repository was unreachable left behind (restic:
   * `restic unlock`, which only removes locks of dead processes on this host, or older than 30 min).
   * True when it worked. Optional: rsync takes no locks.
   */
  removeStaleLocks?(request: Pick<BackupRequest, 'repository' | 'password' | 'scratchDir'>, signal: AbortSignal): Promise<boolean>;
}

export type BackupLogLevel = 'debug' | 'info' | 'warn';
/** Structured log sink for engines; messages and fields are already redacted by the runner. */
export type BackupLog = (level: BackupLogLevel, message: string, fields?: Readonly<Record<string, unknown>>) => void;

/** Wraps a log sink so a throwing one can't break a backup (engines log from line callbacks). */
export function safeLog(sink: BackupLog | undefined): BackupLog {
  return (level, message, fields) => {
    try {
      sink?.(level, message, fields);
    } catch {
      // ignored on purpose
    }
  };
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
