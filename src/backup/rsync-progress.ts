/**
 * Merges the `--info=progress2` lines of N rsync workers into one progress stream for the whole
 * job: bytes, fraction, files, rate and ETA.
 *
 * Each worker reports the bytes *it sent* in this attempt; files it found up to date count for
 * nothing until it finishes (progress2 counts transferred bytes only: a re-run with nothing to do
 * ends at 0 bytes, 0 %). So `bytesDone` is an estimate of bytes processed: what a worker sent
 * (all attempts), capped at its part, and its whole part once it is done — the same meaning as
 * restic's bytes_done. The rate is computed from the bytes actually sent, over a sliding window,
 * from our own clock (rsync's per-worker rate is stale while a worker waits).
 */
import type { BackupProgress } from './engine.js';
import type { RsyncProgressLine } from './rsync-output.js';

/** Sliding window for the rate. */
export const RATE_WINDOW_MS = 10_000;

interface WorkerState {
  readonly bytes: number;
  readonly files: number;
  /** Bytes sent by earlier attempts of this worker. */
  sentBefore: number;
  /** Bytes sent by the current attempt. */
  sent: number;
  checked: number;
  done: boolean;
}

export class MergedProgress {
  readonly #workers: WorkerState[];
  readonly #bytesTotal: number;
  readonly #filesTotal: number;
  readonly #started: number;
  readonly #samples: { t: number; sent: number }[] = [];

  /**
   * @param parts bytes and file count of each worker's part
   * @param clock milliseconds, monotonic
   */
  constructor(
    parts: readonly { readonly bytes: number; readonly files: number }[],
    private readonly clock: () => number,
    private readonly windowMs = RATE_WINDOW_MS,
  ) {
    this.#workers = parts.map((p) => ({ bytes: p.bytes, files: p.files, sentBefore: 0, sent: 0, checked: 0, done: false }));
    this.#bytesTotal = parts.reduce((sum, p) => sum + p.bytes, 0);
    this.#filesTotal = parts.reduce((sum, p) => sum + p.files, 0);
    this.#started = clock();
    this.#samples.push({ t: this.#started, sent: 0 });
  }

  /** A worker starts again (a retry): what it sent so far stays counted. */
  restart(worker: number): void {
    const w = this.#workers[worker];
    if (w === undefined) return;
    w.sentBefore += w.sent;
    w.sent = 0;
    w.checked = 0;
  }

  update(worker: number, line: RsyncProgressLine): void {
    const w = this.#workers[worker];
    if (w === undefined || w.done) return;
    w.sent = Math.max(w.sent, line.bytes);
    if (line.toCheck !== undefined) w.checked = Math.max(w.checked, line.toCheck.total - line.toCheck.remaining);
    this.#sample();
  }

  /** The worker is finished with its part (success or partial). */
  finish(worker: number): void {
    const w = this.#workers[worker];
    if (w === undefined) return;
    w.done = true;
    this.#sample();
  }

  /** Total bytes sent by every attempt of every worker. */
  get bytesSent(): number {
    return this.#workers.reduce((sum, w) => sum + w.sentBefore + w.sent, 0);
  }

  snapshot(errorCount: number): BackupProgress {
    const now = this.clock();
    let bytesDone = 0;
    let filesDone = 0;
    for (const w of this.#workers) {
      bytesDone += w.done ? w.bytes : Math.min(w.bytes, w.sentBefore + w.sent);
      filesDone += w.done ? w.files : Math.min(w.files, w.checked);
    }
    const rate = this.#rate(now);
    const remaining = Math.max(0, this.#bytesTotal - bytesDone);
    const eta = rate !== undefined && rate > 0 ? Math.round(remaining / rate) : undefined;
    return {
      type: 'progress',
      fraction: this.#bytesTotal > 0 ? Math.min(1, bytesDone / this.#bytesTotal) : this.#workers.every((w) => w.done) ? 1 : 0,
      bytesDone,
      bytesTotal: this.#bytesTotal,
      filesDone,
      filesTotal: this.#filesTotal,
      elapsedSeconds: Math.max(0, (now - this.#started) / 1000),
      ...(eta !== undefined ? { etaSeconds: eta } : {}),
      errorCount,
      currentFiles: [],
      ...(rate !== undefined ? { bytesPerSecond: Math.round(rate) } : {}),
    };
  }

  #sample(): void {
    const t = this.clock();
    this.#samples.push({ t, sent: this.bytesSent });
    while (this.#samples.length > 2 && (this.#samples[1]?.t ?? t) <= t - this.windowMs) this.#samples.shift();
  }

  /** Bytes per second over the window; undefined before half a second of data. */
  #rate(now: number): number | undefined {
    const first = this.#samples[0];
    if (first === undefined) return undefined;
    const span = now - first.t;
    if (span < 500) return undefined;
    return ((this.bytesSent - first.sent) * 1000) / span;
  }
}
