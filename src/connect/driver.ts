/**
 * The TunnelDriver contract: one implementation per native VPN client (linux-nm, linux-swan,
 * windows, macos) plus `direct` for repositories reachable without a tunnel. The session calls
 * these in order — ensureProfile, connect, status (while backing up), disconnect — and only ever
 * tears down what it brought up.
 */

export type DriverName = 'direct' | 'linux-nm' | 'linux-swan' | 'windows' | 'macos';

/**
 * How a profile authenticates, with its secrets resolved. Every secret value here is registered
 * with the redactor before a driver sees it; never log a TunnelAuth or a TunnelProfile.
 */
export type TunnelAuth =
  | (TunnelAuthCommon & { readonly method: 'psk'; readonly psk: string })
  | (TunnelAuthCommon & {
      readonly method: 'certificate';
      /** This machine's certificate (PEM). */
      readonly certificate: string;
      /** Path of the unencrypted private key (PEM, mode 0600), and its content. */
      readonly keyPath: string;
      readonly key: string;
    });

interface TunnelAuthCommon {
  /** PPP user and password (L2TP); EAP identity for IKEv2. */
  readonly username?: string;
  readonly password?: string;
  /** CA certificate (PEM path) that issued the gateway's certificate. */
  readonly ca?: string;
  /** The gateway's IKE identity, when it differs from its address. */
  readonly remoteId?: string;
}

/** A VPN profile as the driver needs it: plain values, secrets already resolved by the caller. */
export interface TunnelProfile {
  readonly name: string;
  readonly type: 'l2tp' | 'ikev2';
  readonly gateways: readonly string[];
  /** MTU override; without it the driver computes one from the encapsulation overhead. */
  readonly mtu?: number;
  /** CIDRs routed through the tunnel (split tunnelling). Empty with fullTunnel. */
  readonly routes: readonly string[];
  readonly fullTunnel: boolean;
  /** Absent only for the `direct` profile. */
  readonly auth?: TunnelAuth;
  /** strongSwan-syntax proposals, already checked against the cipher policy. */
  readonly ikeProposals?: readonly string[];
  readonly espProposals?: readonly string[];
  readonly cipherPolicy?: 'strict' | 'legacy';
  /** LCP echo (L2TP) / dead-peer detection (IKEv2): seconds between probes and misses tolerated. */
  readonly keepalive?: { readonly intervalSeconds: number; readonly failures: number };
  /** Clamp TCP MSS to the tunnel MTU (nftables) on the tunnel interface. */
  readonly mssClamp?: boolean;
}

/** A line for the session log (MTU decisions, warnings); never carries a secret. */
export type DriverLog = (level: 'info' | 'warn', message: string) => void;

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
  /**
   * Brings a tunnel this session brought up, and lost, back up in place — while the backup runs on
   * and the kill switch stays (the session never lets backup traffic leave outside the tunnel).
   * Optional: without it the session calls disconnect() then connect().
   */
  reconnect?(profile: TunnelProfile, signal: AbortSignal, journal: ResourceJournal): Promise<ConnectOutcome>;
  /** Takes the tunnel down and removes every resource it acquired. Only called when connect() reported broughtUp. */
  disconnect(profile: TunnelProfile, signal: AbortSignal, journal: ResourceJournal): Promise<void>;
  /**
   * Removes what a crashed session left: the resources its journal recorded as acquired and never
   * released, and the tunnel itself if `tunnelUp`. Idempotent; a resource already gone is fine.
   */
  cleanUp?(leftovers: { readonly profile: string; readonly tunnelUp: boolean; readonly resources: readonly DriverResource[] }, signal: AbortSignal): Promise<void>;
}
