/**
 * The `linux-nm` driver: the desktop's own NetworkManager brings the tunnel up, so the user sees
 * it in the network menu. L2TP/IPsec through network-manager-l2tp (`vpn-type l2tp`), IKEv2 through
 * network-manager-strongswan (`vpn-type strongswan`, charon-nm). Facts it is built on (lab-verified,
 * `../shared/reference/lab-secrets-ikev2.md`, `lab.md`):
 * - one connection `backhaul-<profile>` per profile; only the vpn.data keys Backhaul owns change,
 *   and only keys the installed plugin version knows are written (unknown keys fail activation);
 * - secrets go to `nmcli … passwd-file /dev/fd/3` on a pipe. nmcli fills only what the plugin's auth
 *   dialog lists: with nm-l2tp-auth-dialog the PSK travels on the pipe too; without it the PSK is
 *   stored in the connection for the session only (written through `nmcli connection edit`'s
 *   stdin, removed after disconnect). The L2TP plugin writes the PSK to
 *   /etc/ipsec.d/ipsec.nm-l2tp.secrets while connected and deletes it on down;
 * - IKEv2 takes certificates with an unencrypted key only: charon-nm's secrets can't be passed
 *   headless. Its routes live in policy table 220, not on a device.
 * - the active state is read from the full `nmcli -t connection show` (`-f VPN.VPN-STATE` is
 *   rejected); a failed L2TP up leaves the plugin's charon retrying, so it is stopped before retrying.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandResult, CommandRunner } from '../os/command.js';
import { defaultProposals } from './cipher-policy.js';
import { diagnose, diagnosisError, nmcliReason, type Diagnosis, type Evidence } from './diagnosis.js';
import {
  TunnelError,
  type ConnectOutcome,
  type DriverLog,
  type DriverResource,
  type ProfileChange,
  type ResourceJournal,
  type TunnelDriver,
  type TunnelProfile,
  type TunnelStatus,
} from './driver.js';
import { compareVersions, nodeHostFiles, type HostFacts, type HostFiles } from './host-probe.js';
import { pinRoutes, unpinRoutes } from './kill-switch.js';
import {
  addMssClamp,
  cleanUpCommonResource,
  defaultPacing,
  foreignTunnelStatus,
  interfaces,
  interfaceWithAddress,
  journalCursor,
  journalSince,
  type Pacing,
  pollUntil,
  removeMssClamp,
  runOrFail,
  tunnelCarryingRoutes,
} from './linux-net.js';
import { computeTunnelMtu } from './mtu.js';
import { assertCipherPolicy, verifyTunnel, type TunnelShape } from './tunnel-checks.js';

export interface LinuxNmOptions {
  readonly runner: CommandRunner;
  readonly host: HostFacts;
  readonly log?: DriverLog;
  readonly pacing?: Pacing;
  readonly files?: HostFiles;
  /**
   * `nmcli connection up` attempts when only NetworkManager's wait for its plugin ran out. Default
   * 6: NetworkManager 1.42 gives the plugin's Connect call 10 s (DBUS_DEFAULT_TIMEOUT_MSEC in
   * src/core/vpn/nm-vpn-connection.c) and network-manager-l2tp 1.20.8 runs `ipsec stop`, `ipsec
   * start` and `ipsec up` inside it; on a busy machine that alone can take longer (the lab measured
   * 4–12 s for `ipsec stop`). More specific evidence (retransmits, a wrong PSK) is never retried.
   */
  readonly connectAttempts?: number;
}

/** The NetworkManager connection Backhaul owns for a profile. */
export function nmConnectionName(profile: string): string {
  return `backhaul-${profile}`;
}

/** vpn.data keys network-manager-l2tp 1.20.x accepts (read from 1.20.8's nm-l2tp-service). */
const L2TP_KEYS_1_20 = [
  'gateway', 'user', 'domain', 'ephemeral-port', 'user-auth-type', 'user-ca', 'user-cert', 'user-key', 'user-certpass-flags',
  'mtu', 'mru', 'mrru', 'refuse-eap', 'refuse-pap', 'refuse-chap', 'refuse-mschap', 'refuse-mschapv2', 'require-mppe',
  'require-mppe-40', 'require-mppe-128', 'mppe-stateful', 'nobsdcomp', 'nodeflate', 'no-vj-comp', 'nopcomp', 'noaccomp',
  'lcp-echo-failure', 'lcp-echo-interval', 'unit', 'machine-auth-type', 'machine-ca', 'machine-cert', 'machine-key',
  'machine-certpass-flags', 'ipsec-enabled', 'ipsec-remote-id', 'ipsec-gateway-id', 'ipsec-psk', 'ipsec-ike', 'ipsec-esp',
  'ipsec-ikelifetime', 'ipsec-salifetime', 'ipsec-forceencaps', 'ipsec-ipcomp', 'ipsec-ikev2', 'ipsec-pfs', 'password-flags',
  'ipsec-psk-flags',
];
/** Added in network-manager-l2tp 1.52.2 (NEWS): unknown to Debian 12's 1.20.8. */
const L2TP_KEYS_1_52_2 = ['xl2tpd-max-retries', 'ipsec-group-name', 'ipcp-peer-ip'];

