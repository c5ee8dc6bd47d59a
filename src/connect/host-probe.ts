/**
 * Finds out, once per run, what this Linux host has for VPNs — NetworkManager and its VPN plugins
 * (with the l2tp plugin's version, since unknown vpn.data keys make activation fail), strongSwan,
 * xl2tpd, kernel ESP/L2TP support, userspace ESP — and says which packages a profile still needs
 * (for `backhaul doctor`). The decision itself stays in the pure `selectDriver`.
 */
import { access, readdir, readFile } from 'node:fs/promises';
import type { CommandRunner } from '../os/command.js';
import type { HostDescription, TunnelType } from './select.js';

/** The file-system reads the probe needs (a fake in tests). */
export interface HostFiles {
  exists(path: string): Promise<boolean>;
  readText(path: string): Promise<string | undefined>;
  list(dir: string): Promise<string[]>;
}

export const nodeHostFiles: HostFiles = {
  exists: (path) => access(path).then(() => true, () => false),
  readText: (path) => readFile(path, 'utf8').catch(() => undefined),
  list: (dir) => readdir(dir).catch(() => []),
};

export interface HostFacts extends HostDescription {
  /** The kernel can do IPsec ESP (esp4 module or built in). */
  readonly kernelEsp: boolean;
  /** The kernel can carry L2TP/PPP (l2tp_ppp). */
  readonly kernelL2tp: boolean;
  /** strongSwan's charon daemon, for linux-swan. */
  readonly charonPath?: string;
  /** charon's kernel-libipsec plugin + /dev/net/tun: IPsec without kernel ESP. */
  readonly userspaceEsp: boolean;
  /** network-manager-l2tp's upstream version ("1.20.8"), when a package manager knows it. */
  readonly nmL2tpVersion?: string;
  /** nm-l2tp-auth-dialog (network-manager-l2tp-gnome): nmcli can then pass the PSK on a pipe. */
  readonly nmL2tpAuthDialog: boolean;
}

const NM_VPN_DIRS = ['/usr/lib/NetworkManager/VPN', '/etc/NetworkManager/VPN'];
const CHARON_PATHS = ['/usr/lib/ipsec/charon', '/usr/libexec/strongswan/charon', '/usr/libexec/ipsec/charon', '/usr/lib/strongswan/charon'];
const LIBIPSEC_PLUGINS = ['/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so', '/usr/lib64/strongswan/plugins/libstrongswan-kernel-libipsec.so', '/usr/lib/strongswan/plugins/libstrongswan-kernel-libipsec.so'];
const SWANCTL_PATHS = ['/usr/sbin/swanctl', '/sbin/swanctl', '/usr/bin/swanctl'];
const XL2TPD_PATHS = ['/usr/sbin/xl2tpd', '/sbin/xl2tpd', '/usr/bin/xl2tpd'];

/**
 * The description of a host that is not Linux: its native client is part of the OS (macOS's
 * scutil, Windows' RAS), so there is nothing to probe, and Linux's probes would only fail there.
 */
export function nonLinuxHost(platform: NodeJS.Platform): HostFacts {
  return { platform, networkManagerRunning: false, networkManagerPlugins: [], hasStrongSwan: false, hasXl2tpd: false, kernelEsp: false, kernelL2tp: false, userspaceEsp: false, nmL2tpAuthDialog: false };
}

/** Probes the host. Never throws for a missing tool: absence is a fact like any other. */
export async function probeHost(runner: CommandRunner, signal: AbortSignal, files: HostFiles = nodeHostFiles, platform: NodeJS.Platform = process.platform): Promise<HostFacts> {
  if (platform !== 'linux') return nonLinuxHost(platform);
  const ok = async (argv: string[]): Promise<string | undefined> => {
    try {
      const result = await runner.run({ argv, okExitCodes: 'any', timeoutMs: 15_000, signal });
      return result.exitCode === 0 ? result.stdout : undefined;
    } catch {
      return undefined;
    }
  };
  const running = (await ok(['nmcli', '-t', '-f', 'RUNNING', 'general']))?.trim() === 'running';
  const plugins = await nmPlugins(files);
  const charonPath = await firstExisting(files, CHARON_PATHS);
  const hasSwanctl = (await firstExisting(files, SWANCTL_PATHS)) !== undefined;
  const l2tp = plugins.get('l2tp');
  const version = l2tp === undefined ? undefined : await packageVersion(ok, 'network-manager-l2tp', 'NetworkManager-l2tp');
  return {
    platform: 'linux',
    networkManagerRunning: running,
    networkManagerPlugins: (['l2tp', 'strongswan'] as const).filter((name) => plugins.has(name)),
    hasStrongSwan: hasSwanctl && charonPath !== undefined,
    hasXl2tpd: (await firstExisting(files, XL2TPD_PATHS)) !== undefined,
    kernelEsp: (await ok(['modprobe', '-n', '-q', 'esp4'])) !== undefined,
    kernelL2tp: (await ok(['modprobe', '-n', '-q', 'l2tp_ppp'])) !== undefined,
    ...(charonPath === undefined ? {} : { charonPath }),
    userspaceEsp: (await firstExisting(files, LIBIPSEC_PLUGINS)) !== undefined && (await files.exists('/dev/net/tun')),
    ...(version === undefined ? {} : { nmL2tpVersion: version }),
    nmL2tpAuthDialog: l2tp?.authDialog !== undefined && (await files.exists(l2tp.authDialog)),
  };
}

