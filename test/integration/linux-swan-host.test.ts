/**
 * The linux-swan driver for real, on this host, without a VM: IKEv2 with certificates between
 * network namespaces (client ↔ NAT ↔ server), ESP in strongSwan's userspace (kernel-libipsec on
 * a TUN device: this kernel has no ESP), a restic backup through the tunnel to `rclone serve
 * restic` on the server's private address, then teardown leaving nothing. Everything runs in
 * namespaces named bh5-<pid>-*, removed afterwards. Needs root, strongSwan with
 * libcharon-extra-plugins, /dev/net/tun, restic, rclone and openssl; skipped otherwise.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TunnelProfile } from '../../src/connect/driver.js';
import type { HostFacts } from '../../src/connect/host-probe.js';
import { createLinuxSwanDriver } from '../../src/connect/linux-swan.js';
import { createCommandRunner, type CommandRunner, type CommandSpec } from '../../src/os/command.js';
import { recordingJournal } from '../connect/linux-fakes.js';

const LIBIPSEC = '/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so';
const TOOLS = ['/usr/lib/ipsec/charon', '/usr/sbin/swanctl', LIBIPSEC, '/dev/net/tun', '/usr/bin/restic', '/usr/bin/rclone', '/usr/bin/openssl', '/usr/bin/unshare'];
const available = process.getuid?.() === 0 && TOOLS.every((path) => existsSync(path));

const ns = { client: `bh5-${process.pid}-c`, nat: `bh5-${process.pid}-n`, server: `bh5-${process.pid}-s` };
const SERVER = '198.51.100.2';
const REPO = '10.99.0.1';
const real = createCommandRunner();
const signal = new AbortController().signal;

async function sh(script: string, spec: Partial<CommandSpec> = {}): Promise<string> {
  return (await real.run({ argv: ['bash', '-ec', script], timeoutMs: 60_000, ...spec })).stdout;
}

/** Runs every command of the driver inside the client namespace. */
function inNamespace(runner: CommandRunner, name: string): CommandRunner {
  return { run: (spec) => runner.run({ ...spec, argv: ['ip', 'netns', 'exec', name, ...spec.argv] }) };
}

let dir: string;
let server: { stop(): void } | undefined;
let rclone: { stop(): void } | undefined;

function daemon(argv: string[], env?: Record<string, string>): { stop(): void } {
  const controller = new AbortController();
  void real.run({ argv, okExitCodes: 'any', signal: controller.signal, killGraceMs: 3_000, ...(env === undefined ? {} : { env }) }).catch(() => undefined);
  return { stop: () => { controller.abort(); } };
}

