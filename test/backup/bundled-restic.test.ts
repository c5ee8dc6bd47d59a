/**
 * The bundled restic is run only when it matches its pin in resources/restic.json; a mismatch is a
 * clear error and is never replaced silently by a restic on PATH. The committed pin is the real
 * restic 0.18.0 binary from Debian trixie's package (the one scripts/setup-system.sh caches).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkBundledRestic, sha256File, type ResticManifest } from '../../src/backup/bundled-restic.js';
import { locateRestic } from '../../src/backup/restic-binary.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';

let dir: string;
let resources: string;
let bundled: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'backhaul-bundle-'));
  resources = path.join(dir, 'resources');
  bundled = path.join(resources, 'bin', 'linux-x64', 'restic');
  await mkdir(path.dirname(bundled), { recursive: true });
  await writeFile(bundled, '#!/bin/sh\necho restic\n');
  await chmod(bundled, 0o755);
});
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const pin = (sha256: string) => writeFile(path.join(resources, 'restic.json'), JSON.stringify({ version: '0.18.0', binaries: { 'linux-x64': { sha256 } } }));

describe('the bundled restic pin', () => {
  it('accepts the pinned binary', async () => {
    await pin(createHash('sha256').update('#!/bin/sh\necho restic\n').digest('hex'));
    expect(await checkBundledRestic(bundled, resources, 'linux-x64')).toEqual({ ok: true });
  });

  it('refuses a changed binary with both hashes and the fix, and locateRestic does not fall back to PATH', async () => {
    await pin('0'.repeat(64));
    const check = await checkBundledRestic(bundled, resources, 'linux-x64');
    expect(check).toMatchObject({ ok: false, problem: expect.stringMatching(/does not match its pinned SHA-256 \(restic 0\.18\.0: expected 0{64}, got [0-9a-f]{64}\)/) as unknown, fix: expect.stringMatching(/^Reinstall Backhaul/) as unknown });
    const pathDir = path.join(dir, 'path');
    await mkdir(pathDir);
    await writeFile(path.join(pathDir, 'restic'), '#!/bin/sh\n');
    await chmod(path.join(pathDir, 'restic'), 0o755);
    const runner = new ReplayingCommandRunner([]); // nothing may run: not the bundled one, not PATH's
    await expect(locateRestic({ resourcesDir: resources, platform: 'linux', arch: 'x64', pathEnv: pathDir }, runner)).rejects.toMatchObject({ problem: expect.stringMatching(/does not match its pinned SHA-256/) as unknown });
    runner.assertDone();
  });

  it('refuses a bundled binary with no pin for its platform', async () => {
    expect(await checkBundledRestic(bundled, resources, 'linux-x64')).toMatchObject({ ok: false, problem: expect.stringMatching(/has no pinned SHA-256 for linux-x64/) as unknown });
  });

  it('the committed pin is the real restic 0.18.0 (when setup-system.sh cached it)', async (ctx) => {
    const manifest = JSON.parse(await readFile(path.join(import.meta.dirname, '..', '..', 'resources', 'restic.json'), 'utf8')) as ResticManifest;
    expect(manifest.version).toBe('0.18.0');
    const cached = process.env.BACKHAUL_TEST_RESTIC_018 ?? '/var/tmp/backhaul-cache/restic-0.18.0/restic';
    const actual = await sha256File(cached).catch(() => undefined);
    if (actual === undefined) ctx.skip();
    expect(manifest.binaries['linux-x64']?.sha256).toBe(actual);
  });
});

describe('scripts/bundle-restic.mjs', () => {
  const script = path.join(import.meta.dirname, '..', '..', 'scripts', 'bundle-restic.mjs');
  const run = promisify(execFile);

  it('refuses a binary that is not the pinned one, and a platform without a pin', async () => {
    await expect(run(process.execPath, [script, 'linux-x64', '--from', bundled, '--out', path.join(dir, 'out')])).rejects.toMatchObject({ stderr: expect.stringMatching(/is not the pinned restic 0\.18\.0 for linux-x64/) as unknown });
    await expect(run(process.execPath, [script, 'darwin-arm64', '--from', bundled, '--out', path.join(dir, 'out')])).rejects.toMatchObject({ stderr: expect.stringMatching(/pins no restic for darwin-arm64/) as unknown });
  });

  it('bundles the real pinned binary into a staging dir, which the agent-side check accepts', async (ctx) => {
    const cached = process.env.BACKHAUL_TEST_RESTIC_018 ?? '/var/tmp/backhaul-cache/restic-0.18.0/restic';
    if ((await sha256File(cached).catch(() => undefined)) === undefined) ctx.skip();
    const out = path.join(dir, 'staging');
    await run(process.execPath, [script, 'linux-x64', '--from', cached, '--out', out]);
    expect(await checkBundledRestic(path.join(out, 'bin', 'linux-x64', 'restic'), out, 'linux-x64')).toEqual({ ok: true });
  });
});
