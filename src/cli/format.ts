import type { BackupProgress } from '../backup/engine.js';

/** 1536 → "1.5 KiB". Binary units, like restic prints them. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit] ?? ''}`;
}

/** 75 → "1:15", 3725 → "1:02:05". */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  const mm = hours > 0 ? String(minutes).padStart(2, '0') : String(minutes);
  return `${hours > 0 ? `${hours}:` : ''}${mm}:${String(seconds).padStart(2, '0')}`;
}

/**
 * One line of progress for a terminal: bar, percent, bytes, rate, ETA and files. Pure, so the exact
 * text is unit-tested; the caller rewrites it in place with "\r".
 */
export function renderProgressLine(progress: BackupProgress, width: number): string {
  const percent = Math.min(100, Math.max(0, progress.fraction * 100));
  // The engine's current rate when it measures one (rsync); else the average since the start.
  const rate = progress.bytesPerSecond ?? (progress.elapsedSeconds > 0 ? progress.bytesDone / progress.elapsedSeconds : 0);
  const eta = progress.etaSeconds === undefined ? '--:--' : formatDuration(progress.etaSeconds);
  const tail = [
    `${percent.toFixed(0).padStart(3)}%`,
    `${formatBytes(progress.bytesDone)}/${formatBytes(progress.bytesTotal)}`,
    `${formatBytes(rate)}/s`,
    `ETA ${eta}`,
    `files ${progress.filesDone}/${progress.filesTotal}`,
  ].join('  ');
  const barWidth = Math.max(10, Math.min(40, width - tail.length - 4));
  const filled = Math.round((percent / 100) * barWidth);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
  const line = `${bar} ${tail}`;
  return line.length > width ? line.slice(0, Math.max(0, width)) : line;
}
