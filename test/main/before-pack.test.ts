/**
 * The installers' restic: electron-builder's beforePack hook (electron/before-pack.mjs) stages the
 * pinned binary beside the asar, and the agent finds it there and checks the same pin before it
 * runs it (src/agent/run-job.ts resourcesDirFor, src/backup/restic-binary.ts locateRestic). The
 * real linux-x64 pin is exercised with the Debian trixie 0.18.0 binary scripts/setup-system.sh
 * --test caches (shared/reference/deps.md); other platforms have no pin yet and must fail the build.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resourcesDirFor } from '../../src/agent/run-job.js';
import { locateRestic } from '../../src/backup/restic-binary.js';
import { createCommandRunner } from '../../src/os/command.js';
import { RESTIC_018_PATH } from '../helpers/restic-lab.js';

interface StageResult { readonly key: string; readonly file: string; readonly sha256: string; readonly version: string }
interface BeforePackModule {
  resticKey(platform: string, arch: number | string): string;
  stageRestic(options: { key: string; source: string | undefined; manifestFile?: string; stagingDir: string }): Promise<StageResult>;
}
/** Where the hook (and the .deb's build) read the binary from: scripts/bundle-restic.mjs. */
interface BundleResticModule {
  resticSource(key: string, env?: Record<string, string | undefined>): string | undefined;
}

const root = join(import.meta.dirname, '..', '..');
const hook = await import(join(root, 'electron', 'before-pack.mjs')) as BeforePackModule;
const bundle = await import(join(root, 'scripts', 'bundle-restic.mjs')) as BundleResticModule;
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bh-before-pack-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => { await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true }))); });

/** A manifest pinning `bytes` for `key`, and the binary itself. */
async function pinned(key: string, bytes: Buffer): Promise<{ manifestFile: string; source: string; sha256: string }> {
  const dir = await tempDir();
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(dir, 'restic.json'), JSON.stringify({ version: '0.18.0', binaries: { [key]: { sha256 } } }));
  await writeFile(join(dir, 'restic-bin'), bytes);
  return { manifestFile: join(dir, 'restic.json'), source: join(dir, 'restic-bin'), sha256 };
}

