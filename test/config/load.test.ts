import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeReadError,
  formatConfigIssues,
  loadConfig,
  MAX_CONFIG_BYTES,
  parseConfigText,
  type ConfigIssue,
  type LoadResult,
} from '../../src/config/load.js';

const GOOD = `# office backups
version: 1
jobs:
  nightly:
    engine: restic
    sources: [/home/me/docs]
    repository: rest:http://10.99.0.1:8000/office
    password: file:/etc/backhaul/office.pw
    profile: office
    streams: 4
    bandwidthLimit: 10 MiB/s
profiles:
  office:
    type: l2tp
    gateways: [vpn.example.com]
    auth:
      method: psk
      psk: file:/etc/backhaul/office.psk
      username: alice
      password: file:/etc/backhaul/office-user.pw
    mtu: 1400
    routes: [10.99.0.0/24]
`;

function errors(result: LoadResult): readonly ConfigIssue[] {
  if (result.ok) throw new Error('expected the config to be rejected');
  return result.errors;
}

function errorsOf(text: string): readonly ConfigIssue[] {
  return errors(parseConfigText(text, 'test.yaml'));
}

describe('parseConfigText', () => {
  it('accepts a good config with defaults applied and no warnings', () => {
    const result = parseConfigText(GOOD, 'good.yaml');
    expect(result).toMatchObject({ ok: true, warnings: [] });
    if (!result.ok) return;
    expect(result.config.jobs['nightly']).toMatchObject({ uploadLimitKiBps: 10240, excludes: [], streams: 4 });
    expect(result.config.profiles['office']?.fullTunnel).toBe(false);
  });

  it('accepts JSON, which is YAML', () => {
    const json = JSON.stringify({ jobs: { a: { sources: ['/a'], repository: '/r', password: 'file:/p' } } });
    expect(parseConfigText(json, 'c.json').ok).toBe(true);
  });

  it.each(['', '\n\n', '# nothing configured yet\n', '---\n', 'jobs:\n', '\uFEFF'])('treats %j as a valid empty config', (text) => {
    expect(parseConfigText(text, 'empty.yaml')).toEqual({
      ok: true,
      config: { version: 1, settings: {}, jobs: {}, profiles: {} },
      warnings: [],
      origins: expect.any(Map) as unknown,
    });
  });

  it('maps a wrong value to its line and column', () => {
    const text = GOOD.replace('streams: 4', 'streams: 64');
    expect(errorsOf(text)).toEqual([{ path: 'jobs.nightly.streams', message: 'must be 1–32, got 64', line: 10, column: 14 }]);
  });

  it('maps an unknown key to the key itself and suggests the closest valid key', () => {
    const text = GOOD.replace('streams: 4', 'strems: 4');
    expect(errorsOf(text)).toEqual([
      { path: 'jobs.nightly.strems', message: 'unknown key — did you mean "streams"?', line: 10, column: 5 },
    ]);
  });

  it('lists the valid keys when nothing is close', () => {
    const [issue] = errorsOf(GOOD.replace('    mtu: 1400', '    colour: blue'));
    expect(issue).toEqual({
      path: 'profiles.office.colour',
      message: 'unknown key; valid keys here: type, gateways, auth, mtu, routes, fullTunnel, driver, ikeProposals, espProposals, cipherPolicy, keepaliveSeconds, keepaliveFailures, stallIntervals, reconnectAttempts, reconnectDeadlineSeconds, mssClamp',
      line: 21,
      column: 5,
    });
  });

  it('suggests auth keys for the chosen method', () => {
    const issues = errorsOf(GOOD.replace('      psk: file:', '      pks: file:'));
    expect(issues).toEqual([
      { path: 'profiles.office.auth.psk', message: 'required', line: 16, column: 5 },
      { path: 'profiles.office.auth.pks', message: 'unknown key — did you mean "psk"?', line: 18, column: 7 },
    ]);
  });

  it('reports a missing key at its parent, where it would be added', () => {
    const text = GOOD.replace('    repository: rest:http://10.99.0.1:8000/office\n', '');
    expect(errorsOf(text)).toEqual([{ path: 'jobs.nightly.repository', message: 'required', line: 4, column: 3 }]);
  });

  it('names the list and the type for a wrong type', () => {
    const text = GOOD.replace('sources: [/home/me/docs]', 'sources: /home/me/docs');
    expect(errorsOf(text)).toEqual([
      { path: 'jobs.nightly.sources', message: 'expected a list of absolute paths, got a string', line: 6, column: 14 },
    ]);
  });

  it('points into lists', () => {
    const text = GOOD.replace('sources: [/home/me/docs]', 'sources:\n      - /home/me/docs\n      - docs');
    expect(errorsOf(text)).toEqual([
      {
        path: 'jobs.nightly.sources[1]',
        message: 'must be an absolute path (/…, C:\\… or \\\\server\\share\\…), got "docs"',
        line: 8,
        column: 9,
      },
    ]);
  });

  it('points at a badly named job by its key', () => {
    const text = GOOD.replace('  nightly:', '  Nightly:').replace('profile: office', 'profile: direct');
    expect(errorsOf(text)[0]).toMatchObject({ path: 'jobs.Nightly', line: 4, column: 3 });
  });

  it('reports a literal secret without echoing it', () => {
    const text = GOOD.replace('password: file:/etc/backhaul/office.pw', 'password: Tr0ub4dor&3-canary');
    const issues = errorsOf(text);
    expect(issues).toEqual([
      {
        path: 'jobs.nightly.password',
        message: 'must be a secret reference (file:/path or keychain:name), not the secret itself',
        line: 8,
        column: 15,
      },
    ]);
    expect(formatConfigIssues(issues, 'test.yaml')).not.toContain('canary');
  });

  it('reports every problem at once, in file order', () => {
    const text = GOOD.replace('streams: 4', 'streams: 0').replace('engine: restic', 'engine: borg').replace('mtu: 1400', 'mtu: 100');
    expect(errorsOf(text).map((i) => `${i.line ?? 0}: ${i.path}`)).toEqual([
      '5: jobs.nightly.engine',
      '10: jobs.nightly.streams',
      '21: profiles.office.mtu',
    ]);
  });

  it('follows aliases when locating a problem', () => {
    const text = `jobs:
  a: &job
    sources: [/a]
    repository: /r
    password: file:/p
    streams: 99
  b: *job
`;
    const issues = errorsOf(text);
    expect(issues).toContainEqual({ path: 'jobs.b.streams', message: 'must be 1–32, got 99', line: 6, column: 14 });
  });
});

