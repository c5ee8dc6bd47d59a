import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TunnelError } from '../../src/connect/driver.js';
import {
  createLinuxNmDriver,
  desiredVpnData,
  formatVpnData,
  knownL2tpKeys,
  parseTerse,
  parseVpnData,
  passwdLine,
} from '../../src/connect/linux-nm.js';
import { dfPingArgv } from '../../src/connect/mtu.js';
import { ReplayingCommandRunner, type Expectation } from '../helpers/replaying-runner.js';
import { cursor, fakeFiles, ikev2Cert, journalCat, l2tpPsk, labHost, noDevice, PASSWORD, pinSubnet, PSK, rec, recordingJournal, routeViaC0, unpinSubnet } from './linux-fakes.js';

const signal = new AbortController().signal;
const pacing = { pollMs: 0 };
const NAME = 'backhaul-office';
const SHOW_FIELDS = ['nmcli', '-t', '-f', 'connection.id,vpn.service-type,vpn.data,ipv4.never-default,ipv4.routes', 'connection', 'show', 'id', NAME];
const L2TP_DATA =
  'gateway=203.0.113.2, user=vpnuser, password-flags=2, ipsec-enabled=yes, ipsec-psk-flags=2, ipsec-ike=aes256-sha256-modp2048\\,aes128-sha256-modp2048!, ' +
  'ipsec-esp=aes256-sha256\\,aes128-sha256!, mtu=1402, mru=1402, refuse-pap=yes, lcp-echo-interval=30, lcp-echo-failure=4';
/** What nmcli -t prints for that connection (keys sorted, `key = value`, commas escaped): seen in the lab. */
const L2TP_SHOWN =
  'gateway = 203.0.113.2, ipsec-enabled = yes, ipsec-esp = aes256-sha256\\,aes128-sha256!, ipsec-ike = aes256-sha256-modp2048\\,aes128-sha256-modp2048!, ' +
  'ipsec-psk-flags = 2, lcp-echo-failure = 4, lcp-echo-interval = 30, mru = 1402, mtu = 1402, password-flags = 2, refuse-pap = yes, user = vpnuser';

function driver(runner: ReplayingCommandRunner, files = fakeFiles(), host = labHost) {
  return createLinuxNmDriver({ runner, host, pacing, files });
}

describe('vpn.data', () => {
  it('holds only the keys Backhaul owns, no secret, with proposals from the profile', () => {
    const data = desiredVpnData(l2tpPsk, labHost);
    expect(formatVpnData(new Map([...data].filter(([key]) => knownL2tpKeys('1.20.8').has(key))))).toBe(L2TP_DATA);
    expect([...data.values()].join(' ')).not.toContain(PSK);
    expect([...data.values()].join(' ')).not.toContain(PASSWORD);
  });

  it('never writes a key network-manager-l2tp 1.20.8 does not know; 1.52.2 and later get xl2tpd-max-retries', () => {
    expect(knownL2tpKeys('1.20.8').has('xl2tpd-max-retries')).toBe(false);
    expect(knownL2tpKeys(undefined).has('ipcp-peer-ip')).toBe(false);
    expect(knownL2tpKeys('1.52.4').has('xl2tpd-max-retries')).toBe(true);
    expect(desiredVpnData(l2tpPsk, labHost).get('xl2tpd-max-retries')).toBe('5');
  });

  it('stores the PSK in NetworkManager (flags 0) only when the auth dialog is missing', () => {
    expect(desiredVpnData(l2tpPsk, { nmL2tpAuthDialog: false }).get('ipsec-psk-flags')).toBe('0');
  });

  it('uses the machine certificate keys for L2TP with certificates', () => {
    const data = desiredVpnData({ ...l2tpPsk, auth: { method: 'certificate', certificate: '/c.pem', keyPath: '/c.key', key: 'k', ca: '/ca.pem', username: 'vpnuser', password: PASSWORD } }, labHost);
    expect(Object.fromEntries([...data].filter(([key]) => key.startsWith('machine')))).toEqual({
      'machine-auth-type': 'tls', 'machine-cert': '/c.pem', 'machine-key': '/c.key', 'machine-ca': '/ca.pem', 'machine-certpass-flags': '4',
    });
    expect(data.has('ipsec-psk-flags')).toBe(false);
  });

  it('builds charon-nm data for IKEv2: certificate, virtual IP, proposals ";"-separated, split traffic selectors', () => {
    expect(formatVpnData(desiredVpnData(ikev2Cert, labHost))).toBe(
      'address=203.0.113.2, certificate=/etc/lab-ikev2/ca.pem, method=key, usercert=/etc/lab-ikev2/client.pem, userkey=/etc/lab-ikev2/client.key, ' +
        'virtual=yes, encap=no, ipcomp=no, proposal=yes, ike=aes256gcm16-prfsha256-ecp256;aes256-sha256-modp2048, esp=aes256gcm16;aes256-sha256, remote-ts=10.99.0.0/24',
    );
  });

  it('parses what nmcli prints back, including escaped commas', () => {
    expect(parseVpnData(L2TP_SHOWN).get('ipsec-ike')).toBe('aes256-sha256-modp2048,aes128-sha256-modp2048!');
    const shown = parseTerse(rec('nmcli_-t_connection_show_cloud-l2tp.txt').stdout ?? '');
    expect(shown.get('VPN.VPN-STATE')).toBe('5 - VPN connected');
    expect(parseVpnData(shown.get('vpn.data') ?? '').get('mtu')).toBe('1200');
  });

  it('writes passwd-file lines with backslashes and edge blanks escaped, and refuses line breaks', () => {
    expect(passwdLine('password', 'a\\b ')).toBe('vpn.secrets.password:a\\\\b\\ \n');
    expect(() => passwdLine('ipsec-psk', 'a\nb')).toThrow(TunnelError);
  });
});

