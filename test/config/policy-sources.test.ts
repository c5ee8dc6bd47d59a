/**
 * Each OS's policy source, read through the CommandRunner from its output. There are no recordings
 * of `reg query` or of macOS managed preferences yet: the fixtures in test/fixtures/policy/ are
 * SYNTHETIC, written to Microsoft's documented `reg query` output format and plutil(1)'s JSON
 * (see test/fixtures/policy/README.md for the sources).
 */
import { readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { managedPreferencesFromJson } from '../../src/config/policy/managed-preferences.js';
import { LINUX_POLICY_FILE, policyLocation, readPolicy } from '../../src/config/policy/read.js';
import { parseRegQuery, POLICY_REGISTRY_KEY, registryToPolicyData } from '../../src/config/policy/registry.js';
import type { HostDescription } from '../../src/os/paths.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';

const fixture = (name: string): string => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'policy', name), 'utf8');
/** reg.exe writes CRLF; the fixture files are LF. */
const crlf = (text: string): string => text.replace(/\r?\n/g, '\r\n');
const REG_ARGV = ['reg', 'query', POLICY_REGISTRY_KEY, '/s'];
/** The parent's listing comes first: it says whether the policy key exists, in any language. */
const PARENT = { argv: ['reg', 'query', 'HKLM\\SOFTWARE\\Policies'], reply: { stdout: crlf(fixture('reg-query-policies.txt')), source: 'test/fixtures/policy/reg-query-policies.txt (synthetic)' } };

const host = (platform: NodeJS.Platform, env: Record<string, string> = {}): HostDescription => ({ platform, env, homedir: '/home/me', mode: 'system' });

describe('where the policy lives', () => {
  it('per OS, and under BACKHAUL_HOME when that is set', () => {
    expect(policyLocation(host('linux'))).toEqual({ kind: 'yaml', file: LINUX_POLICY_FILE, adminOnly: true });
    expect(policyLocation(host('freebsd'))).toEqual({ kind: 'yaml', file: LINUX_POLICY_FILE, adminOnly: true });
    expect(policyLocation(host('win32'))).toEqual({ kind: 'registry', key: 'HKLM\\SOFTWARE\\Policies\\Backhaul' });
    expect(policyLocation(host('darwin'))).toEqual({ kind: 'managed-preferences', file: '/Library/Managed Preferences/com.backhaul.agent.plist' });
    expect(policyLocation(host('linux', { BACKHAUL_HOME: '/tmp/bh' }))).toEqual({ kind: 'yaml', file: '/tmp/bh/policy.yaml' });
    expect(policyLocation(host('win32', { backhaul_home: 'C:\\bh' }))).toEqual({ kind: 'yaml', file: 'C:\\bh\\policy.yaml' });
  });
});

describe('Linux: /etc/backhaul/policy.yaml (path injected)', () => {
  it('reads a file, reports a missing one as no policy and a bad one with its line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backhaul-policy-'));
    const runner = new ReplayingCommandRunner([]);
    const file = join(dir, 'policy.yaml');
    expect(await readPolicy({ kind: 'yaml', file }, runner)).toEqual({ state: 'absent', source: file });
    await writeFile(file, 'config:\n  jobs:\n    nightly: { streams: 3 }\n');
    expect(await readPolicy({ kind: 'yaml', file }, runner)).toMatchObject({ state: 'valid', loaded: { source: file, policy: { config: { jobs: { nightly: { streams: 3 } } } } } });
    await writeFile(file, 'config:\n  jobs:\n    nightly: { streams: many }\n');
    expect(await readPolicy({ kind: 'yaml', file }, runner)).toMatchObject({ state: 'invalid', errors: [{ path: 'config.jobs.nightly.streams', line: 3, source: file }] });
    await mkdir(join(dir, 'dir.yaml'));
    expect(await readPolicy({ kind: 'yaml', file: join(dir, 'dir.yaml') }, runner)).toMatchObject({ state: 'invalid', errors: [{ message: expect.stringContaining('is a directory') as unknown }] });
    runner.assertDone();
  });
});

describe('Linux: the system policy file must be the administrator\'s', () => {
  it('is refused when users could write it, accepted when only root can', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backhaul-policy-'));
    const file = join(dir, 'policy.yaml');
    await writeFile(file, 'requireCertificateAuth: true\n');
    const runner = new ReplayingCommandRunner([]);
    await chmod(file, 0o666);
    expect(await readPolicy({ kind: 'yaml', file, adminOnly: true }, runner)).toMatchObject({ state: 'invalid', errors: [{ message: expect.stringContaining(`must be owned by root and writable only by root`) as unknown }] });
    await chmod(file, 0o644);
    if (process.getuid?.() === 0) {
      await chown(file, 0, 0);
      expect((await readPolicy({ kind: 'yaml', file, adminOnly: true }, runner)).state).toBe('valid');
      await chown(file, 1000, 1000);
    }
    expect((await readPolicy({ kind: 'yaml', file, adminOnly: true }, runner)).state).toBe('invalid');
    // Under BACKHAUL_HOME (tests, development) the file is the user's own.
    expect((await readPolicy({ kind: 'yaml', file }, runner)).state).toBe('valid');
  });
});

