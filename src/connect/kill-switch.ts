/**
 * The Linux kill switch: for a session's lifetime each split route of the profile is pinned by an
 * `unreachable` route with a high metric in the main table. While the tunnel is up its own route
 * wins — strongSwan's in policy table 220 (looked up before main), pppd's ppp route with metric 0 —
 * and when the tunnel goes away, taking those routes with it, the pinned route wins over the
 * default route: backup traffic fails with "no route to host" instead of leaving in clear
 * (shared/reference/host-lab.md pitfall 8). restic's established connections survive that (a soft
 * error, as with the lab's ICMP unreachable) and carry on once the tunnel is back.
 *
 * Each pin is a driver resource of kind `kill-switch`, journaled before it is added, so a crash
 * can't leave one behind (the next start's recovery removes it).
 */
import type { CommandRunner } from '../os/command.js';
import { ipv4InCidr } from '../os/ipv4.js';
import type { DriverLog, DriverResource, ResourceJournal, TunnelProfile } from './driver.js';

/** Above any metric a VPN client or DHCP gives a real route, so a working route always wins. */
export const KILL_SWITCH_METRIC = 65_000;

/** The journal id of a pin: the `ip route` arguments that name it. */
export function killSwitchId(cidr: string): string {
  return `unreachable ${cidr} metric ${KILL_SWITCH_METRIC}`;
}

/**
 * The subnets to pin. None for a full tunnel: an unreachable default would also cut the path to
 * the VPN gateway (that needs a firewall rule, not a route). A split route that contains a gateway
 * is skipped too, or the pin would stop the tunnel from ever coming up.
 */
export function killSwitchRoutes(profile: TunnelProfile): { readonly pin: readonly string[]; readonly skipped: readonly string[] } {
  if (profile.fullTunnel) return { pin: [], skipped: [] };
  const pin: string[] = [];
  const skipped: string[] = [];
  for (const cidr of profile.routes) {
    if (profile.gateways.some((gateway) => ipv4InCidr(gateway, cidr))) skipped.push(cidr);
    else pin.push(cidr);
  }
  return { pin, skipped };
}

/** Adds the pins (journaled first). `replace` makes it idempotent: a second connect adds nothing. */
export async function pinRoutes(runner: CommandRunner, journal: ResourceJournal, profile: TunnelProfile, signal: AbortSignal, log?: DriverLog): Promise<DriverResource[]> {
  const { pin, skipped } = killSwitchRoutes(profile);
  for (const cidr of skipped) {
    log?.('warn', `no kill switch for ${cidr}: the VPN gateway is inside it, so pinning it would keep the tunnel from coming up`);
  }
  const pinned: DriverResource[] = [];
  for (const cidr of pin) {
    const resource: DriverResource = { kind: 'kill-switch', id: killSwitchId(cidr) };
    await journal.acquire(resource);
    pinned.push(resource);
    await runner.run({ argv: ['ip', 'route', 'replace', ...resource.id.split(' ')], timeoutMs: 10_000, signal });
  }
  return pinned;
}

/** Removes the pins; one already gone is fine. */
export async function unpinRoutes(runner: CommandRunner, journal: ResourceJournal, pinned: readonly DriverResource[], signal: AbortSignal): Promise<void> {
  for (const resource of [...pinned].reverse()) {
    await removeKillSwitch(runner, resource.id, signal);
    await journal.release(resource);
  }
}

/** Deletes one pin by its journal id (teardown and crash recovery). */
export async function removeKillSwitch(runner: CommandRunner, id: string, signal: AbortSignal): Promise<void> {
  await runner.run({ argv: ['ip', 'route', 'del', ...id.split(' ')], okExitCodes: 'any', timeoutMs: 10_000, signal });
}
