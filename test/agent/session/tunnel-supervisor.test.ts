import { describe, expect, it } from 'vitest';
import type { TunnelState } from '../../../src/connect/driver.js';
import {
  backoffDelay,
  defaultSupervisorSettings,
  TunnelSupervisor,
  type ReconnectInfo,
  type SupervisorSettings,
} from '../../../src/agent/session/tunnel-supervisor.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const settings: SupervisorSettings = { keepaliveMs: 10_000, stallIntervals: 3, maxAttempts: 5, deadlineMs: 120_000, backoffBaseMs: 1_000, backoffMaxMs: 8_000 };

/**
 * A scripted world: the tunnel's state over virtual time, whether a reconnect brings it back, and
 * an engine whose bytes move every second except while the tunnel is down.
 */
function world(script: {
  /** [from ms, state]: the tunnel's state from then on (relative to the start). */
  tunnel: readonly (readonly [number, TunnelState])[];
  /** Whether attempt n (1-based) brings the tunnel back. Default: every attempt does. */
  reconnects?: (attempt: number) => boolean;
  probe?: () => boolean;
  random?: () => number;
  /** The engine moves no bytes at all (a stall with the tunnel up). */
  frozen?: () => boolean;
  /** Reconnect attempts never finish on their own (an unreachable gateway): only their signal ends them. */
  hang?: boolean;
  settings?: Partial<SupervisorSettings>;
}) {
  const clock = new FakeClock();
  const t0 = clock.now();
  let repairedAt: number | undefined;
  let attempts = 0;
  const trace: string[] = [];
  const infos: ReconnectInfo[] = [];
  const engineStop = new AbortController();
  const tunnelState = (): TunnelState => {
    const at = clock.now() - t0;
    let state: TunnelState = 'up';
    for (const [from, s] of script.tunnel) if (at >= from) state = s;
    if (state !== 'up' && repairedAt !== undefined && repairedAt >= t0 + lastDropBefore(at)) return 'up';
    return state;
  };
  const lastDropBefore = (at: number): number => Math.max(0, ...script.tunnel.filter(([from, s]) => from <= at && s !== 'up').map(([from]) => from));
  const supervisor = new TunnelSupervisor({ ...settings, ...script.settings }, {
    now: clock.now,
    sleep: clock.sleep,
    random: script.random ?? (() => 0.5),
    status: () => Promise.resolve({ state: tunnelState() }),
    probe: () => (script.probe?.() ?? tunnelState() === 'up' ? Promise.resolve() : Promise.reject(new Error('connect: no route to host'))),
    reconnect: (signal) => {
      attempts++;
      trace.push(`reconnect@${(clock.now() - t0) / 1000}`);
      if (script.hang === true) return new Promise<void>((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason as Error); }, { once: true }); });
      if (script.reconnects?.(attempts) ?? true) {
        repairedAt = clock.now();
        return Promise.resolve();
      }
      return Promise.reject(new Error('gateway did not answer'));
    },
    verify: () => { trace.push('verify'); return Promise.resolve(); },
    enter: (state) => { trace.push(state); return Promise.resolve(); },
    step: (step) => { trace.push(`step:${step}`); return Promise.resolve(); },
    onReconnecting: (info) => { infos.push(info); },
    stopEngine: () => { trace.push('stop-engine'); engineStop.abort(); },
  });
  /** The engine: a progress event per second while the tunnel carries traffic, until `endAt`. */
  let allRead = false;
  const engine = async (endAt: number): Promise<void> => {
    let bytes = 0;
    let files = 0;
    supervisor.progress(bytes, files);
    if (allRead) supervisor.progress(1_000, 1, 1_000);
    while (clock.now() - t0 < endAt && !engineStop.signal.aborted) {
      await clock.sleep(1_000, engineStop.signal).catch(() => undefined);
      if (tunnelState() === 'up' && script.frozen?.() !== true) {
        bytes += 1_000;
        files += 1;
        supervisor.progress(bytes, files);
      }
    }
  };
  const run = async (endAt: number) => {
    supervisor.start();
    await engine(endAt);
    const result = await supervisor.stop();
    return { result, endedAt: (clock.now() - t0) / 1000 };
  };
  return {
    clock, trace, infos,
    run: (endAt: number) => clock.run(run(endAt)),
    seconds: (iso: string) => (Date.parse(iso) - t0) / 1000,
    /** The engine says it has read every byte: 1000 of 1000. */
    progressAllRead: () => { allRead = true; },
  };
}

