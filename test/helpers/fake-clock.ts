/**
 * Virtual time for code that takes `now()` and `sleep(ms, signal)` as ports: nothing waits for the
 * wall clock. `run(promise)` lets every pending callback settle, then jumps to the earliest timer,
 * until the promise is done — so a 10-minute reconnect deadline takes milliseconds, and the same
 * test always sees the same sequence.
 */
interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

export class FakeClock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(start = Date.UTC(2026, 10, 25, 3, 0, 0)) {
    this.#now = start;
  }

  readonly now = (): number => this.#now;
  readonly date = (): Date => new Date(this.#now);

  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason as Error);
        return;
      }
      const timer: Timer = {
        at: this.#now + Math.max(0, ms),
        seq: this.#seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#timers.push(timer);
    });

  /** Runs virtual time until `work` settles; throws if it waits with no timer left (a deadlock). */
  async run<T>(work: Promise<T>): Promise<T> {
    const state = { settled: false };
    const done = work.finally(() => { state.settled = true; });
    done.catch(() => undefined);
    for (;;) {
      await settle();
      if (state.settled) return done;
      const next = [...this.#timers].sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (next === undefined) throw new Error('FakeClock: the work waits, but no timer is pending');
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.at);
      next.resolve();
    }
  }
}

/** Lets promise chains and queued callbacks run to quiescence (no real I/O in these tests). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise<void>((resolve) => { setImmediate(resolve); });
}
