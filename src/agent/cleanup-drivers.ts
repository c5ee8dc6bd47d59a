import { createDirectDriver } from '../connect/direct.js';
import type { TunnelDriver } from '../connect/driver.js';
import { probeHost } from '../connect/host-probe.js';
import { createLinuxNmDriver } from '../connect/linux-nm.js';
import { createLinuxSwanDriver } from '../connect/linux-swan.js';
import type { CommandRunner } from '../os/command.js';

/**
 * The driver that can remove what a crashed session of `driverName` left, built for this host
 * (probed once, lazily). Undefined for a driver this host can't run: recovery then says so.
 */
export function cleanupDrivers(deps: { readonly runner: CommandRunner; readonly stateDir: string }): (driverName: string) => Promise<TunnelDriver | undefined> {
  let host: ReturnType<typeof probeHost> | undefined;
  const facts = () => (host ??= probeHost(deps.runner, AbortSignal.timeout(60_000)));
  return async (driverName) => {
    switch (driverName) {
      case 'direct':
        return createDirectDriver();
      case 'linux-swan':
        return createLinuxSwanDriver({ runner: deps.runner, host: await facts(), stateDir: deps.stateDir });
      case 'linux-nm':
        return createLinuxNmDriver({ runner: deps.runner, host: await facts() });
      default:
        return undefined;
    }
  };
}