describe('TunnelSupervisor', () => {
  it('repairs a drop underneath the engine: reconnecting (re-verified inside), back to backing-up when bytes flow', async () => {
    // The tunnel drops at 25 s; the poll at 30 s notices; the first attempt brings it back.
    const w = world({ tunnel: [[25_000, 'down']] });
    const { result } = await w.run(100_000);
    expect(w.trace).toEqual(['reconnecting', 'step:connecting', 'reconnect@30', 'step:verifying', 'verify', 'step:waiting-for-bytes', 'backing-up']);
    expect(result.lost).toBeUndefined();
    expect(result.repairing).toBe(false);
    expect(result.losses).toHaveLength(1);
    const [loss] = result.losses;
    expect(loss).toMatchObject({ cause: 'down', attempts: 1 });
    expect(w.seconds(loss?.detectedAt ?? '')).toBe(30);
    expect(w.seconds(loss?.verifiedAt ?? '')).toBe(30);
    // The engine's status line due at 30 s comes after the repair in the same instant: it already moves.
    expect(w.seconds(loss?.flowingAt ?? '')).toBe(30);
    expect(w.infos).toEqual([{ cause: 'down', attempt: 1, maxAttempts: 5, nextTryAt: loss?.detectedAt }]);
  });

  it('repairs every drop of a run, each as its own loss', async () => {
    const w = world({ tunnel: [[15_000, 'down'], [45_000, 'up'], [65_000, 'down']] });
    const { result } = await w.run(120_000);
    expect(w.trace.filter((t) => t === 'reconnecting' || t === 'backing-up')).toEqual(['reconnecting', 'backing-up', 'reconnecting', 'backing-up']);
    expect(result.losses.map((l) => w.seconds(l.detectedAt))).toEqual([20, 70]);
  });

  it('waits a full-jitter exponential backoff between attempts, within its bounds', async () => {
    const w = world({ tunnel: [[5_000, 'down']], reconnects: (n) => n >= 5, random: () => 0.999 });
    await w.run(200_000);
    const starts = w.infos.map((i) => w.seconds(i.nextTryAt));
    expect(w.infos.map((i) => i.attempt)).toEqual([1, 2, 3, 4, 5]);
    // Attempt 1 at once (10 s), then ceilings 1, 2, 4, 8 s (scaled by the jitter, 0.999).
    const gaps = starts.slice(1).map((s, i) => Math.round((s - (starts[i] ?? 0)) * 1000));
    expect(gaps).toEqual([999, 1998, 3996, 7992]);
    for (const [i, gap] of gaps.entries()) expect(gap).toBeLessThanOrEqual(Math.min(8_000, 1_000 * 2 ** i));
  });

  it('backoffDelay: full jitter under an exponential ceiling with a cap', () => {
    const s = { backoffBaseMs: 2_000, backoffMaxMs: 60_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 10].map((n) => backoffDelay(n, s, 0.999_999))).toEqual([1999, 3999, 7999, 15999, 31999, 59999, 59999, 59999]);
    expect(backoffDelay(5, s, 0)).toBe(0);
    expect(defaultSupervisorSettings.deadlineMs).toBeLessThan(15 * 60_000); // restic 0.18's own retry window
  });

  it('a tunnel that never returns: stops the engine at the deadline and reports it', async () => {
    const w = world({ tunnel: [[5_000, 'down']], reconnects: () => false, settings: { maxAttempts: 100 } });
    const { result, endedAt } = await w.run(10_000_000);
    expect(w.trace.at(-1)).toBe('stop-engine');
    expect(w.trace).not.toContain('backing-up');
    expect(result.lost).toMatchObject({ cause: 'down', gaveUp: 'deadline' });
    expect(w.seconds(result.lost?.detectedAt ?? '')).toBe(10);
    // Detected at 10 s, deadline 120 s later; the engine ends right there.
    expect(endedAt).toBe(130);
    expect(result.lost?.attempts).toBeGreaterThan(5);
  });

  it('an attempt still running at the deadline is cut off there', async () => {
    const w = world({ tunnel: [[5_000, 'down']], hang: true });
    const { result, endedAt } = await w.run(10_000_000);
    expect(w.trace).toEqual(['reconnecting', 'step:connecting', 'reconnect@10', 'stop-engine']);
    expect(result.lost).toMatchObject({ gaveUp: 'deadline', attempts: 1 });
    expect(endedAt).toBe(130);
  });

  it('gives up after the last attempt, before the deadline', async () => {
    const w = world({ tunnel: [[5_000, 'down']], reconnects: () => false, random: () => 0 });
    const { result } = await w.run(10_000_000);
    expect(result.lost).toMatchObject({ gaveUp: 'attempts', attempts: 5 });
    expect(w.trace.filter((t) => t.startsWith('reconnect@'))).toHaveLength(5);
    expect(w.trace.at(-1)).toBe('stop-engine');
  });

  it('a repaired tunnel that drops again before bytes flow gets another attempt', async () => {
    // Attempt 1 "succeeds" but the tunnel is down again at once (at the next status poll).
    let n = 0;
    const w = world({ tunnel: [[5_000, 'down']], reconnects: () => { n++; return n >= 2; } , frozen: () => n < 2 });
    const { result } = await w.run(60_000);
    expect(result.losses).toHaveLength(1);
    expect(result.losses[0]?.attempts).toBe(2);
    expect(w.trace.filter((t) => t === 'reconnecting' || t === 'backing-up')).toEqual(['reconnecting', 'backing-up']);
  });

  it('a stall with the server still answering is counted, not treated as a loss', async () => {
    const w = world({ tunnel: [], frozen: () => true });
    const { result } = await w.run(65_000);
    // 3 quiet intervals of 10 s: stalls noticed at 30 s and 60 s.
    expect(result.stalls).toBe(2);
    expect(result.losses).toEqual([]);
    expect(w.trace).toEqual([]);
  });

  it('a stall with the server not answering is a loss (ESP dropped before DPD notices)', async () => {
    let blackholed = true;
    const w = world({ tunnel: [], frozen: () => blackholed, probe: () => !blackholed, reconnects: () => { blackholed = false; return true; } });
    const { result } = await w.run(80_000);
    expect(result.stalls).toBe(1);
    expect(result.losses).toMatchObject([{ cause: 'stall', attempts: 1 }]);
    expect(w.seconds(result.losses[0]?.detectedAt ?? '')).toBe(30);
    expect(w.trace.filter((t) => t === 'reconnecting' || t === 'backing-up')).toEqual(['reconnecting', 'backing-up']);
  });

  it('an engine that has read everything (restic uploading its last packs) returns to backing-up once the tunnel is re-verified', async () => {
    const w = world({ tunnel: [[5_000, 'down']], frozen: () => true });
    w.progressAllRead();
    const { result } = await w.run(30_000);
    expect(w.trace).toEqual(['reconnecting', 'step:connecting', 'reconnect@10', 'step:verifying', 'verify', 'step:waiting-for-bytes', 'backing-up']);
    expect(result.losses[0]?.flowingAt).toBe(result.losses[0]?.verifiedAt);
  });

  it('an engine that ends during a repair leaves it unfinished, without stopping the engine', async () => {
    const w = world({ tunnel: [[5_000, 'down']], reconnects: () => false, settings: { maxAttempts: 100 } });
    const { result } = await w.run(20_000);
    expect(result.repairing).toBe(true);
    expect(result.lost).toBeUndefined();
    expect(w.trace).not.toContain('stop-engine');
  });
});
