import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLinuxSwanDriver, swanDir } from '../../src/connect/linux-swan.js';
import { dfPingArgv } from '../../src/connect/mtu.js';
import { pppOptions, pppSecret, strongswanConf, swanctlConf, swanPaths, xl2tpdConf } from '../../src/connect/swan-config.js';
import { loadRecording } from '../helpers/recorded.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';
import { DaemonRunner, ikev2Cert, l2tpPsk, l2tpUp, labHost, noDevice, PASSWORD, PSK, pinSubnet, rec, recordingJournal, routeViaC0, swanctl, unpinSubnet } from './linux-fakes.js';

const signal = new AbortController().signal;

describe('the private configuration (exact text)', () => {
  const paths = swanPaths('/var/lib/backhaul/tunnels/office');

  it('strongswan.conf: own vici socket and log, bounded retransmits, kernel-libipsec only for userspace ESP', () => {
    const kernel = strongswanConf(paths, false);
    expect(kernel).toContain('  load = random nonce openssl aesni aes sha1 sha2 hmac gcm kdf gmp curve25519 pem pkcs1 pkcs8 x509 pubkey revocation constraints kernel-netlink socket-default vici\n');
    expect(kernel).toContain('      socket = unix:///var/lib/backhaul/tunnels/office/charon.vici\n');
    expect(kernel).toContain('  retransmit_tries = 3\n  retransmit_timeout = 2.0\n  retransmit_base = 1.5\n');
    expect(kernel).not.toContain('kernel-libipsec');
    expect(strongswanConf(paths, true)).toContain('constraints kernel-libipsec kernel-netlink');
  });

  it('swanctl.conf for L2TP: IKEv1, transport mode on UDP/1701, strict proposals, the PSK hex-encoded', () => {
    expect(swanctlConf(l2tpPsk)).toBe(`# Written by Backhaul for one session; removed once charon has loaded it.
connections {
  backhaul {
    version = 1
    remote_addrs = 203.0.113.2
    proposals = aes256-sha256-modp2048,aes128-sha256-modp2048
    encap = no
    keyingtries = 1
    dpd_delay = 30s
    local {
      auth = psk
    }
    remote {
      auth = psk
    }
    children {
      backhaul {
        mode = transport
        local_ts = dynamic[17/1701]
        remote_ts = dynamic[17/1701]
        esp_proposals = aes256-sha256,aes128-sha256
        start_action = none
        dpd_action = clear
      }
    }
  }
}
secrets {
  ike-backhaul {
    secret = 0x${Buffer.from(PSK).toString('hex')}
  }
}
`);
  });

  it('swanctl.conf for IKEv2: tunnel mode, virtual IP, certificates, split traffic selectors, the gateway as identity', () => {
    const text = swanctlConf(ikev2Cert);
    expect(text).toContain('    version = 2\n    remote_addrs = 203.0.113.2\n    vips = 0.0.0.0\n');
    expect(text).toContain('      auth = pubkey\n      certs = client.pem\n');
    expect(text).toContain('      auth = pubkey\n      id = "203.0.113.2"\n      cacerts = ca.pem\n');
    expect(text).toContain('        mode = tunnel\n        remote_ts = 10.99.0.0/24\n        esp_proposals = aes256gcm16,aes256-sha256\n');
    expect(text).not.toContain('secrets');
  });

  it('xl2tpd [lac] and pppd options: no secret in either; the password goes to its own file', () => {
    expect(xl2tpdConf(l2tpPsk, paths)).toContain('[lac backhaul]\nlns = 203.0.113.2\npppoptfile = /var/lib/backhaul/tunnels/office/ppp-options\nlength bit = yes\nautodial = no\nredial = no\n');
    const options = pppOptions(l2tpPsk, paths, 1402);
    expect(options).toContain('mtu 1402\nmru 1402\n');
    expect(options).toContain('lcp-echo-interval 30\nlcp-echo-failure 4\nlinkname backhaul-office\n');
    expect(options).toContain('name "vpnuser"\nfile /var/lib/backhaul/tunnels/office/ppp-secret\n');
    expect(options).not.toContain(PASSWORD);
    expect(pppSecret('pa"ss\\')).toBe('password "pa\\"ss\\\\"\n');
  });
});

