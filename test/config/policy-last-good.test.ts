/**
 * Which policy is in force when the current one is broken: the last good copy (kept in the state
 * directory, so it survives a restart), or — with no good copy — fail closed. No policy at all
 * withdraws the copy.
 */
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAST_GOOD_FILE, resolvePolicy } from '../../src/config/policy/last-good.js';
import { parseYamlPolicy, type PolicyRead } from '../../src/config/policy/read.js';

const FILE = '/etc/backhaul/policy.yaml';
const good = parseYamlPolicy('requireCertificateAuth: true\nconfig: { jobs: { nightly: { streams: 2 } } }\n', FILE);
const bad = parseYamlPolicy('requireCertificateAuth: maybe\n', FILE);
const absent: PolicyRead = { state: 'absent', source: FILE };
const clock = () => new Date('2026-11-25T10:00:00Z');

describe('the last good policy', () => {
  it('first start with a bad policy fails closed, with the errors', async () => {
    const state = await mkdtemp(join(tmpdir(), 'backhaul-state-'));
    expect(await resolvePolicy(bad, state, clock)).toMatchObject({ state: 'fail-closed', source: FILE, errors: [{ path: 'requireCertificateAuth' }] });
  });

  it('a good policy is in force and saved (0600); a bad one later keeps it in force, also after a restart', async () => {
    const state = await mkdtemp(join(tmpdir(), 'backhaul-state-'));
    expect(good.state).toBe('valid');
    const first = await resolvePolicy(good, state, clock);
    expect(first).toMatchObject({ state: 'current', loaded: { source: FILE, policy: { requireCertificateAuth: true } } });
    expect((await stat(join(state, LAST_GOOD_FILE))).mode & 0o777).toBe(0o600);
    // A fresh call reads only the disk: as an agent restarted with a broken policy would.
    const kept = await resolvePolicy(bad, state, clock);
    expect(kept).toMatchObject({ state: 'last-good', savedAt: '2026-11-25T10:00:00.000Z', source: FILE, loaded: { policy: { requireCertificateAuth: true, config: { jobs: { nightly: { streams: 2 } } } } }, errors: [{ path: 'requireCertificateAuth' }] });
  });

  it('no policy withdraws the saved copy: a bad policy after that fails closed again', async () => {
    const state = await mkdtemp(join(tmpdir(), 'backhaul-state-'));
    await resolvePolicy(good, state, clock);
    expect(await resolvePolicy(absent, state, clock)).toEqual({ state: 'none' });
    await expect(readFile(join(state, LAST_GOOD_FILE))).rejects.toThrow();
    expect((await resolvePolicy(bad, state, clock)).state).toBe('fail-closed');
  });

  it('a tampered or corrupt copy is not trusted', async () => {
    const state = await mkdtemp(join(tmpdir(), 'backhaul-state-'));
    await writeFile(join(state, LAST_GOOD_FILE), JSON.stringify({ savedAt: 'x', source: FILE, policy: { allowLegacyCiphers: 'yes' } }));
    expect((await resolvePolicy(bad, state, clock)).state).toBe('fail-closed');
    await writeFile(join(state, LAST_GOOD_FILE), '{not json');
    expect((await resolvePolicy(bad, state, clock)).state).toBe('fail-closed');
  });
});
