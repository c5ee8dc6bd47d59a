/**
 * The managed policy as a config layer: every combination of defaults, user file and policy, the
 * policy's rules (certificate auth, legacy ciphers, limits) on the merged config, and the locks
 * the job editor derives from it.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { editJob, lockedFields } from '../../src/config/edit.js';
import { parseConfigText } from '../../src/config/load.js';
import { validatePolicyData, type LoadedPolicy } from '../../src/config/policy/format.js';

const SOURCE = '/etc/backhaul/policy.yaml';

function policy(data: unknown): LoadedPolicy {
  const checked = validatePolicyData(data, SOURCE);
  if (!checked.ok) throw new Error(`test policy is invalid: ${JSON.stringify(checked.errors)}`);
  return { source: SOURCE, policy: checked.policy };
}

const USER = [
  'jobs:',
  '  nightly:',
  '    sources: [/home/me]',
  '    repository: /srv/repo',
  '    password: file:/etc/backhaul/nightly.pw',
  '    streams: 8',
  'profiles:',
  '  office:',
  '    type: ikev2',
  '    gateways: [vpn.example.com]',
  '    auth: { method: psk, psk: file:/etc/backhaul/office.psk }',
  '',
].join('\n');

const wholeJob = { sources: ['/data'], repository: '/srv/fleet', password: 'file:/etc/backhaul/fleet.pw', streams: 2 };

describe('config layers with a managed policy', () => {
  it('defaults only: an empty file is a config with no jobs, nothing locked', () => {
    const loaded = parseConfigText('', 'config.yaml');
    expect(loaded.ok && loaded.config).toMatchObject({ version: 1, jobs: {}, profiles: {} });
    expect(loaded.ok && [...loaded.origins.values()].every((o) => o === 'defaults')).toBe(true);
  });

  it('user file only: the user sets the keys, nothing is locked', () => {
    const loaded = parseConfigText(USER, 'config.yaml');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    expect(loaded.config.jobs['nightly']?.streams).toBe(8);
    expect(loaded.origins.get('jobs.nightly.streams')).toBe('user');
    expect(lockedFields(loaded.origins, 'nightly')).toEqual({});
  });

  it('policy only (empty user file): the policy\'s settings apply and are its own', () => {
    const loaded = parseConfigText('', 'config.yaml', policy({ config: { settings: { resticPath: '/opt/restic/restic' } } }));
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    expect(loaded.config.settings.resticPath).toBe('/opt/restic/restic');
    expect(loaded.origins.get('settings.resticPath')).toBe('policy');
  });

  it('user + policy on different keys: both apply, only the policy\'s key is locked', () => {
    const loaded = parseConfigText(USER, 'config.yaml', policy({ config: { jobs: { nightly: { excludes: ['*.iso'] } } } }));
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    expect(loaded.config.jobs['nightly']).toMatchObject({ streams: 8, excludes: ['*.iso'] });
    expect(Object.keys(lockedFields(loaded.origins, 'nightly'))).toEqual(['excludes']);
  });

  it('policy locks a key the user also set: the policy\'s value wins and the edit is refused, naming the key', async () => {
    const loadedPolicy = policy({ config: { jobs: { nightly: { streams: 2 } } } });
    const loaded = parseConfigText(USER, 'config.yaml', loadedPolicy);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    expect(loaded.config.jobs['nightly']?.streams).toBe(2);
    expect(loaded.origins.get('jobs.nightly.streams')).toBe('policy');
    const dir = await mkdtemp(join(tmpdir(), 'backhaul-policy-'));
    const file = join(dir, 'config.yaml');
    await writeFile(file, USER);
    const result = await editJob({ file, job: 'nightly', patch: { streams: 6 }, origins: loaded.origins, policy: loadedPolicy });
    expect(!result.ok && result.problem).toMatchObject({ code: 'config.locked', field: 'streams', message: expect.stringMatching(/^jobs\.nightly\.streams is locked by your organisation's policy/) as unknown });
    expect(await readFile(file, 'utf8')).toBe(USER);
    // An allowed field is saved, and the file is validated with the policy on top (streams stays 2).
    const allowed = await editJob({ file, job: 'nightly', patch: { excludes: ['*.tmp'] }, origins: loaded.origins, policy: loadedPolicy });
    expect(allowed.ok && allowed.loaded.config.jobs['nightly']).toMatchObject({ streams: 2, excludes: ['*.tmp'] });
  });

  it('policy sets a whole job: it exists without the user file and every editable field is locked', () => {
    const loaded = parseConfigText(USER, 'config.yaml', policy({ config: { jobs: { fleet: wholeJob } } }));
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    expect(Object.keys(loaded.config.jobs).sort()).toEqual(['fleet', 'nightly']);
    const locks = lockedFields(loaded.origins, 'fleet');
    expect(Object.keys(locks).sort()).toEqual(['bandwidthLimit', 'excludes', 'profile', 'sources', 'streams']);
    expect(locks.sources).toMatch(/^locked by your organisation's policy, which defines this whole job/);
    expect(lockedFields(loaded.origins, 'nightly')).toEqual({});
  });

  it('a profile\'s auth from the policy replaces the user\'s whole (its fields depend on the method)', () => {
    const loaded = parseConfigText(USER, 'config.yaml', policy({ requireCertificateAuth: true, config: { profiles: { office: { auth: { method: 'certificate', certificate: '/etc/backhaul/laptop.crt', key: 'file:/etc/backhaul/laptop.key' } } } } }));
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    expect(loaded.config.profiles['office']?.auth).toEqual({ method: 'certificate', certificate: '/etc/backhaul/laptop.crt', key: { kind: 'file', path: '/etc/backhaul/laptop.key' } });
    expect(loaded.config.profiles['office']?.gateways).toEqual(['vpn.example.com']);
    expect(loaded.origins.get('profiles.office.auth.method')).toBe('policy');
    expect(loaded.origins.get('profiles.office.type')).toBe('user');
  });

  it('an empty policy changes nothing', () => {
    const without = parseConfigText(USER, 'config.yaml');
    const withEmpty = parseConfigText(USER, 'config.yaml', policy({}));
    expect(withEmpty.ok && without.ok && withEmpty.config).toEqual(without.ok && without.config);
  });
});

describe('the policy\'s rules on the merged config', () => {
  it('requireCertificateAuth: a PSK profile is refused, the error names the profile and the policy at the user\'s line', () => {
    const loaded = parseConfigText(USER, 'config.yaml', policy({ requireCertificateAuth: true }));
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.errors).toEqual([expect.objectContaining({ path: 'profiles.office.auth.method', line: 11, message: expect.stringMatching(/profile "office" uses a pre-shared key.*policy \(\/etc\/backhaul\/policy\.yaml\) requires certificate authentication/) as unknown })]);
  });

  it('requireCertificateAuth: a certificate profile is fine', () => {
    const cert = USER.replace('auth: { method: psk, psk: file:/etc/backhaul/office.psk }', 'auth: { method: certificate, certificate: /etc/backhaul/me.crt, key: file:/etc/backhaul/me.key }');
    expect(parseConfigText(cert, 'config.yaml', policy({ requireCertificateAuth: true })).ok).toBe(true);
  });

  it('legacy ciphers are refused unless the policy allows them; without a policy the user decides', () => {
    const legacy = USER.replace('    type: ikev2', '    type: ikev2\n    cipherPolicy: legacy');
    expect(parseConfigText(legacy, 'config.yaml').ok).toBe(true);
    const refused = parseConfigText(legacy, 'config.yaml', policy({}));
    expect(!refused.ok && refused.errors).toEqual([expect.objectContaining({ path: 'profiles.office.cipherPolicy', message: expect.stringContaining('does not allow (allowLegacyCiphers is not set)') as unknown })]);
    expect(parseConfigText(legacy, 'config.yaml', policy({ allowLegacyCiphers: true })).ok).toBe(true);
  });

  it('limits: a user value outside the range is refused; an unset one is moved into it', () => {
    const limited = policy({ limits: { streams: { min: 1, max: 4 } } });
    const refused = parseConfigText(USER, 'config.yaml', limited);
    expect(!refused.ok && refused.errors).toEqual([expect.objectContaining({ path: 'jobs.nightly.streams', line: 6, message: expect.stringContaining('outside 1–4') as unknown })]);
    const unset = parseConfigText(USER.replace('    streams: 8\n', ''), 'config.yaml', policy({ limits: { streams: { min: 1, max: 2 } } }));
    expect(unset.ok && unset.config.jobs['nightly']?.streams).toBe(2);
    const raised = parseConfigText(USER.replace('    streams: 8\n', ''), 'config.yaml', policy({ limits: { streams: { min: 6 } } }));
    expect(raised.ok && raised.config.jobs['nightly']?.streams).toBe(6);
  });

  it('limits.randomDelay: a scheduled job\'s delay outside is refused, an unset one is raised to the minimum, an unscheduled job is left alone', () => {
    const limited = policy({ limits: { randomDelay: { min: '10m', max: '1h' } } });
    const scheduled = (delay: string) => USER.replace('    streams: 8\n', `    streams: 8\n    schedule:\n      at: daily at 02:00\n${delay}`);
    const refused = parseConfigText(scheduled('      randomDelay: 2h\n'), 'config.yaml', limited);
    expect(!refused.ok && refused.errors).toEqual([expect.objectContaining({ path: 'jobs.nightly.schedule.randomDelay', line: 9, message: expect.stringContaining('2h is outside 10m–1h') as unknown })]);
    const unset = parseConfigText(scheduled(''), 'config.yaml', limited);
    expect(unset.ok && unset.config.jobs['nightly']?.schedule?.randomDelay).toBe('10m');
    expect(parseConfigText(scheduled('      randomDelay: 30m\n'), 'config.yaml', limited).ok).toBe(true);
    const unscheduled = parseConfigText(USER, 'config.yaml', limited);
    expect(unscheduled.ok && unscheduled.config.jobs['nightly']?.schedule).toBeUndefined();
  });
});
