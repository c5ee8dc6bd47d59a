/**
 * The TunnelDriver contract: one implementation per native VPN client (linux-nm, linux-swan,
 * windows, macos) plus `direct` for repositories reachable without a tunnel. The session calls
 * these in order — ensureProfile, connect, status (while backing up), disconnect — and only ever
 * tears down what it brought up.
 */

export type DriverName = 'direct' | 'linux-nm' | 'linux-swan' | 'windows' | 'macos';

/** A VPN profile as the driver needs it: plain values, secrets already resolved by the caller. */
export interface TunnelProfile {
  readonly name: string;
  readonly type: 'l2tp' | 'ikev2';
  readonly gateways: readonly string[];
  readonly mtu?: number;
  /** CIDRs routed through the tunnel (split tunnelling). Empty with fullTunnel. */
  readonly routes: readonly string[];
  readonly fullTunnel: boolean;
}

export type ProfileChange = 'created' | 'updated' | 'unchanged';

export type TunnelState = 'up' | 'down' | 'connecting' | 'unknown';

export interface TunnelStatus {
  readonly state: TunnelState;
  /** The interface carrying the tunnel (ppp0, …), when up. */
  readonly interfaceName?: string;
  readonly mtu?: number;
  readonly localAddress?: string;
}

/** What connect() did: the session records it in the journal so teardown undoes exactly that. */
export interface ConnectOutcome {
  /** False when the tunnel was already up before us (the user's): we must leave it up. */
  readonly broughtUp: boolean;
  readonly status: TunnelStatus;
}

/** A driver failure with a stable code and the user-facing hint. */
export class TunnelError extends Error {
  override readonly name = 'TunnelError';
  constructor(
    readonly code: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

export interface TunnelDriver {
  readonly name: DriverName;
  /** Creates or updates the native VPN entry; idempotent. */
  ensureProfile(profile: TunnelProfile, signal: AbortSignal): Promise<ProfileChange>;
  /** Brings the tunnel up, or notices that it already is. Throws TunnelError. */
  connect(profile: TunnelProfile, signal: AbortSignal): Promise<ConnectOutcome>;
  status(profile: TunnelProfile, signal: AbortSignal): Promise<TunnelStatus>;
  /** Takes the tunnel down. Only called when connect() reported broughtUp. */
  disconnect(profile: TunnelProfile, signal: AbortSignal): Promise<void>;
}
