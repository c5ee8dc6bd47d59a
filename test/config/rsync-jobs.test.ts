/**
 * The rsync keys of a job (ssh, mirror, timeouts, settings.rsyncPath): accepted shapes, defaults,
 * every error text with its position, and the docs that describe them.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseConfigText, type ConfigIssue } from '../../src/config/load.js';
import { validKeysAt } from '../../src/config/schema.js';

const RSYNC = `version: 1
settings:
  rsyncPath: /usr/bin/rsync
jobs:
  nas:
    engine: rsync
    sources: [/home/me/docs]
    repository: /volume1/backup/laptop
    ssh:
      host: nas.office.example
      user: backup
      identity: file:/home/me/.ssh/backhaul_ed25519
    streams: 4
`;

function errorsOf(text: string): { path: string; message: string; line?: number }[] {
  const result = parseConfigText(text, 'test.yaml');
  if (result.ok) throw new Error('expected the config to be rejected');
  return result.errors.map((e: ConfigIssue) => ({ path: e.path, message: e.message, ...(e.line === undefined ? {} : { line: e.line }) }));
}

describe('rsync jobs', () => {
  it('accept an ssh block, with port and timeouts defaulted and mirror absent', () => {
    const result = parseConfigText(RSYNC, 'test.yaml');
    expect(result).toMatchObject({ ok: true, warnings: [] });
    if (!result.ok) return;
    const job = result.config.jobs['nas'];
    expect(job?.ssh).toEqual({
      host: 'nas.office.example',
      port: 22,
      user: 'backup',
      identity: { kind: 'file', path: '/home/me/.ssh/backhaul_ed25519' },
    });
    expect(job?.mirror).toBeUndefined();
    expect(job?.timeouts).toBeUndefined();
    expect(result.config.settings.rsyncPath).toBe('/usr/bin/rsync');
  });

  it('accept mirror, timeouts, a port and a known_hosts file', () => {
    const text = RSYNC.replace('    streams: 4\n', '    mirror: true\n    timeouts: { ioSeconds: 60 }\n').replace(
      '      user: backup\n',
      '      user: backup\n      port: 2222\n      knownHosts: /etc/backhaul/known_hosts\n',
    );
    const result = parseConfigText(text, 'test.yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.jobs['nas']).toMatchObject({
      mirror: true,
      timeouts: { ioSeconds: 60, connectSeconds: 30 },
      ssh: { port: 2222, knownHosts: '/etc/backhaul/known_hosts' },
    });
  });

  it.each<[string, (t: string) => string, { path: string; message: string; line?: number }[]]>([
    [
      'no ssh block',
      (t) => t.replace(/ {4}ssh:\n(?: {6}.*\n)+/, ''),
      [{ path: 'jobs.nas.ssh', message: 'required for rsync jobs: the SSH host to copy to, e.g. { host: nas.example.com, user: backup, identity: file:/home/me/.ssh/backhaul }', line: 5 }],
    ],
    [
      'a password',
      (t) => t.replace('    streams: 4\n', '    password: file:/etc/pw\n'),
      [{ path: 'jobs.nas.password', message: 'rsync jobs have no repository password (ssh authenticates with ssh.identity); remove it', line: 13 }],
    ],
    [
      'a relative or scp-style destination',
      (t) => t.replace('/volume1/backup/laptop', 'nas:/volume1/backup'),
      [{ path: 'jobs.nas.repository', message: 'for rsync jobs: the destination directory on the SSH host, an absolute path such as /srv/backup/laptop, got "nas:/volume1/backup"', line: 8 }],
    ],
    [
      'the key pasted in',
      (t) => t.replace('file:/home/me/.ssh/backhaul_ed25519', '"-----BEGIN OPENSSH PRIVATE KEY-----"'),
      [{ path: 'jobs.nas.ssh.identity', message: 'must be a secret reference (file:/path or keychain:name), not the secret itself', line: 12 }],
    ],
    [
      'a keychain identity',
      (t) => t.replace('file:/home/me/.ssh/backhaul_ed25519', 'keychain:nas-key'),
      [{ path: 'jobs.nas.ssh.identity', message: 'must be file:/path to the private key; keychain: is not supported for ssh keys', line: 12 }],
    ],
    [
      'host with a user',
      (t) => t.replace('host: nas.office.example', 'host: backup@nas'),
      [{ path: 'jobs.nas.ssh.host', message: 'must be a host name or IP address (no port, no user@), got "backup@nas"', line: 10 }],
    ],
    [
      'port out of range',
      (t) => t.replace('      user: backup\n', '      user: backup\n      port: 70000\n'),
      [{ path: 'jobs.nas.ssh.port', message: 'must be 1–65535, got 70000', line: 12 }],
    ],
    [
      'a typo in the ssh block',
      (t) => t.replace('      user: backup\n', '      user: backup\n      knownhosts: /x\n'),
      [{ path: 'jobs.nas.ssh.knownhosts', message: 'unknown key — did you mean "knownHosts"?', line: 12 }],
    ],
    [
      'timeouts too short',
      (t) => t.replace('    streams: 4\n', '    timeouts: { ioSeconds: 1 }\n'),
      [{ path: 'jobs.nas.timeouts.ioSeconds', message: 'must be 5–86400, got 1', line: 13 }],
    ],
    [
      'mirror as text',
      (t) => t.replace('    streams: 4\n', '    mirror: yes please\n'),
      [{ path: 'jobs.nas.mirror', message: 'expected true or false, got a string', line: 13 }],
    ],
  ])('reject %s, at the right place', (_name, mutate, expected) => {
    expect(errorsOf(mutate(RSYNC))).toEqual(expected);
  });

  it('refuse the rsync keys on a restic job', () => {
    const text = `jobs:
  nightly:
    sources: [/home/me]
    repository: /srv/restic
    password: file:/etc/pw
    mirror: true
`;
    expect(errorsOf(text)).toEqual([{ path: 'jobs.nightly.mirror', message: 'only for rsync jobs (engine: rsync); remove it', line: 6 }]);
  });
});

describe('docs/configuration.md for rsync', () => {
  it('documents every ssh and timeouts key, and its rsync example is valid', async () => {
    const text = await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const path of [['jobs', 'x', 'ssh'], ['jobs', 'x', 'timeouts']]) {
      for (const key of validKeysAt(path, {})) expect(text, `key ${key}`).toContain(`| \`${key}\``);
    }
    const example = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').find((y) => y.includes('engine: rsync'));
    expect(example).toBeDefined();
    expect(parseConfigText(example ?? '', 'docs/configuration.md')).toMatchObject({ ok: true, warnings: [] });
  });
});