/** The vpn.data keys the installed network-manager-l2tp accepts; an unknown version counts as 1.20. */
export function knownL2tpKeys(version: string | undefined): ReadonlySet<string> {
  const keys = [...L2TP_KEYS_1_20];
  if (version !== undefined && compareVersions(version, '1.52.2') >= 0) keys.push(...L2TP_KEYS_1_52_2);
  return new Set(keys);
}

/** vpn.data keys charon-nm 5.9 reads (strongSwan src/charon-nm/nm/nm_service.c). */
const STRONGSWAN_KEYS = new Set([
  'address', 'server-port', 'certificate', 'remote-identity', 'local-identity', 'method', 'cert-source', 'usercert', 'userkey',
  'user', 'virtual', 'encap', 'ipcomp', 'proposal', 'ike', 'esp', 'remote-ts',
]);

/** Every key Backhaul may write: anything else in vpn.data is the user's and is kept as is. */
const OWNED_L2TP = new Set([
  'gateway', 'user', 'password-flags', 'ipsec-enabled', 'ipsec-psk', 'ipsec-psk-flags', 'machine-auth-type', 'machine-ca', 'machine-cert',
  'machine-key', 'machine-certpass-flags', 'ipsec-ike', 'ipsec-esp', 'ipsec-remote-id', 'mtu', 'mru', 'lcp-echo-interval',
  'lcp-echo-failure', 'refuse-pap', 'xl2tpd-max-retries',
]);
const OWNED_STRONGSWAN = new Set(['address', 'certificate', 'remote-identity', 'method', 'usercert', 'userkey', 'virtual', 'encap', 'ipcomp', 'proposal', 'ike', 'esp', 'remote-ts']);

/** NOT_SAVED: NetworkManager asks for the secret on every connect and never stores it. */
const NOT_SAVED = '2';
const NOT_REQUIRED = '4';

/** The L2TP MTU assuming NAT-T (unknown until connected): never too large. */
export function l2tpMtu(profile: TunnelProfile): number {
  return profile.mtu ?? computeTunnelMtu({ type: 'l2tp', espProposals: profile.espProposals ?? defaultProposals.l2tp.esp, natTraversal: true });
}

/**
 * The vpn.data Backhaul wants for a profile, before filtering by what the plugin knows. Secrets
 * are never part of it.
 */
export function desiredVpnData(profile: TunnelProfile, host: Pick<HostFacts, 'nmL2tpAuthDialog'>): Map<string, string> {
  const auth = profile.auth;
  if (auth === undefined) throw new TypeError(`profile ${profile.name} has no auth`);
  const gateway = profile.gateways[0] ?? '';
  const data = new Map<string, string>();
  if (profile.type === 'l2tp') {
    data.set('gateway', gateway);
    if (auth.username !== undefined) data.set('user', auth.username);
    data.set('password-flags', auth.password === undefined ? NOT_REQUIRED : NOT_SAVED);
    data.set('ipsec-enabled', 'yes');
    if (auth.method === 'psk') {
      data.set('ipsec-psk-flags', host.nmL2tpAuthDialog ? NOT_SAVED : '0');
    } else {
      data.set('machine-auth-type', 'tls');
      data.set('machine-cert', auth.certificate);
      data.set('machine-key', auth.keyPath);
      if (auth.ca !== undefined) data.set('machine-ca', auth.ca);
      data.set('machine-certpass-flags', NOT_REQUIRED);
    }
    if (auth.remoteId !== undefined) data.set('ipsec-remote-id', auth.remoteId);
    data.set('ipsec-ike', `${(profile.ikeProposals ?? defaultProposals.l2tp.ike).join(',')}!`);
    data.set('ipsec-esp', `${(profile.espProposals ?? defaultProposals.l2tp.esp).join(',')}!`);
    const mtu = String(l2tpMtu(profile));
    data.set('mtu', mtu);
    data.set('mru', mtu);
    data.set('refuse-pap', 'yes');
    const keepalive = profile.keepalive ?? { intervalSeconds: 30, failures: 4 };
    data.set('lcp-echo-interval', String(keepalive.intervalSeconds));
    data.set('lcp-echo-failure', String(keepalive.failures));
    data.set('xl2tpd-max-retries', '5');
    return data;
  }
  if (auth.method !== 'certificate') throw new TypeError('IKEv2 through NetworkManager takes certificates only');
  data.set('address', gateway);
  if (auth.ca !== undefined) data.set('certificate', auth.ca);
  if (auth.remoteId !== undefined) data.set('remote-identity', auth.remoteId);
  data.set('method', 'key');
  data.set('usercert', auth.certificate);
  data.set('userkey', auth.keyPath);
  data.set('virtual', 'yes');
  data.set('encap', 'no');
  data.set('ipcomp', 'no');
  data.set('proposal', 'yes');
  data.set('ike', (profile.ikeProposals ?? defaultProposals.ikev2.ike).join(';'));
  data.set('esp', (profile.espProposals ?? defaultProposals.ikev2.esp).join(';'));
  if (!profile.fullTunnel && profile.routes.length > 0) data.set('remote-ts', profile.routes.join(';'));
  return data;
}

