import type { ConnectOutcome, ProfileChange, TunnelDriver, TunnelStatus } from './driver.js';

/**
 * The `direct` driver: no tunnel. For repositories reachable without a VPN (a local disk, a LAN
 * NAS) and for the built-in demo. It never brings anything up, so teardown has nothing to undo.
 */
export function createDirectDriver(): TunnelDriver {
  const up: TunnelStatus = { state: 'up' };
  return {
    name: 'direct',
    ensureProfile: (): Promise<ProfileChange> => Promise.resolve('unchanged'),
    connect: (): Promise<ConnectOutcome> => Promise.resolve({ broughtUp: false, status: up }),
    status: (): Promise<TunnelStatus> => Promise.resolve(up),
    disconnect: (): Promise<void> => Promise.resolve(),
  };
}
