/**
 * Finding rsync: `rsync --version` through the replaying runner, answered with the recorded 3.5.0
 * output (test/fixtures/rsync/version.txt); too old, missing and odd output say what to do.
 */
import { describe, expect, it } from 'vitest';
import { locateRsync, parseRsyncVersion, RsyncBinaryError } from '../../src/backup/rsync-binary.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';
import { fixture } from './rsync-fixtures.js';

describe('rsync binary', () => {
  it('reads the version line of rsync 3.5.0 (test/fixtures/rsync/version.txt)', () => {
    expect(parseRsyncVersion(fixture('version').stdout)).toEqual({ major: 3, minor: 5, patch: 0 });
    expect(parseRsyncVersion('rsync  version v3.2.7  protocol version 31')).toEqual({ major: 3, minor: 2, patch: 7 });
    expect(parseRsyncVersion('openrsync: protocol version 29')).toBeUndefined();
  });

  it('accepts the configured path when it is new enough', async () => {
    const runner = new ReplayingCommandRunner([{ argv: ['/opt/rsync', '--version'], reply: fixture('version') }]);
    await expect(locateRsync(runner, { configuredPath: '/opt/rsync', platform: 'linux' })).resolves.toEqual({ path: '/opt/rsync', version: { major: 3, minor: 5, patch: 0 } });
    runner.assertDone();
  });

  it('refuses rsync older than 3.1 (no --info=progress2), naming the install command', async () => {
    const old = { stdout: 'rsync  version 3.0.9  protocol version 30\n', source: 'rsync 3.0.9 (CentOS 6) version line' };
    const runner = new ReplayingCommandRunner([{ argv: ['rsync', '--version'], reply: old }]);
    const error = await locateRsync(runner, { platform: 'linux' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RsyncBinaryError);
    expect((error as RsyncBinaryError).message).toBe(
      'rsync 3.0.9 at rsync is too old: Backhaul needs 3.1.0 or newer. Install rsync 3.1.0 or newer (`apt-get install rsync openssh-client`).',
    );
    expect((error as RsyncBinaryError).class).toBe('engine-missing');
  });

  it('says how to install it when it is missing', async () => {
    const runner = new ReplayingCommandRunner([{ argv: ['rsync', '--version'], reply: { spawnError: 'ENOENT' } }]);
    const error = (await locateRsync(runner, { platform: 'darwin' }).catch((e: unknown) => e)) as RsyncBinaryError;
    expect(error.problem).toBe('rsync could not be run: rsync was not found in PATH: install it or set its path.');
    expect(error.fix).toBe('Install rsync 3.1.0 or newer (`brew install rsync`).');
  });
});
