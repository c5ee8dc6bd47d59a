/**
 * Keeps the tunnel alive underneath a running backup (ARCHITECTURE.md, "backing-up"). While the
 * engine runs, the supervisor polls the driver's status every keepalive interval and watches the
 * engine's progress for stalls. A lost tunnel is repaired *while the engine keeps running*: restic
 * holds its connections through an outage and carries on when the tunnel returns, whereas a stopped
 * restic leaves nothing reusable and re-uploads everything (shared/reference/host-lab.md §c). Only
 * when the tunnel does not come back within the deadline is the engine stopped.
 *
 * Pure logic: the clock, the timers, the randomness and every effect (driver, journal, events) are
 * ports, so tests run it in virtual time and assert the exact sequence of states.
 */
import type { TunnelStatus } from '../../connect/driver.js';

/** Why the supervisor decided the tunnel was lost (a metrics label: keep it stable). */
export type LossCause =
  | 'down' // driver.status() said the tunnel is not up
  | 'status-failed' // driver.status() threw and the repository did not answer either
  | 'stall'; // no bytes for N intervals and the repository did not answer

/** Where a repair stands; journaled as steps inside `reconnecting`. */
export type ReconnectStep = 'connecting' | 'verifying' | 'waiting-for-bytes';

export interface SupervisorSettings {
  /** How often driver.status() is polled (the profile's keepalive). */
  readonly keepaliveMs: number;
  /** No bytes for this many keepalive intervals is a stall. */
  readonly stallIntervals: number;
  /** Reconnect attempts per loss before giving up. */
  readonly maxAttempts: number;
  /**
   * From detection until bytes flow again. Shorter than restic's own retry window (15 min in
   * 0.18, the engine's networkGiveUpMs), so the tunnel is repaired before restic gives up.
   */
  readonly deadlineMs: number;
  /** Exponential backoff between attempts: base, doubled per attempt, capped; full jitter. */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export const defaultSupervisorSettings: SupervisorSettings = {
  keepaliveMs: 30_000,
  stallIntervals: 4,
  maxAttempts: 10,
  deadlineMs: 600_000,
  backoffBaseMs: 2_000,
  backoffMaxMs: 60_000,
};

/** One loss and its repair, as the history keeps it (and the bench reads its timings from). */
export interface TunnelLossRecord {
  readonly cause: LossCause;
  readonly detectedAt: string;
  readonly attempts: number;
  /** When the tunnel was back up and re-verified. */
  readonly verifiedAt?: string;
  /** When the engine's bytes moved again: the end of `reconnecting`. */
  readonly flowingAt?: string;
  /** Absent while it was repaired; why the supervisor gave up otherwise. */
  readonly gaveUp?: 'deadline' | 'attempts';
}

/** What the event stream shows while a repair runs. */
export interface ReconnectInfo {
  readonly cause: LossCause;
  readonly attempt: number;
  readonly maxAttempts: number;
  /** When this attempt starts (after its backoff). */
  readonly nextTryAt: string;
}

export interface SupervisorPorts {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Uniform in [0, 1): the jitter. */
  random(): number;
  status(signal: AbortSignal): Promise<TunnelStatus>;
  /** Proves the backup server answers (a TCP connect through the tunnel). Throws when it does not. */
  probe(signal: AbortSignal): Promise<void>;
  /** One attempt to bring the tunnel back (throws when it did not come up). */
  reconnect(signal: AbortSignal): Promise<void>;
  /** The verifying checks again, on the repaired tunnel. Throws naming the failed check. */
  verify(signal: AbortSignal): Promise<void>;
  /** The session's own transition (journaled, published). */
  enter(state: 'reconnecting' | 'backing-up'): Promise<void>;
  /** Journals a step inside `reconnecting`. */
  step(step: ReconnectStep): Promise<void>;
  onReconnecting(info: ReconnectInfo): void;
  /** Stops the engine (SIGINT, bounded wait, SIGKILL: the engine's own cancel). */
  stopEngine(): void;
  log?(level: 'info' | 'warn', message: string, fields?: Readonly<Record<string, unknown>>): void;
}

export interface SupervisorResult {
  readonly losses: readonly TunnelLossRecord[];
  readonly stalls: number;
  /** Set when the supervisor gave up and stopped the engine. */
  readonly lost?: TunnelLossRecord;
  /** A loss was being repaired when the supervisor was stopped (the engine ended meanwhile). */
  readonly repairing: boolean;
}

/** Full jitter (AWS architecture blog): uniform in [0, min(cap, base·2^(n-1))] before retry n ≥ 1. */
export function backoffDelay(retry: number, settings: Pick<SupervisorSettings, 'backoffBaseMs' | 'backoffMaxMs'>, random: number): number {
  const ceiling = Math.min(settings.backoffMaxMs, settings.backoffBaseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random * ceiling);
}

class Stopped extends Error {}

/**
 * One supervisor per backing-up phase: `start()` once the engine runs, `progress()` for each of its
 * progress events, `stop()` when the engine has returned.
 */
export class TunnelSupervisor {
  readonly #settings: SupervisorSettings;
  readonly #ports: SupervisorPorts;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #moved = 0; // counts progress that moved, so a waiter can tell "moved since"
  #lastMoveAt: number;
  #lastBytes = -1;
  #lastFiles = -1;
  #allRead = false;
  #wake: (() => void) | undefined;
  readonly #losses: TunnelLossRecord[] = [];
  #stalls = 0;
  #lost: TunnelLossRecord | undefined;
  #repairing = false;

