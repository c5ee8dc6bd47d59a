/**
 * Finding rsync and checking that it is new enough: the configured path, else `rsync` on PATH
 * (the CommandRunner resolves it). Only `rsync --version` runs, through the CommandRunner.
 */
import { CommandError, type CommandRunner } from '../os/command.js';
import { versionArgv } from './rsync-args.js';
import { compareVersions, EngineBinaryError, formatVersion, type ResticVersion } from './restic-binary.js';

/** A release number (the same shape as restic's). */
export type RsyncVersion = ResticVersion;

/** `--info=progress2` and `--info=…` need 3.1.0; Debian 12 ships 3.2.7, the host lab 3.5.0. */
export const MIN_RSYNC_VERSION: RsyncVersion = { major: 3, minor: 1, patch: 0 };

export interface RsyncBinary {
  readonly path: string;
  readonly version: RsyncVersion;
}

/** Reads `rsync  version 3.5.0  protocol version 32`. */
export function parseRsyncVersion(output: string): RsyncVersion | undefined {
  const m = /^rsync\s+version\s+v?(\d+)\.(\d+)\.(\d+)/m.exec(output);
  if (m === null) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** rsync is missing, does not run, or is too old. */
export class RsyncBinaryError extends EngineBinaryError {
  override readonly name = 'RsyncBinaryError';
}

/** The one command that installs rsync and ssh on this OS. */
export function rsyncInstallCommand(platform: NodeJS.Platform): string {
  switch (platform) {
    case 'darwin':
      return 'brew install rsync';
    case 'win32':
      return 'install cwRsync or use WSL (rsync jobs are not supported natively on Windows yet)';
    default:
      return 'apt-get install rsync openssh-client';
  }
}

/**
 * Runs `rsync --version` on the configured path or `rsync` from PATH and checks the version.
 * @throws RsyncBinaryError
 */
export async function locateRsync(
  runner: CommandRunner,
  options: { readonly configuredPath?: string; readonly platform: NodeJS.Platform },
): Promise<RsyncBinary> {
  const file = options.configuredPath ?? 'rsync';
  const install = `Install rsync ${formatVersion(MIN_RSYNC_VERSION)} or newer (\`${rsyncInstallCommand(options.platform)}\`)${
    options.configuredPath === undefined ? '' : ', or fix settings.rsyncPath'
  }.`;
  let output: string;
  try {
    output = (await runner.run({ argv: versionArgv(file), timeoutMs: 15_000 })).stdout;
  } catch (error) {
    const why = error instanceof CommandError ? error.message : String(error);
    throw new RsyncBinaryError(`rsync could not be run: ${why}.`, install);
  }
  const version = parseRsyncVersion(output);
  if (version === undefined) throw new RsyncBinaryError(`${file} did not report an rsync version.`, install);
  if (compareVersions(version, MIN_RSYNC_VERSION) < 0) {
    throw new RsyncBinaryError(
      `rsync ${formatVersion(version)} at ${file} is too old: Backhaul needs ${formatVersion(MIN_RSYNC_VERSION)} or newer.`,
      install,
    );
  }
  return { path: file, version };
}