describe('linux-nm ensureProfile', () => {
  it('creates the connection when NetworkManager does not know it, journaling it while it is half-made', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: SHOW_FIELDS, reply: { exitCode: 10, stderr: `Error: ${NAME} - no such connection profile.\n`, source: 'lab guest, nmcli 1.42.4' } },
      {
        argv: ['nmcli', 'connection', 'add', 'type', 'vpn', 'con-name', NAME, 'vpn-type', 'l2tp', 'vpn.data', L2TP_DATA,
          'ipv4.never-default', 'yes', 'ipv4.routes', '10.99.0.0/24', 'ipv6.method', 'ignore', 'connection.autoconnect', 'no'],
        reply: rec('nm-ikev2-add.txt'),
      },
    ]);
    const journal = recordingJournal();
    expect(await driver(runner).ensureProfile(l2tpPsk, signal, journal)).toBe('created');
    expect(journal.events).toEqual([`acquire nm-connection ${NAME}`, `release nm-connection ${NAME}`]);
    runner.assertDone();
  });

  it('changes nothing when the owned keys already match', async () => {
    const shown = `connection.id:${NAME}\nvpn.service-type:org.freedesktop.NetworkManager.l2tp\nvpn.data:${L2TP_SHOWN}\nipv4.never-default:yes\nipv4.routes:10.99.0.0/24\n`;
    const runner = new ReplayingCommandRunner([{ argv: SHOW_FIELDS, reply: { stdout: shown } }]);
    expect(await driver(runner).ensureProfile(l2tpPsk, signal, recordingJournal())).toBe('unchanged');
    runner.assertDone();
  });

  it('updates only its own keys and keeps the user\'s', async () => {
    const shown = `connection.id:${NAME}\nvpn.service-type:org.freedesktop.NetworkManager.l2tp\nvpn.data:${L2TP_SHOWN.replace('mtu = 1402', 'mtu = 1200')}, domain = CORP\nipv4.never-default:yes\nipv4.routes:10.99.0.0/24\n`;
    const runner = new ReplayingCommandRunner([
      { argv: SHOW_FIELDS, reply: { stdout: shown } },
      { argv: ['nmcli', 'connection', 'modify', 'id', NAME, 'vpn.data', `domain=CORP, ${L2TP_DATA}`, 'ipv4.never-default', 'yes', 'ipv4.routes', '10.99.0.0/24'], reply: {} },
    ]);
    expect(await driver(runner).ensureProfile(l2tpPsk, signal, recordingJournal())).toBe('updated');
    runner.assertDone();
  });

  it('refuses what NetworkManager cannot do headless: an IKEv2 PSK, an encrypted key', async () => {
    const runner = new ReplayingCommandRunner([]);
    await expect(driver(runner).ensureProfile({ ...ikev2Cert, auth: { method: 'psk', psk: PSK } }, signal, recordingJournal())).rejects.toMatchObject({ code: 'tunnel.nm-ikev2-psk' });
    const encrypted = { ...ikev2Cert, auth: { method: 'certificate' as const, certificate: '/c.pem', keyPath: '/c.key', key: '-----BEGIN ENCRYPTED PRIVATE KEY-----\nx\n' } };
    await expect(driver(runner).ensureProfile(encrypted, signal, recordingJournal())).rejects.toMatchObject({ code: 'tunnel.encrypted-key' });
    runner.assertDone();
  });

  it('refuses a weak proposal before running anything', async () => {
    const runner = new ReplayingCommandRunner([]);
    await expect(driver(runner).ensureProfile({ ...l2tpPsk, ikeProposals: ['3des-sha1-modp1024'] }, signal, recordingJournal())).rejects.toMatchObject({ code: 'tunnel.weak-cipher' });
    runner.assertDone();
  });
});

