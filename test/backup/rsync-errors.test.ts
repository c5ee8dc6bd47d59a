/**
 * The rsync exit-code table over real recorded failures: each recording gives its class, detail,
 * retryability and a message that says what to do.
 */
import { describe, expect, it } from 'vitest';
import { classifyRsyncExit, type RsyncExitFacts } from '../../src/backup/rsync-errors.js';
import type { Recording } from '../helpers/recorded.js';
import { fixture, shared } from './rsync-fixtures.js';

const target = { user: 'root', host: '127.0.0.1', port: 2222, knownHostsFile: '/etc/backhaul/known_hosts' };

function facts(rec: Recording, extra: Partial<RsyncExitFacts> = {}): RsyncExitFacts {
  return {
    exitCode: rec.exitCode,
    signal: null,
    output: `${rec.stdout}\n${rec.stderr}`,
    stoppedByUs: false,
    target,
    destination: '/srv/backup',
    ...extra,
  };
}

describe('classifyRsyncExit over recorded failures', () => {
  it.each<[string, () => Recording, string, string, boolean]>([
    ['host key unknown (exit 12)', () => fixture('host-key-unknown'), 'unknown', 'ssh-host-key-unknown', false],
    ['host key changed (exit 255)', () => fixture('host-key-changed'), 'unknown', 'ssh-host-key-changed', false],
    ['key refused (exit 12)', () => fixture('auth-refused'), 'unknown', 'ssh-auth', false],
    ['key file too open (exit 255)', () => fixture('key-too-open'), 'unknown', 'ssh-key-unusable', false],
    ['connection refused (exit 255 or 12: ssh and rsync race)', () => fixture('connection-refused'), 'network', 'ssh-unreachable', true],
    ['network unreachable through a down tunnel (exit 255)', () => shared('rsync-255-ssh-unreachable.txt'), 'network', 'ssh-unreachable', true],
    ['no rsync on the server (exit 12)', () => fixture('remote-rsync-missing'), 'engine-missing', 'remote-rsync-missing', false],
    ['no destination (exit 11)', () => fixture('destination-missing'), 'no-repository', 'destination-missing', false],
    ['io timeout with the tunnel down (exit 30)', () => shared('rsync-30-timeout-tunnel-down.txt'), 'network', 'timeout', true],
    ['a vanished file (exit 24)', () => shared('rsync-24-vanished.txt'), 'partial', 'partial', false],
    ['a missing source (exit 23)', () => shared('rsync-23-missing-source.txt'), 'partial', 'partial', false],
    ['a listed file gone before the worker (exit 23)', () => fixture('worker-vanished-before-start'), 'partial', 'partial', false],
  ])('%s', (_name, load, cls, detail, retryable) => {
    const rec = load();
    const d = classifyRsyncExit(facts(rec));
    expect(d).toMatchObject({ class: cls, detail, retryable });
    expect(d.message).not.toBe('');
  });

  it('names the known_hosts file and how to add or replace the key', () => {
    const unknown = classifyRsyncExit(facts(fixture('host-key-unknown')));
    expect(unknown.message).toBe('The SSH host key of 127.0.0.1:2222 is not in /etc/backhaul/known_hosts, so Backhaul did not connect (host key checking is on).');
    expect(unknown.fix).toContain('ssh-keyscan -p 2222 127.0.0.1 >> /etc/backhaul/known_hosts');
    const changed = classifyRsyncExit(facts(fixture('host-key-changed')));
    expect(changed.message).toContain('does not match the one in /etc/backhaul/known_hosts');
    expect(changed.fix).toContain("ssh-keygen -f /etc/backhaul/known_hosts -R '[127.0.0.1]:2222'");
  });

  it('quotes ssh on why it could not connect', () => {
    expect(classifyRsyncExit(facts(fixture('connection-refused'))).message).toMatch(
      /^The SSH server 127\.0\.0\.1:2222 could not be reached: connect to host 127\.0\.0\.1 port \d+: Connection refused\.$/,
    );
    expect(classifyRsyncExit(facts(fixture('destination-missing'))).fix).toBe(
      "Create it on the server (ssh -p 2222 root@127.0.0.1 mkdir -p '/srv/backup'), or correct jobs.<name>.repository.",
    );
  });

  it('our own stop is a cancel whatever the code; a foreign signal is retryable', () => {
    const rec = shared('rsync-30-timeout-tunnel-down.txt');
    expect(classifyRsyncExit(facts(rec, { exitCode: 20, stoppedByUs: true }))).toMatchObject({ class: 'cancelled', retryable: false });
    expect(classifyRsyncExit(facts(rec, { exitCode: null, signal: 'SIGKILL', output: '' }))).toMatchObject({ detail: 'killed', retryable: true });
    expect(classifyRsyncExit(facts(rec, { exitCode: 20, output: '' }))).toMatchObject({ detail: 'killed', retryable: true });
  });

  it('a connection lost mid-transfer is retryable; a usage error and an unknown code are not', () => {
    expect(classifyRsyncExit(facts(shared('rsync-30-timeout-tunnel-down.txt'), { exitCode: 12, output: 'rsync: connection unexpectedly closed' }))).toMatchObject({
      class: 'network',
      detail: 'connection-lost',
      retryable: true,
    });
    expect(classifyRsyncExit({ ...facts(fixture('version')), exitCode: 1, output: 'rsync: --bogus: unknown option' })).toMatchObject({
      detail: 'protocol',
      retryable: false,
      message: 'rsync refused the command (exit 1: syntax or usage error): rsync: --bogus: unknown option.',
    });
    expect(classifyRsyncExit({ ...facts(fixture('version')), exitCode: 99, output: '' })).toMatchObject({ class: 'unknown', detail: 'unknown', retryable: false });
  });

  it('treats a full or read-only destination as a failure even under code 23', () => {
    const full = 'rsync: [receiver] write failed on "/srv/backup/x": No space left on device (28)';
    expect(classifyRsyncExit({ ...facts(fixture('version')), exitCode: 23, output: full })).toMatchObject({ detail: 'disk-full', class: 'unknown' });
    const denied = 'rsync: [receiver] mkstemp "/srv/backup/.x.AbC" failed: Permission denied (13)';
    expect(classifyRsyncExit({ ...facts(fixture('version')), exitCode: 23, output: denied })).toMatchObject({ detail: 'destination-denied' });
  });
});