describe('beforePack: restic staged for the platform being packed', () => {
  it('names platforms the way resources/restic.json does (builder-util Arch numbers → Node names)', () => {
    expect(hook.resticKey('linux', 1)).toBe('linux-x64');
    expect(hook.resticKey('darwin', 3)).toBe('darwin-arm64');
    expect(hook.resticKey('win32', 1)).toBe('win32-x64');
    expect(() => hook.resticKey('linux', 9)).toThrow('unknown architecture 9');
  });

  it('reads binaries from BACKHAUL_RESTIC_DIR/<key>/, restic.exe on Windows, and the cached Debian binary for linux-x64 by default', () => {
    expect(bundle.resticSource('win32-x64', { BACKHAUL_RESTIC_DIR: '/rel' })).toBe('/rel/win32-x64/restic.exe');
    expect(bundle.resticSource('darwin-arm64', { BACKHAUL_RESTIC_DIR: '/rel' })).toBe('/rel/darwin-arm64/restic');
    expect(bundle.resticSource('linux-x64', {})).toBe('/var/tmp/backhaul-cache/restic-0.18.0/restic');
    expect(bundle.resticSource('darwin-arm64', {})).toBeUndefined();
  });

  it('stages a binary that matches its pin, with a manifest holding only that pin, in a fresh directory', async () => {
    const { manifestFile, source, sha256 } = await pinned('win32-x64', Buffer.from('MZ not really restic'));
    const stagingDir = join(await tempDir(), 'staging');
    await mkdir(join(stagingDir, 'bin', 'darwin-arm64'), { recursive: true });
    await writeFile(join(stagingDir, 'bin', 'darwin-arm64', 'restic'), 'the previous arch');
    const staged = await hook.stageRestic({ key: 'win32-x64', source, manifestFile, stagingDir });
    expect(staged).toEqual({ key: 'win32-x64', file: join(stagingDir, 'bin', 'win32-x64', 'restic.exe'), sha256, version: '0.18.0' });
    expect(await readFile(staged.file, 'utf8')).toBe('MZ not really restic');
    expect(JSON.parse(await readFile(join(stagingDir, 'restic.json'), 'utf8'))).toEqual({ version: '0.18.0', binaries: { 'win32-x64': { sha256 } } });
    // A multi-arch build packs one arch after the other: the previous one's binary must be gone.
    expect(existsSync(join(stagingDir, 'bin', 'darwin-arm64'))).toBe(false);
  });

  it('fails the build for a binary that is not the pinned one, naming both hashes', async () => {
    const { manifestFile, sha256 } = await pinned('linux-x64', Buffer.from('the real one'));
    const other = join(await tempDir(), 'restic');
    await writeFile(other, 'a swapped binary');
    const otherSha = createHash('sha256').update('a swapped binary').digest('hex');
    const stagingDir = join(await tempDir(), 'staging');
    await expect(hook.stageRestic({ key: 'linux-x64', source: other, manifestFile, stagingDir }))
      .rejects.toThrow(`beforePack: ${other} is not the pinned restic 0.18.0 for linux-x64 (sha256 ${otherSha}, pinned ${sha256}).`);
    expect(existsSync(stagingDir)).toBe(false);
  });

  it('fails the build for a platform resources/restic.json does not pin (macOS and Windows today), saying where the pin comes from', async () => {
    await expect(hook.stageRestic({ key: 'darwin-arm64', source: '/x/restic', stagingDir: join(await tempDir(), 's') }))
      .rejects.toThrow(/pins no restic for darwin-arm64\. Add "darwin-arm64": \{ "sha256": … \} from restic 0\.18\.0's signed SHA256SUMS/);
  });

  it('fails with what to set when there is no binary to bundle', async () => {
    const { manifestFile } = await pinned('win32-x64', Buffer.from('x'));
    await expect(hook.stageRestic({ key: 'win32-x64', source: undefined, manifestFile, stagingDir: join(await tempDir(), 's') }))
      .rejects.toThrow('set BACKHAUL_RESTIC_DIR to a directory with win32-x64/restic.exe');
    await expect(hook.stageRestic({ key: 'win32-x64', source: '/nonexistent/restic.exe', manifestFile, stagingDir: join(await tempDir(), 's') }))
      .rejects.toThrow("can't read the restic for win32-x64 at /nonexistent/restic.exe (ENOENT)");
  });
});

describe('the packaged agent finds the staged restic beside the asar', () => {
  it('maps a module inside app.asar to <Resources>/restic, and a checkout or the agent package to resources/', () => {
    expect(resourcesDirFor('/Applications/Backhaul.app/Contents/Resources/app.asar/dist/agent')).toBe('/Applications/Backhaul.app/Contents/Resources/restic');
    expect(resourcesDirFor('/opt/Backhaul/resources/app.asar/dist/agent')).toBe('/opt/Backhaul/resources/restic');
    expect(resourcesDirFor('C:\\Program Files\\Backhaul\\resources\\app.asar\\dist\\agent')).toBe(join('C:\\Program Files\\Backhaul\\resources', 'restic'));
    expect(resourcesDirFor('/usr/lib/backhaul/dist/agent')).toBe('/usr/lib/backhaul/resources');
    // A folder merely named like the asar's unpacked twin is not the asar.
    expect(resourcesDirFor('/srv/app.asar.unpacked/dist/agent')).toBe('/srv/app.asar.unpacked/resources');
  });

  it.skipIf(!existsSync(RESTIC_018_PATH))('stages the real pinned linux-x64 restic 0.18.0, and locateRestic runs it from <Resources>/restic after checking the pin', async () => {
    const resources = join(await tempDir(), 'Resources');
    const staged = await hook.stageRestic({ key: 'linux-x64', source: RESTIC_018_PATH, stagingDir: join(resources, 'restic') });
    const resourcesDir = resourcesDirFor(join(resources, 'app.asar', 'dist', 'agent'));
    const binary = await locateRestic({ resourcesDir, platform: 'linux', arch: 'x64', pathEnv: '' }, createCommandRunner());
    expect(binary.path).toBe(staged.file);
    expect(binary.version).toMatchObject({ major: 0, minor: 18, patch: 0 });

    // The same install with the binary swapped afterwards: refused at start, never run.
    const swapped = join(await tempDir(), 'Resources');
    await cp(resources, swapped, { recursive: true });
    await writeFile(join(swapped, 'restic', 'bin', 'linux-x64', 'restic'), '#!/bin/sh\necho restic 0.18.0\n', { mode: 0o755 });
    await expect(locateRestic({ resourcesDir: join(swapped, 'restic'), platform: 'linux', arch: 'x64', pathEnv: '' }, createCommandRunner()))
      .rejects.toThrow('does not match its pinned SHA-256');
  });
});