async function waitFor(what: string, probe: () => boolean | Promise<boolean>, tries = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not happen within ${tries / 10} s`);
}

describe.skipIf(!available)('linux-swan on this host: IKEv2 over userspace ESP between namespaces', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bh5-swanhost-'));
    const pki = join(dir, 'pki');
    const srv = join(dir, 'server');
    mkdirSync(pki);
    for (const sub of ['run', 'swanctl/x509', 'swanctl/x509ca', 'swanctl/private']) mkdirSync(join(srv, sub), { recursive: true });
    await sh(`
      cd ${pki}
      ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
      ec ca; openssl req -x509 -new -key ca.key -days 2 -subj "/O=Backhaul Host Lab/CN=Host Lab CA" -out ca.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign 2>/dev/null
      leaf() { ec "$1"; openssl req -new -key "$1.key" -subj "/O=Backhaul Host Lab/CN=$2" -out "$1.csr" 2>/dev/null
        printf 'subjectAltName=%s\\n' "$3" > "$1.ext"; openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile "$1.ext" -out "$1.pem" 2>/dev/null; }
      leaf server ${SERVER} IP:${SERVER}
      leaf client client.hostlab DNS:client.hostlab
      chmod 600 *.key
      cp server.pem ${srv}/swanctl/x509/; cp ca.pem ${srv}/swanctl/x509ca/; cp server.key ${srv}/swanctl/private/
      ip netns add ${ns.client}; ip netns add ${ns.nat}; ip netns add ${ns.server}
      for n in ${ns.client} ${ns.nat} ${ns.server}; do ip -n $n link set lo up; done
      ip link add bh5c0 netns ${ns.client} type veth peer name bh5n0 netns ${ns.nat}
      ip link add bh5n1 netns ${ns.nat} type veth peer name bh5s0 netns ${ns.server}
      ip -n ${ns.client} addr add 10.77.5.2/24 dev bh5c0; ip -n ${ns.client} link set bh5c0 up
      ip -n ${ns.nat} addr add 10.77.5.1/24 dev bh5n0; ip -n ${ns.nat} link set bh5n0 up
      ip -n ${ns.nat} addr add 198.51.100.1/24 dev bh5n1; ip -n ${ns.nat} link set bh5n1 up
      ip -n ${ns.server} addr add ${SERVER}/24 dev bh5s0; ip -n ${ns.server} link set bh5s0 up
      ip -n ${ns.server} addr add ${REPO}/32 dev lo
      ip -n ${ns.client} route add default via 10.77.5.1
      ip netns exec ${ns.nat} sysctl -qw net.ipv4.ip_forward=1
      printf 'table ip bh5 {\\n chain post {\\n  type nat hook postrouting priority srcnat;\\n  oifname "bh5n1" masquerade\\n }\\n}\\n' | ip netns exec ${ns.nat} nft -f -
    `);
    writeFileSync(join(srv, 'strongswan.conf'), `charon {
  load_modular = no
  load = random nonce openssl aes sha1 sha2 hmac gcm kdf pem pkcs1 pkcs8 x509 pubkey revocation constraints kernel-libipsec kernel-netlink socket-default vici
  plugins {
    vici { socket = unix://${srv}/charon.vici }
    kernel-libipsec { allow_peer_ts = no }
  }
  filelog { lab { path = ${srv}/charon.log
    default = 1 } }
  syslog { daemon { default = -1 } }
}
`);
    writeFileSync(join(srv, 'swanctl', 'swanctl.conf'), `connections {
  rw {
    version = 2
    local_addrs = ${SERVER}
    pools = rw
    send_cert = always
    proposals = aes256gcm16-prfsha256-ecp256
    local { auth = pubkey
      certs = server.pem
      id = ${SERVER} }
    remote { auth = pubkey
      cacerts = ca.pem }
    children { net { local_ts = 10.99.0.0/24
      esp_proposals = aes256gcm16 } }
  }
}
pools { rw { addrs = 10.88.5.0/24 } }
`);
    server = daemon(['ip', 'netns', 'exec', ns.server, 'sh', '-c', 'mount --bind "$1" /run && exec /usr/lib/ipsec/charon', 'sh', join(srv, 'run')], { STRONGSWAN_CONF: join(srv, 'strongswan.conf') });
    await waitFor('the server charon', () => existsSync(join(srv, 'charon.vici')));
    await sh(`ip netns exec ${ns.server} swanctl --load-all --noprompt --uri unix://${srv}/charon.vici --file ${srv}/swanctl/swanctl.conf >/dev/null`);
    mkdirSync(join(dir, 'repos'));
    rclone = daemon(['ip', 'netns', 'exec', ns.server, 'rclone', 'serve', 'restic', '--addr', `${REPO}:8000`, join(dir, 'repos')]);
    await waitFor('rclone', async () => (await real.run({ argv: ['ip', 'netns', 'exec', ns.server, 'bash', '-c', `exec 3<>/dev/tcp/${REPO}/8000`], okExitCodes: 'any' })).exitCode === 0);
    await sh(`printf 'repo-pw\\n' > ${dir}/repo.pw; RESTIC_PASSWORD_FILE=${dir}/repo.pw restic --no-cache -q -r ${dir}/repos/r init >/dev/null
      mkdir -p ${dir}/data; head -c 8388608 /dev/urandom > ${dir}/data/blob.bin`);
  }, 120_000);

  afterAll(async () => {
    rclone?.stop();
    server?.stop();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await sh(`for n in ${ns.client} ${ns.nat} ${ns.server}; do ip netns del $n 2>/dev/null || true; done`).catch(() => undefined);
    if (process.env.BH5_KEEP === undefined) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const host: HostFacts = {
    platform: 'linux', networkManagerRunning: false, networkManagerPlugins: [], hasStrongSwan: true, hasXl2tpd: false,
    kernelEsp: false, kernelL2tp: false, charonPath: '/usr/lib/ipsec/charon', userspaceEsp: true, nmL2tpAuthDialog: false,
  };
  const profile = (key = 'client'): TunnelProfile => ({
    name: 'hostlab',
    type: 'ikev2',
    gateways: [SERVER],
    routes: ['10.99.0.0/24'],
    fullTunnel: false,
    auth: { method: 'certificate', certificate: join(dir, 'pki', `${key}.pem`), keyPath: join(dir, 'pki', `${key}.key`), key: readFileSync(join(dir, 'pki', `${key}.key`), 'utf8'), ca: join(dir, 'pki', 'ca.pem') },
    ikeProposals: ['aes256gcm16-prfsha256-ecp256'],
    espProposals: ['aes256gcm16'],
    cipherPolicy: 'strict',
    keepalive: { intervalSeconds: 10, failures: 3 },
  });

  it('the repository is not reachable from the client without the tunnel', async () => {
    const probe = await real.run({ argv: ['ip', 'netns', 'exec', ns.client, 'timeout', '5', 'bash', '-c', `exec 3<>/dev/tcp/${REPO}/8000`], okExitCodes: 'any' });
    expect(probe.exitCode).not.toBe(0);
  });

  it('connects, verifies (route, MTU probe), backs up through the tunnel, and tears down leaving nothing', async () => {
    const runner = inNamespace(real, ns.client);
    const logs: string[] = [];
    const state = join(dir, 'state');
    const swan = createLinuxSwanDriver({ runner, host, stateDir: state, log: (_level, line) => logs.push(line), pacing: { pollMs: 100 } });
    const journal = recordingJournal();
    const outcome = await swan.connect(profile(), signal, journal);
    try {
      expect(outcome).toMatchObject({ broughtUp: true, status: { state: 'up', interfaceName: 'ipsec0' } });
      expect(outcome.status.localAddress).toMatch(/^10\.88\.5\.\d+$/);
      await swan.verify?.(profile(), REPO, signal, journal);
      // computed 1438 for AES-GCM behind NAT, capped at kernel-libipsec's fixed 1400
      expect(logs).toEqual(["MTU 1400 confirmed by a don't-fragment probe to 10.99.0.1 (computed from the encapsulation: 1400)"]);
      expect(await swan.status(profile(), signal)).toMatchObject({ state: 'up' });

      const backup = await runner.run({
        argv: ['restic', '--no-cache', '-q', '-r', `rest:http://${REPO}:8000/r`, 'backup', join(dir, 'data')],
        env: { RESTIC_PASSWORD_FILE: join(dir, 'repo.pw') },
        timeoutMs: 90_000,
      });
      expect(backup.exitCode).toBe(0);
      await sh(`RESTIC_PASSWORD_FILE=${dir}/repo.pw restic --no-cache -q -r ${dir}/repos/r check`);
    } finally {
      await swan.disconnect(profile(), signal, journal);
    }
    expect(journal.held()).toEqual([]);
    expect(existsSync(join(state, 'tunnels', 'hostlab'))).toBe(false);
    // no TUN device, no route in table 220, no process left in the client namespace
    const left = await sh(`ip -n ${ns.client} -o link show | grep -c ipsec || true; ip -n ${ns.client} route show table 220 | grep -v '^throw' || true; ip netns pids ${ns.client}`);
    expect(left.trim()).toBe('0');
  }, 120_000);

  it('a certificate from another CA is rejected by the gateway, with a diagnosis, and nothing stays', async () => {
    await sh(`cd ${dir}/pki; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out rogue-ca.key 2>/dev/null
      openssl req -x509 -new -key rogue-ca.key -days 2 -subj "/O=Rogue/CN=Rogue CA" -out rogue-ca.pem 2>/dev/null
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out rogue.key 2>/dev/null; chmod 600 rogue.key
      openssl req -new -key rogue.key -subj "/O=Rogue/CN=client.hostlab" -out rogue.csr 2>/dev/null
      openssl x509 -req -in rogue.csr -CA rogue-ca.pem -CAkey rogue-ca.key -CAcreateserial -days 2 -out rogue.pem 2>/dev/null`);
    const state = join(dir, 'state-rogue');
    const swan = createLinuxSwanDriver({ runner: inNamespace(real, ns.client), host, stateDir: state, pacing: { pollMs: 100 } });
    const journal = recordingJournal();
    await expect(swan.connect(profile('rogue'), signal, journal)).rejects.toMatchObject({
      code: 'tunnel.auth-rejected',
      message: "profile hostlab: the gateway rejected this machine's credentials (likely cause: the gateway does not accept this certificate or pre-shared key: an unknown CA, a revoked certificate or a wrong identity)",
    });
    expect(journal.held()).toEqual([]);
    expect(existsSync(join(state, 'tunnels', 'hostlab'))).toBe(false);
  }, 90_000);
});
