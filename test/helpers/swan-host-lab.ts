/**
 * The linux-swan host lab, without a VM: three network namespaces (client ↔ NAT ↔ server), a CA
 * with a server and a client certificate (openssl), the server's own charon (IKEv2, certificates,
 * a virtual-IP pool, ESP in strongSwan's userspace on a TUN device: this kernel has no ESP) and
 * `rclone serve restic` on the server's private address, reachable from the client only through
 * the tunnel. Namespaces are named <tag>-<pid>-{c,n,s}; `close()` removes them whatever `start()`
 * got to. Needs root, strongSwan with libcharon-extra-plugins, /dev/net/tun, restic, rclone and
 * openssl (`swanHostLabAvailable`).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCommandRunner, type CommandRunner, type CommandSpec } from '../../src/os/command.js';

const LIBIPSEC = '/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so';
const TOOLS = ['/usr/lib/ipsec/charon', '/usr/sbin/swanctl', LIBIPSEC, '/dev/net/tun', '/usr/bin/restic', '/usr/bin/rclone', '/usr/bin/openssl', '/usr/bin/unshare', '/usr/sbin/nft'];

/** Whether this host can run the lab (root and every tool). */
export const swanHostLabAvailable = process.getuid?.() === 0 && TOOLS.every((path) => existsSync(path));

/** What the lab needs, for skip messages. */
export const SWAN_HOST_LAB_NEEDS = 'root, strongSwan with kernel-libipsec, /dev/net/tun, restic, rclone, openssl and nft';

/** Appended to a suite's title: empty where the lab runs, the reason where it is skipped. */
export const swanHostLabSkipReason = swanHostLabAvailable ? '' : ` (skipped: needs ${SWAN_HOST_LAB_NEEDS})`;

/** The gateway's public address, as the client sees it (behind the NAT). */
export const LAB_GATEWAY = '198.51.100.2';
/** A second address of the same gateway, with its own IKE identity: the failover tests' "next gateway". */
export const LAB_GATEWAY_2 = '198.51.100.3';
/** The server's private address (rclone listens on :8000) and the subnet routed through the tunnel. */
export const LAB_REPO_HOST = '10.99.0.1';
export const LAB_REPO_SUBNET = '10.99.0.0/24';
/** The IKE proposals the server accepts. */
export const LAB_IKE = 'aes256gcm16-prfsha256-ecp256';
export const LAB_ESP = 'aes256gcm16';

export const labRunner = createCommandRunner();

export async function sh(script: string, spec: Partial<CommandSpec> = {}): Promise<string> {
  return (await labRunner.run({ argv: ['bash', '-ec', script], timeoutMs: 60_000, ...spec })).stdout;
}

/** Runs every command of `runner` inside the namespace `name`. */
export function inNamespace(runner: CommandRunner, name: string): CommandRunner {
  return { run: (spec) => runner.run({ ...spec, argv: ['ip', 'netns', 'exec', name, ...spec.argv] }) };
}

