/**
 * The TunnelDriver contract (contract.ts) run against every driver: the Linux drivers over their
 * replaying fakes (each scenario scripted from the recorded outputs the driver tests use), the
 * windows driver over its stateful fake OS.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createLinuxNmDriver } from '../../src/connect/linux-nm.js';
import { createLinuxSwanDriver, swanDir } from '../../src/connect/linux-swan.js';
import { createWindowsDriver } from '../../src/connect/windows.js';
import { memoryPskMemory } from '../../src/connect/windows-psk.js';
import { loadRecording } from '../helpers/recorded.js';
import { ReplayingCommandRunner, type Expectation } from '../helpers/replaying-runner.js';
import { describeDriverContract, type ContractCall, type ContractScenario, type DriverHarness } from './contract.js';
import { FakeWindows } from './windows-fake.js';
import { cursor, DaemonRunner, fakeFiles, l2tpPsk, l2tpUp, labHost, noDevice, PASSWORD, pinSubnet, PSK, rec, routeViaC0, swanctl, unpinSubnet } from './linux-fakes.js';

/** Commands that only read: everything else counts as a change. */
const LINUX_READS = [
  /^nmcli (-t )?(-f \S+ )?connection show\b/,
  /^ip -j (addr|route|link) (show|get)\b/,
  /^ip xfrm state$/,
  /^journalctl\b/,
  /^pgrep\b/,
  /^swanctl --list-sas\b/,
  /^ping\b/,
];
const linuxChange = (argv: readonly string[]): boolean => !LINUX_READS.some((read) => read.test(argv.join(' ')));

// --- linux-nm --------------------------------------------------------------------------------

const NM = 'backhaul-office';
const SHOW_FIELDS = ['nmcli', '-t', '-f', 'connection.id,vpn.service-type,vpn.data,ipv4.never-default,ipv4.routes', 'connection', 'show', 'id', NM];
const L2TP_DATA =
  'gateway=203.0.113.2, user=vpnuser, password-flags=2, ipsec-enabled=yes, ipsec-psk-flags=2, ipsec-ike=aes256-sha256-modp2048\\,aes128-sha256-modp2048!, ' +
  'ipsec-esp=aes256-sha256\\,aes128-sha256!, mtu=1402, mru=1402, refuse-pap=yes, lcp-echo-interval=30, lcp-echo-failure=4';
const L2TP_SHOWN =
  'gateway = 203.0.113.2, ipsec-enabled = yes, ipsec-esp = aes256-sha256\\,aes128-sha256!, ipsec-ike = aes256-sha256-modp2048\\,aes128-sha256-modp2048!, ' +
  'ipsec-psk-flags = 2, lcp-echo-failure = 4, lcp-echo-interval = 30, mru = 1402, mtu = 1402, password-flags = 2, refuse-pap = yes, user = vpnuser';
const SHOW = ['nmcli', '-t', 'connection', 'show', 'id', NM];
const ADDR = ['ip', '-j', 'addr', 'show'];
const active = rec('nmcli_-t_connection_show_cloud-l2tp.txt');
const inactive = rec('nmcli_-t_connection_show_cloud-l2tp.inactive.txt');
const ppp0 = rec('ip_-j_addr_show_dev_ppp0.txt');

const nmUp: Expectation[] = [
  { argv: SHOW, reply: inactive },
  { argv: ['ip', '-j', 'route', 'get', '10.99.0.1'], reply: routeViaC0 },
  pinSubnet,
  { argv: ['journalctl', '-n', '0', '--show-cursor', '--no-pager'], reply: cursor },
  { argv: ['nmcli', '-w', '90', 'connection', 'up', 'id', NM, 'passwd-file', '/dev/fd/3'], reply: rec('nm-secrets-up.fd.auth-dialog.txt') },
  { argv: SHOW, reply: active },
  { argv: ADDR, reply: ppp0 },
];

const nmScripts: Record<ContractScenario, Expectation[]> = {
  'ensure-twice': [
    { argv: SHOW_FIELDS, reply: { exitCode: 10, stderr: `Error: ${NM} - no such connection profile.\n` } },
    {
      argv: ['nmcli', 'connection', 'add', 'type', 'vpn', 'con-name', NM, 'vpn-type', 'l2tp', 'vpn.data', L2TP_DATA,
        'ipv4.never-default', 'yes', 'ipv4.routes', '10.99.0.0/24', 'ipv6.method', 'ignore', 'connection.autoconnect', 'no'],
      reply: rec('nm-ikev2-add.txt'),
    },
    { argv: SHOW_FIELDS, reply: { stdout: `connection.id:${NM}\nvpn.service-type:org.freedesktop.NetworkManager.l2tp\nvpn.data:${L2TP_SHOWN}\nipv4.never-default:yes\nipv4.routes:10.99.0.0/24\n` } },
  ],
  'connect-disconnect': [
    ...nmUp,
    { argv: SHOW, reply: active }, { argv: ADDR, reply: ppp0 },
    { argv: SHOW, reply: active }, { argv: ADDR, reply: ppp0 },
    { argv: ['nmcli', '-w', '20', 'connection', 'down', 'id', NM], reply: rec('nmcli_-w_30_connection_down_cloud-l2tp.success.txt') },
    { argv: ['ip', '-j', 'addr', 'show', 'dev', 'ppp0'], reply: noDevice('ppp0') },
    unpinSubnet,
    { argv: SHOW, reply: inactive },
  ],
  'pre-existing': [
    { argv: SHOW, reply: active }, { argv: ADDR, reply: ppp0 },
    { argv: SHOW, reply: active }, { argv: ADDR, reply: ppp0 },
    { argv: SHOW, reply: active }, { argv: ADDR, reply: ppp0 },
  ],
  'crash-cleanup': [
    ...nmUp,
    unpinSubnet,
    { argv: ['nmcli', '-w', '30', 'connection', 'down', 'id', NM], reply: rec('nmcli_-w_30_connection_down_cloud-l2tp.success.txt') },
  ],
};

