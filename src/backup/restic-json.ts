/**
 * Parsing restic's `--json` output, one line at a time, for every version Backhaul supports (0.14+).
 *
 * restic's scripting contract (doc/075_scripting.rst) allows fields with default values to be
 * omitted and new message types and fields to appear at any time, so every field here is optional
 * on input and defaults to zero; an unknown message type is kept as `unknown`, never an error.
 * stdout carries `status`/`summary`/`verbose_status`; stderr carries `error` lines (a file that
 * could not be read), since 0.18 a final `exit_error` line, and plain text (retries, Fatal lines).
 */
import type { BackupProgress, BackupSummary } from './engine.js';

/** A periodic `status` message of `restic backup --json`. */
export interface ResticStatus {
  readonly secondsElapsed: number;
  readonly secondsRemaining: number;
  /** 0..1 (restic calls it percent but sends a fraction). */
  readonly percentDone: number;
  readonly totalFiles: number;
  readonly filesDone: number;
  readonly totalBytes: number;
  readonly bytesDone: number;
  readonly errorCount: number;
  readonly currentFiles: readonly string[];
}

/** The final `summary` message of `restic backup --json`. */
export interface ResticBackupSummaryMessage {
  readonly filesNew: number;
  readonly filesChanged: number;
  readonly filesUnmodified: number;
  readonly dirsNew: number;
  readonly dirsChanged: number;
  readonly dirsUnmodified: number;
  readonly dataBlobs: number;
  readonly treeBlobs: number;
  /** Bytes added before compression. */
  readonly dataAdded: number;
  /** Bytes added after compression (0.14 doesn't report it). */
  readonly dataAddedPacked?: number;
  readonly totalFilesProcessed: number;
  readonly totalBytesProcessed: number;
  readonly totalDuration: number;
  /** Short id on 0.14, full id on 0.18; absent when no snapshot was written. */
  readonly snapshotId?: string;
}

/** One stdout line, classified. */
export type ResticStdoutMessage =
  | { readonly kind: 'status'; readonly status: ResticStatus }
  | { readonly kind: 'summary'; readonly summary: ResticBackupSummaryMessage }
  | { readonly kind: 'verbose'; readonly action: string; readonly item: string }
  | { readonly kind: 'unknown'; readonly messageType: string }
  /** Not a JSON object: restic prints some plain text even under --json (e.g. 0.14's `init`). */
  | { readonly kind: 'text'; readonly text: string };

/** One stderr line, classified. */
export type ResticStderrMessage =
  /** A file restic could not back up; the run goes on. */
  | { readonly kind: 'file-error'; readonly item: string; readonly during: string; readonly message: string }
  /** 0.18+: the fatal error that ends the run, with the exit code restic is about to return. */
  | { readonly kind: 'exit-error'; readonly code: number; readonly message: string }
  /** A JSON object of a type we don't know (restic may add some at any time). */
  | { readonly kind: 'unknown'; readonly messageType: string }
  | { readonly kind: 'text'; readonly text: string };

type JsonObject = Readonly<Record<string, unknown>>;

/** Terminal control sequences restic writes even into pipes (e.g. `ESC[2K` before "signal interrupt received"). */
// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\u001b\[[0-9;?]*[A-Za-z]/g;

/** Removes terminal control sequences and trailing CR/whitespace from a line of output. */
export function cleanLine(line: string): string {
  return line.replace(ANSI_ESCAPE, '').trimEnd();
}

function parseObject(line: string): JsonObject | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

