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

/**
 * Something a driver leaves on the machine until teardown: a route, a private config dir, a
 * NetworkManager connection it created. Recorded in the session journal so a crashed session's
 * leftovers can be removed by `cleanUp` on the next start.
 */
export interface DriverResource {
  /** e.g. 'route', 'config-dir', 'nm-connection', 'xfrm-policy'. */
  readonly kind: string;
  /** What identifies it for removal: a CIDR + device, a path, a connection UUID. */
  readonly id: string;
}

/**
 * The session's journal, as a driver sees it: `acquire` BEFORE creating a resource (so a crash in
 * between still leaves a record), `release` after removing it.
 */
export interface ResourceJournal {
  acquire(resource: DriverResource): Promise<void>;
  release(resource: DriverResource): Promise<void>;
}

/** A journal that records nothing, for callers outside a session (doctor, tests). */
export const noResourceJournal: ResourceJournal = {
  acquire: () => Promise.resolve(),
  release: () => Promise.resolve(),
};

export interface TunnelDriver {
  readonly name: DriverName;
  /** Creates or updates the native VPN entry; idempotent. */
  ensureProfile(profile: TunnelProfile, signal: AbortSignal, journal: ResourceJournal): Promise<ProfileChange>;
  /** Brings the tunnel up, or notices that it already is. Throws TunnelError. */
  connect(profile: TunnelProfile, signal: AbortSignal, journal: ResourceJournal): Promise<ConnectOutcome>;
  status(profile: TunnelProfile, signal: AbortSignal): Promise<TunnelStatus>;
  /**
   * The verifying step's tunnel checks (interface up, MTU confirmed, split routes present, the
   * repository host routed through the tunnel). Throws TunnelError naming the failed check.
   * Optional: the direct driver has nothing to verify.
   */
  verify?(profile: TunnelProfile, repositoryHost: string | undefined, signal: AbortSignal, journal: ResourceJournal): Promise<void>;
  /** Takes the tunnel down and removes every resource it acquired. Only called when connect() reported broughtUp. */
  disconnect(profile: TunnelProfile, signal: AbortSignal, journal: ResourceJournal): Promise<void>;
  /**
   * Removes what a crashed session left: the resources its journal recorded as acquired and never
   * released, and the tunnel itself if `tunnelUp`. Idempotent; a resource already gone is fine.
   */
  cleanUp?(leftovers: { readonly profile: string; readonly tunnelUp: boolean; readonly resources: readonly DriverResource[] }, signal: AbortSignal): Promise<void>;
}