let state: string;
let pidDir: string;
beforeEach(() => {
  state = mkdtempSync(join(tmpdir(), 'bh5-swan-'));
  pidDir = join(state, 'run');
  mkdirSync(pidDir);
});
afterEach(() => { rmSync(state, { recursive: true, force: true }); });

/** The sizes probePathMtu tries between low and high when only sizes up to `limit` pass. */
function bisection(low: number, high: number, limit: number): number[] {
  const sizes: number[] = [];
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    sizes.push(middle);
    if (middle <= limit) low = middle;
    else high = middle - 1;
  }
  return sizes;
}

describe('linux-swan L2TP session', () => {
  it('connects with its own charon and xl2tpd, deletes each secret file once read, routes the subnet, and removes everything', async () => {
    const dir = swanDir(state, 'office');
    const secretsSeen: Record<string, boolean> = {};
    const replay = new ReplayingCommandRunner([
      ...l2tpUp(dir),
      { argv: ['ip', 'route', 'del', '10.99.0.0/24', 'dev', 'ppp0'], reply: {} },
      { argv: ['sh', '-c', 'printf "%s\\n" "$1" > "$2"', 'sh', 'd backhaul', `${dir}/l2tp-control`], reply: {} },
      { argv: ['ip', '-j', 'addr', 'show', 'dev', 'ppp0'], reply: noDevice('ppp0') },
      { argv: swanctl(dir, '--terminate', '--ike', 'backhaul', '--timeout', '10'), reply: loadRecording('recorded/strongswan/terminate-office.txt') },
      unpinSubnet,
    ]);
    const runner = new DaemonRunner(replay, (spec) => {
      if (spec.argv[1] === '--load-all') {
        expect(statSync(dir).mode & 0o777).toBe(0o700);
        expect(statSync(`${dir}/swanctl/swanctl.conf`).mode & 0o777).toBe(0o600);
      }
      if (spec.argv[1] === '--initiate') secretsSeen['swanctl.conf after load'] = existsSync(`${dir}/swanctl/swanctl.conf`);
      if (spec.argv[4] === 'c backhaul') writeFileSync(join(pidDir, 'ppp-backhaul-office.pid'), '701\nppp0\n');
      if (spec.argv[1] === 'xfrm') secretsSeen['ppp-secret once the link is up'] = existsSync(`${dir}/ppp-secret`);
    });
    const journal = recordingJournal();
    const swan = createLinuxSwanDriver({ runner, host: labHost, stateDir: state, pacing: { pollMs: 0 }, pppPidDir: pidDir });
    expect(await swan.ensureProfile(l2tpPsk, signal, journal)).toBe('unchanged');
    const outcome = await swan.connect(l2tpPsk, signal, journal);
    expect(outcome).toEqual({ broughtUp: true, status: { state: 'up', interfaceName: 'ppp0', localAddress: '192.168.42.10', mtu: 1200 } });
    expect(secretsSeen).toEqual({ 'swanctl.conf after load': false, 'ppp-secret once the link is up': false });
    expect(runner.daemons).toEqual([
      ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$1" /run && exec "$2"', 'sh', `${dir}/run`, '/usr/lib/ipsec/charon'],
      ['xl2tpd', '-D', '-c', `${dir}/xl2tpd.conf`, '-p', `${dir}/xl2tpd.pid`, '-C', `${dir}/l2tp-control`],
    ]);
    expect(readdirSync(dir).sort()).toEqual(['charon.vici', 'l2tp-control', 'ppp-options', 'run', 'strongswan.conf', 'swanctl', 'xl2tpd.conf']);
    await swan.disconnect(l2tpPsk, signal, journal);
    expect(existsSync(dir)).toBe(false);
    expect(journal.events).toEqual([
      'acquire kill-switch unreachable 10.99.0.0/24 metric 65000',
      `acquire config-dir ${dir}`,
      `acquire process ${dir}/run/charon.pid`,
      `acquire process ${dir}/xl2tpd.pid`,
      'acquire route 10.99.0.0/24 dev ppp0',
      'release route 10.99.0.0/24 dev ppp0',
      `release process ${dir}/xl2tpd.pid`,
      `release process ${dir}/run/charon.pid`,
      `release config-dir ${dir}`,
      'release kill-switch unreachable 10.99.0.0/24 metric 65000',
    ]);
    replay.assertDone();
  });

  it('verifies through ppp0: interface, route, repository route, DF probe, cipher', async () => {
    const dir = swanDir(state, 'office');
    const replay = new ReplayingCommandRunner([
      ...l2tpUp(dir),
      { argv: ['ip', '-j', 'addr', 'show', 'dev', 'ppp0'], reply: rec('ip_-j_addr_show_dev_ppp0.direct.txt') },
      { argv: ['ip', '-j', 'addr', 'show', 'dev', 'ppp0'], reply: rec('ip_-j_addr_show_dev_ppp0.direct.txt') },
      { argv: ['ip', '-j', 'route', 'get', '10.99.0.1'], reply: rec('ip_-j_route_get_10.99.0.1.txt') },
      { argv: ['ip', '-j', 'route', 'get', '10.99.0.1'], reply: rec('ip_-j_route_get_10.99.0.1.txt') },
      { argv: ['ip', '-j', 'addr', 'show', 'dev', 'ppp0'], reply: rec('ip_-j_addr_show_dev_ppp0.direct.txt') },
      { argv: dfPingArgv('10.99.0.1', 1200), reply: { exitCode: 1 } },
      { argv: dfPingArgv('10.99.0.1', 576), reply: {} },
      ...bisection(576, 1199, 1190).map((size) => ({ argv: dfPingArgv('10.99.0.1', size), reply: size <= 1190 ? {} : { exitCode: 1 } })),
      { argv: ['ip', 'link', 'set', 'dev', 'ppp0', 'mtu', '1190'], reply: {} },
      { argv: ['ip', 'xfrm', 'state'], reply: { stdout: '\tauth-trunc hmac(sha256) <key> 128\n\tenc cbc(aes) <key>\n' } },
    ]);
    const logs: string[] = [];
    const swan = createLinuxSwanDriver({ runner: new DaemonRunner(replay), host: labHost, stateDir: state, pacing: { pollMs: 0 }, pppPidDir: pidDir, log: (_level, line) => logs.push(line) });
    writeFileSync(join(pidDir, 'ppp-backhaul-office.pid'), '701\nppp0\n');
    await swan.connect(l2tpPsk, signal, recordingJournal());
    await swan.verify?.(l2tpPsk, '10.99.0.1', signal, recordingJournal());
    expect(logs).toEqual(["MTU probe to 10.99.0.1: only 1190 bytes pass with don't-fragment set, not 1200; using the probe's value 1190"]);
    replay.assertDone();
  });

  it('wrong PSK: diagnosed from charon\'s lines, and nothing is left (daemons stopped, dir removed)', async () => {
    const dir = swanDir(state, 'office');
    const lines = loadRecording('recorded/linux/ipsec_up_lab-direct.direct-wrong-psk.txt').stdout;
    const replay = new ReplayingCommandRunner([
      ...l2tpUp(dir).slice(0, 3),
      { argv: swanctl(dir, '--initiate', '--child', 'backhaul', '--ike', 'backhaul', '--timeout', '45'), reply: { exitCode: 1, stdout: lines, stderr: 'initiate failed: establishing CHILD_SA \'backhaul\' failed\n' } },
      { argv: swanctl(dir, '--terminate', '--ike', 'backhaul', '--timeout', '10'), reply: { exitCode: 1, stderr: 'terminate failed: no matching SAs to terminate found\n' } },
      unpinSubnet,
    ]);
    const journal = recordingJournal();
    const swan = createLinuxSwanDriver({ runner: new DaemonRunner(replay), host: labHost, stateDir: state, pacing: { pollMs: 0 }, pppPidDir: pidDir });
    await expect(swan.connect(l2tpPsk, signal, journal)).rejects.toMatchObject({
      code: 'tunnel.wrong-psk',
      message: "profile office: the gateway rejected the IPsec pre-shared key (likely cause: the pre-shared key does not match the gateway's, IKE phase 1 could not be decrypted)",
    });
    expect(existsSync(dir)).toBe(false);
    expect(journal.held()).toEqual([]);
    replay.assertDone();
  });

  it('a failed connect stops charon even when its graceful terminate fails (seen as a stray charon under load in the failover lab)', async () => {
    const dir = swanDir(state, 'office');
    const lines = loadRecording('recorded/linux/ipsec_up_lab-direct.direct-wrong-psk.txt').stdout;
    const replay = new ReplayingCommandRunner([
      ...l2tpUp(dir).slice(0, 3),
      { argv: swanctl(dir, '--initiate', '--child', 'backhaul', '--ike', 'backhaul', '--timeout', '45'), reply: { exitCode: 1, stdout: lines } },
      // swanctl could not even run: the step fails, the rest of the teardown must still happen.
      { argv: swanctl(dir, '--terminate', '--ike', 'backhaul', '--timeout', '10'), reply: { spawnError: 'EACCES' } },
      unpinSubnet,
    ]);
    const journal = recordingJournal();
    const runner = new DaemonRunner(replay);
    const swan = createLinuxSwanDriver({ runner, host: labHost, stateDir: state, pacing: { pollMs: 0 }, pppPidDir: pidDir });
    await expect(swan.connect(l2tpPsk, signal, journal)).rejects.toMatchObject({ code: 'tunnel.wrong-psk' });
    // charon's process entry is released only once it has exited; the dir went after it.
    expect(journal.held()).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    replay.assertDone();
  });

  it('refuses L2TP on a kernel without ESP/L2TP before writing anything', async () => {
    const swan = createLinuxSwanDriver({ runner: new ReplayingCommandRunner([]), host: { ...labHost, kernelEsp: false, kernelL2tp: false }, stateDir: state });
    await expect(swan.connect(l2tpPsk, signal, recordingJournal())).rejects.toMatchObject({ code: 'tunnel.no-kernel-l2tp' });
    expect(readdirSync(state)).toEqual(['run']);
  });
});

