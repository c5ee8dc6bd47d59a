/**
 * rsync command lines: the ssh command with host key checking, quoting for rsync's -e splitter,
 * destinations, and which passes carry --delete.
 */
import { describe, expect, it } from 'vitest';
import {
  deleteArgv,
  directoriesArgv,
  listArgv,
  remoteDestination,
  rshQuote,
  sshCommand,
  workerArgv,
  type RsyncTransferContext,
} from '../../src/backup/rsync-args.js';

const ctx: RsyncTransferContext = {
  rsync: '/usr/bin/rsync',
  ssh: 'ssh',
  target: { host: 'nas.example', port: 2222, user: 'backup', identityFile: '/home/me/.ssh/id backhaul', knownHostsFile: '/etc/backhaul/known_hosts' },
  destination: '/srv/backup/laptop',
  ioTimeoutSeconds: 300,
  connectTimeoutSeconds: 30,
};
const SSH =
  "ssh -p 2222 -i '/home/me/.ssh/id backhaul' -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes " +
  '-o UserKnownHostsFile=/etc/backhaul/known_hosts -o ConnectTimeout=30 -o ControlPath=none';
const COMMON = ['-a', '--partial', '--partial-dir=.rsync-partial', '--timeout=300', '--info=progress2', '--stats'];

describe('rsync command lines', () => {
  it('quotes for rsync\'s -e splitter: spaces grouped, a quote doubled', () => {
    expect(rshQuote('plain/path-1.key')).toBe('plain/path-1.key');
    expect(rshQuote('a b')).toBe("'a b'");
    expect(rshQuote("it's")).toBe("'it''s'");
    expect(rshQuote('')).toBe("''");
  });

  it('builds ssh with strict host key checking, batch mode, one key and no connection sharing', () => {
    expect(sshCommand(ctx)).toBe(SSH);
    const { knownHostsFile: _unused, ...noKnownHosts } = ctx.target;
    expect(sshCommand({ ...ctx, target: noKnownHosts })).not.toContain('UserKnownHostsFile');
  });

  it('writes user@host:dir/ and brackets an IPv6 address', () => {
    expect(remoteDestination(ctx.target, '/srv/b')).toBe('backup@nas.example:/srv/b/');
    expect(remoteDestination({ ...ctx.target, host: 'fd00::1' }, '/srv/b/')).toBe('backup@[fd00::1]:/srv/b/');
  });

  it('lists locally with the excludes and a last argument rsync may take for a destination', () => {
    expect(listArgv('rsync', ['/a', '/b c'], ['*.tmp'], '/scratch/x')).toEqual(['rsync', '-a', '-R', '--list-only', '--exclude=*.tmp', '--', '/a', '/b c', '/scratch/x/']);
  });

  it('workers send a NUL list from / without implied dirs; only the delete pass deletes', () => {
    const dest = 'backup@nas.example:/srv/backup/laptop/';
    expect(workerArgv(ctx, '/s/w0.list', 512)).toEqual(['/usr/bin/rsync', ...COMMON, '--bwlimit=512', '-e', SSH, '--from0', '--files-from=/s/w0.list', '--no-implied-dirs', '--', '/', dest]);
    expect(directoriesArgv(ctx, '/s/d.list')).toEqual(['/usr/bin/rsync', ...COMMON, '-e', SSH, '--from0', '--files-from=/s/d.list', '--', '/', dest]);
    expect(deleteArgv(ctx, ['/home/me'], ['*.tmp'])).toEqual([
      '/usr/bin/rsync', ...COMMON, '-e', SSH, '-R', '--delete', '--existing', '--ignore-existing', '--exclude=*.tmp', '--', '/home/me', dest,
    ]);
    for (const argv of [workerArgv(ctx, 'l'), directoriesArgv(ctx, 'l')]) expect(argv.some((a) => a.startsWith('--delete'))).toBe(false);
  });
});
