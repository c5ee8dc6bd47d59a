/**
 * Where the system agent finds the `backhaul` group's gid: /etc/group on Linux, Directory Services
 * on macOS (dseditgroup puts the group there, not in /etc/group). dscl has no recording in
 * shared/reference; its outputs below are synthetic, in dscl(1)'s `-read` format
 * (`PrimaryGroupID: 501`) and its eDSRecordNotFound error for a missing record.
 */
import { describe, expect, it } from 'vitest';
import { gidFromDscl, gidFromGroupFile, lookupServiceGroup } from '../../../src/os/service/service-group.js';
import { ReplayingCommandRunner } from '../../helpers/replaying-runner.js';

const DSCL = ['dscl', '.', '-read', '/Groups/backhaul', 'PrimaryGroupID'];

describe('the backhaul group', () => {
  it('Linux: /etc/group, no command run', async () => {
    const runner = new ReplayingCommandRunner([]);
    const groups = 'root:x:0:\nbackhaul-lab:x:900:\nbackhaul:x:998:alice,bob\n';
    expect(await lookupServiceGroup({ platform: 'linux', runner, readGroupFile: () => Promise.resolve(groups) })).toEqual({ kind: 'found', gid: 998 });
    expect(await lookupServiceGroup({ platform: 'linux', runner, readGroupFile: () => Promise.resolve('root:x:0:\n') })).toEqual({ kind: 'missing' });
    expect(await lookupServiceGroup({ platform: 'linux', runner, readGroupFile: () => Promise.reject(new Error('EACCES: permission denied')) }))
      .toEqual({ kind: 'failed', detail: "can't read /etc/group: EACCES: permission denied" });
    runner.assertDone();
    expect(gidFromGroupFile('backhaulx:x:5:\nbackhaul:x:not-a-number:\n')).toBeUndefined();
  });

  it('macOS: dscl reads Directory Services (synthetic dscl(1) output)', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: DSCL, reply: { stdout: 'PrimaryGroupID: 501\n', source: 'synthetic: dscl(1) -read format' } },
    ]);
    expect(await lookupServiceGroup({ platform: 'darwin', runner, readGroupFile: () => Promise.reject(new Error('must not read /etc/group')) })).toEqual({ kind: 'found', gid: 501 });
    runner.assertDone();
  });

  it('macOS: no such group is "missing", any other dscl failure is "failed" with why', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: DSCL, reply: { exitCode: 1, stderr: '<dscl_cmd> DS Error: -14136 (eDSRecordNotFound)\n', source: 'synthetic: dscl eDSRecordNotFound, any non-zero exit' } },
      { argv: DSCL, reply: { exitCode: 1, stderr: 'Data source (.) is not valid.\n', source: 'synthetic' } },
      { argv: DSCL, reply: { stdout: 'No such key: PrimaryGroupID\n', source: 'synthetic' } },
      { argv: DSCL, reply: { spawnError: 'ENOENT' } },
    ]);
    const host = { platform: 'darwin' as const, runner };
    expect(await lookupServiceGroup(host)).toEqual({ kind: 'missing' });
    expect(await lookupServiceGroup(host)).toEqual({ kind: 'failed', detail: 'dscl . -read /Groups/backhaul exited 1: Data source (.) is not valid.' });
    expect(await lookupServiceGroup(host)).toEqual({ kind: 'failed', detail: 'dscl printed no PrimaryGroupID for /Groups/backhaul' });
    expect(await lookupServiceGroup(host)).toMatchObject({ kind: 'failed', detail: expect.stringMatching(/^dscl could not run/) as unknown });
    runner.assertDone();
    expect(gidFromDscl('PrimaryGroupID: 20\nRecordName: staff\n')).toBe(20);
  });

  it('Windows: not applicable (the named pipe has its own ACL)', async () => {
    expect(await lookupServiceGroup({ platform: 'win32', runner: new ReplayingCommandRunner([]) })).toEqual({ kind: 'not-applicable' });
  });
});
