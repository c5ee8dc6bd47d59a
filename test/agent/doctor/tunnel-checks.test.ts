/**
 * The checks that need the tunnel up, with the tunnel faked (the host lab test brings a real one
 * up): the tunnel's own item, the DF-probed MTU against the MTU in force, and the repository
 * (restic's answer classified as a session would).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryAccessCheck } from '../../../src/agent/doctor/checks/repository-access.js';
import { tunnelMtuCheck } from '../../../src/agent/doctor/checks/tunnel-mtu.js';
import { tunnelUpCheck } from '../../../src/agent/doctor/checks/tunnel-up.js';
import type { DoctorContext, DoctorPorts, TunnelAccess } from '../../../src/agent/doctor/types.js';
import type { ResticEngine } from '../../../src/backup/restic.js';
import type { TunnelDriver, TunnelProfile } from '../../../src/connect/driver.js';
import type { CommandRunner, CommandSpec } from '../../../src/os/command.js';
import { config, fakePorts, labJob, labProfile } from './fake-ports.js';

const cfg = config({ jobs: { offsite: labJob }, profiles: { lab: labProfile } });
const tunnelProfile: TunnelProfile = { name: 'lab', type: 'ikev2', gateways: ['198.51.100.2'], routes: ['10.99.0.0/24'], fullTunnel: false };
const up: TunnelAccess = {
  ok: true,
  driver: { name: 'linux-swan' } as TunnelDriver,
  profile: tunnelProfile,
  status: { state: 'up', interfaceName: 'ipsec0', mtu: 1400, localAddress: '10.88.5.1' },
};
const down: TunnelAccess = { ok: false, code: 'tunnel.swan-timeout', message: 'the gateway did not answer', hint: 'Check UDP 500/4500.' };

function context(overrides: Partial<DoctorPorts>, tunnel: TunnelAccess, data = cfg): DoctorContext {
  const job = data.jobs.offsite;
  const profile = data.profiles.lab;
  return {
    ...fakePorts(data, overrides),
    target: { jobName: 'offsite', ...(job === undefined ? {} : { job }), profileName: 'lab', ...(profile === undefined ? {} : { profile }) },
    once: (_key, fn) => fn(),
    tunnel: () => Promise.resolve(tunnel),
  };
}

/** ping -M do answers for packets up to `limit` bytes (size = -s value + 28), like a path with that MTU. */
function pathWithMtu(limit: number, seen: number[] = []): CommandRunner {
  return {
    run: (spec: CommandSpec) => {
      const size = Number(spec.argv[spec.argv.indexOf('-s') + 1]) + 28;
      seen.push(size);
      const exitCode = size <= limit ? 0 : 1;
      return Promise.resolve({ argv: spec.argv, exitCode, signal: null, stdout: '', stderr: '', truncated: false, aborted: false, timedOut: false, durationMs: 1 });
    },
  };
}

describe('network.tunnel', () => {
  it('passes with the driver and interface, fails with the driver\'s code, message and hint', async () => {
    expect(await tunnelUpCheck.run(context({}, up))).toEqual({ status: 'pass', evidence: 'up with the linux-swan driver (on ipsec0, address 10.88.5.1, MTU 1400)' });
    expect(await tunnelUpCheck.run(context({}, down))).toEqual({ status: 'fail', evidence: 'tunnel.swan-timeout: the gateway did not answer', fix: 'Check UDP 500/4500.' });
  });
});

describe('network.mtu', () => {
  it('passes when the MTU in force crosses with don\'t-fragment set, with MSS advice', async () => {
    const seen: number[] = [];
    const result = await tunnelMtuCheck.run(context({ runner: pathWithMtu(1500, seen) }, up));
    expect(result.status).toBe('pass');
    expect(result.evidence).toMatch(/^1400 bytes \(the tunnel interface; computed \d+\) cross the tunnel to 10\.99\.0\.1 with don't-fragment set; mssClamp is off/);
    expect(seen).toEqual([1400]);
  });

  it('fails when less crosses, naming the measured size and the mtu / mssClamp to set', async () => {
    const result = await tunnelMtuCheck.run(context({ runner: pathWithMtu(1218) }, up));
    expect(result).toEqual({
      status: 'fail',
      evidence: 'only 1218 bytes cross the tunnel to 10.99.0.1 with don\'t-fragment set, but the MTU in force is 1400 (the tunnel interface); larger packets are dropped on the path',
      fix: 'Set profiles.lab.mtu: 1218 and profiles.lab.mssClamp: true (TCP segments then stay at 1178 bytes). Something on the path to the gateway (PPPoE, a mobile link, a tunnel in a tunnel) carries less than 1500 bytes and drops fragments.',
    });
  });

  it('reads the interface\'s MTU from /sys/class/net when the driver does not report it', async () => {
    const noMtu: TunnelAccess = { ok: true, driver: { name: 'linux-swan' } as TunnelDriver, profile: tunnelProfile, status: { state: 'up', interfaceName: 'ipsec0' } };
    const reads: string[] = [];
    const readText = (path: string) => { reads.push(path); return Promise.resolve('1400\n'); };
    const result = await tunnelMtuCheck.run(context({ runner: pathWithMtu(1218), readText }, noMtu));
    expect(reads).toEqual(['/sys/class/net/ipsec0/mtu']);
    expect(result.evidence).toContain('but the MTU in force is 1400 (the tunnel interface)');
  });

  it('warns when nothing answers, and skips without the tunnel or off Linux', async () => {
    expect((await tunnelMtuCheck.run(context({ runner: pathWithMtu(0) }, up))).status).toBe('warn');
    expect((await tunnelMtuCheck.run(context({}, down))).status).toBe('skip');
    expect((await tunnelMtuCheck.run(context({ platform: 'darwin' }, up))).evidence).toMatch(/Linux only/);
  });
});

describe('repository.access', () => {
  const engine = (outcome: Awaited<ReturnType<ResticEngine['snapshots']>>): DoctorPorts['resticEngine'] => () => Promise.resolve({ snapshots: () => Promise.resolve(outcome) } as unknown as ResticEngine);
  const readPassword = { readText: () => Promise.reject(new Error('unused')) };

  it('skips while the tunnel is down', async () => {
    expect((await repositoryAccessCheck.run(context({}, down))).evidence).toMatch(/^the tunnel is not up/);
  });

  it('passes when restic lists the snapshots; a wrong password fails with the session\'s hint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bh-repo-'));
    writeFileSync(join(dir, 'repo.pw'), 'the-repository-password', { mode: 0o600 });
    const data = config({ jobs: { offsite: { ...labJob, password: `file:${join(dir, 'repo.pw')}` } }, profiles: { lab: labProfile } });
    const ok = await repositoryAccessCheck.run(context({ ...readPassword, resticEngine: engine({ ok: true, value: [] }) }, up, data));
    expect(ok).toEqual({ status: 'pass', evidence: 'rest:http://10.99.0.1:8000/repo: the password opens it; 0 snapshots' });
    const wrong = await repositoryAccessCheck.run(context({ resticEngine: engine({ ok: false, failure: { class: 'wrong-password', message: 'wrong password or no key found', exitCode: 12, stderrTail: '' } }) }, up, data));
    expect(wrong.status).toBe('fail');
    expect(wrong.evidence).toBe('rest:http://10.99.0.1:8000/repo: backup.wrong-password: wrong password or no key found');
    expect(wrong.fix).toMatch(/^The password that jobs\.offsite\.password points to does not open this repository/);
  });
});
