import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  compareVersions,
  locateRestic,
  parseResticVersion,
  resticCandidates,
  resticFeatures,
  ResticBinaryError,
  resticInstallCommand,
} from '../../src/backup/restic-binary.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';
import { fixture } from './restic-fixtures.js';

describe('parseResticVersion', () => {
  it('reads both recorded versions (restic-0.14.0/version.txt, restic-0.18.0/version.txt)', () => {
    expect(parseResticVersion(fixture('0.14.0', 'version.txt').stdout)).toEqual({
      version: { major: 0, minor: 14, patch: 0 },
      raw: 'restic 0.14.0 compiled with go1.19.8 on linux/amd64',
    });
    expect(parseResticVersion(fixture('0.18.0', 'version.txt').stdout)?.version).toEqual({ major: 0, minor: 18, patch: 0 });
  });

  it('reads development builds and rejects anything else', () => {
    expect(parseResticVersion('restic 0.16.4-dev (compiled manually) compiled with go1.21 on linux/amd64')?.version).toEqual({
      major: 0,
      minor: 16,
      patch: 4,
    });
    expect(parseResticVersion('rclone v1.60.1')).toBeUndefined();
    expect(parseResticVersion('')).toBeUndefined();
  });
});

describe('resticFeatures', () => {
  it('gates what came after 0.14 by version', () => {
    const v = (minor: number, patch = 0) => resticFeatures({ major: 0, minor, patch });
    expect(v(14)).toEqual({ repoAndLockExitCodes: false, wrongPasswordExitCode: false, exitErrorJson: false, retryLock: false, sigintExits130: true, readConcurrency: false });
    expect(v(16)).toMatchObject({ retryLock: true, repoAndLockExitCodes: false, sigintExits130: false });
    expect(v(17)).toMatchObject({ repoAndLockExitCodes: true, wrongPasswordExitCode: false });
    expect(v(17, 1)).toMatchObject({ wrongPasswordExitCode: true, exitErrorJson: false });
    expect(v(18)).toEqual({ repoAndLockExitCodes: true, wrongPasswordExitCode: true, exitErrorJson: true, retryLock: true, sigintExits130: false, readConcurrency: true });
    expect(v(19)).toMatchObject({ sigintExits130: true });
    expect(compareVersions({ major: 1, minor: 0, patch: 0 }, { major: 0, minor: 99, patch: 9 })).toBeGreaterThan(0);
  });
});

describe('resticCandidates', () => {
  it('orders configured path, then bundled, then PATH', () => {
    expect(resticCandidates({ configuredPath: '/opt/restic', resourcesDir: '/r', platform: 'linux', arch: 'x64', pathEnv: '/usr/bin' })).toEqual([
      '/opt/restic',
    ]);
    expect(resticCandidates({ resourcesDir: '/r', platform: 'linux', arch: 'x64', pathEnv: '/usr/local/bin::/usr/bin' })).toEqual([
      '/r/bin/linux-x64/restic',
      '/usr/local/bin/restic',
      '/usr/bin/restic',
    ]);
    expect(
      resticCandidates({ resourcesDir: 'C:\\App\\resources', platform: 'win32', arch: 'x64', pathEnv: 'C:\\Windows;"C:\\Tools\\restic"' }),
    ).toEqual(['C:\\App\\resources\\bin\\win32-x64\\restic.exe', 'C:\\Windows\\restic.exe', 'C:\\Tools\\restic\\restic.exe']);
  });
});