describe('linux-swan IKEv2 over userspace ESP', () => {
  const raw = 'list-sa event {backhaul {uniqueid=1 version=2 state=ESTABLISHED local-host=10.10.1.2 local-port=4500 nat-local=yes nat-any=yes local-vips=[10.88.0.1] child-sas {backhaul-1 {name=backhaul state=INSTALLED mode=TUNNEL protocol=ESP}}}}\n';
  const upCommands = (dir: string) => [
    { argv: ['ip', '-j', 'route', 'get', '10.99.0.1'], reply: routeViaC0 },
    pinSubnet,
    { argv: swanctl(dir, '--load-all', '--noprompt', '--file', `${dir}/swanctl/swanctl.conf`), reply: {} },
    { argv: swanctl(dir, '--initiate', '--child', 'backhaul', '--ike', 'backhaul', '--timeout', '45'), reply: loadRecording('recorded/strongswan/initiate-office.txt') },
    { argv: swanctl(dir, '--list-sas', '--ike', 'backhaul', '--raw'), reply: { stdout: raw, source: 'swanctl --raw format, strongSwan testing/tests evaltest.dat' } },
    { argv: ['ip', 'link', 'set', 'dev', 'ipsec0', 'txqueuelen', '5000'], reply: {} },
  ];
  const cloudProfile = (): typeof ikev2Cert => {
    writeFileSync(join(state, 'client.pem'), 'CERT');
    writeFileSync(join(state, 'ca.pem'), 'CA');
    return { ...ikev2Cert, auth: { ...ikev2Cert.auth, certificate: join(state, 'client.pem'), ca: join(state, 'ca.pem') } } as typeof ikev2Cert;
  };

  it('status: no installed CHILD_SA is "down", with charon\'s last lines in the log; a charon that does not answer is not "down" but an error', async () => {
    const dir = swanDir(state, 'cloud');
    const profile = cloudProfile();
    const replay = new ReplayingCommandRunner([
      ...upCommands(dir),
      { argv: swanctl(dir, '--list-sas', '--ike', 'backhaul', '--raw'), reply: { stdout: '', source: 'swanctl --list-sas without a matching SA prints nothing and exits 0' } },
      { argv: swanctl(dir, '--list-sas', '--ike', 'backhaul', '--raw'), reply: { exitCode: 2, stdout: 'strongSwan 5.9.8 swanctl\nusage:\n', stderr: `connecting to 'unix://${dir}/charon.vici' failed: No such file or directory\nError: connecting to 'unix://${dir}/charon.vici' URI failed: No such file or directory\n`, source: 'swanctl 5.9.8 on this host with no charon behind the socket (exit 2)' } },
    ]);
    const logs: string[] = [];
    const swan = createLinuxSwanDriver({ runner: new DaemonRunner(replay), host: { ...labHost, kernelEsp: false }, stateDir: state, pacing: { pollMs: 0 }, log: (_level, line) => logs.push(line) });
    await swan.connect(profile, signal, recordingJournal());
    writeFileSync(`${dir}/charon.log`, '09[IKE] received DELETE for IKE_SA backhaul[1]\n09[IKE] deleting IKE_SA backhaul[1]\n');
    expect(await swan.status(profile, signal)).toEqual({ state: 'down' });
    expect(logs.at(-1)).toBe("profile cloud: no installed CHILD_SA (SA states: none); charon's last lines:\n09[IKE] received DELETE for IKE_SA backhaul[1]\n09[IKE] deleting IKE_SA backhaul[1]");
    await expect(swan.status(profile, signal)).rejects.toMatchObject({ code: 'tunnel.status-unavailable' });
    replay.assertDone();
  });

  it('loads kernel-libipsec, reads the virtual IP, raises the TUN queue', async () => {
    const dir = swanDir(state, 'cloud');
    const profile = cloudProfile();
    const replay = new ReplayingCommandRunner([
      ...upCommands(dir),
    ]);
    const runner = new DaemonRunner(replay, (spec) => {
      if (spec.argv[1] === '--load-all') {
        expect(statSync(`${dir}/swanctl/private/client.key`).mode & 0o777).toBe(0o600);
        expect(readFileSync(`${dir}/strongswan.conf`, 'utf8')).toContain('constraints kernel-libipsec kernel-netlink');
      }
    });
    const swan = createLinuxSwanDriver({ runner, host: { ...labHost, kernelEsp: false }, stateDir: state, pacing: { pollMs: 0 } });
    const outcome = await swan.connect(profile, signal, recordingJournal());
    expect(outcome.status).toEqual({ state: 'up', interfaceName: 'ipsec0', localAddress: '10.88.0.1' });
    expect(existsSync(`${dir}/swanctl/private/client.key`)).toBe(false);
    replay.assertDone();
  });
});

describe('linux-swan cleanUp after a crash', () => {
  it('stops its daemons by pid file (only if they still name its dir), then routes, then the dir', async () => {
    const dir = swanDir(state, 'office');
    mkdirSync(`${dir}/run`, { recursive: true });
    writeFileSync(`${dir}/run/charon.pid`, `${process.pid}\n`);
    const replay = new ReplayingCommandRunner([
      { argv: ['ip', 'route', 'del', '10.99.0.0/24', 'dev', 'ppp0'], reply: { exitCode: 2, stderr: 'Cannot find device "ppp0"\n' } },
    ]);
    const swan = createLinuxSwanDriver({ runner: replay, host: labHost, stateDir: state });
    await swan.cleanUp?.({
      profile: 'office',
      tunnelUp: true,
      resources: [
        { kind: 'config-dir', id: dir },
        { kind: 'route', id: '10.99.0.0/24 dev ppp0' },
        { kind: 'process', id: `${dir}/run/charon.pid` },
      ],
    }, signal);
    // The pid in the file is this test process, which does not name the dir: left alone.
    expect(existsSync(dir)).toBe(false);
    replay.assertDone();
  });
});
