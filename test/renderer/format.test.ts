/** Humanised sizes, durations and times, and when an ETA is shown: tables of inputs and exact text. */
import { describe, expect, it } from 'vitest';
import type { BackupProgress } from '../../src/api/types.js';
import { EtaEstimator, ETA_MIN_ELAPSED_SECONDS } from '../../src/renderer/model/eta.js';
import { formatAgo, formatBytes, formatClock, formatDuration, formatEta, formatPercent, formatRate } from '../../src/renderer/model/format.js';

describe('format', () => {
  it.each([
    [0, '0 B'], [999, '999 B'], [1000, '1.0 kB'], [1234, '1.2 kB'], [12_345_678, '12 MB'], [1_234_000_000, '1.2 GB'], [999_600, '1.0 MB'], [5e15, '5.0 PB'], [-1, '—'], [Number.NaN, '—'],
  ])('formatBytes(%s) = %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });

  it.each([
    [0, '0 s'], [45, '45 s'], [59.4, '59 s'], [90, '2 min'], [720, '12 min'], [3600, '1 h'], [3900, '1 h 5 min'], [86_400 * 2 + 3 * 3600, '2 d 3 h'], [-5, '—'],
  ])('formatDuration(%s) = %s', (s, text) => {
    expect(formatDuration(s)).toBe(text);
  });

  it('rates, ETAs and percentages', () => {
    expect(formatRate(2_500_000)).toBe('2.5 MB/s');
    expect(formatEta(720)).toBe('12 min left');
    expect(formatEta(30)).toBe('less than a minute left');
    expect(formatPercent(0.429)).toBe('42 %');
    expect(formatPercent(1.5)).toBe('100 %');
  });

  it('clock times: today, this year, another year', () => {
    const now = new Date('2026-11-25T09:30:00Z');
    expect(formatClock('2026-11-25T02:03:00Z', { now, timeZone: 'UTC' })).toBe('02:03');
    expect(formatClock('2026-11-24T02:03:00Z', { now, timeZone: 'UTC' })).toBe('Tue 24 Nov 02:03');
    expect(formatClock('2025-11-24T02:03:00Z', { now, timeZone: 'UTC' })).toBe('24 Nov 2025 02:03');
    expect(formatClock('2026-11-25T02:03:00Z', { now, timeZone: 'Pacific/Auckland' })).toBe('15:03');
    expect(formatClock('not a date', { now })).toBe('—');
    expect(formatAgo('2026-11-25T09:18:00Z', now)).toBe('12 min ago');
    expect(formatAgo('2026-11-25T09:29:50Z', now)).toBe('just now');
  });
});

const sample = (elapsedSeconds: number, bytesDone: number, extra: Partial<BackupProgress> = {}): BackupProgress => ({
  type: 'progress', fraction: bytesDone / 1e9, bytesDone, bytesTotal: 1e9, filesDone: 0, filesTotal: 100, elapsedSeconds, errorCount: 0, currentFiles: [], ...extra,
});

describe('EtaEstimator', () => {
  it('shows no ETA in the first seconds, then a stable one at a steady rate', () => {
    const eta = new EtaEstimator();
    const results = Array.from({ length: 20 }, (_, i) => eta.push(sample(i, i * 10_000_000)));
    expect(results.slice(0, ETA_MIN_ELAPSED_SECONDS).every((r) => r.etaSeconds === undefined)).toBe(true);
    expect(results[1]?.bytesPerSecond).toBe(10_000_000);
    const last = results.at(-1);
    expect(last?.etaSeconds).toBeCloseTo((1e9 - 19 * 10_000_000) / 10_000_000, 5);
  });

  it('waits while the estimates still swing, and hides the ETA on a stall', () => {
    const eta = new EtaEstimator();
    // Bursty: 0, 50 MB, 50 MB, 200 MB jumps: successive estimates disagree by far more than 25 %.
    const bursts = [0, 0, 50e6, 50e6, 250e6, 250e6, 260e6, 600e6, 600e6, 610e6, 900e6, 900e6];
    const bursty = bursts.map((b, i) => eta.push(sample(i + 10, b)));
    expect(bursty.slice(0, 4).every((r) => r.etaSeconds === undefined)).toBe(true);
    const steady = new EtaEstimator();
    for (let i = 0; i <= 15; i++) steady.push(sample(i, i * 10e6));
    expect(steady.push(sample(16, 160e6)).etaSeconds).toBeDefined();
    // No bytes for a while: the smoothed rate decays, but a zero-rate engine report hides it at once.
    expect(steady.push(sample(17, 160e6, { bytesPerSecond: 0 })).etaSeconds).toBeUndefined();
  });

  it('prefers the engine\'s own rate when it measures one (rsync)', () => {
    const eta = new EtaEstimator();
    expect(eta.push(sample(0, 0, { bytesPerSecond: 4e6 })).bytesPerSecond).toBe(4e6);
  });
});
