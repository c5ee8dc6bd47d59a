/**
 * Finding the restic binary and checking that it is new enough, as ARCHITECTURE.md orders it:
 * configured path → bundled `resources/bin/<platform>-<arch>/restic` → PATH. The search itself is
 * plain filesystem checks; only `restic version` goes through the CommandRunner.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { CommandError, type CommandRunner } from '../os/command.js';
import { checkBundledRestic } from './bundled-restic.js';

/** A restic release number. */
export interface ResticVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** A restic binary that was found and runs. */
export interface ResticBinary {
  readonly path: string;
  readonly version: ResticVersion;
  /** The first line of `restic version`, e.g. `restic 0.14.0 compiled with go1.19.8 on linux/amd64`. */
  readonly raw: string;
}

/** The oldest restic Backhaul supports (Debian 12's). Anything newer than this sits behind a version check. */
export const MIN_RESTIC_VERSION: ResticVersion = { major: 0, minor: 14, patch: 0 };

/** What a restic version can do that 0.14 can't; everything version-dependent is decided here. */
export interface ResticFeatures {
  /** Exit codes 10 (no repository) and 11 (locked): 0.17.0. */
  readonly repoAndLockExitCodes: boolean;
  /** Exit code 12 (wrong password): 0.17.1. */
  readonly wrongPasswordExitCode: boolean;
  /** A final `{"message_type":"exit_error",…}` line on stderr: 0.18.0. */
  readonly exitErrorJson: boolean;
  /** `--retry-lock <duration>`: wait for a lock instead of failing at once: 0.16.0. */
  readonly retryLock: boolean;
  /** SIGINT during `backup` exits 130 (0.14 and 0.19+); 0.15–0.18 exit 1 with "context canceled". */
  readonly sigintExits130: boolean;
  /** `backup --read-concurrency N` (files read in parallel; restic's default is 2): 0.15.0. */
  readonly readConcurrency: boolean;
}

/** Compares two versions: negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: ResticVersion, b: ResticVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

function atLeast(v: ResticVersion, major: number, minor: number, patch: number): boolean {
  return compareVersions(v, { major, minor, patch }) >= 0;
}

/** The feature set of a restic version (from restic's changelog, checked against 0.14.0 and 0.18.0). */
export function resticFeatures(v: ResticVersion): ResticFeatures {
  return {
    repoAndLockExitCodes: atLeast(v, 0, 17, 0),
    wrongPasswordExitCode: atLeast(v, 0, 17, 1),
    exitErrorJson: atLeast(v, 0, 18, 0),
    retryLock: atLeast(v, 0, 16, 0),
    sigintExits130: !atLeast(v, 0, 15, 0) || atLeast(v, 0, 19, 0),
    readConcurrency: atLeast(v, 0, 15, 0),
  };
}

/** `0.14.0` */
export function formatVersion(v: ResticVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** Reads the version from `restic version` output (also `restic 0.16.4-dev (compiled manually) …`). */
export function parseResticVersion(output: string): { version: ResticVersion; raw: string } | undefined {
  for (const line of output.split(/\r?\n/)) {
    const m = /^restic (\d+)\.(\d+)\.(\d+)/.exec(line.trim());
    if (m !== null) {
      return { version: { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) }, raw: line.trim() };
    }
  }
  return undefined;
}

/** The one command that installs restic on this OS, for error messages and `backhaul doctor`. */
export function resticInstallCommand(platform: NodeJS.Platform): string {
  switch (platform) {
    case 'darwin':
      return 'brew install restic';
    case 'win32':
      return 'winget install restic.restic';
    default:
      return 'apt-get install restic';
  }
}

/** An engine's binary is missing, does not run, or is too old. Its class is the session's failure class. */
export class EngineBinaryError extends Error {
  readonly class = 'engine-missing';
  constructor(
    /** What is wrong, one sentence; `message` is this followed by the fix. */
    readonly problem: string,
    /** What to do about it, one sentence with the exact command. */
    readonly fix: string,
  ) {
    super(`${problem} ${fix}`);
  }
}

/** restic is missing, does not run, or is too old. */
export class ResticBinaryError extends EngineBinaryError {
  override readonly name = 'ResticBinaryError';
  constructor(
    problem: string,
    fix: string,
    /** The binary that was found but rejected, when there was one. */
    readonly found?: { readonly path: string; readonly version?: ResticVersion },
  ) {
    super(problem, fix);
  }
}

export interface LocateResticOptions {
  /** `settings.resticPath`: when set, it is the only candidate. */
  readonly configuredPath?: string;
  /** The app's resources directory, holding `bin/<platform>-<arch>/restic[.exe]`. */
  readonly resourcesDir: string;
  readonly platform: NodeJS.Platform;
  readonly arch: string;
  /** The PATH value to search (`;`-separated on Windows). */
  readonly pathEnv: string;
}

