/**
 * Every restic command line Backhaul runs is built here, so tests can assert exact argv and so
 * version-dependent flags are decided in one place. No secret ever goes into these arrays: the
 * password travels in a file whose path is passed with --password-file.
 */
import type { BackupRequest } from './engine.js';

/** What every restic command needs to reach and open the repository. */
export interface ResticRepoArgs {
  readonly repository: string;
  readonly passwordFile: string;
  /** Parallel backend connections; clamped to 1..32. */
  readonly streams?: number;
  /** KiB/s, for commands that upload. */
  readonly uploadLimitKiBps?: number;
  /** `--retry-lock` in whole seconds; the caller passes it only to restic 0.16+ (resticFeatures). */
  readonly retryLockSeconds?: number;
}

/**
 * The backend connection option for a repository URL: `-o rest.connections=N` for `rest:`,
 * `sftp.connections` for `sftp:`, `s3.connections` for `s3:`; none for a local path or other
 * backends (restic's defaults apply: 5 for network backends, 2 for local).
 */
export function connectionOption(repository: string, streams: number | undefined): readonly string[] {
  if (streams === undefined || !Number.isFinite(streams)) return [];
  const n = Math.min(32, Math.max(1, Math.trunc(streams)));
  const scheme = /^(rest|sftp|s3):/.exec(repository)?.[1];
  return scheme === undefined ? [] : ['-o', `${scheme}.connections=${n}`];
}

/** `-r REPO --password-file FILE --json [-o X.connections=N] [--limit-upload KiB]` */
export function globalArgs(args: ResticRepoArgs): readonly string[] {
  const limit =
    args.uploadLimitKiBps !== undefined && Number.isFinite(args.uploadLimitKiBps) && args.uploadLimitKiBps > 0
      ? ['--limit-upload', String(Math.max(1, Math.round(args.uploadLimitKiBps)))]
      : [];
  const retryLock =
    args.retryLockSeconds !== undefined && args.retryLockSeconds > 0
      ? ['--retry-lock', `${Math.ceil(args.retryLockSeconds)}s`]
      : [];
  return [
    '-r',
    args.repository,
    '--password-file',
    args.passwordFile,
    '--json',
    ...connectionOption(args.repository, args.streams),
    ...limit,
    ...retryLock,
  ];
}

/** What `backup` takes beyond the request. */
export interface ResticBackupExtras extends Pick<ResticRepoArgs, 'retryLockSeconds'> {
  /** `--read-concurrency N`, 1..32; the caller passes it only to restic 0.15+ (resticFeatures). */
  readonly readConcurrency?: number;
}

/**
 * `restic <global> backup --json [--read-concurrency N] [--exclude X …] -- SOURCES…`. The `--`
 * keeps a source that starts with "-" from being read as a flag (both 0.14 and 0.18 parse flags
 * with pflag, which honours it).
 */
export function backupArgv(
  binary: string,
  request: BackupRequest,
  passwordFile: string,
  extra: ResticBackupExtras = {},
): readonly string[] {
  const { readConcurrency, ...repoExtra } = extra;
  const read =
    readConcurrency !== undefined && Number.isFinite(readConcurrency)
      ? ['--read-concurrency', String(Math.min(32, Math.max(1, Math.trunc(readConcurrency))))]
      : [];
  return [
    binary,
    ...globalArgs({
      ...repoExtra,
      repository: request.repository,
      passwordFile,
      streams: request.streams,
      ...(request.uploadLimitKiBps !== undefined ? { uploadLimitKiBps: request.uploadLimitKiBps } : {}),
    }),
    'backup',
    '--json',
    ...read,
    ...request.excludes.flatMap((x) => ['--exclude', x]),
    '--',
    ...request.sources,
  ];
}

/** `restic <global> init` */
export function initArgv(binary: string, args: ResticRepoArgs): readonly string[] {
  return [binary, ...globalArgs(args), 'init'];
}

/** `restic <global> snapshots` (a JSON array because of the global --json) */
export function snapshotsArgv(binary: string, args: ResticRepoArgs): readonly string[] {
  return [binary, ...globalArgs(args), 'snapshots'];
}

/** `restic <global> unlock`: removes stale locks only (never `--remove-all`). */
export function unlockArgv(binary: string, args: ResticRepoArgs): readonly string[] {
  return [binary, ...globalArgs(args), 'unlock'];
}

/**
 * A path as a literal `--include` pattern: restic matches include/exclude patterns per path
 * component with Go's filepath.Match, where `*`, `?`, `[` and `\` are special and a backslash
 * escapes the next character (on Unix). Verified with 0.14 and 0.18 (restore-include.txt).
 */
export function literalPattern(path: string): string {
  return path.replace(/[*?[\\]/g, (c) => `\\${c}`);
}

/**
 * `restic <global> ls SNAPSHOT DIR`: the directory itself and its direct children (restic lists a
 * given directory one level deep unless --recursive), one JSON object per line after the snapshot.
 */
export function lsArgv(binary: string, args: ResticRepoArgs, snapshotId: string, dir: string): readonly string[] {
  return [binary, ...globalArgs(args), 'ls', snapshotId, dir];
}

/**
 * `restic <global> restore SNAPSHOT --target DIR --include P…`: the selected paths (a directory
 * brings its contents) restored under DIR with their full original paths.
 */
export function restoreArgv(binary: string, args: ResticRepoArgs, snapshotId: string, target: string, paths: readonly string[]): readonly string[] {
  return [binary, ...globalArgs(args), 'restore', snapshotId, '--target', target, ...paths.flatMap((p) => ['--include', literalPattern(p)])];
}