const SHOW = ['nmcli', '-t', 'connection', 'show', 'id', NAME];
const UP = ['nmcli', '-w', '90', 'connection', 'up', 'id', NAME, 'passwd-file', '/dev/fd/3'];
const CURSOR = ['journalctl', '-n', '0', '--show-cursor', '--no-pager'];
const JOURNAL = ['journalctl', '--no-pager', '-o', 'cat', '--after-cursor=s=763b167b;i=259',
  '-t', 'NetworkManager', '-t', 'nm-l2tp-service', '-t', 'charon', '-t', 'charon-nm', '-t', 'ipsec_starter', '-t', 'pppd', '-t', 'xl2tpd'];

const UUID = '4c11c226-9a15-4580-9df5-e6896e22bbfa';
const pluginGone: Expectation = { argv: ['pgrep', '-x', 'nm-l2tp-service'], reply: { exitCode: 1 } };
const activeNoVpn: Expectation = { argv: ['nmcli', '-t', '-f', 'TYPE,DEVICE', 'connection', 'show', '--active'], reply: { stdout: '802-3-ethernet:c0\nloopback:lo\n' } };

function upToActive(): Expectation[] {
  return [
    { argv: SHOW, reply: rec('nmcli_-t_connection_show_cloud-l2tp.inactive.txt') },
    { argv: ['ip', '-j', 'route', 'get', '10.99.0.1'], reply: routeViaC0 },
    pinSubnet,
    { argv: CURSOR, reply: cursor },
    { argv: UP, reply: rec('nm-secrets-up.fd.auth-dialog.txt') },
    { argv: SHOW, reply: rec('nmcli_-t_connection_show_cloud-l2tp.txt') },
    { argv: ['ip', '-j', 'addr', 'show'], reply: rec('ip_-j_addr_show_dev_ppp0.txt') },
  ];
}

