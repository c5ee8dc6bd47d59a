import type { DriverName } from './driver.js';

/**
 * A plain description of the host: what the OS is and which native VPN pieces are installed and
 * running. Gathered once at start-up by probes (src/os), so the decision below stays pure.
 */
export interface HostDescription {
  readonly platform: NodeJS.Platform;
  /** `nmcli` is on PATH and NetworkManager answers. */
  readonly networkManagerRunning: boolean;
  /** The NetworkManager VPN plugins found (`l2tp`, `strongswan`). */
  readonly networkManagerPlugins: readonly ('l2tp' | 'strongswan')[];
  /** strongSwan's `swanctl` (or legacy `ipsec`) is installed. */
  readonly hasStrongSwan: boolean;
  readonly hasXl2tpd: boolean;
}

export type TunnelType = 'l2tp' | 'ikev2';

export type DriverSelection =
  | { readonly ok: true; readonly driver: DriverName }
  | { readonly ok: false; readonly reason: string; readonly hint: string };

/**
 * Picks the native VPN client for a tunnel type on this host. Desktops with NetworkManager use it
 * (the user sees the connection in their network menu); hosts without it (NAS, servers) drive
 * strongSwan and xl2tpd directly. One decision, made once: drivers never re-check the OS.
 */
export function selectDriver(host: HostDescription, type: TunnelType): DriverSelection {
  switch (host.platform) {
    case 'win32':
      return { ok: true, driver: 'windows' };
    case 'darwin':
      return { ok: true, driver: 'macos' };
    case 'linux':
      return selectLinuxDriver(host, type);
    default:
      return {
        ok: false,
        reason: `${host.platform} has no supported VPN client`,
        hint: 'Use a job with profile "direct", or run Backhaul on Linux, macOS or Windows.',
      };
  }
}

function selectLinuxDriver(host: HostDescription, type: TunnelType): DriverSelection {
  const nmPlugin = type === 'l2tp' ? 'l2tp' : 'strongswan';
  if (host.networkManagerRunning && host.networkManagerPlugins.includes(nmPlugin)) {
    return { ok: true, driver: 'linux-nm' };
  }
  const swanReady = host.hasStrongSwan && (type === 'ikev2' || host.hasXl2tpd);
  if (swanReady) return { ok: true, driver: 'linux-swan' };

  const nmPackage = type === 'l2tp' ? 'network-manager-l2tp' : 'network-manager-strongswan';
  const swanPackages = type === 'l2tp' ? 'strongswan-swanctl xl2tpd' : 'strongswan-swanctl';
  if (host.networkManagerRunning) {
    return {
      ok: false,
      reason: `NetworkManager is running but its ${nmPlugin} VPN plugin is not installed`,
      hint: `Install it: sudo apt-get install -y ${nmPackage}`,
    };
  }
  return {
    ok: false,
    reason: `no ${type === 'l2tp' ? 'L2TP/IPsec' : 'IKEv2'} client found (neither NetworkManager nor strongSwan${type === 'l2tp' ? ' + xl2tpd' : ''})`,
    hint: `Install one: sudo apt-get install -y ${nmPackage}   (desktops)   or   sudo apt-get install -y ${swanPackages}   (servers, NAS)`,
  };
}
