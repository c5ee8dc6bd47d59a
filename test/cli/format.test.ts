import { describe, expect, it } from 'vitest';
import type { BackupProgress } from '../../src/backup/engine.js';
import { formatBytes, formatDuration, renderProgressLine } from '../../src/cli/format.js';

const progress = (over: Partial<BackupProgress>): BackupProgress => ({
  type: 'progress', fraction: 0, bytesDone: 0, bytesTotal: 0, filesDone: 0, filesTotal: 0, elapsedSeconds: 0, errorCount: 0, currentFiles: [], ...over,
});

describe('formatting', () => {
  it.each([
    [0, '0 B'], [1023, '1023 B'], [1536, '1.5 KiB'], [10 * 1024 * 1024, '10 MiB'], [5.25 * 1024 ** 3, '5.3 GiB'], [-5, '0 B'],
  ])('formatBytes(%d) = %s', (bytes, want) => {
    expect(formatBytes(bytes)).toBe(want);
  });

  it.each([[0, '0:00'], [75, '1:15'], [3725, '1:02:05'], [59.6, '1:00']])('formatDuration(%d) = %s', (s, want) => {
    expect(formatDuration(s)).toBe(want);
  });

  it('renders bar, percent, bytes, rate, ETA and files', () => {
    const line = renderProgressLine(
      progress({ fraction: 0.5, bytesDone: 10 * 1024 * 1024, bytesTotal: 20 * 1024 * 1024, elapsedSeconds: 4, etaSeconds: 4, filesDone: 30, filesTotal: 60 }),
      100,
    );
    expect(line).toBe('[####################--------------------]  50%  10 MiB/20 MiB  2.5 MiB/s  ETA 0:04  files 30/60');
  });

  it("prefers the engine's current rate (rsync measures one) to the average", () => {
    const line = renderProgressLine(progress({ fraction: 0.5, bytesDone: 10 * 1024 * 1024, bytesTotal: 20 * 1024 * 1024, elapsedSeconds: 4, bytesPerSecond: 1024 * 1024 }), 100);
    expect(line).toContain('  1.0 MiB/s  ');
  });

  it('shows an unknown ETA and never exceeds the terminal width', () => {
    const line = renderProgressLine(progress({ fraction: 0.1 }), 40);
    expect(renderProgressLine(progress({ fraction: 0.1 }), 200)).toContain('ETA --:--');
    expect(line.length).toBeLessThanOrEqual(40);
    expect(renderProgressLine(progress({ fraction: 2 }), 120)).toContain('100%');
  });
});