/** Where an installation bundles restic: `<resourcesDir>/bin/<platform>-<arch>/restic[.exe]`. */
export function bundledResticPath(resourcesDir: string, platform: NodeJS.Platform, arch: string): string {
  const win = platform === 'win32';
  return (win ? path.win32 : path.posix).join(resourcesDir, 'bin', `${platform}-${arch}`, win ? 'restic.exe' : 'restic');
}

/** The candidate paths, in the order they are tried. */
export function resticCandidates(options: LocateResticOptions): readonly string[] {
  if (options.configuredPath !== undefined && options.configuredPath !== '') return [options.configuredPath];
  const win = options.platform === 'win32';
  const p = win ? path.win32 : path.posix;
  const exe = win ? 'restic.exe' : 'restic';
  const bundled = bundledResticPath(options.resourcesDir, options.platform, options.arch);
  const dirs = options.pathEnv.split(win ? ';' : ':').filter((d) => d !== '');
  return [bundled, ...dirs.map((d) => p.join(d.replace(/^"(.*)"$/, '$1'), exe))];
}

/** True when the path is a regular file we may execute (on Windows: any regular file). */
async function isExecutableFile(file: string, platform: NodeJS.Platform): Promise<boolean> {
  try {
    if (!(await stat(file)).isFile()) return false;
    if (platform !== 'win32') await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

type Probe = { ok: true; binary: ResticBinary } | { ok: false; error: ResticBinaryError };

async function probe(file: string, runner: CommandRunner, options: LocateResticOptions): Promise<Probe> {
  const install = resticInstallCommand(options.platform);
  const fixNewer = `Install restic ${formatVersion(MIN_RESTIC_VERSION)} or newer (\`${install}\`), or set settings.resticPath to a restic binary that works.`;
  let output: string;
  try {
    const result = await runner.run({ argv: [file, 'version'], timeoutMs: 15_000 });
    output = result.stdout;
  } catch (error) {
    const why = error instanceof CommandError ? error.message : String(error);
    return { ok: false, error: new ResticBinaryError(`${file} does not run as restic: ${why}`, fixNewer, { path: file }) };
  }
  const parsed = parseResticVersion(output);
  if (parsed === undefined) {
    return {
      ok: false,
      error: new ResticBinaryError(`${file} did not report a restic version.`, fixNewer, { path: file }),
    };
  }
  if (compareVersions(parsed.version, MIN_RESTIC_VERSION) < 0) {
    return {
      ok: false,
      error: new ResticBinaryError(
        `restic ${formatVersion(parsed.version)} at ${file} is too old: Backhaul needs restic ${formatVersion(MIN_RESTIC_VERSION)} or newer.`,
        fixNewer,
        { path: file, version: parsed.version },
      ),
    };
  }
  return { ok: true, binary: { path: file, version: parsed.version, raw: parsed.raw } };
}

/**
 * Finds a restic that runs and is at least MIN_RESTIC_VERSION. A configured path is authoritative
 * (no fallback: the user chose that binary). Otherwise the first usable candidate wins; if none is
 * usable, the error of the first one that was found (e.g. "too old") is thrown, else "not found".
 * @throws ResticBinaryError
 */
export async function locateRestic(options: LocateResticOptions, runner: CommandRunner): Promise<ResticBinary> {
  const install = resticInstallCommand(options.platform);
  const candidates = resticCandidates(options);
  const configured = options.configuredPath !== undefined && options.configuredPath !== '';
  let firstRejection: ResticBinaryError | undefined;
  const bundled = configured ? undefined : candidates[0];
  for (const file of candidates) {
    if (!(await isExecutableFile(file, options.platform))) continue;
    if (file === bundled) {
      // A bundled binary that fails its pin is never run, and never silently replaced by PATH's.
      const pinned = await checkBundledRestic(file, options.resourcesDir, `${options.platform}-${options.arch}`);
      if (!pinned.ok) throw new ResticBinaryError(pinned.problem, pinned.fix, { path: file });
    }
    const result = await probe(file, runner, options);
    if (result.ok) return result.binary;
    firstRejection ??= result.error;
  }
  if (firstRejection !== undefined) throw firstRejection;
  if (configured) {
    throw new ResticBinaryError(
      `settings.resticPath is ${candidates[0] ?? ''}, which is not an executable file.`,
      `Fix settings.resticPath, or remove it to use the bundled restic or the one on PATH (install: \`${install}\`).`,
    );
  }
  throw new ResticBinaryError(
    'restic was not found: not bundled with Backhaul and not on PATH.',
    `Install it with \`${install}\`, or set settings.resticPath to the restic binary.`,
  );
}
