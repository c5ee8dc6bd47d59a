import { describe, expect, it } from 'vitest';
import { currentHost, PathsError, resolvePaths, type BackhaulPaths, type HostDescription } from '../../src/os/paths.js';

const host = (platform: NodeJS.Platform, mode: 'user' | 'system', env: Record<string, string | undefined> = {}, homedir = '/home/me'): HostDescription => ({
  platform,
  mode,
  env,
  homedir,
});

const WIN_ENV = {
  APPDATA: 'C:\\Users\\me\\AppData\\Roaming',
  LOCALAPPDATA: 'C:\\Users\\me\\AppData\\Local',
  PROGRAMDATA: 'C:\\ProgramData',
};

describe('resolvePaths', () => {
  it.each<[string, HostDescription, BackhaulPaths]>([
    [
      'Linux user, no XDG variables',
      host('linux', 'user'),
      {
        configFile: '/home/me/.config/backhaul/config.yaml',
        stateDir: '/home/me/.local/state/backhaul',
        logDir: '/home/me/.local/state/backhaul/logs',
        cacheDir: '/home/me/.cache/backhaul',
        runtimeDir: '/home/me/.local/state/backhaul/run',
      },
    ],
    [
      'Linux user with XDG variables',
      host('linux', 'user', { XDG_CONFIG_HOME: '/cfg', XDG_STATE_HOME: '/st', XDG_CACHE_HOME: '/ca', XDG_RUNTIME_DIR: '/run/user/1000' }),
      {
        configFile: '/cfg/backhaul/config.yaml',
        stateDir: '/st/backhaul',
        logDir: '/st/backhaul/logs',
        cacheDir: '/ca/backhaul',
        runtimeDir: '/run/user/1000/backhaul',
      },
    ],
    [
      'Linux user ignores relative or empty XDG variables (as the spec says)',
      host('linux', 'user', { XDG_CONFIG_HOME: 'relative', XDG_STATE_HOME: '', XDG_CACHE_HOME: './c', XDG_RUNTIME_DIR: 'run' }),
      {
        configFile: '/home/me/.config/backhaul/config.yaml',
        stateDir: '/home/me/.local/state/backhaul',
        logDir: '/home/me/.local/state/backhaul/logs',
        cacheDir: '/home/me/.cache/backhaul',
        runtimeDir: '/home/me/.local/state/backhaul/run',
      },
    ],
    [
      'Linux system',
      host('linux', 'system', { XDG_CONFIG_HOME: '/ignored' }),
      {
        configFile: '/etc/backhaul/config.yaml',
        stateDir: '/var/lib/backhaul',
        logDir: '/var/log/backhaul',
        cacheDir: '/var/cache/backhaul',
        runtimeDir: '/run/backhaul',
      },
    ],
    [
      'FreeBSD follows the Linux rules',
      host('freebsd', 'user'),
      {
        configFile: '/home/me/.config/backhaul/config.yaml',
        stateDir: '/home/me/.local/state/backhaul',
        logDir: '/home/me/.local/state/backhaul/logs',
        cacheDir: '/home/me/.cache/backhaul',
        runtimeDir: '/home/me/.local/state/backhaul/run',
      },
    ],
    [
      'macOS user',
      host('darwin', 'user', {}, '/Users/me'),
      {
        configFile: '/Users/me/Library/Application Support/Backhaul/config.yaml',
        stateDir: '/Users/me/Library/Application Support/Backhaul/state',
        logDir: '/Users/me/Library/Logs/Backhaul',
        cacheDir: '/Users/me/Library/Caches/Backhaul',
        runtimeDir: '/Users/me/Library/Application Support/Backhaul/run',
      },
    ],
    [
      'macOS system',
      host('darwin', 'system', {}, '/var/root'),
      {
        configFile: '/Library/Application Support/Backhaul/config.yaml',
        stateDir: '/Library/Application Support/Backhaul/state',
        logDir: '/Library/Logs/Backhaul',
        cacheDir: '/Library/Caches/Backhaul',
        runtimeDir: '/var/run/backhaul',
      },
    ],
    [
      'Windows user',
      host('win32', 'user', WIN_ENV, 'C:\\Users\\me'),
      {
        configFile: 'C:\\Users\\me\\AppData\\Roaming\\Backhaul\\config.yaml',
        stateDir: 'C:\\Users\\me\\AppData\\Local\\Backhaul\\state',
        logDir: 'C:\\Users\\me\\AppData\\Local\\Backhaul\\logs',
        cacheDir: 'C:\\Users\\me\\AppData\\Local\\Backhaul\\cache',
        runtimeDir: 'C:\\Users\\me\\AppData\\Local\\Backhaul\\run',
      },
    ],
    [
      'Windows user, variable names in any case',
      host('win32', 'user', { AppData: WIN_ENV.APPDATA, localappdata: WIN_ENV.LOCALAPPDATA }, 'C:\\Users\\me'),
      {
        configFile: 'C:\\Users\\me\\AppData\\Roaming\\Backhaul\\config.yaml',
        stateDir: 'C:\\Users\\me\\AppData\\Local\\Backhaul\\state',
        logDir: 'C:\\Users\\me\\AppData\\Local\\Backhaul\\logs',
        cacheDir: 'C:\\Users\\me\\AppData\\Local\\Backhaul\\cache',
        runtimeDir: 'C:\\Users\\me\\AppData\\Local\\Backhaul\\run',
      },
    ],
    [
      'Windows system',
      host('win32', 'system', WIN_ENV, 'C:\\Windows\\system32\\config\\systemprofile'),
      {
        configFile: 'C:\\ProgramData\\Backhaul\\config.yaml',
        stateDir: 'C:\\ProgramData\\Backhaul\\state',
        logDir: 'C:\\ProgramData\\Backhaul\\logs',
        cacheDir: 'C:\\ProgramData\\Backhaul\\cache',
        runtimeDir: 'C:\\ProgramData\\Backhaul\\run',
      },
    ],
    [
      'BACKHAUL_HOME on Linux (user)',
      host('linux', 'user', { BACKHAUL_HOME: '/opt/bh/', XDG_CONFIG_HOME: '/ignored' }),
      { configFile: '/opt/bh/config.yaml', stateDir: '/opt/bh/state', logDir: '/opt/bh/logs', cacheDir: '/opt/bh/cache', runtimeDir: '/opt/bh/run' },
    ],
    [
      'BACKHAUL_HOME on Linux (system)',
      host('linux', 'system', { BACKHAUL_HOME: '/srv/backhaul' }),
      {
        configFile: '/srv/backhaul/config.yaml',
        stateDir: '/srv/backhaul/state',
        logDir: '/srv/backhaul/logs',
        cacheDir: '/srv/backhaul/cache',
        runtimeDir: '/srv/backhaul/run',
      },
    ],
    [
      'BACKHAUL_HOME on macOS',
      host('darwin', 'user', { BACKHAUL_HOME: '/Users/me/bh' }, '/Users/me'),
      { configFile: '/Users/me/bh/config.yaml', stateDir: '/Users/me/bh/state', logDir: '/Users/me/bh/logs', cacheDir: '/Users/me/bh/cache', runtimeDir: '/Users/me/bh/run' },
    ],
    [
      'BACKHAUL_HOME on Windows (no APPDATA needed)',
      host('win32', 'user', { BACKHAUL_HOME: 'D:\\Backhaul' }, 'C:\\Users\\me'),
      { configFile: 'D:\\Backhaul\\config.yaml', stateDir: 'D:\\Backhaul\\state', logDir: 'D:\\Backhaul\\logs', cacheDir: 'D:\\Backhaul\\cache', runtimeDir: 'D:\\Backhaul\\run' },
    ],
  ])('%s', (_name, description, expected) => {
    expect(resolvePaths(description)).toEqual(expected);
  });

  it.each<[string, HostDescription, RegExp]>([
    ['Windows user without APPDATA', host('win32', 'user', { LOCALAPPDATA: WIN_ENV.LOCALAPPDATA }), /^%APPDATA% is not set to an absolute path/],
    ['Windows user without LOCALAPPDATA', host('win32', 'user', { APPDATA: WIN_ENV.APPDATA }), /^%LOCALAPPDATA% is not set/],
    ['Windows user with a relative APPDATA', host('win32', 'user', { ...WIN_ENV, APPDATA: 'AppData' }), /^%APPDATA% is not set to an absolute path/],
    ['Windows system without PROGRAMDATA', host('win32', 'system', { APPDATA: WIN_ENV.APPDATA }), /^%PROGRAMDATA% is not set/],
    ['relative BACKHAUL_HOME', host('linux', 'user', { BACKHAUL_HOME: 'bh' }), /^BACKHAUL_HOME must be an absolute path \(got "bh"\)$/],
    ['Windows BACKHAUL_HOME without a drive', host('win32', 'user', { ...WIN_ENV, BACKHAUL_HOME: 'Backhaul' }), /^BACKHAUL_HOME must be an absolute path/],
    ['Linux user without a home directory', host('linux', 'user', {}, ''), /^cannot find the home directory/],
    ['macOS user with a relative home', host('darwin', 'user', {}, 'me'), /^cannot find the home directory/],
  ])('%s → PathsError', (_name, description, message) => {
    let thrown: unknown;
    try {
      resolvePaths(description);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PathsError);
    const error = thrown as PathsError;
    expect(error.message).toMatch(message);
    expect(error.code).toBe('paths.unresolved');
    expect(error.hint.length).toBeGreaterThan(0);
  });

  it('says which variable to set and its usual value', () => {
    expect(() => resolvePaths(host('win32', 'user', { LOCALAPPDATA: WIN_ENV.LOCALAPPDATA }))).toThrow(
      expect.objectContaining({ hint: 'set APPDATA (normally C:\\Users\\<you>\\AppData\\Roaming) or set BACKHAUL_HOME' }),
    );
  });

  it('the system locations need no home directory', () => {
    expect(resolvePaths(host('linux', 'system', {}, '')).configFile).toBe('/etc/backhaul/config.yaml');
    expect(resolvePaths(host('darwin', 'system', {}, '')).logDir).toBe('/Library/Logs/Backhaul');
  });
});

describe('currentHost', () => {
  it('describes this process', () => {
    const description = currentHost('system');
    expect(description.platform).toBe(process.platform);
    expect(description.env).toBe(process.env);
    expect(description.mode).toBe('system');
    expect(currentHost().mode).toBe('user');
    expect(() => resolvePaths(currentHost())).not.toThrow();
  });
});