describe('Windows: reg query HKLM\\SOFTWARE\\Policies\\Backhaul /s (synthetic fixtures)', () => {
  it('parses keys, REG_SZ, REG_DWORD and REG_MULTI_SZ with \\0 separators', () => {
    const { tree, errors } = parseRegQuery(crlf(fixture('reg-query-backhaul.txt')));
    expect(errors).toEqual([]);
    expect(tree.values.get('RequireCertificateAuth')).toEqual({ type: 'REG_DWORD', data: '0x1' });
    const fleet = tree.subkeys.get('Config')?.subkeys.get('Jobs')?.subkeys.get('fleet');
    expect(fleet?.values.get('Sources')).toEqual({ type: 'REG_MULTI_SZ', data: 'C:\\Users\\Public\\Documents\\0D:\\Shared Data' });
    expect(fleet?.values.get('Excludes')).toEqual({ type: 'REG_MULTI_SZ', data: '' });
  });

  it('turns the tree into policy data, typed by the schema (a DWORD is a boolean or a number by key)', () => {
    const { data, errors } = registryToPolicyData(parseRegQuery(crlf(fixture('reg-query-backhaul.txt'))).tree);
    expect(errors).toEqual([]);
    expect(data).toEqual({
      requireCertificateAuth: true,
      allowLegacyCiphers: false,
      limits: { streams: { min: 1, max: 8 } },
      config: {
        settings: { resticPath: 'C:\\Program Files\\Backhaul\\restic.exe' },
        jobs: { fleet: { sources: ['C:\\Users\\Public\\Documents', 'D:\\Shared Data'], repository: 'rest:https://backup.example.com/fleet', password: 'keychain:fleet-repository', streams: 2, excludes: [], bandwidthLimit: '20 Mbit/s' } },
        profiles: { office: { type: 'ikev2', gateways: ['vpn1.example.com', 'vpn2.example.com'], fullTunnel: false, auth: { method: 'certificate', certificate: 'C:\\ProgramData\\Backhaul\\laptop.crt' } } },
      },
    });
  });

  it('reads the policy through the runner, and it applies over a user config', async () => {
    const runner = new ReplayingCommandRunner([PARENT, { argv: REG_ARGV, reply: { stdout: crlf(fixture('reg-query-backhaul.txt')), source: 'test/fixtures/policy/reg-query-backhaul.txt (synthetic)' } }]);
    const read = await readPolicy({ kind: 'registry', key: POLICY_REGISTRY_KEY }, runner);
    runner.assertDone();
    if (read.state !== 'valid') throw new Error(JSON.stringify(read));
    expect(read.loaded.source).toBe(POLICY_REGISTRY_KEY);
    const loaded = parseConfigText('', 'config.yaml', read.loaded);
    expect(loaded.ok && loaded.config.jobs['fleet']).toMatchObject({ streams: 2, uploadLimitKiBps: 2441 });
    expect(loaded.ok && loaded.origins.get('jobs.fleet.streams')).toBe('policy');
  });

  it('no key is no policy, told by the parent\'s listing (reg\'s messages are translated)', async () => {
    const runner = new ReplayingCommandRunner([{ argv: PARENT.argv, reply: { stdout: crlf(fixture('reg-query-policies-without-backhaul.txt')) } }]);
    expect(await readPolicy({ kind: 'registry', key: POLICY_REGISTRY_KEY }, runner)).toEqual({ state: 'absent', source: POLICY_REGISTRY_KEY });
    runner.assertDone();
  });

  it('a key that exists but can\'t be read is an error, not "no policy", whatever the language', async () => {
    const runner = new ReplayingCommandRunner([PARENT, { argv: REG_ARGV, reply: { stderr: 'FEHLER: Zugriff verweigert\r\n', exitCode: 1 } }]);
    expect(await readPolicy({ kind: 'registry', key: POLICY_REGISTRY_KEY }, runner)).toMatchObject({ state: 'invalid', errors: [{ message: expect.stringContaining('Zugriff verweigert') as unknown }] });
    const parentFails = new ReplayingCommandRunner([{ argv: PARENT.argv, reply: { stderr: 'ERROR: Access is denied.\r\n', exitCode: 1 } }]);
    expect(await readPolicy({ kind: 'registry', key: POLICY_REGISTRY_KEY }, parentFails)).toMatchObject({ state: 'invalid', errors: [{ message: expect.stringContaining('Access is denied') as unknown }] });
  });

  it('wrong types and unknown values are errors naming the registry key and the policy key', async () => {
    const runner = new ReplayingCommandRunner([PARENT, { argv: REG_ARGV, reply: { stdout: crlf(fixture('reg-query-bad-types.txt')) } }]);
    const read = await readPolicy({ kind: 'registry', key: POLICY_REGISTRY_KEY }, runner);
    if (read.state !== 'invalid') throw new Error(JSON.stringify(read));
    expect(read.errors).toEqual([
      expect.objectContaining({ path: 'config.jobs.fleet.mirror', source: 'HKLM\\SOFTWARE\\Policies\\Backhaul\\Config\\Jobs\\fleet value Mirror', message: expect.stringContaining('REG_BINARY can\'t hold a Backhaul policy value') as unknown }),
    ]);
    // With the REG_BINARY gone, the validator names the rest.
    const fixed = crlf(fixture('reg-query-bad-types.txt').replace(/^ {4}Mirror.*\n/m, ''));
    const again = await readPolicy({ kind: 'registry', key: POLICY_REGISTRY_KEY }, new ReplayingCommandRunner([PARENT, { argv: REG_ARGV, reply: { stdout: fixed } }]));
    if (again.state !== 'invalid') throw new Error(JSON.stringify(again));
    expect(again.errors.map((e) => [e.path, e.message])).toEqual([
      ['Banner', expect.stringContaining('unknown policy key') as unknown],
      ['requireCertificateAuth', 'expected true or false, got 2'],
      ['config.jobs.fleet.streams', 'must be a whole number 1–32, got "two"'],
    ]);
  });

  it('a line that is neither key nor value is reported, not skipped', () => {
    expect(parseRegQuery('\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Backhaul\r\nsomething else\r\n').errors).toEqual(['line 3 of the reg query output is neither a key nor a value']);
  });

  it('never throws on any output (fuzz)', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom('HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Backhaul\\Config\\Jobs\\a', '    streams    REG_DWORD    0xZZ', '    x    REG_MULTI_SZ    a\\0b'))), (lines) => {
      const { tree } = parseRegQuery(lines.join('\r\n'));
      registryToPolicyData(tree);
    }), { numRuns: 300 });
  });
});

