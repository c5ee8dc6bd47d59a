/**
 * Shared fixtures for the Linux driver tests: host facts, profiles, a fake file system for the
 * probe and drivers, a recording journal, and replies built from the recorded real outputs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DriverResource, ResourceJournal, TunnelProfile } from '../../src/connect/driver.js';
import type { CommandResult, CommandRunner, CommandSpec } from '../../src/os/command.js';
import type { HostFacts, HostFiles } from '../../src/connect/host-probe.js';
import type { Expectation, ReplayingCommandRunner, ReplayReply } from '../helpers/replaying-runner.js';
import { loadRecording } from '../helpers/recorded.js';

export const PSK = 'lab-psk-CANARY-7q3Zx';
export const PASSWORD = 'vpnpass-CANARY-9x2Wk';

/** The lab guest: NetworkManager 1.42 with network-manager-l2tp 1.20.8 (+ gnome), strongSwan, xl2tpd. */
export const labHost: HostFacts = {
  platform: 'linux',
  networkManagerRunning: true,
  networkManagerPlugins: ['l2tp', 'strongswan'],
  hasStrongSwan: true,
  hasXl2tpd: true,
  kernelEsp: true,
  kernelL2tp: true,
  charonPath: '/usr/lib/ipsec/charon',
  userspaceEsp: true,
  nmL2tpVersion: '1.20.8',
  nmL2tpAuthDialog: true,
};

export const l2tpPsk: TunnelProfile = {
  name: 'office',
  type: 'l2tp',
  gateways: ['203.0.113.2'],
  routes: ['10.99.0.0/24'],
  fullTunnel: false,
  auth: { method: 'psk', psk: PSK, username: 'vpnuser', password: PASSWORD },
  ikeProposals: ['aes256-sha256-modp2048', 'aes128-sha256-modp2048'],
  espProposals: ['aes256-sha256', 'aes128-sha256'],
  cipherPolicy: 'strict',
  keepalive: { intervalSeconds: 30, failures: 4 },
};

export const ikev2Cert: TunnelProfile = {
  name: 'cloud',
  type: 'ikev2',
  gateways: ['203.0.113.2'],
  routes: ['10.99.0.0/24'],
  fullTunnel: false,
  auth: { method: 'certificate', certificate: '/etc/lab-ikev2/client.pem', keyPath: '/etc/lab-ikev2/client.key', key: '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n', ca: '/etc/lab-ikev2/ca.pem' },
  ikeProposals: ['aes256gcm16-prfsha256-ecp256', 'aes256-sha256-modp2048'],
  espProposals: ['aes256gcm16', 'aes256-sha256'],
  cipherPolicy: 'strict',
  keepalive: { intervalSeconds: 30, failures: 4 },
};

/** A file system of a few known files; everything else is missing. */
export function fakeFiles(files: Record<string, string> = {}): HostFiles & { readonly files: Record<string, string> } {
  return {
    files,
    exists: (path) => Promise.resolve(path in files),
    readText: (path) => Promise.resolve(files[path]),
    list: (dir) => Promise.resolve(Object.keys(files).filter((path) => path.startsWith(`${dir}/`)).map((path) => path.slice(dir.length + 1))),
  };
}

/** A journal that remembers every acquire and release, in order. */
export function recordingJournal(): ResourceJournal & { readonly events: string[]; held(): DriverResource[] } {
  const events: string[] = [];
  const held = new Map<string, DriverResource>();
  return {
    events,
    held: () => [...held.values()],
    acquire: (r) => {
      events.push(`acquire ${r.kind} ${r.id}`);
      held.set(`${r.kind} ${r.id}`, r);
      return Promise.resolve();
    },
    release: (r) => {
      events.push(`release ${r.kind} ${r.id}`);
      held.delete(`${r.kind} ${r.id}`);
      return Promise.resolve();
    },
  };
}

/** A recording from shared/reference/recorded/linux as a reply. */
export function rec(file: string): ReplayReply {
  return loadRecording(`recorded/linux/${file}`);
}

/** `journalctl -o cat` lines of a recorded journal (the recorder used short-precise). */
export function journalCat(file: string): ReplayReply {
  const text = loadRecording(`recorded/linux/${file}`).stdout
    .split('\n')
    .map((line) => line.replace(/^\w{3} \d+ [\d:.]+ \S+ [^:]+: /, ''))
    .join('\n');
  return { stdout: text, source: `recorded/linux/${file} (as -o cat)` };
}