/** Polls `probe` every 100 ms, `tries` times at most. */
export async function waitFor(what: string, probe: () => boolean | Promise<boolean>, tries = 300): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not happen within ${tries / 10} s`);
}

function daemon(argv: string[], env?: Record<string, string>): { stop(): void } {
  const controller = new AbortController();
  void labRunner.run({ argv, okExitCodes: 'any', signal: controller.signal, killGraceMs: 3_000, ...(env === undefined ? {} : { env }) }).catch(() => undefined);
  return { stop: () => { controller.abort(); } };
}

export interface SwanHostLab {
  readonly ns: { readonly client: string; readonly nat: string; readonly server: string };
  /** The lab's temp dir (set by `start`): pki/ holds ca.pem, client.pem, client.key (0600). */
  readonly dir: string;
  /** Builds everything; throws if a part does not come up. */
  start(): Promise<void>;
  /** A fresh restic repository `name` on the server; returns its rest: URL (through the tunnel). */
  initRepo(name: string, passwordFile: string): Promise<string>;
  /** Drops IKE (UDP 500, and 4500 with the non-ESP marker) at the NAT, so ESP still flows; `false` lifts it. */
  blockIke(blocked: boolean): Promise<void>;
  /** Drops everything the client sends towards `gateway` (default LAB_GATEWAY) at the NAT; `false` lifts it. */
  blockGateway(blocked: boolean, gateway?: string): Promise<void>;
  /** Drops ESP (in UDP 4500, and plain) both ways at the NAT while IKE still passes; `false` lifts it. */
  blockEsp(blocked: boolean): Promise<void>;
  /** Drops every UDP datagram to or from `port` (e.g. 4500: IKE and ESP after NAT-T) at the NAT; `false` lifts it. */
  blockUdpPort(port: number, blocked: boolean): Promise<void>;
  /** The gateway deletes every IKE SA it holds (a gateway restart, an admin's terminate). */
  terminateServerSas(): Promise<void>;
  /**
   * Counts what reaches the repository server (TCP to LAB_REPO_HOST:port, default rclone's 8000) from now on: the bytes the
   * client really uploaded, retransmissions and re-sent packs included.
   */
  uploadCounterReset(port?: number): Promise<void>;
  uploadCounter(): Promise<{ readonly packets: number; readonly bytes: number; readonly payloadBytes: number }>;
  /** Stops the server's daemons and removes the namespaces and the temp dir (BH5_KEEP keeps the dir). */
  close(): Promise<void>;
}

export function swanHostLab(tag: string): SwanHostLab {
  const ns = { client: `${tag}-${process.pid}-c`, nat: `${tag}-${process.pid}-n`, server: `${tag}-${process.pid}-s` };
  let dir = '';
  const daemons: { stop(): void }[] = [];
  const natRules = async (table: string, rules: string | undefined): Promise<void> => {
    await sh(`ip netns exec ${ns.nat} nft delete table ip ${table} 2>/dev/null || true`);
    if (rules === undefined) return;
    const text = `table ip ${table} {\n chain forward {\n  type filter hook forward priority filter;\n${rules}\n }\n}\n`;
    // From a file, not stdin: one `nft -f -` in the NAT namespace once hung for 60 s (not
    // reproduced), and every NAT rule of the lab goes through here.
    const file = join(dir, `nft-${table}.conf`);
    writeFileSync(file, text);
    await sh(`ip netns exec ${ns.nat} nft -f ${file}`);
  };

  return {
    ns,
    get dir() { return dir; },

    async start() {
      dir = mkdtempSync(join(tmpdir(), `${tag}-swanhost-`));
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
        leaf server ${LAB_GATEWAY} IP:${LAB_GATEWAY},IP:${LAB_GATEWAY_2}
        leaf client client.hostlab DNS:client.hostlab
        chmod 600 *.key
        cp server.pem ${srv}/swanctl/x509/; cp ca.pem ${srv}/swanctl/x509ca/; cp server.key ${srv}/swanctl/private/
        ip netns add ${ns.client}; ip netns add ${ns.nat}; ip netns add ${ns.server}
        for n in ${ns.client} ${ns.nat} ${ns.server}; do ip -n $n link set lo up; done
        ip link add ${tag}c0 netns ${ns.client} type veth peer name ${tag}n0 netns ${ns.nat}
        ip link add ${tag}n1 netns ${ns.nat} type veth peer name ${tag}s0 netns ${ns.server}
        ip -n ${ns.client} addr add 10.77.5.2/24 dev ${tag}c0; ip -n ${ns.client} link set ${tag}c0 up
        ip -n ${ns.nat} addr add 10.77.5.1/24 dev ${tag}n0; ip -n ${ns.nat} link set ${tag}n0 up
        ip -n ${ns.nat} addr add 198.51.100.1/24 dev ${tag}n1; ip -n ${ns.nat} link set ${tag}n1 up
        ip -n ${ns.server} addr add ${LAB_GATEWAY}/24 dev ${tag}s0; ip -n ${ns.server} addr add ${LAB_GATEWAY_2}/24 dev ${tag}s0; ip -n ${ns.server} link set ${tag}s0 up
        ip -n ${ns.server} addr add ${LAB_REPO_HOST}/32 dev lo
        ip -n ${ns.client} route add default via 10.77.5.1
        ip netns exec ${ns.nat} sysctl -qw net.ipv4.ip_forward=1
        printf 'table ip ${tag} {\\n chain post {\\n  type nat hook postrouting priority srcnat;\\n  oifname "${tag}n1" masquerade\\n }\\n}\\n' | ip netns exec ${ns.nat} nft -f -
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
      // One connection per gateway address, each with its own identity: the client expects the
      // address it dialled as the gateway's ID (swan-config.ts), as with two HA gateways.
      const connection = (name: string, address: string) => `  ${name} {
    version = 2
    local_addrs = ${address}
    pools = rw
    send_cert = always
    proposals = ${LAB_IKE}
    local { auth = pubkey
      certs = server.pem
      id = ${address} }
    remote { auth = pubkey
      cacerts = ca.pem }
    children { net { local_ts = ${LAB_REPO_SUBNET}
      esp_proposals = ${LAB_ESP} } }
  }
