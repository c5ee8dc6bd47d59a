import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_BACKUPS_KEPT, keepBackup, listBackups } from '../../src/config/backups.js';
import { editJob } from '../../src/config/edit.js';
import { builtinDefaults, mergeLayers, type ConfigLayer, type LayerName } from '../../src/config/layers.js';
import { parseConfigText } from '../../src/config/load.js';
import { editProfile, lockedProfileFields, profileSettings } from '../../src/config/profile-edit.js';
import { EDITABLE_PROFILE_FIELDS } from '../../src/config/profile-fields.js';

/** Hand-written: comments, uneven spacing, block and flow lists. */
const ORIGINAL = [
  '# office VPN — by hand',
  'jobs:',
  '  nightly:',
  '    sources: [/home/me]',
  '    repository: rest:http://10.99.0.1:8000/office',
  '    password: file:/etc/backhaul/nightly.pw',
  '    profile: office',
  'profiles:',
  '  office:',
  '    type: l2tp   # the old box',
  '    gateways:',
  '      - vpn1.example.com   # primary',
  '      - vpn2.example.com',
  '    routes: [10.99.0.0/24]',
  '    auth: { method: psk, psk: "file:/etc/backhaul/office.psk" }',
  '    keepaliveSeconds: 30   # LCP echo',
  '# end',
  '',
].join('\n');

const userOrigins = (text: string): ReadonlyMap<string, LayerName> => {
  const loaded = parseConfigText(text, 'test.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.origins;
};

let dir: string;
let file: string;
let backupDir: string;
let clock = Date.UTC(2026, 10, 25, 16, 45, 3, 120);
const backup = () => ({ dir: backupDir, keep: 3, now: () => new Date(clock) });
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backhaul-profile-edit-'));
  backupDir = await mkdtemp(join(tmpdir(), 'backhaul-config-backups-'));
  file = join(dir, 'config.yaml');
  await writeFile(file, ORIGINAL, { mode: 0o640 });
});

