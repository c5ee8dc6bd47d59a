/**
 * Where Backhaul keeps its files on each OS, for a per-user agent or a system service. A pure
 * function of a plain host description, so every row of the table is tested on any machine; only
 * {@link currentHost} reads the real process.
 */
import { homedir } from 'node:os';
import { posix, win32 } from 'node:path';

/** What the path rules depend on. `env` lookups are case-insensitive on Windows, as in the OS. */
export interface HostDescription {
  readonly platform: NodeJS.Platform;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homedir: string;
  /** `system`: the agent runs as an OS service; `user`: as the logged-in user. */
  readonly mode: 'user' | 'system';
}

export interface BackhaulPaths {
  readonly configFile: string;
  /** Journal, history, private temp dirs. */
  readonly stateDir: string;
  readonly logDir: string;
  /** Disposable: restic's cache, downloaded metadata. */
  readonly cacheDir: string;
  /** Sockets and pid/lock files. */
  readonly runtimeDir: string;
}

/** A location cannot be derived from the environment; the message says which variable to set. */
export class PathsError extends Error {
  override readonly name = 'PathsError';
  readonly code = 'paths.unresolved';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

function envValue(host: HostDescription, name: string): string | undefined {
  const direct = host.env[name];
  if (direct !== undefined || host.platform !== 'win32') return direct === '' ? undefined : direct;
  const upper = name.toUpperCase();
  const key = Object.keys(host.env).find((k) => k.toUpperCase() === upper);
  const value = key === undefined ? undefined : host.env[key];
  return value === '' ? undefined : value;
}

function requireHome(host: HostDescription): string {
  if (host.homedir === '' || !posix.isAbsolute(host.homedir)) {
    throw new PathsError(
      `cannot find the home directory (got ${JSON.stringify(host.homedir)})`,
      'set HOME to an absolute path, or set BACKHAUL_HOME to the directory Backhaul should use',
    );
  }
  return host.homedir;
}

function underHome(home: string, join: (...parts: string[]) => string): BackhaulPaths {
  return {
    configFile: join(home, 'config.yaml'),
    stateDir: join(home, 'state'),
    logDir: join(home, 'logs'),
    cacheDir: join(home, 'cache'),
    runtimeDir: join(home, 'run'),
  };
}

/** XDG base directory, used only when set to an absolute path (the spec says to ignore others). */
function xdg(host: HostDescription, name: string, fallback: string): string {
  const value = envValue(host, name);
  return value !== undefined && posix.isAbsolute(value) ? value : fallback;
}

function linuxPaths(host: HostDescription): BackhaulPaths {
  if (host.mode === 'system') {
    return {
      configFile: '/etc/backhaul/config.yaml',
      stateDir: '/var/lib/backhaul',
      logDir: '/var/log/backhaul',
      cacheDir: '/var/cache/backhaul',
      runtimeDir: '/run/backhaul',
    };
  }
  const home = requireHome(host);
  const j = (...parts: string[]): string => posix.join(...parts);
  const stateDir = j(xdg(host, 'XDG_STATE_HOME', j(home, '.local', 'state')), 'backhaul');
  const runtime = xdg(host, 'XDG_RUNTIME_DIR', '');
  return {
    configFile: j(xdg(host, 'XDG_CONFIG_HOME', j(home, '.config')), 'backhaul', 'config.yaml'),
    stateDir,
    logDir: j(stateDir, 'logs'),
    cacheDir: j(xdg(host, 'XDG_CACHE_HOME', j(home, '.cache')), 'backhaul'),
    runtimeDir: runtime === '' ? j(stateDir, 'run') : j(runtime, 'backhaul'),
  };
}

function macosPaths(host: HostDescription): BackhaulPaths {
  const j = (...parts: string[]): string => posix.join(...parts);
  const library = host.mode === 'system' ? '/Library' : j(requireHome(host), 'Library');
  const support = j(library, 'Application Support', 'Backhaul');
  return {
    configFile: j(support, 'config.yaml'),
    stateDir: j(support, 'state'),
    logDir: j(library, 'Logs', 'Backhaul'),
    cacheDir: j(library, 'Caches', 'Backhaul'),
    runtimeDir: host.mode === 'system' ? '/var/run/backhaul' : j(support, 'run'),
  };
}

function windowsFolder(host: HostDescription, name: string): string {
  const value = envValue(host, name);
  if (value === undefined || !win32.isAbsolute(value)) {
    throw new PathsError(
      `%${name}% is not set to an absolute path, so Backhaul cannot place its files`,
      `set ${name} (normally ${name === 'PROGRAMDATA' ? 'C:\\ProgramData' : `C:\\Users\\<you>\\AppData\\${name === 'APPDATA' ? 'Roaming' : 'Local'}`}) or set BACKHAUL_HOME`,
    );
  }
  return value;
}

function windowsPaths(host: HostDescription): BackhaulPaths {
  const j = (...parts: string[]): string => win32.join(...parts);
  if (host.mode === 'system') return underHome(j(windowsFolder(host, 'PROGRAMDATA'), 'Backhaul'), j);
  const roaming = j(windowsFolder(host, 'APPDATA'), 'Backhaul');
  const local = j(windowsFolder(host, 'LOCALAPPDATA'), 'Backhaul');
  return {
    configFile: j(roaming, 'config.yaml'),
    stateDir: j(local, 'state'),
    logDir: j(local, 'logs'),
    cacheDir: j(local, 'cache'),
    runtimeDir: j(local, 'run'),
  };
}

/**
 * Backhaul's file locations for a host. `BACKHAUL_HOME` (absolute) puts everything under one
 * directory — for development, tests and portable installs. Other Unix-likes follow the Linux rules.
 * @throws PathsError when a required variable (APPDATA, HOME, …) is missing or BACKHAUL_HOME is relative.
 */
export function resolvePaths(host: HostDescription): BackhaulPaths {
  const path = host.platform === 'win32' ? win32 : posix;
  const override = envValue(host, 'BACKHAUL_HOME');
  if (override !== undefined) {
    if (!path.isAbsolute(override)) {
      throw new PathsError(
        `BACKHAUL_HOME must be an absolute path (got ${JSON.stringify(override)})`,
        'set BACKHAUL_HOME to an absolute directory, or unset it to use the standard locations',
      );
    }
    return underHome(path.normalize(override), (...parts) => path.join(...parts));
  }
  switch (host.platform) {
    case 'win32':
      return windowsPaths(host);
    case 'darwin':
      return macosPaths(host);
    default:
      return linuxPaths(host);
  }
}

/** The running process as a {@link HostDescription}; `mode` is the caller's choice (CLI flag, service). */
export function currentHost(mode: 'user' | 'system' = 'user'): HostDescription {
  return { platform: process.platform, env: process.env, homedir: homedir(), mode };
}