`;
      writeFileSync(join(srv, 'swanctl', 'swanctl.conf'), `connections {
${connection('rw', LAB_GATEWAY)}${connection('rw2', LAB_GATEWAY_2)}}
pools { rw { addrs = 10.88.5.0/24 } }
`);
      daemons.push(daemon(['ip', 'netns', 'exec', ns.server, 'sh', '-c', 'mount --bind "$1" /run && exec /usr/lib/ipsec/charon', 'sh', join(srv, 'run')], { STRONGSWAN_CONF: join(srv, 'strongswan.conf') }));
      await waitFor('the server charon', () => existsSync(join(srv, 'charon.vici')));
      await sh(`ip netns exec ${ns.server} swanctl --load-all --noprompt --uri unix://${srv}/charon.vici --file ${srv}/swanctl/swanctl.conf >/dev/null`);
      mkdirSync(join(dir, 'repos'));
      // No listing cache: every repository is created on disk behind rclone's back (host-lab.md pitfall 5).
      daemons.push(daemon(['ip', 'netns', 'exec', ns.server, 'rclone', 'serve', 'restic', '--cache-objects=false', '--addr', `${LAB_REPO_HOST}:8000`, join(dir, 'repos')]));
      await waitFor('rclone', async () => (await labRunner.run({ argv: ['ip', 'netns', 'exec', ns.server, 'bash', '-c', `exec 3<>/dev/tcp/${LAB_REPO_HOST}/8000`], okExitCodes: 'any' })).exitCode === 0);
    },

    async initRepo(name, passwordFile) {
      await sh(`RESTIC_PASSWORD_FILE=${passwordFile} restic --no-cache -q -r ${dir}/repos/${name} init >/dev/null`);
      return `rest:http://${LAB_REPO_HOST}:8000/${name}`;
    },

    blockIke: (blocked) => natRules(`${tag}ike`, blocked ? '  udp dport 500 drop\n  udp sport 500 drop\n  udp dport 4500 @th,64,32 0 drop\n  udp sport 4500 @th,64,32 0 drop' : undefined),

    blockGateway: (blocked, gateway = LAB_GATEWAY) => natRules(`${tag}gw${gateway.replaceAll('.', '')}`, blocked ? `  ip daddr ${gateway} drop` : undefined),

    // ESP-in-UDP carries a non-zero SPI where IKE on 4500 has its four zero bytes (RFC 3948).
    blockEsp: (blocked) => natRules(`${tag}esp`, blocked ? '  udp dport 4500 @th,64,32 != 0 drop\n  udp sport 4500 @th,64,32 != 0 drop\n  ip protocol esp drop' : undefined),

    // Rules as nft arguments, not a ruleset on stdin: one `nft -f -` here once hung for a minute in the doctor test.
    blockUdpPort: (port, blocked) => natRules(`${tag}udp${port}`, blocked ? `  udp dport ${port} drop\n  udp sport ${port} drop` : undefined),

    async terminateServerSas() {
      const srv = join(dir, 'server');
      for (const name of ['rw', 'rw2']) {
        await labRunner.run({ argv: ['ip', 'netns', 'exec', ns.server, 'swanctl', '--terminate', '--ike', name, '--timeout', '5', '--uri', `unix://${srv}/charon.vici`], okExitCodes: 'any', timeoutMs: 30_000 });
      }
    },

    async uploadCounterReset(port = 8000) {
      const rules = `table ip ${tag}up {\n chain in {\n  type filter hook input priority filter;\n  ip daddr ${LAB_REPO_HOST} tcp dport ${port} counter\n }\n}\n`;
      await sh(`ip netns exec ${ns.server} nft delete table ip ${tag}up 2>/dev/null || true; ip netns exec ${ns.server} nft -f -`, { stdin: rules });
    },

    async uploadCounter() {
      const text = await sh(`ip netns exec ${ns.server} nft list table ip ${tag}up`);
      const match = /counter packets (\d+) bytes (\d+)/.exec(text);
      if (match === null) throw new Error(`no upload counter in the server namespace: ${text}`);
      const packets = Number(match[1]);
      const bytes = Number(match[2]);
      // IPv4 (20) + TCP with the timestamp option Linux sends by default (32) per packet.
      return { packets, bytes, payloadBytes: bytes - packets * 52 };
    },

    async close() {
      for (const running of daemons.splice(0)) running.stop();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await sh(`for n in ${ns.client} ${ns.nat} ${ns.server}; do ip netns del $n 2>/dev/null || true; done`).catch(() => undefined);
      if (dir !== '' && process.env.BH5_KEEP === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