describe('editProfile', () => {
  it('changes the everyday fields in place, keeping comments and layout, and keeps a copy of the old file', async () => {
    const result = await editProfile({ file, profile: 'office', patch: { keepaliveSeconds: 15, gateways: ['vpn2.example.com', 'vpn3.example.com'], mtu: 1380 }, origins: userOrigins(ORIGINAL), backup: backup() });
    expect(result.ok).toBe(true);
    expect(await readFile(file, 'utf8')).toBe(
      ORIGINAL.replace('      - vpn1.example.com   # primary\n      - vpn2.example.com\n', '      - vpn2.example.com\n      - vpn3.example.com\n')
        .replace('    keepaliveSeconds: 30   # LCP echo\n', '    keepaliveSeconds: 15   # LCP echo\n    mtu: 1380\n'),
    );
    expect(result.ok && result.loaded.config.profiles['office']).toMatchObject({ keepaliveSeconds: 15, mtu: 1380, gateways: ['vpn2.example.com', 'vpn3.example.com'] });
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    expect(await readdir(dir)).toEqual(['config.yaml']);
    const copies = await listBackups(backupDir, 'config.yaml');
    expect(copies).toEqual(['config.yaml.20261125T164503120Z.bak']);
    expect(await readFile(join(backupDir, copies[0] ?? ''), 'utf8')).toBe(ORIGINAL);
    expect((await stat(join(backupDir, copies[0] ?? ''))).mode & 0o777).toBe(0o640);
  });

  it('null removes a key (back to its default)', async () => {
    const result = await editProfile({ file, profile: 'office', patch: { keepaliveSeconds: null }, origins: userOrigins(ORIGINAL) });
    expect(result.ok && result.loaded.config.profiles['office']?.keepaliveSeconds).toBe(30);
    expect(await readFile(file, 'utf8')).toBe(ORIGINAL.replace('    keepaliveSeconds: 30   # LCP echo\n', ''));
  });

  it('refuses an invalid value naming the field and the fix; nothing written, no copy made', async () => {
    const result = await editProfile({ file, profile: 'office', patch: { routes: ['10.99.0.1/24'] }, origins: userOrigins(ORIGINAL), backup: backup() });
    expect(result).toEqual({
      ok: false,
      problem: { code: 'config.invalid-value', field: 'routes', message: expect.stringMatching(/^profiles\.office\.routes\[0\]: .*10\.99\.0\.0\/24/) as unknown, hint: expect.stringContaining('CIDRs') as unknown },
    });
    const mtu = await editProfile({ file, profile: 'office', patch: { mtu: 9000 }, origins: userOrigins(ORIGINAL) });
    expect(!mtu.ok && mtu.problem).toMatchObject({ field: 'mtu', message: 'profiles.office.mtu: must be 576–1500, got 9000' });
    const full = await editProfile({ file, profile: 'office', patch: { fullTunnel: true }, origins: userOrigins(ORIGINAL) });
    expect(!full.ok && full.problem).toMatchObject({ code: 'config.invalid-value', field: 'fullTunnel', message: expect.stringContaining('split routes make no sense') as unknown });
    expect(await readFile(file, 'utf8')).toBe(ORIGINAL);
    expect(await listBackups(backupDir, 'config.yaml')).toEqual([]);
  });

  it('refuses secrets and security settings, saying why', async () => {
    for (const [field, why] of [['auth', 'secret'], ['type', 'tunnel type'], ['cipherPolicy', 'security decision'], ['espProposals', 'cipher policy']] as const) {
      const result = await editProfile({ file, profile: 'office', patch: { [field]: 'x' }, origins: userOrigins(ORIGINAL) });
      expect(!result.ok && result.problem).toMatchObject({ code: 'config.not-editable', field, message: expect.stringContaining(why) as unknown });
    }
    const unknown = await editProfile({ file, profile: 'office', patch: { colour: 'red' }, origins: userOrigins(ORIGINAL) });
    expect(!unknown.ok && unknown.problem).toMatchObject({ code: 'config.not-editable', hint: expect.stringContaining('gateways, routes') as unknown });
    expect(await readFile(file, 'utf8')).toBe(ORIGINAL);
  });

  it('refuses what the managed policy sets; a profile only the policy defines is locked whole', async () => {
    const user: ConfigLayer = { name: 'user', data: parse(ORIGINAL) as unknown };
    const policy: ConfigLayer = {
      name: 'policy',
      data: { profiles: { office: { keepaliveSeconds: 20 }, corp: { type: 'ikev2', gateways: ['corp.example.com'], auth: { method: 'certificate', certificate: '/etc/c.pem' } } } },
    };
    const { origins } = mergeLayers(builtinDefaults(), user, policy);
    expect(lockedProfileFields(origins, 'office')).toEqual({ keepaliveSeconds: expect.stringMatching(/^locked by your organisation's policy/) as unknown });
    expect(Object.keys(lockedProfileFields(origins, 'corp'))).toEqual([...EDITABLE_PROFILE_FIELDS]);
    expect(lockedProfileFields(origins, 'corp').gateways).toContain('defines this whole profile');
    const locked = await editProfile({ file, profile: 'office', patch: { mtu: 1400, keepaliveSeconds: 10 }, origins });
    expect(!locked.ok && locked.problem).toMatchObject({ code: 'config.locked', field: 'keepaliveSeconds', message: expect.stringMatching(/^profiles\.office\.keepaliveSeconds is locked by your organisation's policy/) as unknown });
    expect(await readFile(file, 'utf8')).toBe(ORIGINAL);
  });

  it('an unknown profile is config.unknown-profile', async () => {
    const result = await editProfile({ file, profile: 'nope', patch: { mtu: 1400 }, origins: userOrigins(ORIGINAL) });
    expect(!result.ok && result.problem.code).toBe('config.unknown-profile');
  });

  it('settings show the values the agent runs with, defaults filled in', () => {
    const loaded = parseConfigText(ORIGINAL, 'test.yaml');
    const office = loaded.ok ? loaded.config.profiles['office'] : undefined;
    if (office === undefined) throw new Error('no profile');
    expect(profileSettings(office)).toEqual({
      gateways: ['vpn1.example.com', 'vpn2.example.com'], routes: ['10.99.0.0/24'], fullTunnel: false, driver: 'auto',
      keepaliveSeconds: 30, keepaliveFailures: 4, stallIntervals: 4, reconnectAttempts: 10, reconnectDeadlineSeconds: 600, mssClamp: false,
    });
  });

  it('fuzz: any patch of editable fields either is written and reads back as sent, or is refused with the file untouched', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          keepaliveSeconds: fc.oneof(fc.integer({ min: -5, max: 400 }), fc.constant(null)),
          mtu: fc.oneof(fc.integer({ min: 500, max: 1600 }), fc.constant(null)),
          gateways: fc.array(fc.constantFrom('vpn.example.com', '192.0.2.1', 'bad host', '2001:db8::1', '#x'), { maxLength: 3 }),
          mssClamp: fc.boolean(),
        }, { requiredKeys: [] }),
        async (patch) => {
          await writeFile(file, ORIGINAL);
          const result = await editProfile({ file, profile: 'office', patch, origins: userOrigins(ORIGINAL) });
          const text = await readFile(file, 'utf8');
          if (!result.ok) {
            expect(text).toBe(ORIGINAL);
            return;
          }
          const office = result.loaded.config.profiles['office'];
          for (const [key, value] of Object.entries(patch)) {
            if (value !== null) expect(office?.[key as keyof typeof office]).toEqual(value);
          }
          expect(text).toContain('# office VPN — by hand');
          expect(text).toContain('type: l2tp   # the old box');
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('backups of the config file', () => {
  it('keeps the newest N copies, oldest removed first', async () => {
    for (let i = 0; i < 5; i++) {
      clock += 1000;
      await keepBackup(file, `version ${i}\n`, backup());
    }
    const copies = await listBackups(backupDir, 'config.yaml');
    expect(copies).toHaveLength(3);
    expect(await Promise.all(copies.map((c) => readFile(join(backupDir, c), 'utf8')))).toEqual(['version 2\n', 'version 3\n', 'version 4\n']);
    expect(DEFAULT_BACKUPS_KEPT).toBeGreaterThan(3);
  });

  it('job edits keep a copy too, and a folder that can\'t take the copy means nothing is written', async () => {
    clock += 1000;
    const ok = await editJob({ file, job: 'nightly', patch: { streams: 8 }, origins: userOrigins(ORIGINAL), backup: backup() });
    expect(ok.ok).toBe(true);
    const [copy] = await listBackups(backupDir, 'config.yaml');
    expect(await readFile(join(backupDir, copy ?? ''), 'utf8')).toBe(ORIGINAL);
    const edited = await readFile(file, 'utf8');
    const blocked = join(dir, 'config.yaml'); // a file where the backup folder should be
    const refused = await editJob({ file, job: 'nightly', patch: { streams: 2 }, origins: userOrigins(edited), backup: { dir: join(blocked, 'backups'), keep: 3 } });
    expect(!refused.ok && refused.problem).toMatchObject({ code: 'config.unwritable', message: expect.stringContaining("can't keep a copy") as unknown });
    expect(await readFile(file, 'utf8')).toBe(edited);
  });
});
