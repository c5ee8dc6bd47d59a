/**
 * The files the `linux-swan` driver writes into its private 0700 directory: strongswan.conf for
 * Backhaul's own charon, swanctl.conf (IKEv1 transport mode on UDP/1701 for L2TP, IKEv2 tunnel mode
 * with a virtual IP otherwise), xl2tpd.conf with one `[lac]`, and the pppd options. Pure text, so
 * the exact output is unit-tested; secrets only ever go into the files marked secret (mode 0600).
 */
import { defaultProposals } from './cipher-policy.js';
import type { TunnelProfile } from './driver.js';

/**
 * strongSwan 5.9's kernel-libipsec creates its TUN device with MTU 1400 and reads packets into
 * buffers of that size, with no setting to change it: larger packets never reach ESP (measured:
 * with ipsec0 raised to 1438 only 1400-byte DF pings passed). Userspace ESP tunnels cap there.
 */
export const USERSPACE_ESP_MTU = 1400;

/** The IKE and CHILD_SA name inside Backhaul's charon, and the xl2tpd LAC name. */
export const SWAN_CONN = 'backhaul';

/** Where everything lives inside the private directory. */
export function swanPaths(dir: string) {
  return {
    dir,
    run: `${dir}/run`,
    strongswanConf: `${dir}/strongswan.conf`,
    vici: `${dir}/charon.vici`,
    charonLog: `${dir}/charon.log`,
    charonPid: `${dir}/run/charon.pid`,
    swanctlDir: `${dir}/swanctl`,
    swanctlConf: `${dir}/swanctl/swanctl.conf`,
    clientCert: `${dir}/swanctl/x509/client.pem`,
    caCert: `${dir}/swanctl/x509ca/ca.pem`,
    clientKey: `${dir}/swanctl/private/client.key`,
    xl2tpdConf: `${dir}/xl2tpd.conf`,
    xl2tpdPid: `${dir}/xl2tpd.pid`,
    control: `${dir}/l2tp-control`,
    pppOptions: `${dir}/ppp-options`,
    pppSecret: `${dir}/ppp-secret`,
    pppLog: `${dir}/pppd.log`,
  };
}

export type SwanPaths = ReturnType<typeof swanPaths>;

/** charon's plugins: an explicit list, so kernel-libipsec (userspace ESP) loads before kernel-netlink. */
export function charonPlugins(userspaceEsp: boolean): string {
  return [
    'random nonce openssl aesni aes sha1 sha2 hmac gcm kdf gmp curve25519 pem pkcs1 pkcs8 x509 pubkey revocation constraints',
    ...(userspaceEsp ? ['kernel-libipsec'] : []),
    'kernel-netlink socket-default vici',
  ].join(' ');
}

/**
 * strongswan.conf for Backhaul's charon (its own vici socket and log; pid file under a private
 * /run). Retransmits are bounded (3 tries from 2 s, ~16 s) so a wrong PSK or a dead gateway fails
 * in seconds, not strongSwan's default ~165 s.
 */
export function strongswanConf(paths: SwanPaths, userspaceEsp: boolean): string {
  return `# Written by Backhaul for one session; removed at teardown.
charon {
  load_modular = no
  load = ${charonPlugins(userspaceEsp)}
  retransmit_tries = 3
  retransmit_timeout = 2.0
  retransmit_base = 1.5
  install_virtual_ip = yes
  plugins {
    vici {
      socket = unix://${paths.vici}
    }${userspaceEsp ? `
    kernel-libipsec {
      allow_peer_ts = no
    }` : ''}
  }
  filelog {
    backhaul {
      path = ${paths.charonLog}
      time_format = %T
      append = no
      flush_line = yes
      default = 1
      ike = 1
      knl = 1
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
}
`;
}