describe('linux-nm connect', () => {
  it('passes password and PSK on a pipe (fd 3), never in argv, and finds ppp0 by its address', async () => {
    const runner = new ReplayingCommandRunner(upToActive());
    const outcome = await driver(runner).connect(l2tpPsk, signal, recordingJournal());
    expect(outcome).toEqual({ broughtUp: true, status: { state: 'up', localAddress: '192.168.42.10', interfaceName: 'ppp0', mtu: 1200 } });
    const up = runner.calls[4];
    expect(up?.pipes).toEqual([`vpn.secrets.password:${PASSWORD}\nvpn.secrets.ipsec-psk:${PSK}\n`]);
    for (const call of runner.calls) expect(call.argv.join(' ')).not.toMatch(/CANARY/);
    runner.assertDone();
  });

  it('without the auth dialog: the PSK goes to NetworkManager through nmcli edit on stdin, the password on the pipe', async () => {
    const expectations = upToActive();
    expectations.splice(3, 0, { argv: ['nmcli', 'connection', 'edit', 'id', NAME], reply: { stdout: 'nmcli> save persistent\n' } });
    const runner = new ReplayingCommandRunner(expectations);
    const journal = recordingJournal();
    await driver(runner, fakeFiles(), { ...labHost, nmL2tpAuthDialog: false }).connect(l2tpPsk, signal, journal);
    expect(runner.calls[3]?.stdin).toBe(`set vpn.secrets ipsec-psk=${PSK}\nsave persistent\nquit\n`);
    // nmcli's editor writes its history (the PSK) under HOME: a throw-away one, gone afterwards
    const home = runner.calls[3]?.env?.['HOME'] ?? '';
    expect(home).toMatch(/backhaul-nmcli-/);
    expect(existsSync(home)).toBe(false);
    expect(runner.calls[5]?.pipes).toEqual([`vpn.secrets.password:${PASSWORD}\n`]);
    expect(journal.events).toEqual(['acquire kill-switch unreachable 10.99.0.0/24 metric 65000', `acquire nm-secret ${NAME}`]);
    runner.assertDone();
  });

  it('uses a tunnel that is already up and leaves it alone', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: SHOW, reply: rec('nmcli_-t_connection_show_cloud-l2tp.txt') },
      { argv: ['ip', '-j', 'addr', 'show'], reply: rec('ip_-j_addr_show_dev_ppp0.txt') },
      { argv: SHOW, reply: rec('nmcli_-t_connection_show_cloud-l2tp.txt') },
      { argv: ['ip', '-j', 'addr', 'show'], reply: rec('ip_-j_addr_show_dev_ppp0.txt') },
    ]);
    const outcome = await driver(runner).connect(l2tpPsk, signal, recordingJournal());
    expect(outcome.broughtUp).toBe(false);
    runner.assertDone();
  });

  it('wrong PSK: the journal tells it from an unreachable gateway; the plugin\'s charon is stopped', async () => {
    const files = fakeFiles({
      '/run/starter.charon.pid': '663\n',
      '/proc/663/cmdline': `/usr/lib/ipsec/starter\0--daemon\0charon\0--conf\0/run/nm-l2tp-${UUID}/ipsec.conf\0`,
      [`/run/nm-l2tp-${UUID}`]: '',
      '/etc/ipsec.d/ipsec.nm-l2tp.secrets': ': PSK 0s…',
    });
    const runner = new ReplayingCommandRunner([
      ...upToActive().slice(0, 4),
      { argv: UP, reply: rec('nmcli_-w_60_connection_up_cloud-l2tp.wrong-psk.txt') },
      { argv: JOURNAL, reply: journalCat('journalctl_NetworkManager_charon_pppd.wrong-psk.txt') },
      { argv: ['nmcli', '-w', '20', 'connection', 'down', 'id', NAME], reply: rec('nmcli_-w_30_connection_down_cloud-l2tp.not-active.txt') },
      { argv: ['ipsec', 'stop'], reply: { stdout: 'Stopping strongSwan IPsec...\n' } },
      { argv: ['pgrep', '-x', 'nm-l2tp-service'], reply: { stdout: '852\n' } },
      pluginGone,
      activeNoVpn,
      // the plugin gave up and left its run dir and the PSK file (seen in the lab): removed
      { argv: ['rm', '-rf', '--', `/run/nm-l2tp-${UUID}`, '/etc/ipsec.d/ipsec.nm-l2tp.secrets'], reply: {} },
      unpinSubnet,
    ]);
    const stop = runner.run.bind(runner);
    runner.run = async (spec) => {
      const result = await stop(spec);
      if (spec.argv[0] === 'ipsec') Reflect.deleteProperty(files.files, '/run/starter.charon.pid');
      if (spec.argv[0] === 'rm') for (const path of spec.argv.slice(3)) Reflect.deleteProperty(files.files, path);
      return result;
    };
    const error = await driver(runner, files).connect(l2tpPsk, signal, recordingJournal()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TunnelError);
    expect(files.files).not.toHaveProperty('/etc/ipsec.d/ipsec.nm-l2tp.secrets');
    expect(error).toMatchObject({
      code: 'tunnel.wrong-psk',
      message: "profile office: the gateway rejected the IPsec pre-shared key (likely cause: the pre-shared key does not match the gateway's, IKE phase 1 could not be decrypted)",
    });
    runner.assertDone();
  });

  it('wrong password: pppd\'s CHAP failure', async () => {
    const runner = new ReplayingCommandRunner([
      ...upToActive().slice(0, 4),
      { argv: UP, reply: rec('nmcli_-w_60_connection_up_cloud-l2tp.wrong-password.txt') },
      { argv: JOURNAL, reply: journalCat('journalctl_NetworkManager_charon_pppd.wrong-password.txt') },
      { argv: ['nmcli', '-w', '20', 'connection', 'down', 'id', NAME], reply: rec('nmcli_-w_30_connection_down_cloud-l2tp.not-active.txt') },
      pluginGone,
      activeNoVpn,
      unpinSubnet,
    ]);
    await expect(driver(runner).connect(l2tpPsk, signal, recordingJournal())).rejects.toMatchObject({
      code: 'tunnel.wrong-password',
      message: 'profile office: the L2TP server rejected the user name or password (likely cause: auth.username or the password in auth.password is wrong, or the account is locked)',
      hint: 'Check auth.username and the password file auth.password points to.',
    });
    runner.assertDone();
  });

  it('when NetworkManager gives up before charon knows why, waits for charon\'s next lines instead of retrying', async () => {
    const first = "initiating Main Mode IKE_SA 4c11c226[1] to 203.0.113.99\nsending packet: from 10.77.1.2[500] to 203.0.113.99[500] (532 bytes)\nvpn[0x5600]: failed to connect: 'Timeout was reached'\n";
    const runner = new ReplayingCommandRunner([
      ...upToActive().slice(0, 4),
      { argv: UP, reply: rec('nmcli_-w_60_connection_up_cloud-l2tp.unreachable-gateway.txt') },
      { argv: JOURNAL, reply: { stdout: first } },
      { argv: JOURNAL, reply: { stdout: first } },
      { argv: JOURNAL, reply: { stdout: `${first}sending retransmit 1 of request message ID 0, seq 1\n` } },
      { argv: ['nmcli', '-w', '20', 'connection', 'down', 'id', NAME], reply: rec('nmcli_-w_30_connection_down_cloud-l2tp.not-active.txt') },
      pluginGone,
      activeNoVpn,
      unpinSubnet,
    ]);
    await expect(driver(runner).connect(l2tpPsk, signal, recordingJournal())).rejects.toMatchObject({ code: 'tunnel.gateway-unreachable' });
    runner.assertDone();
  });

  it('tries again when only NetworkManager\'s plugin timeout stopped it (slow machines)', async () => {
    const runner = new ReplayingCommandRunner([
      ...upToActive().slice(0, 4),
      { argv: UP, reply: { ...rec('nmcli_-w_60_connection_up_cloud-l2tp.unreachable-gateway.txt'), source: 'the exit of lab.md pitfall 2' } },
      { argv: JOURNAL, reply: { stdout: "vpn[0x5600,\"backhaul-office\"]: failed to connect: 'Timeout was reached'\n" } },
      { argv: ['nmcli', '-w', '20', 'connection', 'down', 'id', NAME], reply: rec('nmcli_-w_30_connection_down_cloud-l2tp.not-active.txt') },
      pluginGone,
      activeNoVpn,
      ...upToActive().slice(3),
    ]);
    const outcome = await driver(runner).connect(l2tpPsk, signal, recordingJournal());
    expect(outcome.broughtUp).toBe(true);
    runner.assertDone();
  });
});