/** A non-negative finite number, or 0: restic omits zero fields. */
function num(obj: JsonObject, key: string): number {
  const value = obj[key];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

function str(obj: JsonObject, key: string): string | undefined {
  const value = obj[key];
  return typeof value === 'string' ? value : undefined;
}

function strings(obj: JsonObject, key: string): readonly string[] {
  const value = obj[key];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function parseStatus(obj: JsonObject): ResticStatus {
  return {
    secondsElapsed: num(obj, 'seconds_elapsed'),
    secondsRemaining: num(obj, 'seconds_remaining'),
    percentDone: Math.min(1, num(obj, 'percent_done')),
    totalFiles: num(obj, 'total_files'),
    filesDone: num(obj, 'files_done'),
    totalBytes: num(obj, 'total_bytes'),
    bytesDone: num(obj, 'bytes_done'),
    errorCount: num(obj, 'error_count'),
    currentFiles: strings(obj, 'current_files'),
  };
}

function parseSummary(obj: JsonObject): ResticBackupSummaryMessage {
  const snapshotId = str(obj, 'snapshot_id');
  const packed = obj['data_added_packed'];
  return {
    filesNew: num(obj, 'files_new'),
    filesChanged: num(obj, 'files_changed'),
    filesUnmodified: num(obj, 'files_unmodified'),
    dirsNew: num(obj, 'dirs_new'),
    dirsChanged: num(obj, 'dirs_changed'),
    dirsUnmodified: num(obj, 'dirs_unmodified'),
    dataBlobs: num(obj, 'data_blobs'),
    treeBlobs: num(obj, 'tree_blobs'),
    dataAdded: num(obj, 'data_added'),
    ...(typeof packed === 'number' ? { dataAddedPacked: num(obj, 'data_added_packed') } : {}),
    totalFilesProcessed: num(obj, 'total_files_processed'),
    totalBytesProcessed: num(obj, 'total_bytes_processed'),
    totalDuration: num(obj, 'total_duration'),
    ...(snapshotId !== undefined && snapshotId !== '' ? { snapshotId } : {}),
  };
}

/** Classifies one line of `restic … --json` stdout. Never throws. */
export function parseStdoutLine(line: string): ResticStdoutMessage {
  const obj = parseObject(line);
  if (obj === undefined) return { kind: 'text', text: cleanLine(line) };
  const messageType = str(obj, 'message_type') ?? '';
  switch (messageType) {
    case 'status':
      return { kind: 'status', status: parseStatus(obj) };
    case 'summary':
      return { kind: 'summary', summary: parseSummary(obj) };
    case 'verbose_status':
      return { kind: 'verbose', action: str(obj, 'action') ?? '', item: str(obj, 'item') ?? '' };
    default:
      return { kind: 'unknown', messageType };
  }
}

/** errno values restic 0.14 reports as a bare number in `error.Err` (Go's syscall.Errno on Linux). */
const ERRNO_TEXT: Readonly<Record<number, string>> = {
  1: 'operation not permitted',
  2: 'no such file or directory',
  5: 'input/output error',
  13: 'permission denied',
  20: 'not a directory',
  21: 'is a directory',
  40: 'too many levels of symbolic links',
  116: 'stale file handle',
};

/**
 * The text of a file error. 0.18 sends `{"error":{"message":"open X: permission denied"}}`; 0.14
 * serialises Go's PathError as `{"error":{"Op":"open","Path":"X","Err":13}}` with no message.
 */
function fileErrorMessage(error: unknown): string {
  if (typeof error === 'string') return error;
  if (typeof error !== 'object' || error === null) return 'unknown error';
  const e = error as JsonObject;
  const message = str(e, 'message');
  if (message !== undefined) return message;
  const op = str(e, 'Op');
  const path = str(e, 'Path');
  const errno = e['Err'];
  const cause =
    typeof errno === 'number' ? (ERRNO_TEXT[errno] ?? `errno ${errno}`) : typeof errno === 'string' ? errno : 'error';
  return op !== undefined && path !== undefined ? `${op} ${path}: ${cause}` : cause;
}

/** Classifies one line of restic's stderr (JSON or plain text). Never throws. */
export function parseStderrLine(line: string): ResticStderrMessage {
  const obj = parseObject(line);
  if (obj === undefined) return { kind: 'text', text: cleanLine(line) };
  const messageType = str(obj, 'message_type') ?? '';
  switch (messageType) {
    case 'error': {
      const error = obj['error'];
      // `check --json` sends a top-level `message` instead of a nested error object.
      const message = error === undefined ? (str(obj, 'message') ?? 'unknown error') : fileErrorMessage(error);
      return { kind: 'file-error', item: str(obj, 'item') ?? '', during: str(obj, 'during') ?? '', message };
    }
    case 'exit_error': {
      const code = obj['code'];
      return {
        kind: 'exit-error',
        code: typeof code === 'number' && Number.isInteger(code) ? code : 1,
        message: str(obj, 'message') ?? '',
      };
    }
    default:
      return { kind: 'unknown', messageType };
  }
}

/** Maps a restic status message to the engine-neutral progress event. */
export function statusToProgress(status: ResticStatus): BackupProgress {
  return {
    type: 'progress',
    fraction: status.percentDone,
    bytesDone: status.bytesDone,
    bytesTotal: status.totalBytes,
    filesDone: status.filesDone,
    filesTotal: status.totalFiles,
    elapsedSeconds: status.secondsElapsed,
    ...(status.secondsRemaining > 0 ? { etaSeconds: status.secondsRemaining } : {}),
    errorCount: status.errorCount,
    currentFiles: status.currentFiles,
  };
}

/** Maps restic's backup summary to the engine-neutral summary (bytesAdded = data_added). */
export function toBackupSummary(summary: ResticBackupSummaryMessage): BackupSummary {
  return {
    ...(summary.snapshotId !== undefined ? { snapshotId: summary.snapshotId } : {}),
    filesNew: summary.filesNew,
    filesChanged: summary.filesChanged,
    filesUnmodified: summary.filesUnmodified,
    bytesAdded: summary.dataAdded,
    bytesProcessed: summary.totalBytesProcessed,
    filesProcessed: summary.totalFilesProcessed,
    durationSeconds: summary.totalDuration,
  };
}

/** One entry of `restic snapshots --json`. */
export interface ResticSnapshot {
  readonly id: string;
  /** restic's `short_id` (deprecated upstream), or the first 8 characters of `id`. */
  readonly shortId: string;
  /** RFC 3339, as restic wrote it. */
  readonly time: string;
  readonly paths: readonly string[];
  readonly hostname: string;
  readonly username?: string;
  readonly tags: readonly string[];
  /** Only snapshots written by restic 0.17+ carry a summary. */
  readonly summary?: BackupSummary;
}

function snapshotSummary(value: unknown, snapshotId: string): BackupSummary | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const s = value as JsonObject;
  const start = Date.parse(str(s, 'backup_start') ?? '');
  const end = Date.parse(str(s, 'backup_end') ?? '');
  return {
    snapshotId,
    filesNew: num(s, 'files_new'),
    filesChanged: num(s, 'files_changed'),
    filesUnmodified: num(s, 'files_unmodified'),
    bytesAdded: num(s, 'data_added'),
    bytesProcessed: num(s, 'total_bytes_processed'),
    filesProcessed: num(s, 'total_files_processed'),
    durationSeconds: Number.isFinite(start) && Number.isFinite(end) && end >= start ? (end - start) / 1000 : 0,
  };
}

/**
 * Parses the stdout of `restic snapshots --json` (one JSON array; 0.18 adds no trailing newline).
 * Returns undefined when the output is not a JSON array; entries without an id are skipped.
 */
export function parseSnapshots(stdout: string): readonly ResticSnapshot[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(stdout.trim() === '' ? '[]' : stdout);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  const snapshots: ResticSnapshot[] = [];
  for (const entry of value as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const snapshot = toSnapshot(entry as JsonObject);
    if (snapshot !== undefined) snapshots.push(snapshot);
  }
  return snapshots;
}

/** One snapshot object as `snapshots --json` and `ls --json` print it; undefined without an id. */
function toSnapshot(obj: JsonObject): ResticSnapshot | undefined {
  const id = str(obj, 'id');
  if (id === undefined || id === '') return undefined;
  const username = str(obj, 'username');
  const summary = snapshotSummary(obj['summary'], id);
  return {
    id,
    shortId: str(obj, 'short_id') ?? id.slice(0, 8),
    time: str(obj, 'time') ?? '',
    paths: strings(obj, 'paths'),
    hostname: str(obj, 'hostname') ?? '',
    ...(username !== undefined ? { username } : {}),
    tags: strings(obj, 'tags'),
    ...(summary !== undefined ? { summary } : {}),
  };
}

/** One entry of a snapshot's tree, as `restic ls --json` prints it. */
export interface ResticTreeNode {
  readonly name: string;
  /** Absolute path inside the snapshot. */
  readonly path: string;
  readonly type: 'dir' | 'file' | 'symlink' | 'other';
  /** Files only. */
  readonly size?: number;
  /** RFC 3339, as restic wrote it. */
  readonly mtime?: string;
}

/** What `restic ls --json SNAPSHOT DIR` printed: the snapshot, then the directory and its children. */
export interface ResticListing {
  readonly snapshot: ResticSnapshot;
  readonly nodes: readonly ResticTreeNode[];
}

/**
 * Parses `restic ls --json` (0.14: `struct_type`, 0.18 adds `message_type`): the first object is the
 * snapshot, the rest are nodes. Undefined when no snapshot came first — restic 0.14 exits 0 with an
 * empty stdout for an unknown snapshot id ("Ignoring …: no matching ID" on stderr).
 */
export function parseLs(stdout: string): ResticListing | undefined {
  let snapshot: ResticSnapshot | undefined;
  const nodes: ResticTreeNode[] = [];
  for (const line of stdout.split('\n')) {
    const obj = parseObject(cleanLine(line));
    if (obj === undefined) continue;
    const kind = str(obj, 'struct_type') ?? str(obj, 'message_type');
    if (kind === 'snapshot' && snapshot === undefined) {
      snapshot = toSnapshot(obj);
    } else if (kind === 'node') {
      const name = str(obj, 'name');
      const path = str(obj, 'path');
      if (name === undefined || path === undefined) continue;
      const type = str(obj, 'type');
      const mtime = str(obj, 'mtime');
      nodes.push({
        name,
        path,
        type: type === 'dir' || type === 'file' || type === 'symlink' ? type : 'other',
        ...(type === 'file' ? { size: num(obj, 'size') } : {}),
        ...(mtime !== undefined ? { mtime } : {}),
      });
    }
  }
  return snapshot === undefined ? undefined : { snapshot, nodes };
}

/** What `restic restore` reported: 0.18 prints a JSON summary under --json, 0.14 only a text line. */
export interface ResticRestoreSummary {
  readonly filesRestored?: number;
  readonly bytesRestored?: number;
}

export function parseRestoreSummary(stdout: string): ResticRestoreSummary {
  for (const line of stdout.split('\n').reverse()) {
    const obj = parseObject(cleanLine(line));
    if (obj !== undefined && str(obj, 'message_type') === 'summary') {
      return { filesRestored: num(obj, 'total_files'), bytesRestored: num(obj, 'bytes_restored') };
    }
  }
  return {};
}
