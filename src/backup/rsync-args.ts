/**
 * Every rsync command line Backhaul runs is built here, so tests can assert exact argv. The
 * transfer root is `/` with relative paths (`-R`, or `--files-from`, which implies it): a source
 * `/home/me/docs` lands in `DEST/home/me/docs`, as restic keeps absolute paths, and two sources
 * with the same last name never collide.
 *
 * A run is: list (local) → directories → [delete, mirror jobs only] → N file workers → directories
 * again (their times, which the workers' writes changed). All transfers share `-a --partial
 * --partial-dir --timeout --info=progress2 --stats` and the same ssh command.
 */

/** The ssh end of a job. */
export interface RsyncSshTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Private key file (`-i`), used alone (IdentitiesOnly). */
  readonly identityFile: string;
  /** known_hosts file to check the server's key against; absent = ssh's defaults (~/.ssh/known_hosts). */
  readonly knownHostsFile?: string;
}

/** What every transfer command needs. */
export interface RsyncTransferContext {
  /** The rsync binary. */
  readonly rsync: string;
  /** The ssh binary rsync starts (`-e`). */
  readonly ssh: string;
  readonly target: RsyncSshTarget;
  /** The remote directory everything goes under. */
  readonly destination: string;
  /** rsync --timeout: give up after this long without data moving. */
  readonly ioTimeoutSeconds: number;
  /** ssh ConnectTimeout. */
  readonly connectTimeoutSeconds: number;
}

/**
 * Relative, so rsync makes one per destination directory, keeps it out of `--delete` (it adds a
 * "perishable" exclude for it) and uses what it holds as the basis of the next attempt.
 */
export const PARTIAL_DIR = '.rsync-partial';

/**
 * Quotes one word of the `-e` command the way rsync splits it (main.c do_cmd): whitespace splits,
 * quotes group, a doubled quote inside quotes is a literal quote.
 */
export function rshQuote(word: string): string {
  if (word !== '' && /^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", "''")}'`;
}

/**
 * The `-e` value: ssh with host key checking on and nothing interactive. BatchMode makes an
 * unknown host key or a refused key an error instead of a prompt; ControlPath=none keeps a user's
 * ControlMaster from funnelling every worker through one TCP connection (which would undo the
 * parallel streams).
 */
export function sshCommand(ctx: Pick<RsyncTransferContext, 'ssh' | 'target' | 'connectTimeoutSeconds'>): string {
  const { target } = ctx;
  const words = [
    ctx.ssh,
    '-p',
    String(target.port),
    '-i',
    target.identityFile,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    ...(target.knownHostsFile !== undefined ? ['-o', `UserKnownHostsFile=${target.knownHostsFile}`] : []),
    '-o',
    `ConnectTimeout=${Math.max(1, Math.round(ctx.connectTimeoutSeconds))}`,
    '-o',
    'ControlPath=none',
  ];
  return words.map(rshQuote).join(' ');
}

/** `user@host:/dest/` (`user@[::1]:/dest/` for an IPv6 address). */
export function remoteDestination(target: RsyncSshTarget, destination: string): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const dir = destination.endsWith('/') ? destination : `${destination}/`;
  return `${target.user}@${host}:${dir}`;
}

/**
 * `rsync -a -R --list-only [--exclude=X …] -- SOURCES… UNUSED/`: the file list, local, with the
 * excludes applied by rsync itself. The last argument is there because rsync reads the last of
 * several arguments as the destination (with two sources and none, the second is silently not
 * listed); --list-only never writes to it. Pass an empty private directory.
 */
export function listArgv(rsync: string, sources: readonly string[], excludes: readonly string[], unusedDestination: string): readonly string[] {
  const dest = unusedDestination.endsWith('/') ? unusedDestination : `${unusedDestination}/`;
  return [rsync, '-a', '-R', '--list-only', ...excludes.map((x) => `--exclude=${x}`), '--', ...sources, dest];
}

/** `--bwlimit=KiB` (rsync's unit is 1024 bytes per second), when limited. */
function bandwidth(kibps: number | undefined): readonly string[] {
  if (kibps === undefined || !Number.isFinite(kibps) || kibps <= 0) return [];
  return [`--bwlimit=${Math.max(1, Math.round(kibps))}`];
}

function common(ctx: RsyncTransferContext, bwlimitKiBps: number | undefined): readonly string[] {
  return [
    '-a',
    '--partial',
    `--partial-dir=${PARTIAL_DIR}`,
    `--timeout=${Math.max(1, Math.round(ctx.ioTimeoutSeconds))}`,
    '--info=progress2',
    '--stats',
    ...bandwidth(bwlimitKiBps),
    '-e',
    sshCommand(ctx),
  ];
}

/**
 * One file worker: the files in `listFile` (NUL-separated paths relative to `/`). Directories
 * already exist (the directory pass made them), so `--no-implied-dirs` keeps workers from
 * re-sending parents and fighting over their attributes.
 */
export function workerArgv(ctx: RsyncTransferContext, listFile: string, bwlimitKiBps?: number): readonly string[] {
  return [
    ctx.rsync,
    ...common(ctx, bwlimitKiBps),
    '--from0',
    `--files-from=${listFile}`,
    '--no-implied-dirs',
    '--',
    '/',
    remoteDestination(ctx.target, ctx.destination),
  ];
}

/**
 * The directory pass: every directory in `listFile`, without contents (`--files-from` without -r
 * copies a listed directory as itself). Run before the workers to create the tree once, and after
 * them to put back the directory times their writes changed.
 */
export function directoriesArgv(ctx: RsyncTransferContext, listFile: string, bwlimitKiBps?: number): readonly string[] {
  return [ctx.rsync, ...common(ctx, bwlimitKiBps), '--from0', `--files-from=${listFile}`, '--', '/', remoteDestination(ctx.target, ctx.destination)];
}

/**
 * Mirror jobs only: removes what is gone from the sources, copying nothing (`--existing
 * --ignore-existing`; the workers copy). Workers work on file lists, where --delete has no effect
 * (fpsync documents the same), so deletion is this one pass over the whole tree. Excluded files on
 * the destination are kept (rsync protects excluded names from --delete).
 */
export function deleteArgv(
  ctx: RsyncTransferContext,
  sources: readonly string[],
  excludes: readonly string[],
  bwlimitKiBps?: number,
): readonly string[] {
  return [
    ctx.rsync,
    ...common(ctx, bwlimitKiBps),
    '-R',
    '--delete',
    '--existing',
    '--ignore-existing',
    ...excludes.map((x) => `--exclude=${x}`),
    '--',
    ...sources,
    remoteDestination(ctx.target, ctx.destination),
  ];
}

/** `rsync --version` */
export function versionArgv(rsync: string): readonly string[] {
  return [rsync, '--version'];
}