  constructor(settings: SupervisorSettings, ports: SupervisorPorts) {
    this.#settings = settings;
    this.#ports = ports;
    this.#lastMoveAt = ports.now();
  }

  start(): void {
    this.#loop ??= this.#run().catch((error: unknown) => {
      // A bug here must not take the backup down with it: log it and stop supervising.
      if (!(error instanceof Stopped) && !this.#stop.signal.aborted) this.#ports.log?.('warn', `tunnel supervisor stopped: ${String(error)}`);
    });
  }

  /**
   * Feed every progress event of the engine: bytes or files moving is what "flowing" means.
   * `bytesTotal`: restic counts bytes as it *reads* them, and a data set smaller than its upload
   * buffers is all read long before it is uploaded (measured in the one-drop lab test: 16 MiB at
   * 1 MiB/s). Once everything is read, progress can't show flow any more, so a re-verified tunnel
   * is taken as flowing.
   */
  progress(bytesDone: number, filesDone: number, bytesTotal = 0): void {
    this.#allRead = bytesTotal > 0 && bytesDone >= bytesTotal;
    if (bytesDone > this.#lastBytes || filesDone > this.#lastFiles) {
      // The first event only sets the baseline: it says where the engine is, not that it moved.
      if (this.#lastBytes >= 0) {
        this.#moved++;
        this.#lastMoveAt = this.#ports.now();
        this.#wake?.();
      }
      this.#lastBytes = Math.max(bytesDone, this.#lastBytes);
      this.#lastFiles = Math.max(filesDone, this.#lastFiles);
    }
  }