interface NmPlugin {
  readonly program: string;
  readonly authDialog?: string;
}

/** NetworkManager's VPN plugins whose service program is installed, by short name. */
async function nmPlugins(files: HostFiles): Promise<Map<string, NmPlugin>> {
  const found = new Map<string, NmPlugin>();
  for (const dir of NM_VPN_DIRS) {
    for (const entry of (await files.list(dir)).filter((name) => name.endsWith('.name')).sort()) {
      const text = (await files.readText(`${dir}/${entry}`)) ?? '';
      const field = (key: string): string | undefined => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1]?.trim();
      const name = field('name');
      const program = field('program');
      if (name === undefined || program === undefined || !(await files.exists(program))) continue;
      const authDialog = field('auth-dialog');
      found.set(name, authDialog === undefined ? { program } : { program, authDialog });
    }
  }
  return found;
}

async function firstExisting(files: HostFiles, paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) if (await files.exists(path)) return path;
  return undefined;
}

/** "1:1.20.8-1+deb12u1" → "1.20.8"; dpkg first, then rpm. */
async function packageVersion(ok: (argv: string[]) => Promise<string | undefined>, deb: string, rpm: string): Promise<string | undefined> {
  const raw = (await ok(['dpkg-query', '-W', '-f', '${Version}', deb])) ?? (await ok(['rpm', '-q', '--qf', '%{VERSION}', rpm]));
  const match = /^(?:\d+:)?(\d+(?:\.\d+)+)/.exec(raw?.trim() ?? '');
  return match?.[1];
}

/** Compares dotted versions: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * What this host still needs for a profile of `type` with `auth` (for `backhaul doctor`): each item
 * names the missing piece and the command that installs it.
 */
export function hostRequirements(facts: HostFacts, type: TunnelType, auth: 'psk' | 'certificate'): string[] {
  const needs: string[] = [];
  const apt = (packages: string): string => `sudo apt-get install -y ${packages}`;
  if (facts.networkManagerRunning) {
    if (type === 'l2tp' && !facts.networkManagerPlugins.includes('l2tp')) needs.push(`NetworkManager's L2TP plugin: ${apt('network-manager-l2tp')}`);
    if (type === 'l2tp' && auth === 'psk' && !facts.nmL2tpAuthDialog) {
      needs.push(`passing the PSK to NetworkManager without storing it needs nm-l2tp-auth-dialog: ${apt('network-manager-l2tp-gnome')} (without it Backhaul stores the PSK in the connection only while connected)`);
    }
    if (type === 'ikev2' && !facts.networkManagerPlugins.includes('strongswan')) needs.push(`NetworkManager's strongSwan plugin (charon-nm): ${apt('network-manager-strongswan strongswan-nm')}`);
    if (type === 'ikev2' && auth === 'psk') needs.push('IKEv2 with a PSK can\'t be passed to NetworkManager headless: use certificates, or driver: linux-swan');
    return needs;
  }
  if (facts.charonPath === undefined || !facts.hasStrongSwan) needs.push(`strongSwan: ${apt('strongswan-charon strongswan-swanctl libstrongswan-standard-plugins')}`);
  if (type === 'l2tp') {
    if (!facts.hasXl2tpd) needs.push(`xl2tpd and pppd: ${apt('xl2tpd ppp')}`);
    if (!facts.kernelL2tp) needs.push('kernel L2TP/PPP support (l2tp_ppp): install the distribution kernel\'s modules or load them (modprobe l2tp_ppp)');
    if (!facts.kernelEsp) needs.push('kernel ESP (esp4): L2TP/IPsec transport mode needs it; userspace ESP only carries IKEv2');
  }
  if (type === 'ikev2' && !facts.kernelEsp && !facts.userspaceEsp) needs.push(`userspace ESP (no kernel ESP here): ${apt('libcharon-extra-plugins')} and /dev/net/tun`);
  return needs;
}
