import type { BackupFailure, BackupFailureClass } from '../../backup/engine.js';

/**
 * A problem the user should see: a stable code (UI text, docs and tests key off it), one plain
 * sentence of what happened, and what to do about it.
 */
export interface SessionFailure {
  readonly code: string;
  readonly message: string;
  readonly hint: string;
  /** The files concerned, when the engine lists them (rsync 23/24: the files that were not copied). */
  readonly files?: readonly string[];
}

/** Errors thrown by ports (secrets, drivers, engine lookup) that already speak to the user. */
interface UserFacingError {
  readonly code: string;
  readonly message: string;
  readonly hint: string;
}

function isUserFacing(error: unknown): error is UserFacingError {
  if (!(error instanceof Error)) return false;
  const candidate = error as Error & { code?: unknown; hint?: unknown };
  return typeof candidate.code === 'string' && typeof candidate.hint === 'string';
}

/** Turns anything a step threw into a SessionFailure; unknown errors are labelled as bugs. */
export function toSessionFailure(error: unknown): SessionFailure {
  if (isUserFacing(error)) return { code: error.code, message: error.message, hint: error.hint };
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: 'session.internal',
    message: `internal error: ${message}`,
    hint: 'This is a bug in Backhaul. The log file has the details; please report it.',
  };
}

const backupHints: Readonly<Record<BackupFailureClass, (job: string) => string>> = {
  partial: (job) =>
    `Some files could not be read, so they are missing from the snapshot. Check their permissions, or exclude them in jobs.${job}.excludes.`,
  'no-repository': (job) =>
    `Create the repository with "backhaul init ${job}", or correct jobs.${job}.repository if it points to the wrong place.`,
  locked: () =>
    'Another restic process (a prune or check) holds an exclusive lock. Wait for it to finish; if it crashed, remove its stale lock with "restic unlock".',
  'wrong-password': (job) =>
    `The password that jobs.${job}.password points to does not open this repository. Check that it is the repository's password.`,
  cancelled: () => 'Start the job again when you are ready; a new snapshot picks up where the data left off.',
  network: (job) =>
    `The repository server could not be reached. Check that it is running and reachable from this machine (jobs.${job}.repository), and the VPN profile if the job uses one.`,
  'engine-missing': () => 'Install restic (Debian/Ubuntu: sudo apt-get install -y restic), or set settings.resticPath.',
  unknown: () => 'The log file has the backup tool\'s own output; if the cause is unclear, run "backhaul doctor" or report it.',
};

/**
 * The session's view of an engine failure. The engine's own fix wins over the class hint: it knows
 * more (rsync: which known_hosts file, the exact ssh-keyscan command). Fixes name the job as
 * `jobs.<name>`; the job's name is put in.
 */
export function backupFailure(job: string, failure: BackupFailure): SessionFailure {
  const fix = failure.fix?.replaceAll('jobs.<name>.', `jobs.${job}.`);
  return {
    code: `backup.${failure.class}`,
    message: failure.message,
    hint: fix ?? backupHints[failure.class](job),
    ...(failure.files === undefined || failure.files.length === 0 ? {} : { files: failure.files }),
  };
}
