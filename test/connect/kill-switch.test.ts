import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killSwitchRoutes, pinRoutes, unpinRoutes } from '../../src/connect/kill-switch.js';
import { createLinuxSwanDriver, swanDir } from '../../src/connect/linux-swan.js';
import { loadRecording } from '../helpers/recorded.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';
import { DaemonRunner, ikev2Cert, l2tpPsk, labHost, pinSubnet, recordingJournal, routeViaC0, swanctl, unpinSubnet } from './linux-fakes.js';

const signal = new AbortController().signal;

describe('the kill switch (exact commands)', () => {
  it('pins each split route with an unreachable route of high metric, journaled first, and removes exactly those', async () => {
    const profile = { ...l2tpPsk, routes: ['10.99.0.0/24', 'fd00:99::/64'] };
    const runner = new ReplayingCommandRunner([
      { argv: ['ip', 'route', 'replace', 'unreachable', '10.99.0.0/24', 'metric', '65000'], reply: {} },
      { argv: ['ip', 'route', 'replace', 'unreachable', 'fd00:99::/64', 'metric', '65000'], reply: {} },
      { argv: ['ip', 'route', 'del', 'unreachable', 'fd00:99::/64', 'metric', '65000'], reply: {} },
      // Already gone (removed by hand): fine.
      { argv: ['ip', 'route', 'del', 'unreachable', '10.99.0.0/24', 'metric', '65000'], reply: { exitCode: 2, stderr: 'RTNETLINK answers: No such process\n' } },
    ]);
    const journal = recordingJournal();
    const pinned = await pinRoutes(runner, journal, profile, signal);
    await unpinRoutes(runner, journal, pinned, signal);
    expect(journal.events).toEqual([
      'acquire kill-switch unreachable 10.99.0.0/24 metric 65000',
      'acquire kill-switch unreachable fd00:99::/64 metric 65000',
      'release kill-switch unreachable fd00:99::/64 metric 65000',
      'release kill-switch unreachable 10.99.0.0/24 metric 65000',
    ]);
    runner.assertDone();
  });

  it('pins nothing for a full tunnel, and skips a subnet that holds the gateway (it would cut the tunnel itself)', async () => {
    expect(killSwitchRoutes({ ...l2tpPsk, routes: [], fullTunnel: true })).toEqual({ pin: [], skipped: [] });
    expect(killSwitchRoutes({ ...l2tpPsk, gateways: ['203.0.113.2', 'vpn.example.com'], routes: ['203.0.113.0/24', '10.99.0.0/24'] }))
      .toEqual({ pin: ['10.99.0.0/24'], skipped: ['203.0.113.0/24'] });
    const logs: string[] = [];
    const runner = new ReplayingCommandRunner([]);
    expect(await pinRoutes(runner, recordingJournal(), { ...l2tpPsk, routes: ['203.0.113.0/25'] }, signal, (_l, m) => logs.push(m))).toEqual([]);
    expect(logs).toEqual(['no kill switch for 203.0.113.0/25: the VPN gateway is inside it, so pinning it would keep the tunnel from coming up']);
  });
});

describe('linux-swan keeps the kill switch across a reconnect', () => {
  let state: string;
  afterEach(() => { rmSync(state, { recursive: true, force: true }); });

  it('IKEv2: repairs in place without telling the unreachable peer, never unpins until disconnect', async () => {
    state = mkdtempSync(join(tmpdir(), 'bh-killswitch-'));
    const dir = swanDir(state, 'cloud');
    writeFileSync(join(state, 'client.pem'), 'CERT');
    writeFileSync(join(state, 'ca.pem'), 'CA');
    const profile = { ...ikev2Cert, auth: { ...ikev2Cert.auth, certificate: join(state, 'client.pem'), ca: join(state, 'ca.pem') } } as typeof ikev2Cert;
    const raw = 'list-sa event {backhaul {uniqueid=1 version=2 state=ESTABLISHED local-host=10.10.1.2 local-port=4500 nat-local=yes nat-any=yes local-vips=[10.88.0.1] child-sas {backhaul-1 {name=backhaul state=INSTALLED mode=TUNNEL protocol=ESP}}}}\n';
    const up = [
      { argv: swanctl(dir, '--load-all', '--noprompt', '--file', `${dir}/swanctl/swanctl.conf`), reply: {} },
      { argv: swanctl(dir, '--initiate', '--child', 'backhaul', '--ike', 'backhaul', '--timeout', '45'), reply: loadRecording('recorded/strongswan/initiate-office.txt') },
      { argv: swanctl(dir, '--list-sas', '--ike', 'backhaul', '--raw'), reply: { stdout: raw, source: 'swanctl --raw format, strongSwan testing/tests evaltest.dat' } },
      { argv: ['ip', 'link', 'set', 'dev', 'ipsec0', 'txqueuelen', '5000'], reply: {} },
    ];
    const replay = new ReplayingCommandRunner([
      { argv: ['ip', '-j', 'route', 'get', '10.99.0.1'], reply: routeViaC0 },
      pinSubnet,
      ...up,
      // The reconnect: no --terminate (the peer can't answer), charon stopped, a fresh one; no pin/unpin.
      ...up,
      { argv: swanctl(dir, '--terminate', '--ike', 'backhaul', '--timeout', '10'), reply: loadRecording('recorded/strongswan/terminate-office.txt') },
      unpinSubnet,
    ]);
    const runner = new DaemonRunner(replay);
    const journal = recordingJournal();
    const swan = createLinuxSwanDriver({ runner, host: { ...labHost, kernelEsp: false }, stateDir: state, pacing: { pollMs: 0 } });
    await swan.connect(profile, signal, journal);
    const outcome = await swan.reconnect?.(profile, signal, journal);
    expect(outcome).toEqual({ broughtUp: true, status: { state: 'up', interfaceName: 'ipsec0', localAddress: '10.88.0.1' } });
    expect(runner.daemons).toHaveLength(2);
    expect(journal.held().map((r) => r.kind).sort()).toEqual(['config-dir', 'kill-switch', 'process']);
    await swan.disconnect(profile, signal, journal);
    expect(journal.held()).toEqual([]);
    expect(journal.events.filter((e) => e.includes('kill-switch'))).toEqual([
      'acquire kill-switch unreachable 10.99.0.0/24 metric 65000',
      'release kill-switch unreachable 10.99.0.0/24 metric 65000',
    ]);
    replay.assertDone();
  });

  it('crash recovery removes a pin the journal still holds', async () => {
    state = mkdtempSync(join(tmpdir(), 'bh-killswitch-'));
    const replay = new ReplayingCommandRunner([unpinSubnet]);
    const swan = createLinuxSwanDriver({ runner: replay, host: labHost, stateDir: state });
    await swan.cleanUp?.({ profile: 'office', tunnelUp: true, resources: [{ kind: 'kill-switch', id: 'unreachable 10.99.0.0/24 metric 65000' }] }, signal);
    replay.assertDone();
  });
});