  /** Ends supervision (the engine has returned) and waits for an attempt in flight to unwind. */
  async stop(): Promise<SupervisorResult> {
    this.#stop.abort(new Stopped('engine ended'));
    await this.#loop;
    return {
      losses: [...this.#losses],
      stalls: this.#stalls,
      repairing: this.#repairing,
      ...(this.#lost === undefined ? {} : { lost: this.#lost }),
    };
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    for (;;) {
      await this.#ports.sleep(this.#settings.keepaliveMs, signal);
      const cause = await this.#check(signal);
      if (cause === undefined) continue;
      const lost = await this.#repair(cause, signal);
      if (lost) return;
    }
  }

  /** One keepalive check: undefined when all is well, else why the tunnel counts as lost. */
  async #check(signal: AbortSignal): Promise<LossCause | undefined> {
    let status: TunnelStatus | undefined;
    try {
      status = await this.#ports.status(signal);
    } catch (error) {
      signal.throwIfAborted();
      this.#ports.log?.('warn', `tunnel status check failed: ${String(error)}`);
    }
    if (status !== undefined && status.state !== 'up') return 'down';
    const stalled = this.#ports.now() - this.#lastMoveAt >= this.#settings.stallIntervals * this.#settings.keepaliveMs;
    if (status !== undefined && !stalled) return undefined;
    if (stalled) {
      this.#stalls++;
      // One stall per N quiet intervals, not one per poll.
      this.#lastMoveAt = this.#ports.now();
      this.#ports.log?.('info', 'no bytes moved for a while; checking the backup server still answers', { stallIntervals: this.#settings.stallIntervals });
    }
    // A slow server or a long scan also stalls: only a repository that doesn't answer is a loss.
    try {
      await this.#ports.probe(signal);
      return undefined;
    } catch {
      signal.throwIfAborted();
      return status === undefined ? 'status-failed' : 'stall';
    }
  }

  /** Repairs a lost tunnel underneath the engine. Returns true when it gave up (engine stopped). */
  async #repair(cause: LossCause, signal: AbortSignal): Promise<boolean> {
    const ports = this.#ports;
    const settings = this.#settings;
    const detectedAt = ports.now();
    const deadline = detectedAt + settings.deadlineMs;
    const iso = (ms: number) => new Date(ms).toISOString();
    let record: TunnelLossRecord = { cause, detectedAt: iso(detectedAt), attempts: 0 };
    this.#repairing = true;
    this.#losses.push(record);
    const update = (next: TunnelLossRecord) => {
      this.#losses[this.#losses.length - 1] = next;
      record = next;
    };
    ports.log?.('warn', 'tunnel lost; repairing it while the backup keeps running', { cause });
    await ports.enter('reconnecting');

    const giveUp = (why: 'deadline' | 'attempts'): boolean => {
      update({ ...record, gaveUp: why });
      this.#lost = record;
      ports.log?.('warn', why === 'deadline' ? 'the tunnel did not come back before the deadline; stopping the backup' : 'every reconnect attempt failed; stopping the backup', { attempts: record.attempts });
      ports.stopEngine();
      return true;
    };

    let verified = false;
    const movedAtLoss = this.#moved;
    for (;;) {
      if (!verified) {
        if (record.attempts >= settings.maxAttempts) return giveUp('attempts');
        const attempt = record.attempts + 1;
        const delay = attempt === 1 ? 0 : backoffDelay(attempt - 1, settings, ports.random());
        if (ports.now() + delay >= deadline) {
          await ports.sleep(Math.max(0, deadline - ports.now()), signal);
          return giveUp('deadline');
        }
        ports.onReconnecting({ cause, attempt, maxAttempts: settings.maxAttempts, nextTryAt: iso(ports.now() + delay) });
        if (delay > 0) await ports.sleep(delay, signal);
        update({ ...record, attempts: attempt });
        // An attempt may not outlive the deadline (an unreachable gateway keeps charon
        // retransmitting for a while): it is cut off there, on the injected clock.
        const cutOff = new AbortController();
        const attemptSignal = AbortSignal.any([signal, cutOff.signal]);
        void ports.sleep(Math.max(0, deadline - ports.now()), attemptSignal).then(() => { cutOff.abort(new Error('deadline')); }, () => undefined);
        try {
          await ports.step('connecting');
          await ports.reconnect(attemptSignal);
          await ports.step('verifying');
          await ports.verify(attemptSignal);
        } catch (error) {
          signal.throwIfAborted();
          if (cutOff.signal.aborted) return giveUp('deadline');
          ports.log?.('info', `reconnect attempt ${attempt} failed: ${error instanceof Error ? error.message : String(error)}`);
          continue;
        } finally {
          // Ends the deadline timer of this attempt (it only aborts what has already finished).
          cutOff.abort(new Error('attempt over'));
        }
        verified = true;
        update({ ...record, verifiedAt: iso(ports.now()) });
        await ports.step('waiting-for-bytes');
      }
      if (this.#moved > movedAtLoss || this.#allRead) {
        update({ ...record, flowingAt: iso(ports.now()) });
        this.#repairing = false;
        // Bytes moving again is the repair's proof; the quiet time of the outage is no stall.
        this.#lastMoveAt = ports.now();
        await ports.enter('backing-up');
        return false;
      }
      if (ports.now() >= deadline) return giveUp('deadline');
      await this.#waitForBytes(Math.min(settings.keepaliveMs, deadline - ports.now()), signal);
      if (this.#moved > movedAtLoss || ports.now() >= deadline) continue;
      // Still quiet: the repaired tunnel may have dropped again.
      const status = await ports.status(signal).catch(() => undefined);
      signal.throwIfAborted();
      if (status?.state !== 'up') verified = false;
    }
  }

  /** Sleeps until the engine's bytes move or `ms` pass, whichever is first. */
  async #waitForBytes(ms: number, signal: AbortSignal): Promise<void> {
    const timer = new AbortController();
    const onAbort = () => { timer.abort(signal.reason); };
    signal.addEventListener('abort', onAbort, { once: true });
    this.#wake = () => { timer.abort(); };
    try {
      await this.#ports.sleep(ms, timer.signal);
    } catch {
      signal.throwIfAborted();
    } finally {
      this.#wake = undefined;
      signal.removeEventListener('abort', onAbort);
    }
  }
}