export const routeViaC0: ReplayReply = { stdout: '[{"dst":"10.99.0.1","gateway":"10.77.1.1","dev":"c0","prefsrc":"10.77.1.2","flags":[],"uid":0,"cache":[]}]\n' };
export const cursor: ReplayReply = { stdout: '-- No entries --\n-- cursor: s=763b167b;i=259\n' };
export const noDevice = (name: string): ReplayReply => ({ exitCode: 1, stderr: `Device "${name}" does not exist.\n` });

/**
 * The replaying fake, plus the two daemons the driver keeps running (charon, xl2tpd): they are
 * recorded as calls, create what the real ones create (vici socket, control pipe), and end when
 * the driver stops them.
 */
export class DaemonRunner implements CommandRunner {
  readonly daemons: string[][] = [];
  constructor(
    readonly replay: ReplayingCommandRunner,
    readonly onCommand: (spec: CommandSpec) => void = () => undefined,
  ) {}

  run(spec: CommandSpec): Promise<CommandResult> {
    const [program] = spec.argv;
    const daemon = program === 'unshare' || (program === 'xl2tpd' && spec.argv.includes('-D'));
    if (!daemon) {
      return this.replay.run(spec).then((result) => {
        this.onCommand(spec);
        return result;
      });
    }
    this.daemons.push([...spec.argv]);
    if (program === 'unshare') writeFileSync(join(spec.argv.at(-2) ?? '', '..', 'charon.vici'), '');
    else writeFileSync(spec.argv[spec.argv.indexOf('-C') + 1] ?? '', '');
    return new Promise((resolve) => {
      spec.signal?.addEventListener('abort', () => {
        resolve({ argv: spec.argv, exitCode: null, signal: 'SIGTERM', stdout: '', stderr: '', truncated: false, aborted: true, timedOut: false, durationMs: 0 });
      });
    });
  }
}

/** A swanctl command against the tunnel's own vici socket. */
export function swanctl(dir: string, ...args: string[]): string[] {
  return ['swanctl', ...args, '--uri', `unix://${dir}/charon.vici`];
}

/** The kill switch for 10.99.0.0/24: pinned before the tunnel comes up, removed after it is gone. */
export const pinSubnet: Expectation = { argv: ['ip', 'route', 'replace', 'unreachable', '10.99.0.0/24', 'metric', '65000'], reply: {} };
export const unpinSubnet: Expectation = { argv: ['ip', 'route', 'del', 'unreachable', '10.99.0.0/24', 'metric', '65000'], reply: {} };

/** linux-swan bringing the L2TP office profile up (recorded strongSwan and ip outputs). */
export function l2tpUp(dir: string): Expectation[] {
  return [
    { argv: ['ip', '-j', 'route', 'get', '10.99.0.1'], reply: routeViaC0 },
    pinSubnet,
    { argv: swanctl(dir, '--load-all', '--noprompt', '--file', `${dir}/swanctl/swanctl.conf`), reply: { stdout: "loaded ike secret 'ike-backhaul'\nloaded connection 'backhaul'\nsuccessfully loaded 1 connections, 0 unloaded\n" } },
    { argv: swanctl(dir, '--initiate', '--child', 'backhaul', '--ike', 'backhaul', '--timeout', '45'), reply: loadRecording('recorded/strongswan/initiate-office.txt') },
    { argv: ['sh', '-c', 'printf "%s\\n" "$1" > "$2"', 'sh', 'c backhaul', `${dir}/l2tp-control`], reply: {} },
    { argv: ['ip', '-j', 'addr', 'show', 'dev', 'ppp0'], reply: rec('ip_-j_addr_show_dev_ppp0.direct.txt') },
    { argv: ['ip', 'xfrm', 'state'], reply: rec('ip_xfrm_state.direct.txt') },
    { argv: ['ip', '-j', 'route', 'show', 'exact', '10.99.0.0/24'], reply: { stdout: '[]\n' } },
    { argv: ['ip', 'route', 'add', '10.99.0.0/24', 'dev', 'ppp0', 'proto', 'static'], reply: {} },
    { argv: ['ip', '-j', 'addr', 'show', 'dev', 'ppp0'], reply: rec('ip_-j_addr_show_dev_ppp0.direct.txt') },
  ];
}