/** `key=value, key=value` for nmcli, with `\` and `,` in values escaped. */
export function formatVpnData(data: ReadonlyMap<string, string>): string {
  return [...data].map(([key, value]) => `${key}=${value.replaceAll('\\', '\\\\').replaceAll(',', '\\,')}`).join(', ');
}

/** Parses nmcli's `vpn.data` rendering (`key = value, key = value`, `\,` inside values). */
export function parseVpnData(text: string): Map<string, string> {
  const data = new Map<string, string>();
  for (const item of text.split(/(?<!\\), /)) {
    const at = item.indexOf(' = ');
    if (at < 0) continue;
    data.set(item.slice(0, at).trim(), item.slice(at + 3).replace(/\\(.)/g, '$1'));
  }
  return data;
}

/** `nmcli -t` output as a map: `key:value` lines, `\:` and `\\` unescaped. */
export function parseTerse(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([^:]+):(.*)$/.exec(line);
    if (match?.[1] === undefined) continue;
    fields.set(match[1], (match[2] ?? '').replace(/\\:/g, ':'));
  }
  return fields;
}

/** One line of nmcli's passwd-file: `\` escaped, leading/trailing blanks protected. */
export function passwdLine(key: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new TunnelError('tunnel.secret-format', `the ${key.split('.').pop() ?? key} contains a line break`, 'A VPN secret must be one line: remove the line break from the secret file.');
  const escaped = value.replaceAll('\\', '\\\\').replace(/^\s/, (blank) => `\\${blank}`).replace(/\s$/, (blank) => `\\${blank}`);
  return `vpn.secrets.${key}:${escaped}\n`;
}

const JOURNAL_IDS = ['NetworkManager', 'nm-l2tp-service', 'charon', 'charon-nm', 'ipsec_starter', 'pppd', 'xl2tpd'];
const NM_L2TP_SECRETS = '/etc/ipsec.d/ipsec.nm-l2tp.secrets';

/** What the driver found or brought up, for status and teardown. */
interface ActiveTunnel {
  /** The NetworkManager connection carrying it; undefined for a foreign tunnel found by its routes. */
  readonly connection?: string;
  readonly owned: boolean;
  readonly pskStored: boolean;
  readonly mssClamped: boolean;
}