describe('linux-nm reconnect', () => {
  it('repairs a dropped L2TP tunnel in place: the kill switch stays pinned throughout, the plugin is settled, the same secrets go on the pipe', async () => {
    const runner = new ReplayingCommandRunner([
      ...upToActive(),
      // pppd gone (the gateway hung up): NetworkManager shows the connection inactive
      { argv: SHOW, reply: rec('nmcli_-t_connection_show_cloud-l2tp.inactive.txt') },
      { argv: ['nmcli', '-w', '20', 'connection', 'down', 'id', NAME], reply: rec('nmcli_-w_30_connection_down_cloud-l2tp.not-active.txt') },
      pluginGone,
      activeNoVpn,
      { argv: CURSOR, reply: cursor },
      { argv: UP, reply: rec('nm-secrets-up.fd.auth-dialog.txt') },
      { argv: SHOW, reply: rec('nmcli_-t_connection_show_cloud-l2tp.txt') },
      { argv: ['ip', '-j', 'addr', 'show'], reply: rec('ip_-j_addr_show_dev_ppp0.txt') },
    ]);
    const journal = recordingJournal();
    const nm = driver(runner);
    await nm.connect(l2tpPsk, signal, journal);
    const outcome = await nm.reconnect?.(l2tpPsk, signal, journal);
    expect(outcome).toEqual({ broughtUp: true, status: { state: 'up', localAddress: '192.168.42.10', interfaceName: 'ppp0', mtu: 1200 } });
    // Pinned once at connect, never lifted: no "ip route del unreachable" while the tunnel was away.
    expect(runner.calls.filter((c) => c.argv[0] === 'ip' && c.argv[2] === 'del')).toEqual([]);
    expect(journal.events).toEqual(['acquire kill-switch unreachable 10.99.0.0/24 metric 65000']);
    expect(runner.calls.at(-3)?.pipes).toEqual([`vpn.secrets.password:${PASSWORD}\nvpn.secrets.ipsec-psk:${PSK}\n`]);
    runner.assertDone();
  });

  it('without the auth dialog: forgets the stored PSK of the lost session and stores it again for the new one', async () => {
    const edit: Expectation = { argv: ['nmcli', 'connection', 'edit', 'id', NAME], reply: { stdout: 'nmcli> save persistent\n' } };
    const expectations = upToActive();
    expectations.splice(3, 0, edit);
    const runner = new ReplayingCommandRunner([
      ...expectations,
      edit, // remove vpn.secrets
      { argv: SHOW, reply: rec('nmcli_-t_connection_show_cloud-l2tp.inactive.txt') },
      { argv: ['nmcli', '-w', '20', 'connection', 'down', 'id', NAME], reply: rec('nmcli_-w_30_connection_down_cloud-l2tp.not-active.txt') },
      pluginGone,
      activeNoVpn,
      edit, // set vpn.secrets ipsec-psk=…
      { argv: CURSOR, reply: cursor },
      { argv: UP, reply: rec('nm-secrets-up.fd.auth-dialog.txt') },
      { argv: SHOW, reply: rec('nmcli_-t_connection_show_cloud-l2tp.txt') },
      { argv: ['ip', '-j', 'addr', 'show'], reply: rec('ip_-j_addr_show_dev_ppp0.txt') },
    ]);
    const journal = recordingJournal();
    const nm = driver(runner, fakeFiles(), { ...labHost, nmL2tpAuthDialog: false });
    await nm.connect(l2tpPsk, signal, journal);
    await nm.reconnect?.(l2tpPsk, signal, journal);
    const edits = runner.calls.filter((c) => c.argv[1] === 'connection' && c.argv[2] === 'edit').map((c) => c.stdin);
    expect(edits).toEqual([`set vpn.secrets ipsec-psk=${PSK}\nsave persistent\nquit\n`, 'remove vpn.secrets\nsave persistent\nquit\n', `set vpn.secrets ipsec-psk=${PSK}\nsave persistent\nquit\n`]);
    expect(journal.events).toEqual([
      'acquire kill-switch unreachable 10.99.0.0/24 metric 65000', `acquire nm-secret ${NAME}`, `release nm-secret ${NAME}`, `acquire nm-secret ${NAME}`,
    ]);
    runner.assertDone();
  });
});

