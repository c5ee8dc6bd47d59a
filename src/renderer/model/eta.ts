/**
 * A backup's rate and time left, shown only once they are worth believing: never from the first
 * seconds (restic's first estimate is a guess over a cold start and a scan still running), and
 * hidden again when the transfer stalls. Driven by the progress samples alone (their
 * `elapsedSeconds`), so it is deterministic and needs no clock.
 */
import type { BackupProgress } from '../../api/types.js';

/** Below this much elapsed backup time no ETA is shown. */
export const ETA_MIN_ELAPSED_SECONDS = 10;
/** Successive estimates must agree within this ratio to count as stable. */
export const ETA_AGREEMENT = 0.25;
/** How many agreeing estimates in a row make an ETA stable. */
export const ETA_AGREEING_SAMPLES = 3;
/** Weight of the newest rate sample in the moving average. */
const RATE_SMOOTHING = 0.3;

export interface RateEstimate {
  /** Bytes per second, smoothed; undefined until two samples are apart in time. */
  readonly bytesPerSecond?: number;
  /** Seconds left, only once stable. */
  readonly etaSeconds?: number;
}

/** One per session: feed it every progress event in order. */
export class EtaEstimator {
  #last: { seconds: number; bytes: number } | undefined;
  #rate: number | undefined;
  #estimates: number[] = [];
  #stable = false;

  push(progress: BackupProgress): RateEstimate {
    const seconds = progress.elapsedSeconds;
    const bytes = progress.bytesDone;
    if (this.#last !== undefined && seconds > this.#last.seconds) {
      const sample = Math.max(0, bytes - this.#last.bytes) / (seconds - this.#last.seconds);
      this.#rate = this.#rate === undefined ? sample : RATE_SMOOTHING * sample + (1 - RATE_SMOOTHING) * this.#rate;
      this.#last = { seconds, bytes };
    } else if (this.#last === undefined || seconds < this.#last.seconds) {
      this.#last = { seconds, bytes };
    }
    const rate = progress.bytesPerSecond ?? this.#rate;
    const remaining = Math.max(0, progress.bytesTotal - bytes);
    if (rate === undefined || rate <= 0 || progress.bytesTotal <= 0) {
      // Stalled (or nothing measured yet): an old ETA would be a lie.
      this.#estimates = [];
      this.#stable = false;
      return rate === undefined ? {} : { bytesPerSecond: rate };
    }
    const estimate = remaining / rate;
    this.#estimates = [...this.#estimates, estimate].slice(-ETA_AGREEING_SAMPLES);
    if (!this.#stable && seconds >= ETA_MIN_ELAPSED_SECONDS && this.#estimates.length === ETA_AGREEING_SAMPLES) {
      const low = Math.min(...this.#estimates);
      const high = Math.max(...this.#estimates);
      this.#stable = high <= 0 || (high - low) / high <= ETA_AGREEMENT;
    }
    return this.#stable ? { bytesPerSecond: rate, etaSeconds: estimate } : { bytesPerSecond: rate };
  }
}