export function createLinuxNmDriver(options: LinuxNmOptions): TunnelDriver {
  const { runner, host } = options;
  const pacing = options.pacing ?? defaultPacing;
  const files = options.files ?? nodeHostFiles;
  const log = options.log ?? (() => undefined);
  let active: ActiveTunnel | undefined;
  /** The kill switch (kill-switch.ts): NetworkManager's VPN routes (metric 50, or table 220) win while it is up. */
  let pinned: DriverResource[] = [];

  const nmcli = (argv: readonly string[], signal: AbortSignal, extra: { timeoutMs?: number; pipes?: string[]; stdin?: string } = {}) =>
    runner.run({ argv: ['nmcli', ...argv], okExitCodes: 'any', timeoutMs: extra.timeoutMs ?? 30_000, signal, ...(extra.pipes === undefined ? {} : { pipes: extra.pipes }), ...(extra.stdin === undefined ? {} : { stdin: extra.stdin }) });

  /** The full `nmcli -t connection show` of a connection, or undefined when NM doesn't know it. */
  const show = async (name: string, signal: AbortSignal): Promise<Map<string, string> | undefined> => {
    const result = await nmcli(['-t', 'connection', 'show', 'id', name], signal);
    return result.exitCode === 0 ? parseTerse(result.stdout) : undefined;
  };

  const statusOf = async (name: string, signal: AbortSignal): Promise<TunnelStatus> => statusFrom(await show(name, signal), signal);

  const statusFrom = async (fields: Map<string, string> | undefined, signal: AbortSignal): Promise<TunnelStatus> => {
    const vpnState = Number(/^(\d+)/.exec(fields?.get('VPN.VPN-STATE') ?? '')?.[1] ?? 0);
    if (vpnState === 5) {
      const address = fields?.get('IP4.ADDRESS[1]')?.split('/')[0];
      if (address === undefined || address === '') return { state: 'up' };
      const link = await interfaceWithAddress(runner, address, signal);
      const base = { state: 'up' as const, localAddress: address };
      // L2TP's tunnel is its ppp device; charon-nm's tun0 carries no traffic (IKEv2 routes via table 220).
      return link === undefined || !link.name.startsWith('ppp') ? base : { ...base, interfaceName: link.name, mtu: link.mtu };
    }
    return { state: vpnState >= 1 && vpnState <= 4 ? 'connecting' : 'down' };
  };

  /** A tunnel that is already up: ours left active, or any tunnel the first split route uses. */
  const findExisting = async (profile: TunnelProfile, fields: Map<string, string> | undefined, signal: AbortSignal): Promise<ActiveTunnel | undefined> => {
    const name = nmConnectionName(profile.name);
    if ((await statusFrom(fields, signal)).state === 'up') return { connection: name, owned: false, pskStored: false, mssClamped: false };
    return (await tunnelCarryingRoutes(runner, profile, signal)) === undefined ? undefined : { owned: false, pskStored: false, mssClamped: false };
  };

  /**
   * After a failed up: take it down and stop the L2TP plugin's charon, which keeps retrying
   * (`keyingtries=%forever`). A plugin that gave up this way leaves its run dir and the PSK file
   * behind (seen in the lab): both go, the PSK file only when no other L2TP VPN is active.
   */
  const settle = async (profile: TunnelProfile, uuid: string | undefined, signal: AbortSignal): Promise<void> => {
    await nmcli(['-w', '20', 'connection', 'down', 'id', nmConnectionName(profile.name)], signal);
    if (profile.type !== 'l2tp') return;
    const starterPid = (await files.readText('/run/starter.charon.pid'))?.trim();
    const starter = starterPid === undefined ? '' : ((await files.readText(`/proc/${starterPid}/cmdline`)) ?? '');
    if (starter.includes('nm-l2tp-')) await runner.run({ argv: ['ipsec', 'stop'], okExitCodes: 'any', timeoutMs: 30_000, signal });
    await pollUntil(async () => ((await files.exists('/run/starter.charon.pid')) ? undefined : true), 20_000, pacing, signal);
    // The plugin may still be inside the Connect that NetworkManager stopped waiting for; a retry
    // that reaches the same process fails at once ("Could not establish IPsec connection", seen
    // in the lab). Wait (bounded) for it to exit.
    await pollUntil(async () => {
      const found = await runner.run({ argv: ['pgrep', '-x', 'nm-l2tp-service'], okExitCodes: 'any', timeoutMs: 10_000, signal });
      return found.exitCode === 0 ? undefined : true;
    }, 20_000, pacing, signal);
    const leftovers = [...(uuid === undefined ? [] : [`/run/nm-l2tp-${uuid}`])];
    const active = await nmcli(['-t', '-f', 'TYPE,DEVICE', 'connection', 'show', '--active'], signal);
    const otherVpn = active.stdout.split('\n').some((line) => line.startsWith('vpn:'));
    if (!otherVpn) leftovers.push(NM_L2TP_SECRETS);
    const present = (await Promise.all(leftovers.map(async (path) => ((await files.exists(path)) ? path : undefined)))).filter((path) => path !== undefined);
    if (present.length > 0) {
      log('warn', `NetworkManager's L2TP plugin left ${present.join(' and ')} after the failed attempt; removing them`);
      await runner.run({ argv: ['rm', '-rf', '--', ...present], okExitCodes: 'any', timeoutMs: 10_000, signal });
    }
  };

  /**
   * NetworkManager's 10 s wait often runs out before charon knows what is wrong; the plugin's
   * charon keeps trying after NetworkManager gave up, so when IKE had started, its next lines
   * (retransmits, a failed decryption) are awaited for up to 15 s before settling for "timeout".
   */
  const sharpen = async (diagnosis: Diagnosis, evidence: Evidence, cursor: string | undefined, signal: AbortSignal): Promise<Diagnosis> => {
    if (diagnosis.code !== 'tunnel.nm-plugin-timeout' || !evidence.logLines.some((line) => /initiating (Main Mode|IKE_SA)/.test(line))) return diagnosis;
    // one journal read a second for 15 s (tests, with no pacing: three reads)
    const sharper = await pollUntil(async () => {
      const later = diagnose({ ...evidence, logLines: await journalSince(runner, cursor, JOURNAL_IDS, signal) });
      return later.code === 'tunnel.nm-plugin-timeout' ? undefined : later;
    }, pacing.pollMs === 0 ? 3 : 15_000, { pollMs: pacing.pollMs === 0 ? 0 : 1_000 }, signal);
    return sharper ?? diagnosis;
  };

  /**
   * nmcli's editor, fed on stdin. It saves its command history — here the PSK — to
   * ~/.nmcli-history (found by the lab's canary search), so it gets a throw-away HOME.
   */
  const nmcliEdit = async (name: string, script: string, signal: AbortSignal): Promise<CommandResult> => {
    const home = await mkdtemp(join(tmpdir(), 'backhaul-nmcli-'));
    try {
      return await runner.run({ argv: ['nmcli', 'connection', 'edit', 'id', name], stdin: script, env: { HOME: home }, okExitCodes: 'any', timeoutMs: 30_000, signal });
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  };

  const storePsk = async (profile: TunnelProfile, psk: string, journal: ResourceJournal, signal: AbortSignal): Promise<void> => {
    const name = nmConnectionName(profile.name);
    await journal.acquire({ kind: 'nm-secret', id: name });
    const escaped = psk.replaceAll('\\', '\\\\').replaceAll(',', '\\,');
    const result = await nmcliEdit(name, `set vpn.secrets ipsec-psk=${escaped}\nsave persistent\nquit\n`, signal);
    if (result.exitCode !== 0) throw new TunnelError('tunnel.nm-secret', `profile ${profile.name}: NetworkManager did not store the PSK for this session`, 'Install network-manager-l2tp-gnome so the PSK can be passed on a pipe instead.');
  };

  const forgetPsk = async (name: string, signal: AbortSignal): Promise<void> => {
    await nmcliEdit(name, 'remove vpn.secrets\nsave persistent\nquit\n', signal);
  };

  /** storePsk's undo: the PSK out of the connection, then out of the journal. */
  const releasePsk = async (name: string, journal: ResourceJournal, signal: AbortSignal): Promise<void> => {
    await forgetPsk(name, signal);
    await journal.release({ kind: 'nm-secret', id: name });
  };

  const shapeOf = (profile: TunnelProfile, status: TunnelStatus, signal: AbortSignal): TunnelShape => {
    const expectedMtu = profile.type === 'l2tp'
      ? l2tpMtu(profile)
      : profile.mtu ?? computeTunnelMtu({ type: 'ikev2', espProposals: profile.espProposals ?? defaultProposals.ikev2.esp, natTraversal: true });
    const device = profile.type === 'l2tp' ? status.interfaceName : undefined;
    return {
      ...(device === undefined ? {} : {
        interfaceName: device,
        applyMtu: async (mtu: number) => {
          await runner.run({ argv: ['ip', 'link', 'set', 'dev', device, 'mtu', String(mtu)], timeoutMs: 10_000, signal });
        },
      }),
      ...(status.localAddress === undefined ? {} : { localAddress: status.localAddress }),
      expectedMtu,
      kernelEsp: true,
    };
  };

  const currentStatus = (profile: TunnelProfile, signal: AbortSignal): Promise<TunnelStatus> => {
    if (active !== undefined && active.connection === undefined) return foreignTunnelStatus(runner, profile, signal);
    return statusOf(active?.connection ?? nmConnectionName(profile.name), signal);
  };

  /** `nmcli connection up` with the secrets on a pipe (or the PSK stored for the session), then the MSS clamp. */
  const bringUp = async (profile: TunnelProfile, fields: Map<string, string> | undefined, journal: ResourceJournal, signal: AbortSignal): Promise<ConnectOutcome> => {
    const name = nmConnectionName(profile.name);
    const auth = profile.auth;
    const pipes: string[] = [];
    let pskStored = false;
    if (profile.type === 'l2tp' && auth !== undefined) {
      let secrets = auth.password === undefined ? '' : passwdLine('password', auth.password);
      if (auth.method === 'psk' && host.nmL2tpAuthDialog) secrets += passwdLine('ipsec-psk', auth.psk);
      if (auth.method === 'psk' && !host.nmL2tpAuthDialog) {
        await storePsk(profile, auth.psk, journal, signal);
        pskStored = true;
      }
      if (secrets !== '') pipes.push(secrets);
    }
    const uuid = fields?.get('connection.uuid');
    const attempts = options.connectAttempts ?? 6;
    for (let attempt = 1; ; attempt++) {
      const cursor = await journalCursor(runner, signal);
      const up = await nmcli(['-w', '90', 'connection', 'up', 'id', name, ...(pipes.length > 0 ? ['passwd-file', '/dev/fd/3'] : [])], signal, {
        timeoutMs: 120_000,
        ...(pipes.length > 0 ? { pipes } : {}),
      });
      signal.throwIfAborted();
      if (up.exitCode === 0) break;
      const reason = nmcliReason(up.stderr);
      const evidence: Evidence = {
        ...(up.exitCode === null ? {} : { nmcliExit: up.exitCode }),
        ...(reason === undefined ? {} : { nmReason: reason }),
        logLines: await journalSince(runner, cursor, JOURNAL_IDS, signal),
      };
      const diagnosis = await sharpen(diagnose(evidence), evidence, cursor, signal);
      await settle(profile, uuid, signal);
      if (diagnosis.code === 'tunnel.nm-plugin-timeout' && attempt < attempts) {
        log('warn', `NetworkManager's VPN plugin timed out (attempt ${attempt} of ${attempts}); trying again`);
        continue;
      }
      if (pskStored) await releasePsk(name, journal, AbortSignal.timeout(30_000));
      throw diagnosisError(profile.name, diagnosis);
    }
    const status = await pollUntil(async () => {
      const current = await statusOf(name, signal);
      return current.state === 'up' && (profile.type !== 'l2tp' || current.interfaceName !== undefined) ? current : undefined;
    }, 20_000, pacing, signal) ?? await statusOf(name, signal);
    let mssClamped = false;
    if (profile.mssClamp === true && status.interfaceName !== undefined) {
      await addMssClamp(runner, journal, profile.name, status.interfaceName, signal);
      mssClamped = true;
    }
    active = { connection: name, owned: true, pskStored, mssClamped };
    return { broughtUp: true, status };
  };

  return {
    name: 'linux-nm',

    async ensureProfile(profile, signal, journal): Promise<ProfileChange> {
      assertCipherPolicy(profile);
      checkSupported(profile, host);
      const name = nmConnectionName(profile.name);
      const known = profile.type === 'l2tp' ? knownL2tpKeys(host.nmL2tpVersion) : STRONGSWAN_KEYS;
      const wanted = desiredVpnData(profile, host);
      for (const key of [...wanted.keys()].filter((key) => !known.has(key))) {
        wanted.delete(key);
        log('info', `network-manager-l2tp ${host.nmL2tpVersion ?? '(version unknown)'} does not know vpn.data ${key}; not written`);
      }
      const ipv4 = {
        'ipv4.never-default': profile.fullTunnel ? 'no' : 'yes',
        'ipv4.routes': profile.type === 'l2tp' && !profile.fullTunnel ? profile.routes.join(', ') : '',
      };
      const current = await nmcli(['-t', '-f', 'connection.id,vpn.service-type,vpn.data,ipv4.never-default,ipv4.routes', 'connection', 'show', 'id', name], signal);
      const service = `org.freedesktop.NetworkManager.${profile.type === 'l2tp' ? 'l2tp' : 'strongswan'}`;
      if (current.exitCode !== 0) {
        const resource: DriverResource = { kind: 'nm-connection', id: name };
        await journal.acquire(resource);
        await runOrFail(runner, {
          argv: ['nmcli', 'connection', 'add', 'type', 'vpn', 'con-name', name, 'vpn-type', profile.type === 'l2tp' ? 'l2tp' : 'strongswan',
            'vpn.data', formatVpnData(wanted), 'ipv4.never-default', ipv4['ipv4.never-default'], 'ipv4.routes', ipv4['ipv4.routes'],
            'ipv6.method', 'ignore', 'connection.autoconnect', 'no'],
          timeoutMs: 30_000,
          signal,
        }, { code: 'tunnel.nm-profile', message: `profile ${profile.name}: NetworkManager refused the VPN connection`, hint: 'Run backhaul doctor: the VPN plugin may be missing or too old.' });
        // The connection is meant to stay (the user sees it); only a half-done add needs cleaning up.
        await journal.release(resource);
        if (profile.type === 'l2tp' && profile.auth?.method === 'psk' && !host.nmL2tpAuthDialog) {
          log('warn', 'network-manager-l2tp-gnome is not installed: the PSK is stored in the NetworkManager connection while connected and removed afterwards');
        }
        return 'created';
      }
      const fields = parseTerse(current.stdout);
      if (fields.get('vpn.service-type') !== service) {
        throw new TunnelError('tunnel.nm-profile', `NetworkManager already has a connection named ${name} of another VPN type`, `Delete or rename it (nmcli connection delete id ${name}); Backhaul recreates it.`);
      }
      const existing = parseVpnData(fields.get('vpn.data') ?? '');
      const owned = profile.type === 'l2tp' ? OWNED_L2TP : OWNED_STRONGSWAN;
      const merged = new Map([...existing].filter(([key]) => !owned.has(key)));
      for (const [key, value] of wanted) merged.set(key, value);
      const sameData = merged.size === existing.size && [...merged].every(([key, value]) => existing.get(key) === value);
      const sameRoutes = normalizeRoutes(fields.get('ipv4.routes') ?? '') === normalizeRoutes(ipv4['ipv4.routes']);
      const sameDefault = fields.get('ipv4.never-default') === ipv4['ipv4.never-default'];
      if (sameData && sameRoutes && sameDefault) return 'unchanged';
      await runOrFail(runner, {
        argv: ['nmcli', 'connection', 'modify', 'id', name, 'vpn.data', formatVpnData(merged), 'ipv4.never-default', ipv4['ipv4.never-default'], 'ipv4.routes', ipv4['ipv4.routes']],
        timeoutMs: 30_000,
        signal,
      }, { code: 'tunnel.nm-profile', message: `profile ${profile.name}: NetworkManager refused to update the VPN connection`, hint: 'Run backhaul doctor: the VPN plugin may be missing or too old.' });
      return 'updated';
    },

    async connect(profile, signal, journal): Promise<ConnectOutcome> {
      assertCipherPolicy(profile);
      const name = nmConnectionName(profile.name);
      const fields = await show(name, signal);
      const existing = await findExisting(profile, fields, signal);
      if (existing !== undefined) {
        active = existing;
        const status = existing.connection === undefined ? await foreignTunnelStatus(runner, profile, signal) : await statusOf(existing.connection, signal);
        log('info', `the ${profile.name} tunnel was already up${existing.connection === undefined ? '' : ` (${existing.connection})`}: using it and leaving it up`);
        return { broughtUp: false, status };
      }
      pinned = await pinRoutes(runner, journal, profile, signal, log);
      try {
        return await bringUp(profile, fields, journal, signal);
      } catch (error) {
        // A failed connect leaves nothing behind, the pins included.
        await unpinRoutes(runner, journal, pinned, AbortSignal.timeout(30_000)).catch(() => undefined);
        pinned = [];
        throw error;
      }
    },

    /**
     * Repairs a lost tunnel in place. disconnect + connect would lift the kill switch's pins for
     * the seconds in between, and restic's retries would then leave in clear through the default
     * route; here the pins stay, the connection is taken down and its L2TP plugin settled (after a
     * drop NetworkManager may hold it half-up, the plugin's charon may still be retrying), and it
     * is brought up again with the same secrets. A tunnel the user owned is never reconnected (the
     * supervisor only watches it).
     */
    async reconnect(profile, signal, journal): Promise<ConnectOutcome> {
      assertCipherPolicy(profile);
      const name = nmConnectionName(profile.name);
      // The clamp is tied to the old ppp device and the stored PSK to the old session: bringUp makes both again.
      if (active?.mssClamped === true) await removeMssClamp(runner, journal, profile.name, signal);
      if (active?.pskStored === true) await releasePsk(name, journal, signal);
      active = undefined;
      const fields = await show(name, signal);
      await settle(profile, fields?.get('connection.uuid'), signal);
      if (pinned.length === 0) pinned = await pinRoutes(runner, journal, profile, signal, log);
      log('info', `bringing ${name} up again; the kill switch stays in place meanwhile`);
      return bringUp(profile, fields, journal, signal);
    },

    status: currentStatus,

    async verify(profile, repositoryHost, signal): Promise<void> {
      const status = await currentStatus(profile, signal);
      const shape = shapeOf(profile, status, signal);
      await verifyTunnel({ runner, profile, status, shape, repositoryHost, signal, log });
    },

    async disconnect(profile, signal, journal): Promise<void> {
      const name = active?.connection ?? nmConnectionName(profile.name);
      const before = await statusOf(name, signal);
      if (active?.mssClamped === true) await removeMssClamp(runner, journal, profile.name, signal);
      const down = await nmcli(['-w', '20', 'connection', 'down', 'id', name], signal, { timeoutMs: 25_000 });
      if (down.exitCode !== 0 && down.exitCode !== 10) {
        throw new TunnelError('tunnel.disconnect', `profile ${profile.name}: NetworkManager could not take ${name} down (nmcli exit ${down.exitCode ?? 'none'})`, `Take it down by hand: nmcli connection down id ${name}`);
      }
      // nmcli returns before pppd has exited and before the plugin removed its PSK file.
      // Bounded well inside the session's teardown budget (60 s): a slow exit is logged, not fatal.
      const device = before.interfaceName;
      if (device !== undefined) {
        const gone = await pollUntil(async () => ((await interfaces(runner, signal, device)).length === 0 ? true : undefined), 20_000, pacing, signal);
        if (gone === undefined) log('warn', `${device} was still present 20 s after disconnecting`);
      }
      if (profile.type === 'l2tp') {
        const removed = await pollUntil(async () => ((await files.exists(NM_L2TP_SECRETS)) ? undefined : true), 10_000, pacing, signal);
        if (removed === undefined) log('warn', `${NM_L2TP_SECRETS} (the plugin's PSK file) was still present 10 s after disconnecting`);
      }
      if (active?.pskStored === true) await releasePsk(name, journal, signal);
      active = undefined;
      // Last: the VPN's routes are gone now, and with them any need for the pins.
      await unpinRoutes(runner, journal, pinned, signal);
      pinned = [];
    },

    async cleanUp(leftovers, signal): Promise<void> {
      const name = nmConnectionName(leftovers.profile);
      for (const resource of leftovers.resources) {
        if (await cleanUpCommonResource(runner, resource, signal)) continue;
        if (resource.kind === 'nm-secret') await forgetPsk(resource.id, signal);
        if (resource.kind === 'nm-connection') await nmcli(['connection', 'delete', 'id', resource.id], signal);
      }
      if (leftovers.tunnelUp) await nmcli(['-w', '30', 'connection', 'down', 'id', name], signal, { timeoutMs: 45_000 });
    },
  };
}

function normalizeRoutes(text: string): string {
  return text.split(',').map((item) => item.trim()).filter((item) => item !== '').sort().join(',');
}

/** What NetworkManager can't do headless, refused before anything is created. */
function checkSupported(profile: TunnelProfile, host: HostFacts): void {
  const auth = profile.auth;
  if (auth === undefined) throw new TunnelError('tunnel.no-auth', `profile ${profile.name} has no auth settings`, 'Add auth: to the profile.');
  if (profile.type === 'ikev2' && auth.method === 'psk') {
    throw new TunnelError('tunnel.nm-ikev2-psk', `profile ${profile.name}: NetworkManager's strongSwan plugin can't be given a PSK headless`,
      'Use certificate auth for IKEv2 (recommended), or set driver: linux-swan for this profile.');
  }
  if (auth.method === 'certificate' && /ENCRYPTED/.test(auth.key)) {
    throw new TunnelError('tunnel.encrypted-key', `profile ${profile.name}: the private key ${auth.keyPath} is encrypted, and NetworkManager can't be given its passphrase headless`,
      `Store it unencrypted, readable by root only: openssl pkey -in ${auth.keyPath} -out <new file>; chmod 600 <new file>.`);
  }
  if (profile.type === 'l2tp' && !host.networkManagerPlugins.includes('l2tp')) {
    throw new TunnelError('tunnel.nm-plugin-missing', 'NetworkManager\'s L2TP plugin is not installed', 'Install it: sudo apt-get install -y network-manager-l2tp network-manager-l2tp-gnome');
  }
  if (profile.type === 'ikev2' && !host.networkManagerPlugins.includes('strongswan')) {
    throw new TunnelError('tunnel.nm-plugin-missing', 'NetworkManager\'s strongSwan plugin is not installed', 'Install it: sudo apt-get install -y network-manager-strongswan strongswan-nm');
  }
}