describe('linux-nm verify, disconnect, cleanUp', () => {
  it('checks interface, routes, repository route, MTU by DF probe and the negotiated cipher — and names the failed check', async () => {
    const runner = new ReplayingCommandRunner([
      ...upToActive(),
      { argv: SHOW, reply: rec('nmcli_-t_connection_show_cloud-l2tp.txt') },
      { argv: ['ip', '-j', 'addr', 'show'], reply: rec('ip_-j_addr_show_dev_ppp0.txt') },
      { argv: ['ip', '-j', 'addr', 'show', 'dev', 'ppp0'], reply: rec('ip_-j_addr_show_dev_ppp0.txt') },
      { argv: ['ip', '-j', 'route', 'get', '10.99.0.1'], reply: rec('ip_-j_route_get_10.99.0.1.txt') },
      { argv: ['ip', '-j', 'route', 'get', '10.99.0.1'], reply: rec('ip_-j_route_get_10.99.0.1.txt') },
      { argv: ['ip', '-j', 'addr', 'show', 'dev', 'ppp0'], reply: rec('ip_-j_addr_show_dev_ppp0.txt') },
      { argv: dfPingArgv('10.99.0.1', 1200), reply: {} },
      { argv: ['ip', 'xfrm', 'state'], reply: rec('ip_xfrm_state.txt') },
    ]);
    const nm = driver(runner);
    await nm.connect(l2tpPsk, signal, recordingJournal());
    // The recorded SAs came from NetworkManager-l2tp's own default phase 2 (aes-sha1): the check refuses it.
    await expect(nm.verify?.(l2tpPsk, '10.99.0.1', signal, recordingJournal())).rejects.toMatchObject({
      code: 'verify.cipher',
      message: 'verify (cipher): the gateway negotiated SHA-1 for ESP, which the cipher policy refuses',
    });
    runner.assertDone();
  });

  it('a split route outside the tunnel fails the routes check', async () => {
    const runner = new ReplayingCommandRunner([
      ...upToActive(),
      { argv: SHOW, reply: rec('nmcli_-t_connection_show_cloud-l2tp.txt') },
      { argv: ['ip', '-j', 'addr', 'show'], reply: rec('ip_-j_addr_show_dev_ppp0.txt') },
      { argv: ['ip', '-j', 'addr', 'show', 'dev', 'ppp0'], reply: rec('ip_-j_addr_show_dev_ppp0.txt') },
      { argv: ['ip', '-j', 'route', 'get', '10.99.0.1'], reply: routeViaC0 },
    ]);
    const nm = driver(runner);
    await nm.connect(l2tpPsk, signal, recordingJournal());
    await expect(nm.verify?.(l2tpPsk, '10.99.0.1', signal, recordingJournal())).rejects.toMatchObject({
      code: 'verify.routes',
      message: 'verify (routes): the split route 10.99.0.0/24 does not go through the tunnel (ip route get 10.99.0.1: 10.99.0.1 via 10.77.1.1 dev c0)',
    });
    runner.assertDone();
  });

  it('disconnects, waits for ppp0 and the plugin\'s PSK file to go, and forgets a PSK it stored', async () => {
    const files = fakeFiles({ '/etc/ipsec.d/ipsec.nm-l2tp.secrets': ': PSK 0s...' });
    const expectations = upToActive();
    expectations.splice(3, 0, { argv: ['nmcli', 'connection', 'edit', 'id', NAME], reply: {} });
    const runner = new ReplayingCommandRunner([
      ...expectations,
      { argv: SHOW, reply: rec('nmcli_-t_connection_show_cloud-l2tp.txt') },
      { argv: ['ip', '-j', 'addr', 'show'], reply: rec('ip_-j_addr_show_dev_ppp0.txt') },
      { argv: ['nmcli', '-w', '20', 'connection', 'down', 'id', NAME], reply: rec('nmcli_-w_30_connection_down_cloud-l2tp.success.txt') },
      { argv: ['ip', '-j', 'addr', 'show', 'dev', 'ppp0'], reply: rec('ip_-j_addr_show_dev_ppp0.txt') },
      { argv: ['ip', '-j', 'addr', 'show', 'dev', 'ppp0'], reply: noDevice('ppp0') },
      { argv: ['nmcli', 'connection', 'edit', 'id', NAME], reply: {} },
      unpinSubnet,
    ]);
    const nm = driver(runner, files, { ...labHost, nmL2tpAuthDialog: false });
    const journal = recordingJournal();
    await nm.connect(l2tpPsk, signal, journal);
    Reflect.deleteProperty(files.files, '/etc/ipsec.d/ipsec.nm-l2tp.secrets');
    await nm.disconnect(l2tpPsk, signal, journal);
    expect(runner.calls.at(-2)?.stdin).toBe('remove vpn.secrets\nsave persistent\nquit\n');
    expect(journal.held()).toEqual([]);
    runner.assertDone();
  });

  it('cleans up after a crash: routes, nft table, a stored PSK, a half-made connection, the tunnel', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: ['ip', 'route', 'del', '10.99.0.0/24', 'dev', 'ppp0'], reply: { exitCode: 2, stderr: 'Cannot find device "ppp0"\n' } },
      { argv: ['nft', 'delete', 'table', 'inet', 'backhaul_office'], reply: {} },
      { argv: ['nmcli', 'connection', 'edit', 'id', NAME], reply: {} },
      { argv: ['nmcli', 'connection', 'delete', 'id', NAME], reply: {} },
      { argv: ['nmcli', '-w', '30', 'connection', 'down', 'id', NAME], reply: rec('nmcli_-w_30_connection_down_cloud-l2tp.not-active.txt') },
    ]);
    await driver(runner).cleanUp?.({
      profile: 'office',
      tunnelUp: true,
      resources: [
        { kind: 'route', id: '10.99.0.0/24 dev ppp0' },
        { kind: 'nft-table', id: 'inet backhaul_office' },
        { kind: 'nm-secret', id: NAME },
        { kind: 'nm-connection', id: NAME },
      ],
    }, signal);
    runner.assertDone();
  });
});

