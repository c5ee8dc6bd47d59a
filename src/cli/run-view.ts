import type { SessionEvent } from '../agent/session/session.js';
import type { SessionRecord } from '../agent/session/history.js';
import type { SessionState } from '../agent/session/states.js';
import { formatBytes, formatDuration, renderProgressLine } from './format.js';

export interface Output {
  write(text: string): void;
  readonly isTTY: boolean;
  readonly columns: number;
}

const stateText: Partial<Record<SessionState, string>> = {
  preflight: 'checking the job',
  connecting: 'connecting the tunnel',
  verifying: 'checking the backup server can be reached',
  'backing-up': 'backing up',
  reconnecting: 'the tunnel dropped: repairing it while the backup waits',
  'tearing-down': 'cleaning up',
};

/**
 * Renders a running session for a person: a live progress line on a terminal, plain lines
 * otherwise. `--json` uses jsonView instead.
 */
export function humanView(out: Output, err: Output, options: { tunnel: boolean }): (event: SessionEvent) => void {
  const labels: Partial<Record<SessionState, string>> = options.tunnel ? stateText : { ...stateText, connecting: 'no VPN needed (profile: direct)' };
  let progressShown = false;
  let lastPlainPercent = -1;
  const clearProgress = () => {
    if (progressShown) {
      out.write('\r\x1b[2K');
      progressShown = false;
    }
  };
  return (event) => {
    switch (event.type) {
      case 'state': {
        const text = labels[event.state];
        if (text !== undefined) {
          clearProgress();
          out.write(`· ${text}\n`);
        }
        return;
      }
      case 'backup': {
        const e = event.event;
        if (e.type === 'progress') {
          if (out.isTTY) {
            out.write(`\r${renderProgressLine(e, Math.max(40, out.columns - 1))}`);
            progressShown = true;
          } else {
            // Logs and pipes: one line per 10 % so a cron mail stays short.
            const step = Math.floor(e.fraction * 10) * 10;
            if (step > lastPlainPercent && e.bytesDone > 0) {
              lastPlainPercent = step;
              out.write(`  ${step}%  ${formatBytes(e.bytesDone)}/${formatBytes(e.bytesTotal)}\n`);
            }
          }
        } else {
          clearProgress();
          err.write(e.type === 'file-error' ? `warning: ${e.path}: ${e.message}\n` : `network: ${e.message}\n`);
        }
        return;
      }
      case 'reconnecting':
        clearProgress();
        out.write(`  reconnect attempt ${event.attempt}/${event.maxAttempts} at ${event.nextTryAt.slice(11, 19)} UTC\n`);
        return;
      case 'end':
        clearProgress();
        return;
    }
  };
}

/** One JSON object per line: state changes, engine events, and the final record. */
export function jsonView(out: Output): (event: SessionEvent) => void {
  return (event) => {
    out.write(`${JSON.stringify(event)}\n`);
  };
}

/** A warning lists at most this many files on the terminal; the history keeps the engine's list. */
const MAX_FILES_SHOWN = 20;

/** The plain answer after a run: what happened, and what to do if it wasn't good. */
export function describeRecord(record: SessionRecord): string[] {
  const lines: string[] = [];
  const s = record.summary;
  const took = formatDuration((Date.parse(record.endedAt) - Date.parse(record.startedAt)) / 1000);
  if (record.end === 'done') {
    const head = record.result === 'warning' ? `Backup of "${record.job}" finished with a warning` : `Backup of "${record.job}" succeeded`;
    lines.push(`${head} in ${took}.`);
    if (s !== undefined) {
      if (s.snapshotId !== undefined) lines.push(`  snapshot  ${s.snapshotId}`);
      lines.push(`  files     ${s.filesProcessed} (${s.filesNew} new, ${s.filesChanged} changed, ${s.filesUnmodified} unchanged)`);
      // No snapshot id: an rsync copy, whose bytesAdded is what crossed the wire (rsync's literal data).
      const added = s.snapshotId === undefined ? 'sent' : 'added to the repository';
      lines.push(`  data      ${formatBytes(s.bytesProcessed)} scanned, ${formatBytes(s.bytesAdded)} ${added}`);
    }
  } else if (record.end === 'cancelled') {
    lines.push(`Backup of "${record.job}" was cancelled by the ${record.cancelledBy ?? 'user'}; nothing was left running.`);
  } else {
    lines.push(`Backup of "${record.job}" failed.`);
  }
  // tunnel: whenNeeded — which way the run went is the first thing to ask about a surprise.
  if (record.path !== undefined) lines.push(`  path      ${record.path.via === 'direct' ? 'direct' : 'through the tunnel'}: ${record.path.reason}`);
  if (record.failure !== undefined) {
    lines.push(`${record.end === 'failed' ? 'error' : 'warning'}: ${record.failure.message}`);
    lines.push(`hint: ${record.failure.hint}`);
    const files = record.failure.files ?? [];
    for (const file of files.slice(0, MAX_FILES_SHOWN)) lines.push(`  not copied: ${file}`);
    if (files.length > MAX_FILES_SHOWN) lines.push(`  … and ${files.length - MAX_FILES_SHOWN} more (backhaul history --json lists them)`);
  }
  for (const note of record.notes) lines.push(`note: ${note.message} — ${note.hint}`);
  return lines;
}
