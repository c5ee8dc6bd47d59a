/**
 * A damaged or swapped bundled restic is on the agent's health list from the moment it starts, and
 * a run refuses it with backup.engine-missing (never falling back to a restic on PATH). The pin
 * format is resources/restic.json's; the bundled binary here is a stand-in script whose hash the
 * test pins (or deliberately doesn't match).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { BUNDLED_RESTIC_HEALTH_CODE, bundledResticHealth } from '../../src/agent/bundled-restic-health.js';
import { AgentClient } from '../../src/api/client.js';
import { socketTransport } from '../../src/api/node-transport.js';
import { resolvePaths } from '../../src/os/paths.js';

const KEY = `${process.platform}-${process.arch}`;
const now = () => new Date('2026-11-25T20:00:00Z');

/** A resources dir with a bundled "restic" and a pin that matches it (or, with `pinned`, another hash). */
async function bundle(pinned?: string): Promise<{ dir: string; file: string; sha256: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'bh-bundled-restic-'));
  const bytes = '#!/bin/sh\necho "restic 0.18.0 compiled with go1.24.1 on linux/amd64"\n';
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await mkdir(join(dir, 'bin', KEY), { recursive: true });
  const file = join(dir, 'bin', KEY, 'restic');
  await writeFile(file, bytes, { mode: 0o755 });
  await writeFile(join(dir, 'restic.json'), JSON.stringify({ version: '0.18.0', binaries: { [KEY]: { sha256: pinned ?? sha256 } } }));
  return { dir, file, sha256 };
}

describe('bundledResticHealth', () => {
  it('says nothing when the bundled binary matches its pin, when none is bundled, or when settings.resticPath picks another', async () => {
    const good = await bundle();
    expect(await bundledResticHealth({ resourcesDir: good.dir, platform: process.platform, arch: process.arch, now })).toBeUndefined();
    expect(await bundledResticHealth({ resourcesDir: join(good.dir, 'none'), platform: process.platform, arch: process.arch, now })).toBeUndefined();
    const bad = await bundle('0'.repeat(64));
    expect(await bundledResticHealth({ resourcesDir: bad.dir, platform: process.platform, arch: process.arch, configuredPath: '/usr/bin/restic', now })).toBeUndefined();
  });

  it('reports a binary that does not match, with both hashes and the fix', async () => {
    const bad = await bundle('0'.repeat(64));
    const item = await bundledResticHealth({ resourcesDir: bad.dir, platform: process.platform, arch: process.arch, now });
    expect(item).toEqual({
      code: BUNDLED_RESTIC_HEALTH_CODE,
      title: 'The bundled restic failed its checksum',
      text: `the bundled restic at ${bad.file} does not match its pinned SHA-256 (restic 0.18.0: expected ${'0'.repeat(64)}, got ${bad.sha256}); the installation is damaged or was changed, so it is not run. Backups that use it fail until this is fixed. Reinstall Backhaul from a trusted package, or set settings.resticPath to a restic binary you trust.`,
      severity: 'error',
      badge: true,
      since: '2026-11-25T20:00:00.000Z',
    });
  });

  it('reports a bundled binary the manifest has no pin for', async () => {
    const { dir, file } = await bundle();
    await writeFile(join(dir, 'restic.json'), JSON.stringify({ version: '0.18.0', binaries: {} }));
    const item = await bundledResticHealth({ resourcesDir: dir, platform: process.platform, arch: process.arch, now });
    expect(item?.text).toContain(`the bundled restic at ${file} has no pinned SHA-256 for ${KEY}`);
  });
});

describe.runIf(process.platform === 'linux')('an agent whose bundled restic was swapped', () => {
  let agent: Agent | undefined;
  afterEach(async () => { await agent?.stop(); agent = undefined; });

  it('shows the health item at start, and a run fails with backup.engine-missing instead of using PATH\'s restic', async () => {
    const home = await mkdtemp(join(tmpdir(), 'bh-agent-bundled-'));
    await mkdir(join(home, 'data'));
    await writeFile(join(home, 'config.yaml'), `jobs:\n  nightly: { sources: [${join(home, 'data')}], repository: ${join(home, 'repo')}, password: "file:${join(home, 'pw')}" }\n`);
    await writeFile(join(home, 'pw'), 'test-password\n', { mode: 0o600 });
    const swapped = await bundle('f'.repeat(64));
    const paths = resolvePaths({ platform: process.platform, env: { BACKHAUL_HOME: home }, homedir: home, mode: 'user' });
    agent = await Agent.start({ paths, mode: 'user', version: 'test', resourcesDir: swapped.dir });
    const client = new AgentClient(socketTransport(agent.socket));
    expect((await client.health()).find((item) => item.code === BUNDLED_RESTIC_HEALTH_CODE)).toMatchObject({ severity: 'error', badge: true });

    await client.startRun('nightly');
    // Bounded wait for the record: 600 × 50 ms.
    for (let i = 0; i < 600 && (await client.history()).records.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const [record] = (await client.history()).records;
    expect(record).toMatchObject({ job: 'nightly', end: 'failed', failure: { code: 'backup.engine-missing' } });
    expect(record?.failure?.message).toContain('does not match its pinned SHA-256');
  });
});