describeDriverContract('linux-nm', (scenario): DriverHarness => {
  const runner = new ReplayingCommandRunner(nmScripts[scenario]);
  const make = () => createLinuxNmDriver({ runner, host: labHost, pacing: { pollMs: 0 }, files: fakeFiles() });
  return { driver: make(), restarted: make, profile: l2tpPsk, runner, secrets: [PSK, PASSWORD], isChange: linuxChange };
});

// --- linux-swan ------------------------------------------------------------------------------

const stateDirs: string[] = [];
afterAll(() => {
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
});

function swanScript(scenario: ContractScenario, dir: string): Expectation[] {
  const pppUp = { argv: ['ip', '-j', 'addr', 'show', 'dev', 'ppp0'], reply: rec('ip_-j_addr_show_dev_ppp0.direct.txt') };
  switch (scenario) {
    case 'ensure-twice':
      return [];
    case 'connect-disconnect':
      return [
        ...l2tpUp(dir),
        pppUp,
        { argv: ['ip', 'route', 'del', '10.99.0.0/24', 'dev', 'ppp0'], reply: {} },
        { argv: ['sh', '-c', 'printf "%s\\n" "$1" > "$2"', 'sh', 'd backhaul', `${dir}/l2tp-control`], reply: {} },
        { argv: ['ip', '-j', 'addr', 'show', 'dev', 'ppp0'], reply: noDevice('ppp0') },
        { argv: swanctl(dir, '--terminate', '--ike', 'backhaul', '--timeout', '10'), reply: loadRecording('recorded/strongswan/terminate-office.txt') },
        unpinSubnet,
      ];
    case 'pre-existing':
      return [
        { argv: ['ip', '-j', 'route', 'get', '10.99.0.1'], reply: rec('ip_-j_route_get_10.99.0.1.txt') },
        pppUp,
        { argv: ['ip', '-j', 'route', 'get', '10.99.0.1'], reply: rec('ip_-j_route_get_10.99.0.1.txt') },
        pppUp,
      ];
    case 'crash-cleanup':
      // The daemons' pid files name no live process here, so only the route needs a command.
      return [...l2tpUp(dir), { argv: ['ip', 'route', 'del', '10.99.0.0/24', 'dev', 'ppp0'], reply: {} }, unpinSubnet];
  }
}

describeDriverContract('linux-swan', (scenario): DriverHarness => {
  const state = mkdtempSync(join(tmpdir(), 'bh-contract-swan-'));
  stateDirs.push(state);
  const pidDir = join(state, 'ppp-run');
  mkdirSync(pidDir);
  const dir = swanDir(state, l2tpPsk.name);
  const replay = new ReplayingCommandRunner(swanScript(scenario, dir));
  const runner = new DaemonRunner(replay, (spec) => {
    if (spec.argv[4] === 'c backhaul') writeFileSync(join(pidDir, 'ppp-backhaul-office.pid'), '701\nppp0\n');
  });
  const make = () => createLinuxSwanDriver({ runner, host: labHost, stateDir: state, pacing: { pollMs: 0 }, pppPidDir: pidDir });
  return {
    driver: make(),
    restarted: make,
    profile: l2tpPsk,
    runner: {
      get calls() { return [...replay.calls, ...runner.daemons.map((argv) => ({ argv }))]; },
      assertDone: () => { replay.assertDone(); },
    },
    secrets: [PSK, PASSWORD],
    isChange: linuxChange,
  };
});

// --- macos -----------------------------------------------------------------------------------
// Its harness lives in macos-contract.ts (loaded lazily, so this block is all the macOS driver adds here).

afterAll(async () => {
  (await import('./macos-contract.js')).cleanUpMacosHarnesses();
});

describeDriverContract('macos', async (scenario) => (await import('./macos-contract.js')).macosHarness(scenario));

// --- windows ---------------------------------------------------------------------------------

/** reg query and a script that only runs Get-VpnConnection read; rasdial, netsh and any other cmdlet change. */
const windowsChange = (argv: readonly string[], call: ContractCall): boolean =>
  argv[0] === 'powershell.exe' ? /\b(Add|Set|Remove)-Vpn/.test(call.stdin ?? '') : argv[0] !== 'reg';

describeDriverContract('windows', (scenario): DriverHarness => {
  const fake = new FakeWindows();
  fake.password = PASSWORD;
  const pskMemory = memoryPskMemory();
  const make = () => createWindowsDriver({ runner: fake, pskMemory });
  const driver = make();
  if (scenario !== 'ensure-twice') {
    // The entry exists (the session's ensureProfile ran); pre-existing: the user connected it.
    fake.entries.set('all|backhaul-office', {
      name: 'backhaul-office', allUsers: true, serverAddress: '203.0.113.2', tunnelType: 'L2tp', authenticationMethod: ['MSChapv2'],
      encryptionLevel: 'Required', psk: PSK, splitTunneling: true, routes: ['10.99.0.0/24'], ipsec: undefined,
      status: scenario === 'pre-existing' ? 'Connected' : 'Disconnected',
    });
  }
  return {
    driver,
    restarted: make,
    profile: l2tpPsk,
    runner: fake,
    secrets: [PSK, PASSWORD],
    isChange: windowsChange,
    leftovers: () => (scenario === 'pre-existing' ? [] : fake.connected()),
  };
});
