import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  formatSecretRef,
  parseSecretRef,
  validateConfigData,
  validKeysAt,
  type Config,
  type JobConfig,
  type ProfileConfig,
  type SecretRef,
} from '../../src/config/schema.js';

const job = (extra: Record<string, unknown> = {}) => ({
  sources: ['/home/me/docs'],
  repository: 'rest:http://10.99.0.1:8000/office',
  password: 'file:/etc/backhaul/office.pw',
  ...extra,
});

const profile = (extra: Record<string, unknown> = {}) => ({
  type: 'l2tp',
  gateways: ['vpn.example.com'],
  auth: { method: 'psk', psk: 'file:/etc/backhaul/office.psk' },
  ...extra,
});

/** `path: message` for every issue, the way a user reads them. */
function problems(data: unknown): string[] {
  const result = validateConfigData(data);
  if (result.success) return [];
  return result.issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`);
}

function valid(data: unknown): Config {
  const result = validateConfigData(data);
  if (!result.success) throw new Error(problems(data).join('\n'));
  return result.data;
}

describe('defaults', () => {
  it('an empty document is a valid config with no jobs', () => {
    expect(valid({})).toEqual({ version: 1, settings: {}, jobs: {}, profiles: {} });
  });

  it('top-level keys left empty (`jobs:`) mean empty', () => {
    expect(valid({ jobs: null, profiles: null, settings: null })).toEqual({ version: 1, settings: {}, jobs: {}, profiles: {} });
  });

  it('fills every job and profile default', () => {
    const config = valid({ jobs: { nightly: job({ profile: 'office' }) }, profiles: { office: profile() } });
    expect(config.jobs['nightly']).toEqual({
      engine: 'restic',
      sources: ['/home/me/docs'],
      excludes: [],
      repository: 'rest:http://10.99.0.1:8000/office',
      password: { kind: 'file', path: '/etc/backhaul/office.pw' },
      profile: 'office',
      streams: 4,
      tunnel: 'always',
      keepAwake: true,
    });
    expect(config.jobs['nightly']).not.toHaveProperty('uploadLimitKiBps');
    expect(config.profiles['office']).toEqual({
      type: 'l2tp',
      gateways: ['vpn.example.com'],
      auth: { method: 'psk', psk: { kind: 'file', path: '/etc/backhaul/office.psk' } },
      routes: [],
      fullTunnel: false,
      driver: 'auto',
      cipherPolicy: 'strict',
      keepaliveSeconds: 30,
      keepaliveFailures: 4,
      stallIntervals: 4,
      reconnectAttempts: 10,
      reconnectDeadlineSeconds: 600,
      mssClamp: false,
    });
  });

  it('profile defaults to direct', () => {
    expect(valid({ jobs: { a: job() } }).jobs['a']?.profile).toBe('direct');
  });

  it('normalises bandwidthLimit to uploadLimitKiBps', () => {
    const config = valid({ jobs: { a: job({ bandwidthLimit: '10 MiB/s' }), b: job({ bandwidthLimit: 300 }) } });
    expect(config.jobs['a']?.uploadLimitKiBps).toBe(10240);
    expect(config.jobs['b']?.uploadLimitKiBps).toBe(300);
    expect(config.jobs['a']).not.toHaveProperty('bandwidthLimit');
  });

  it('accepts the full example from the docs', () => {
    const config = valid({
      version: 1,
      settings: { resticPath: '/usr/bin/restic' },
      jobs: {
        nightly: job({ engine: 'restic', excludes: ['*.tmp'], profile: 'office', streams: 8, bandwidthLimit: '20 Mbit/s' }),
        mirror: {
          engine: 'rsync',
          sources: ['C:\\Users\\me\\Documents'],
          repository: '/volume1/me',
          ssh: { host: 'nas', user: 'backup', identity: 'file:/home/me/.ssh/backhaul' },
        },
      },
      profiles: {
        office: profile({
          auth: { method: 'psk', psk: 'keychain:office-psk', username: 'alice', password: 'keychain:office-user' },
          mtu: 1400,
          routes: ['10.99.0.0/24', 'fd00:99::/64'],
        }),
        roaming: {
          type: 'ikev2',
          gateways: ['203.0.113.7'],
          auth: { method: 'certificate', certificate: '/etc/backhaul/me.crt', key: 'file:/etc/backhaul/me.key' },
          fullTunnel: true,
        },
      },
    });
    expect(config.jobs['nightly']?.uploadLimitKiBps).toBe(2441);
    expect(config.jobs['mirror']?.password).toBeUndefined();
    expect(config.profiles['roaming']?.auth).toEqual({
      method: 'certificate',
      certificate: '/etc/backhaul/me.crt',
      key: { kind: 'file', path: '/etc/backhaul/me.key' },
    });
  });

  it('exports types with defaults applied', () => {
    expectTypeOf<JobConfig['streams']>().toEqualTypeOf<number>();
    expectTypeOf<JobConfig['excludes']>().toEqualTypeOf<string[]>();
    expectTypeOf<JobConfig['engine']>().toEqualTypeOf<'restic' | 'rsync'>();
    expectTypeOf<ProfileConfig['fullTunnel']>().toEqualTypeOf<boolean>();
    expectTypeOf<Config['jobs']>().toEqualTypeOf<Record<string, JobConfig>>();
    expectTypeOf<NonNullable<JobConfig['password']>>().toEqualTypeOf<SecretRef>();
    expectTypeOf<JobConfig['uploadLimitKiBps']>().toEqualTypeOf<number | undefined>();
  });
});

describe('error texts', () => {
  it.each<[string, unknown, string]>([
    ['streams too high', { jobs: { nightly: job({ streams: 64 }) } }, 'jobs.nightly.streams: must be 1–32, got 64'],
    ['streams too low', { jobs: { nightly: job({ streams: 0 }) } }, 'jobs.nightly.streams: must be 1–32, got 0'],
    ['streams fractional', { jobs: { nightly: job({ streams: 2.5 }) } }, 'jobs.nightly.streams: must be a whole number 1–32, got 2.5'],
    ['streams as text', { jobs: { nightly: job({ streams: 'four' }) } }, 'jobs.nightly.streams: must be a whole number 1–32, got "four"'],
    ['sources as string', { jobs: { nightly: job({ sources: '/home' }) } }, 'jobs.nightly.sources: expected a list of absolute paths, got a string'],
    ['sources empty', { jobs: { nightly: job({ sources: [] }) } }, 'jobs.nightly.sources: must list at least one absolute path'],
    ['relative source', { jobs: { nightly: job({ sources: ['docs'] }) } }, 'jobs.nightly.sources.0: must be an absolute path (/…, C:\\… or \\\\server\\share\\…), got "docs"'],
    ['missing repository', { jobs: { nightly: { sources: ['/a'], password: 'file:/p' } } }, 'jobs.nightly.repository: required'],
    ['empty repository', { jobs: { nightly: job({ repository: '' }) } }, 'jobs.nightly.repository: must not be empty; expected a restic repository URL or path'],
    ['missing sources', { jobs: { nightly: { repository: '/r', password: 'file:/p' } } }, 'jobs.nightly.sources: required'],
    ['bad engine', { jobs: { nightly: job({ engine: 'borg' }) } }, 'jobs.nightly.engine: must be restic or rsync, got "borg"'],
    ['excludes as mapping', { jobs: { nightly: job({ excludes: { a: 1 } }) } }, 'jobs.nightly.excludes: expected a list of exclude patterns, got a mapping'],
    ['bad bandwidth', { jobs: { nightly: job({ bandwidthLimit: 'fast' }) } }, 'jobs.nightly.bandwidthLimit: expected a rate like "10 MiB/s", "500 KiB/s" or "20 Mbit/s", or a whole number of KiB/s, got "fast"'],
    ['bandwidth bool', { jobs: { nightly: job({ bandwidthLimit: true }) } }, 'jobs.nightly.bandwidthLimit: expected a rate like "10 MiB/s", "500 KiB/s" or "20 Mbit/s", got true'],
    ['zero bandwidth', { jobs: { nightly: job({ bandwidthLimit: 0 }) } }, 'jobs.nightly.bandwidthLimit: must be at least 1 KiB/s; leave bandwidthLimit out for no limit, got 0'],
    ['literal password', { jobs: { nightly: job({ password: 'hunter2' }) } }, 'jobs.nightly.password: must be a secret reference (file:/path or keychain:name), not the secret itself'],
    ['numeric password', { jobs: { nightly: job({ password: 123456 }) } }, 'jobs.nightly.password: must be a secret reference (file:/path or keychain:name), not the secret itself'],
    ['password list', { jobs: { nightly: job({ password: ['x'] }) } }, 'jobs.nightly.password: expected a secret reference (file:/path or keychain:name), got a list'],
    ['relative file ref', { jobs: { nightly: job({ password: 'file:office.pw' }) } }, 'jobs.nightly.password: a file: reference needs an absolute path, e.g. file:/etc/backhaul/office.pw'],
    ['bad keychain name', { jobs: { nightly: job({ password: 'keychain:' }) } }, 'jobs.nightly.password: a keychain: reference needs a name of letters, digits, ".", "_", "@" and "-"'],
    ['restic without password', { jobs: { nightly: { sources: ['/a'], repository: '/r' } } }, 'jobs.nightly.password: required for restic jobs: a reference to the repository password (file:/path or keychain:name)'],
    ['unknown profile', { jobs: { nightly: job({ profile: 'offce' }) }, profiles: { office: profile(), home: profile() } }, 'jobs.nightly.profile: unknown profile "offce"; known profiles: "direct", "office", "home"'],
    ['unknown profile, none defined', { jobs: { nightly: job({ profile: 'office' }) } }, 'jobs.nightly.profile: unknown profile "office"; known profiles: "direct"'],
    ['bad job name', { jobs: { Nightly: job() } }, 'jobs.Nightly: invalid job name; use lower-case letters, digits, "-" and "_", starting with a letter or digit, at most 63 characters (^[a-z0-9][a-z0-9_-]{0,62}$)'],
    ['bad profile name', { profiles: { 'my office': profile() } }, 'profiles.my office: invalid profile name; use lower-case letters, digits, "-" and "_", starting with a letter or digit, at most 63 characters (^[a-z0-9][a-z0-9_-]{0,62}$)'],
    ['reserved profile name', { profiles: { direct: profile() } }, 'profiles.direct: "direct" is reserved (it means no tunnel); choose another profile name'],
    ['jobs as list', { jobs: [job()] }, 'jobs: expected a mapping of job names to jobs, got a list'],
    ['root as list', [1], ': expected a mapping with jobs and profiles, got a list'],
    ['version 2', { version: 2 }, 'version: only version 1 is supported, got 2'],
    ['relative resticPath', { settings: { resticPath: 'restic' } }, 'settings.resticPath: must be an absolute path (/…, C:\\… or \\\\server\\share\\…), got "restic"'],
    ['unknown secretStore', { settings: { secretStore: 'vault' } }, 'settings.secretStore: must be auto, keychain or file, got "vault"'],
    ['profile type', { profiles: { office: profile({ type: 'pptp' }) } }, 'profiles.office.type: must be l2tp or ikev2, got "pptp"'],
    ['missing type', { profiles: { office: { gateways: ['a.example'], auth: { method: 'psk', psk: 'file:/p' } } } }, 'profiles.office.type: required'],
    ['gateways empty', { profiles: { office: profile({ gateways: [] }) } }, 'profiles.office.gateways: must list at least one gateway host name or IP address'],
    ['gateway as string', { profiles: { office: profile({ gateways: 'vpn.example.com' }) } }, 'profiles.office.gateways: expected a list of host names or IP addresses, got a string'],
    ['gateway url', { profiles: { office: profile({ gateways: ['https://vpn.example.com'] }) } }, 'profiles.office.gateways.0: must be a host name or IP address (no port, no URL), got "https://vpn.example.com"'],
    ['singular gateway', { profiles: { office: { ...profile(), gateways: undefined, gateway: 'vpn.example.com' } } }, 'profiles.office.gateways: required'],
    ['mtu too small', { profiles: { office: profile({ mtu: 500 }) } }, 'profiles.office.mtu: must be 576–1500, got 500'],
    ['mtu too big', { profiles: { office: profile({ mtu: 9000 }) } }, 'profiles.office.mtu: must be 576–1500, got 9000'],
    ['route host bits', { profiles: { office: profile({ routes: ['10.99.0.1/24'] }) } }, 'profiles.office.routes.0: 10.99.0.1/24 has host bits set; did you mean 10.99.0.0/24?'],
    ['route garbage', { profiles: { office: profile({ routes: ['office'] }) } }, 'profiles.office.routes.0: must be an IPv4 or IPv6 CIDR such as 10.99.0.0/24 or fd00:99::/64, got "office"'],
    ['fullTunnel with routes', { profiles: { office: profile({ routes: ['10.99.0.0/24'], fullTunnel: true }) } }, 'profiles.office.fullTunnel: fullTunnel: true sends all traffic through the tunnel, so split routes make no sense; remove routes or set fullTunnel: false'],
    ['fullTunnel not bool', { profiles: { office: profile({ fullTunnel: 'yes' }) } }, 'profiles.office.fullTunnel: expected true or false, got a string'],
    ['auth missing', { profiles: { office: { type: 'l2tp', gateways: ['a.example'] } } }, 'profiles.office.auth: required'],
    ['auth as string', { profiles: { office: profile({ auth: 'psk' }) } }, 'profiles.office.auth: expected a mapping with method: certificate or psk, got a string'],
    ['auth method missing', { profiles: { office: profile({ auth: { psk: 'file:/p' } }) } }, 'profiles.office.auth.method: required: certificate or psk'],
    ['auth method unknown', { profiles: { office: profile({ auth: { method: 'eap' } }) } }, 'profiles.office.auth.method: must be certificate or psk, got "eap"'],
    ['psk missing', { profiles: { office: profile({ auth: { method: 'psk' } }) } }, 'profiles.office.auth.psk: required'],
    ['literal psk', { profiles: { office: profile({ auth: { method: 'psk', psk: 'sekrit' } }) } }, 'profiles.office.auth.psk: must be a secret reference (file:/path or keychain:name), not the secret itself'],
    ['literal user password', { profiles: { office: profile({ auth: { method: 'psk', psk: 'file:/p', password: 'sekrit' } }) } }, 'profiles.office.auth.password: must be a secret reference (file:/path or keychain:name), not the secret itself'],
    ['certificate missing', { profiles: { office: profile({ auth: { method: 'certificate' } }) } }, 'profiles.office.auth.certificate: required'],
    ['literal key', { profiles: { office: profile({ auth: { method: 'certificate', certificate: '/c.pem', key: '-----BEGIN KEY-----' } }) } }, 'profiles.office.auth.key: must be a secret reference (file:/path or keychain:name), not the secret itself'],
    ['unknown key', { jobs: { nightly: job({ strems: 3 }) } }, 'jobs.nightly: unknown key'],
  ])('%s', (_name, data, expected) => {
    expect(problems(data)).toContain(expected);
  });

  it('never repeats a literal secret in any message', () => {
    const canary = 'Canary-9f3b7c1e-pw';
    const messages = problems({
      jobs: { nightly: job({ password: canary }), other: job({ password: `file${canary}` }) },
      profiles: {
        office: profile({ auth: { method: 'psk', psk: canary, password: `keychain:${canary}!` } }),
        cert: profile({ auth: { method: 'certificate', certificate: '/c', key: canary } }),
      },
    }).join('\n');
    expect(messages).toContain('not the secret itself');
    expect(messages).not.toContain(canary);
  });

  it('checks cross-field rules even when other fields are wrong too', () => {
    const messages = problems({ jobs: { nightly: job({ streams: 'x', profile: 'nope' }) } });
    expect(messages).toContain('jobs.nightly.profile: unknown profile "nope"; known profiles: "direct"');
    expect(messages).toContain('jobs.nightly.streams: must be a whole number 1–32, got "x"');
  });
});

describe('secret references', () => {
  it.each<[string, SecretRef]>([
    ['file:/etc/backhaul/office.pw', { kind: 'file', path: '/etc/backhaul/office.pw' }],
    ['file:C:\\ProgramData\\Backhaul\\pw.txt', { kind: 'file', path: 'C:\\ProgramData\\Backhaul\\pw.txt' }],
    ['keychain:office-user', { kind: 'keychain', name: 'office-user' }],
    ['keychain:alice@office.example', { kind: 'keychain', name: 'alice@office.example' }],
  ])('%s round-trips', (text, ref) => {
    expect(parseSecretRef(text)).toEqual({ ok: true, ref });
    expect(formatSecretRef(ref)).toBe(text);
  });

  it.each(['hunter2', 'FILE:/x', 'file:', 'file:x', 'keychain:', 'keychain:bad name', ' file:/x'])('%j is not a reference', (text) => {
    expect(parseSecretRef(text).ok).toBe(false);
  });
});

describe('validKeysAt', () => {
  it('lists the keys valid at each level', () => {
    expect(validKeysAt([], {})).toEqual(['version', 'settings', 'jobs', 'profiles']);
    expect(validKeysAt(['settings'], {})).toEqual(['resticPath', 'rsyncPath', 'secretStore', 'credentialMaxAgeDays']);
    expect(validKeysAt(['jobs', 'x', 'ssh'], {})).toEqual(['host', 'port', 'user', 'identity', 'knownHosts']);
    expect(validKeysAt(['jobs', 'x', 'timeouts'], {})).toEqual(['ioSeconds', 'connectSeconds']);
    expect(validKeysAt(['jobs', 'x'], {})).toContain('streams');
    expect(validKeysAt(['profiles', 'x'], {})).toContain('fullTunnel');
    expect(validKeysAt(['profiles', 'x', 'auth'], { profiles: { x: { auth: { method: 'psk' } } } })).toEqual([
      'method',
      'psk',
      'username',
      'password',
      'remoteId',
    ]);
    expect(validKeysAt(['profiles', 'x', 'auth'], {})).toEqual(['method', 'certificate', 'key', 'ca', 'username', 'password', 'remoteId', 'psk']);
    expect(validKeysAt(['jobs'], {})).toEqual([]);
  });
});