describe('bad YAML', () => {
  it.each([
    ['unclosed flow list', 'jobs:\n  a:\n    sources: [/a\n    repository: /r\n', 4, /^YAML syntax: /],
    ['tab indentation', 'jobs:\n\ta: 1\n', 2, /^YAML syntax: tabs are not allowed for indentation; use spaces/],
    ['duplicate key', 'jobs:\n  a:\n    streams: 1\n    streams: 2\n', 4, /^duplicate key: each key may appear only once in a mapping$/],
    ['duplicate job', 'jobs:\n  a: {}\n  a: {}\n', 3, /^duplicate key/],
    ['two documents', 'jobs: {}\n---\nprofiles: {}\n', 2, /more than one YAML document/],
    ['complex key', '? [a, b]\n: 1\n', 1, /keys must be plain strings/],
    ['custom tag', 'jobs: !include other.yaml\n', 1, /YAML tags are not supported/],
  ])('%s → one positioned issue', (_name, text, line, message) => {
    const issues = errorsOf(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: '', line });
    expect(issues[0]?.message).toMatch(message);
  });

  it('never quotes the source line (it may hold a secret)', () => {
    const issues = errorsOf('jobs:\n  a:\n    password: "Sup3r-canary\n');
    expect(issues).toHaveLength(1);
    expect(JSON.stringify(issues)).not.toContain('canary');
  });

  it('refuses an alias bomb without expanding it', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i += 1) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      lines.push(`${name}: &${name} [${Array.from({ length: 9 }, () => `*${prev}`).join(',')}]`);
    }
    const started = Date.now();
    const issues = errorsOf(lines.join('\n'));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toMatch(/too many YAML alias expansions .* alias bomb/);
    expect(issues[0]?.line).toBe(2);
  });

  it('reports an unknown alias', () => {
    const [issue] = errorsOf('jobs: *nothing\n');
    expect(issue?.message).toMatch(/alias/i);
  });

  it('refuses NUL bytes with their position', () => {
    expect(errorsOf('jobs:\n  a\0b: 1\n')).toEqual([
      { path: '', message: 'test.yaml contains a NUL byte; is this a binary file? Config files are YAML text', line: 2, column: 4 },
    ]);
  });

  it('refuses text over 1 MiB before parsing it', () => {
    const issues = errorsOf(`# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    expect(issues).toEqual([{ path: '', message: 'test.yaml is 1.0 MiB; config files are limited to 1 MiB — is this the right file?' }]);
  });

  it('rejects a scalar document', () => {
    expect(errorsOf('just some text\n')).toEqual([
      { path: '', message: 'expected a mapping with jobs and profiles, got a string', line: 1, column: 1 },
    ]);
  });
});

describe('warnings', () => {
  it('warns about unused profiles and passwords in URLs, not about keychain references', () => {
    const text = `jobs:
  a:
    sources: [/a]
    repository: rest:https://backup:s3cret@backup.example.com/a
    password: keychain:repo-a
profiles:
  spare:
    type: ikev2
    gateways: [vpn.example.com]
    auth: {method: psk, psk: keychain:spare-psk}
`;
    const result = parseConfigText(text, 'w.yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings.map((w) => `${w.line ?? 0}: ${w.path}: ${w.message}`)).toEqual([
      '4: jobs.a.repository: the URL embeds a password; it would show up in process lists and logs — remove it from the URL and give credentials to the repository server another way',
      '7: profiles.spare: not used by any job',
    ]);
    expect(JSON.stringify(result.warnings)).not.toContain('s3cret');
  });
});

describe('formatConfigIssues', () => {
  it('renders SOURCE:LINE:COL: path: message, one per line', () => {
    expect(
      formatConfigIssues(
        [
          { path: '', message: 'config file not found: /x.yaml — create it' },
          { path: '', message: 'duplicate key: …', line: 3, column: 5 },
          { path: 'jobs.nightly.streams', message: 'must be 1–32, got 64', line: 10, column: 14 },
          { path: 'jobs.nightly.profile', message: 'unknown profile' },
        ],
        '/etc/backhaul/config.yaml',
      ),
    ).toBe(
      [
        'config file not found: /x.yaml — create it',
        '/etc/backhaul/config.yaml:3:5: duplicate key: …',
        '/etc/backhaul/config.yaml:10:14: jobs.nightly.streams: must be 1–32, got 64',
        '/etc/backhaul/config.yaml: jobs.nightly.profile: unknown profile',
      ].join('\n'),
    );
  });
});

describe('loadConfig from disk', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'backhaul-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a good file', async () => {
    const file = join(dir, 'good.yaml');
    await writeFile(file, GOOD);
    const result = await loadConfig({ file });
    expect(result.ok).toBe(true);
  });

  it('loads text with a source name', async () => {
    const result = await loadConfig({ text: 'jobs: 3', sourceName: '<stdin>' });
    expect(errors(result)).toEqual([
      { path: 'jobs', message: 'expected a mapping of job names to jobs, got a whole number', line: 1, column: 7 },
    ]);
  });

  it('treats an empty file as a valid config with no jobs', async () => {
    const file = join(dir, 'empty.yaml');
    await writeFile(file, '');
    expect(await loadConfig({ file })).toMatchObject({ ok: true, config: { jobs: {}, profiles: {} } });
  });

  it('says how to fix a missing file', async () => {
    const file = join(dir, 'nope', 'config.yaml');
    expect(errors(await loadConfig({ file }))).toEqual([
      {
        path: '',
        message: `config file not found: ${file} — create it (an empty file is a valid config; docs/configuration.md has an example)`,
      },
    ]);
  });

  it('refuses a directory', async () => {
    expect(errors(await loadConfig({ file: dir }))).toEqual([
      { path: '', message: `${dir} is a directory, not a config file; expected a YAML file such as ${join(dir, 'config.yaml')}` },
    ]);
  });

  it('refuses a 10 MB file without reading it', async () => {
    const file = join(dir, 'huge.yaml');
    await writeFile(file, '');
    await truncate(file, 10 * 1024 * 1024);
    expect(errors(await loadConfig({ file }))).toEqual([
      { path: '', message: `${file} is 10.0 MiB; config files are limited to 1 MiB — is this the right file?` },
    ]);
  });

  it('refuses binary garbage', async () => {
    const file = join(dir, 'garbage.bin');
    await writeFile(file, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0xff, 0xfe, 0x00, 0x80, 0xc3]));
    expect(errors(await loadConfig({ file }))).toEqual([{ path: '', message: `${file} is not UTF-8 text; is this a binary file?` }]);
  });

  it('refuses valid UTF-8 that contains NUL bytes', async () => {
    const file = join(dir, 'nul.yaml');
    await writeFile(file, 'jobs: {}\n\0\0\0');
    expect(errors(await loadConfig({ file }))[0]?.message).toMatch(/NUL byte/);
  });

  it.skipIf(process.platform === 'win32')('refuses a FIFO without blocking on it', async () => {
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(errors(await loadConfig({ file: fifo }))).toEqual([
      { path: '', message: `${fifo} is not a regular file; expected a YAML config file` },
    ]);
  });

  it.skipIf(process.platform === 'win32' || process.getuid?.() === 0)('reports permission denied', async () => {
    const file = join(dir, 'locked.yaml');
    await writeFile(file, GOOD);
    await chmod(file, 0o000);
    expect(errors(await loadConfig({ file }))[0]?.message).toMatch(/^permission denied reading /);
  });

  it('reports a symlink loop', async () => {
    const link = join(dir, 'loop.yaml');
    execFileSync('ln', ['-s', link, link]);
    expect(errors(await loadConfig({ file: link }))[0]?.message).toMatch(/symbolic link loop/);
  });

  it('reports a path through a file as not found', async () => {
    const file = join(dir, 'plain.txt');
    await writeFile(file, 'x');
    expect(errors(await loadConfig({ file: join(file, 'config.yaml') }))[0]?.message).toMatch(/^config file not found: /);
  });

  it('loads through a symlink to a file', async () => {
    await mkdir(join(dir, 'real'));
    const real = join(dir, 'real', 'config.yaml');
    await writeFile(real, GOOD);
    const link = join(dir, 'link.yaml');
    execFileSync('ln', ['-s', real, link]);
    expect((await loadConfig({ file: link })).ok).toBe(true);
  });
});

describe('describeReadError', () => {
  it.each([
    ['EACCES', /^permission denied reading \/etc\/backhaul\/config\.yaml — run as the user who owns it/],
    ['EPERM', /^permission denied reading /],
    ['ENOENT', /^config file not found: \/etc\/backhaul\/config\.yaml — create it/],
    ['EISDIR', /is a directory, not a config file/],
    ['EIO', /^cannot read config file \/etc\/backhaul\/config\.yaml \(EIO\)$/],
  ])('%s', (code, message) => {
    const error = Object.assign(new Error('boom\n    at stack'), { code });
    const issue = describeReadError(error, '/etc/backhaul/config.yaml');
    expect(issue.path).toBe('');
    expect(issue.message).toMatch(message);
    expect(issue.message).not.toContain('    at ');
  });
});