describe('macOS: managed preferences via plutil (synthetic fixtures)', () => {
  it('reads the plist as JSON, drops only the profile\'s Payload* bookkeeping keys, and validates it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backhaul-policy-'));
    const file = join(dir, 'com.backhaul.agent.plist');
    await writeFile(file, 'a plist; plutil is replayed');
    const runner = new ReplayingCommandRunner([{ argv: ['plutil', '-convert', 'json', '-o', '-', file], reply: { stdout: fixture('plutil-backhaul.json'), source: 'test/fixtures/policy/plutil-backhaul.json (synthetic)' } }]);
    const read = await readPolicy({ kind: 'managed-preferences', file }, runner);
    runner.assertDone();
    expect(read).toMatchObject({ state: 'valid', loaded: { source: file, policy: { requireCertificateAuth: true, limits: { streams: { min: 1, max: 8 } }, config: { jobs: { fleet: { streams: 2 } } } } } });
  });

  it('no plist is no policy, and plutil is not run', async () => {
    const runner = new ReplayingCommandRunner([]);
    expect(await readPolicy({ kind: 'managed-preferences', file: '/nonexistent/com.backhaul.agent.plist' }, runner)).toEqual({ state: 'absent', source: '/nonexistent/com.backhaul.agent.plist' });
    runner.assertDone();
  });

  it('wrong types and unknown keys are errors; a plist plutil rejects is an error', async () => {
    const read = managedPreferencesFromJson(fixture('plutil-bad.json'), 'x.plist');
    expect(read.state).toBe('read');
    const dir = await mkdtemp(join(tmpdir(), 'backhaul-policy-'));
    const file = join(dir, 'com.backhaul.agent.plist');
    await writeFile(file, 'x');
    const bad = await readPolicy({ kind: 'managed-preferences', file }, new ReplayingCommandRunner([{ argv: ['plutil', '-convert', 'json', '-o', '-', file], reply: { stdout: fixture('plutil-bad.json') } }]));
    if (bad.state !== 'invalid') throw new Error(JSON.stringify(bad));
    expect(bad.errors.map((e) => e.path)).toEqual(['requireCertificateAuth', 'config.jobs.fleet.streams', 'config.jobs.fleet.colour']);
    const broken = await readPolicy({ kind: 'managed-preferences', file }, new ReplayingCommandRunner([{ argv: ['plutil', '-convert', 'json', '-o', '-', file], reply: { stderr: `${file}: Property List error: Unexpected character x at line 1 / JSON error: JSON text did not start with array or object\n`, exitCode: 1 } }]));
    expect(broken).toMatchObject({ state: 'invalid', errors: [{ source: file, message: expect.stringContaining('plutil could not read it') as unknown }] });
  });
});