describe('linux-nm IKEv2 (charon-nm)', () => {
  const CLOUD = 'backhaul-cloud';
  const SHOW_CLOUD = ['nmcli', '-t', 'connection', 'show', 'id', CLOUD];
  /** `ip -br addr` of the recording (nm-ikev2-ip-addr.txt) as ip -j prints it. */
  const addrs = { stdout: JSON.stringify([
    { ifname: 'c0', flags: ['UP'], mtu: 1500, addr_info: [{ family: 'inet', local: '10.77.1.2' }, { family: 'inet', local: '10.88.0.1' }] },
    { ifname: 'tun0', flags: ['UP'], mtu: 1500, addr_info: [{ family: 'inet', local: '10.88.0.1' }] },
  ]), source: 'recorded/linux/nm-ikev2-ip-addr.txt as JSON' };

  it('connects without secrets, routes through table 220 (no tunnel device) and disconnects without waiting for tun0', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: SHOW_CLOUD, reply: rec('nmcli_-t_connection_show_cloud-l2tp.inactive.txt') },
      { argv: ['ip', '-j', 'route', 'get', '10.99.0.1'], reply: routeViaC0 },
      pinSubnet,
      { argv: CURSOR, reply: cursor },
      { argv: ['nmcli', '-w', '90', 'connection', 'up', 'id', CLOUD], reply: rec('nm-ikev2-up.attempt1.txt') },
      { argv: SHOW_CLOUD, reply: rec('nm-ikev2-nmcli-t-show.txt') },
      { argv: ['ip', '-j', 'addr', 'show'], reply: addrs },
      { argv: SHOW_CLOUD, reply: rec('nm-ikev2-nmcli-t-show.txt') },
      { argv: ['ip', '-j', 'addr', 'show'], reply: addrs },
      { argv: ['nmcli', '-w', '20', 'connection', 'down', 'id', CLOUD], reply: rec('nm-ikev2-down.txt') },
      unpinSubnet,
    ]);
    const nm = driver(runner);
    const outcome = await nm.connect(ikev2Cert, signal, recordingJournal());
    expect(outcome).toEqual({ broughtUp: true, status: { state: 'up', localAddress: '10.88.0.1' } });
    expect(runner.calls[4]?.pipes).toBeUndefined();
    await nm.disconnect(ikev2Cert, signal, recordingJournal());
    runner.assertDone();
  });
});