describe('locateRestic', () => {
  let dir: string;
  let resourcesDir: string;
  let bundled: string;
  let pathA: string;
  let pathB: string;
  const version014 = fixture('0.14.0', 'version.txt');
  const version018 = fixture('0.18.0', 'version.txt');

  async function exe(file: string, mode = 0o755): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, '#!/bin/sh\n');
    await chmod(file, mode);
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'backhaul-locate-'));
    resourcesDir = path.join(dir, 'resources');
    bundled = path.join(resourcesDir, 'bin', 'linux-x64', 'restic');
    pathA = path.join(dir, 'a');
    pathB = path.join(dir, 'b');
    await mkdir(pathA);
    await mkdir(pathB);
    // The bundled binary is pinned (src/backup/bundled-restic.ts): pin the fake's content.
    await mkdir(resourcesDir, { recursive: true });
    await writeFile(path.join(resourcesDir, 'restic.json'), JSON.stringify({ version: '0.18.0', binaries: { 'linux-x64': { sha256: createHash('sha256').update('#!/bin/sh\n').digest('hex') } } }));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const opts = (extra: { configuredPath?: string } = {}) => ({
    ...extra,
    resourcesDir,
    platform: 'linux' as const,
    arch: 'x64',
    pathEnv: `${pathA}:${pathB}`,
  });

  it('prefers the bundled binary over PATH and reports its version', async () => {
    await exe(bundled);
    await exe(path.join(pathA, 'restic'));
    const runner = new ReplayingCommandRunner([{ argv: [bundled, 'version'], reply: version018 }]);
    await expect(locateRestic(opts(), runner)).resolves.toEqual({
      path: bundled,
      version: { major: 0, minor: 18, patch: 0 },
      raw: 'restic 0.18.0 compiled with go1.24.4 on linux/amd64',
    });
    runner.assertDone();
  });

  it('searches PATH in order, skipping files that are not executable', async () => {
    await exe(path.join(pathA, 'restic'), 0o644);
    await exe(path.join(pathB, 'restic'));
    const runner = new ReplayingCommandRunner([{ argv: [path.join(pathB, 'restic'), 'version'], reply: version014 }]);
    await expect(locateRestic(opts(), runner)).resolves.toMatchObject({ path: path.join(pathB, 'restic'), version: { minor: 14 } });
    runner.assertDone();
  });

  it('uses a configured path and nothing else', async () => {
    const configured = path.join(dir, 'custom-restic');
    await exe(configured);
    await exe(bundled);
    const runner = new ReplayingCommandRunner([{ argv: [configured, 'version'], reply: version014 }]);
    await expect(locateRestic(opts({ configuredPath: configured }), runner)).resolves.toMatchObject({ path: configured });
    runner.assertDone();
  });

  it('does not fall back when the configured path is missing', async () => {
    await exe(bundled);
    const runner = new ReplayingCommandRunner([]);
    const error = await locateRestic(opts({ configuredPath: path.join(dir, 'nope') }), runner).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResticBinaryError);
    expect(error).toMatchObject({ class: 'engine-missing' });
    expect((error as Error).message).toContain('settings.resticPath');
    runner.assertDone();
  });

  it('rejects a version older than 0.14 with the version found and the fix', async () => {
    await exe(path.join(pathA, 'restic'));
    const runner = new ReplayingCommandRunner([
      { argv: [path.join(pathA, 'restic'), 'version'], reply: { stdout: 'restic 0.12.1 compiled with go1.18 on linux/amd64\n' } },
    ]);
    const error = (await locateRestic(opts(), runner).catch((e: unknown) => e)) as ResticBinaryError;
    expect(error).toBeInstanceOf(ResticBinaryError);
    expect(error.class).toBe('engine-missing');
    expect(error.found).toEqual({ path: path.join(pathA, 'restic'), version: { major: 0, minor: 12, patch: 1 } });
    expect(error.message).toBe(
      `restic 0.12.1 at ${path.join(pathA, 'restic')} is too old: Backhaul needs restic 0.14.0 or newer. ` +
        'Install restic 0.14.0 or newer (`apt-get install restic`), or set settings.resticPath to a restic binary that works.',
    );
  });

  it('goes on to the next candidate when one does not run, and keeps the first rejection if none does', async () => {
    await exe(bundled);
    await exe(path.join(pathA, 'restic'));
    const ok = new ReplayingCommandRunner([
      { argv: [bundled, 'version'], reply: { spawnError: 'EACCES' } },
      { argv: [path.join(pathA, 'restic'), 'version'], reply: version014 },
    ]);
    await expect(locateRestic(opts(), ok)).resolves.toMatchObject({ path: path.join(pathA, 'restic') });
    const bad = new ReplayingCommandRunner([
      { argv: [bundled, 'version'], reply: { stdout: 'not restic\n' } },
      { argv: [path.join(pathA, 'restic'), 'version'], reply: { exitCode: 2, stderr: 'boom\n' } },
    ]);
    await expect(locateRestic(opts(), bad)).rejects.toThrow(`${bundled} did not report a restic version.`);
  });

  it.each([
    ['linux', 'apt-get install restic'],
    ['darwin', 'brew install restic'],
    ['win32', 'winget install restic.restic'],
  ] as const)('says how to install restic on %s when it is nowhere', async (platform, command) => {
    expect(resticInstallCommand(platform)).toBe(command);
    const runner = new ReplayingCommandRunner([]);
    const error = await locateRestic({ resourcesDir, platform, arch: 'x64', pathEnv: '' }, runner).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResticBinaryError);
    expect((error as Error).message).toBe(
      `restic was not found: not bundled with Backhaul and not on PATH. Install it with \`${command}\`, or set settings.resticPath to the restic binary.`,
    );
  });
});