/** A swanctl.conf string value, quoted. */
function quote(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/**
 * swanctl.conf for the profile. The PSK is written hex-encoded (no quoting pitfalls) and the file
 * is removed as soon as charon has loaded it.
 */
export function swanctlConf(profile: TunnelProfile): string {
  const auth = profile.auth;
  if (auth === undefined) throw new TypeError(`profile ${profile.name} has no auth`);
  const l2tp = profile.type === 'l2tp';
  const defaults = defaultProposals[profile.type];
  const ike = (profile.ikeProposals ?? defaults.ike).join(',');
  const esp = (profile.espProposals ?? defaults.esp).join(',');
  const keepalive = profile.keepalive ?? { intervalSeconds: 30, failures: 4 };
  const method = auth.method === 'psk' ? 'psk' : 'pubkey';
  const localId = auth.method === 'psk' && !l2tp && auth.username !== undefined ? `\n      id = ${quote(auth.username)}` : '';
  const remoteId = auth.remoteId ?? (l2tp ? undefined : profile.gateways[0]);
  // Numeric protocol: "udp" needs /etc/protocols, which minimal systems (and containers) lack.
  const remoteTs = l2tp ? 'dynamic[17/1701]' : profile.fullTunnel || profile.routes.length === 0 ? '0.0.0.0/0' : profile.routes.join(',');
  const lines = [
    '# Written by Backhaul for one session; removed once charon has loaded it.',
    'connections {',
    `  ${SWAN_CONN} {`,
    `    version = ${l2tp ? 1 : 2}`,
    `    remote_addrs = ${profile.gateways.join(',')}`,
    ...(l2tp ? [] : ['    vips = 0.0.0.0']),
    `    proposals = ${ike}`,
    '    encap = no',
    '    keyingtries = 1',
    `    dpd_delay = ${keepalive.intervalSeconds}s`,
    '    local {',
    `      auth = ${method}${auth.method === 'certificate' ? '\n      certs = client.pem' : ''}${localId}`,
    '    }',
    '    remote {',
    `      auth = ${method}${remoteId === undefined ? '' : `\n      id = ${quote(remoteId)}`}${auth.method === 'certificate' && auth.ca !== undefined ? '\n      cacerts = ca.pem' : ''}`,
    '    }',
    '    children {',
    `      ${SWAN_CONN} {`,
    `        mode = ${l2tp ? 'transport' : 'tunnel'}`,
    ...(l2tp ? ['        local_ts = dynamic[17/1701]'] : []),
    `        remote_ts = ${remoteTs}`,
    `        esp_proposals = ${esp}`,
    '        start_action = none',
    '        dpd_action = clear',
    '      }',
    '    }',
    '  }',
    '}',
  ];
  if (auth.method === 'psk') {
    lines.push('secrets {', `  ike-${SWAN_CONN} {`, `    secret = 0x${Buffer.from(auth.psk, 'utf8').toString('hex')}`, '  }', '}');
  }
  return `${lines.join('\n')}\n`;
}

/** xl2tpd.conf with one LAC for the gateway; dialled through the control pipe, never redialled. */
export function xl2tpdConf(profile: TunnelProfile, paths: SwanPaths): string {
  return `; Written by Backhaul for one session; removed at teardown.
[global]
port = 1701
access control = no

[lac ${SWAN_CONN}]
lns = ${profile.gateways[0] ?? ''}
pppoptfile = ${paths.pppOptions}
length bit = yes
autodial = no
redial = no
tunnel rws = 8
`;
}

/** pppd's link name: its pid file /run/ppp-<linkname>.pid names the interface on line 2. */
export function pppLinkName(profile: string): string {
  return `backhaul-${profile}`;
}

/** pppd options (no secret: the password sits in `ppp-secret`, read through `file`). */
export function pppOptions(profile: TunnelProfile, paths: SwanPaths, mtu: number): string {
  const keepalive = profile.keepalive ?? { intervalSeconds: 30, failures: 4 };
  const user = profile.auth?.username;
  return [
    '# Written by Backhaul for one session; removed at teardown.',
    'ipcp-accept-local',
    'ipcp-accept-remote',
    'refuse-eap',
    'refuse-pap',
    'noccp',
    'noauth',
    `mtu ${mtu}`,
    `mru ${mtu}`,
    'noipdefault',
    'nodefaultroute',
    `lcp-echo-interval ${keepalive.intervalSeconds}`,
    `lcp-echo-failure ${keepalive.failures}`,
    `linkname ${pppLinkName(profile.name)}`,
    `ipparam ${pppLinkName(profile.name)}`,
    `logfile ${paths.pppLog}`,
    ...(user === undefined ? [] : [`name ${quote(user)}`]),
    ...(profile.auth?.password === undefined ? [] : [`file ${paths.pppSecret}`]),
    '',
  ].join('\n');
}

/** The one secret line pppd reads (mode 0600; removed once the link is up). */
export function pppSecret(password: string): string {
  return `password ${quote(password)}\n`;
}
