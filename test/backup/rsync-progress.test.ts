/**
 * Merging N workers' progress2 lines into one stream, on an injected clock (no real time).
 */
import { describe, expect, it } from 'vitest';
import type { RsyncProgressLine } from '../../src/backup/rsync-output.js';
import { MergedProgress } from '../../src/backup/rsync-progress.js';

function line(bytes: number, remaining?: number, total?: number): RsyncProgressLine {
  return {
    kind: 'progress',
    bytes,
    percent: 0,
    bytesPerSecond: 0,
    ...(remaining !== undefined && total !== undefined ? { transferred: total - remaining, toCheck: { remaining, total } } : {}),
  };
}

describe('MergedProgress', () => {
  it('adds the workers up: bytes, files, fraction, rate and ETA', () => {
    let now = 0;
    const merged = new MergedProgress([{ bytes: 1000, files: 2 }, { bytes: 3000, files: 4 }], () => now);
    expect(merged.snapshot(0)).toMatchObject({ fraction: 0, bytesDone: 0, bytesTotal: 4000, filesDone: 0, filesTotal: 6 });
    now = 1000;
    merged.update(0, line(500, 1, 2));
    merged.update(1, line(500));
    const p = merged.snapshot(2);
    expect(p).toMatchObject({ bytesDone: 1000, fraction: 0.25, filesDone: 1, errorCount: 2, elapsedSeconds: 1, bytesPerSecond: 1000 });
    expect(p.etaSeconds).toBe(3);
  });

  it('counts a finished worker as its whole part (a re-run sends nothing for unchanged files)', () => {
    const merged = new MergedProgress([{ bytes: 1000, files: 10 }, { bytes: 1000, files: 10 }], () => 0);
    merged.update(0, line(0, 0, 10));
    merged.finish(0);
    expect(merged.snapshot(0)).toMatchObject({ bytesDone: 1000, filesDone: 10, fraction: 0.5 });
    merged.finish(1);
    expect(merged.snapshot(0)).toMatchObject({ bytesDone: 2000, filesDone: 20, fraction: 1 });
  });

  it('keeps what an interrupted attempt sent when the worker restarts, and caps at the part', () => {
    let now = 0;
    const merged = new MergedProgress([{ bytes: 1000, files: 1 }], () => now);
    merged.update(0, line(600));
    merged.restart(0);
    now = 2000;
    merged.update(0, line(700));
    const p = merged.snapshot(0);
    expect(merged.bytesSent).toBe(1300);
    expect(p.bytesDone).toBe(1000);
    expect(p.fraction).toBe(1);
    expect(p.bytesPerSecond).toBe(650);
  });

  it('has no rate or ETA before half a second, and fraction 1 for an empty job once done', () => {
    let now = 0;
    const merged = new MergedProgress([{ bytes: 0, files: 3 }], () => now);
    now = 100;
    merged.update(0, line(0));
    const p = merged.snapshot(0);
    expect(p.bytesPerSecond).toBeUndefined();
    expect(p.etaSeconds).toBeUndefined();
    expect(p.fraction).toBe(0);
    merged.finish(0);
    expect(merged.snapshot(0).fraction).toBe(1);
  });

  it('forgets rate samples older than the window', () => {
    let now = 0;
    const merged = new MergedProgress([{ bytes: 1e9, files: 1 }], () => now, 10_000);
    for (let t = 1; t <= 30; t++) {
      now = t * 1000;
      merged.update(0, line(t <= 10 ? t * 1_000_000 : 10_000_000 + (t - 10) * 100_000));
    }
    // The last 10 s sent 100 kB/s; the first 10 s (1 MB/s) are out of the window.
    expect(merged.snapshot(0).bytesPerSecond).toBeGreaterThanOrEqual(100_000);
    expect(merged.snapshot(0).bytesPerSecond).toBeLessThan(200_000);
  });
});
