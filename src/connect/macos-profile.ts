/**
 * The configuration profile (`.mobileconfig`) that gives macOS a Backhaul VPN: one
 * `com.apple.vpn.managed` payload of VPNType `L2TP` or `IKEv2` (keys from Apple's schema,
 * `../shared/reference/macos.md` §1). Since macOS 11 a profile can't be installed from the command
 * line (§2): IT installs it through MDM (signing it first) or the user in System Settings. So the
 * agent only generates it; the driver tells the person what to do.
 *
 * Versions: the service name carries an 8-hex digest of everything in the VPN payload, secrets
 * included (`Backhaul office (1a2b3c4d)`). `scutil --nc list` shows names only, so this is how the
 * driver tells "the profile we want is installed" from "an older one is" — a changed cipher policy,
 * gateway or PSK gives a new name. The digest is an HMAC under a random per-machine key, so the
 * name (which appears in argv and in System Settings) says nothing about the secrets. Identifiers
 * stay the same across versions, so installing the new profile replaces the old one (Apple's
 * profile handling, not re-verified in macos.md); UUIDs change with the digest.
 */
import { createHash, createHmac } from 'node:crypto';
import { defaultProposals } from './cipher-policy.js';
import { TunnelError, type TunnelProfile } from './driver.js';
import { appleIkev2Ciphers } from './macos-ciphers.js';
import { buildPlist, type PlistDict } from './macos-plist.js';
import { computeTunnelMtu } from './mtu.js';

/** The generated profile and the names the driver looks for. */
export interface GeneratedProfile {
  /** The XML plist, ready to sign (`security cms -S`) or hand to an MDM. Holds the VPN's secrets. */
  readonly xml: string;
  /** `UserDefinedName`: what System Settings shows and what `scutil --nc` takes. */
  readonly serviceName: string;
  /** The 8-hex version digest inside serviceName. */
  readonly digest: string;
  /** The outer profile's PayloadIdentifier (stable across versions). */
  readonly identifier: string;
}

/** The prefix every version of a profile's service name starts with. */
export function serviceNamePrefix(profile: string): string {
  return `Backhaul ${profile} (`;
}

/** `Backhaul office (1a2b3c4d)` → its digest, when the name is a version of `profile`'s service. */
export function versionOf(serviceName: string, profile: string): string | undefined {
  const prefix = serviceNamePrefix(profile);
  if (!serviceName.startsWith(prefix)) return undefined;
  return /^([0-9a-f]{8})\)$/.exec(serviceName.slice(prefix.length))?.[1];
}

/** IKEv2's MTU key: macOS takes 1280–1400 (macos.md §1). */
export const IKEV2_MTU_MIN = 1280;
export const IKEV2_MTU_MAX = 1400;

/** Identifier-safe form of a profile name; a hash keeps two names that clean up alike apart. */
function identifierPart(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9-]/g, '-');
  return clean === name && name !== '' ? name : `${clean}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/** A UUID (RFC 4122 layout, version 5 bits) derived from a digest, so the same input gives the same UUID. */
function derivedUuid(...parts: string[]): string {
  const bytes = createHash('sha256').update(parts.join('\0')).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Every key/value in insertion order with byte values as base64: the input of the digest. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (item instanceof Uint8Array ? Buffer.from(item).toString('base64') : item));
}

/** DeadPeerDetectionRate from the keepalive interval: High = 1 min, Medium = 10 min, Low = 30 min (macos.md §1). */
export function dpdRate(intervalSeconds: number | undefined): 'High' | 'Medium' | 'Low' {
  if (intervalSeconds === undefined || intervalSeconds <= 60) return 'High';
  return intervalSeconds <= 600 ? 'Medium' : 'Low';
}

/** The IKEv2 MTU: the profile's, else computed from the ESP overhead, within macOS's 1280–1400. */
export function ikev2Mtu(profile: TunnelProfile): number {
  const wanted = profile.mtu ?? computeTunnelMtu({ type: 'ikev2', espProposals: profile.espProposals ?? defaultProposals.ikev2.esp, natTraversal: true });
  return Math.min(IKEV2_MTU_MAX, Math.max(IKEV2_MTU_MIN, wanted));
}

/** The type-specific part of the VPN payload (everything but names and payload keys). */
function vpnSettings(profile: TunnelProfile): PlistDict {
  const auth = profile.auth;
  if (auth === undefined) throw new TunnelError('tunnel.no-auth', `profile ${profile.name} has no auth settings`, 'Add auth: to the profile.');
  if (auth.method !== 'psk') {
    // A certificate needs a PKCS#12 payload next to the VPN payload; building one from PEM files is
    // not done yet, so say so instead of generating a profile that can't authenticate.
    throw new TunnelError('tunnel.macos-certificate', `profiles.${profile.name}: certificate authentication is not supported by Backhaul's macOS profile generator yet`,
      'Use a pre-shared key for this profile on macOS, or have your MDM deploy the VPN with its certificate payload.');
  }
  const gateway = profile.gateways[0] ?? '';
  if (profile.type === 'l2tp') {
    return {
      VPNType: 'L2TP',
      // 1 = send all traffic over the VPN; 0 = only the routes the VPN provides (split).
      IPv4: { OverridePrimary: profile.fullTunnel ? 1 : 0 },
      PPP: {
        CommRemoteAddress: gateway,
        ...(auth.username === undefined ? {} : { AuthName: auth.username }),
        ...(auth.password === undefined ? {} : { AuthPassword: auth.password }),
      },
      // SharedSecret is <data> in the IPSec dictionary (unlike IKEv2's string); LocalIdentifierType
      // KeyID goes with SharedSecret for L2TP (macos.md §1).
      IPSec: { AuthenticationMethod: 'SharedSecret', LocalIdentifierType: 'KeyID', SharedSecret: new TextEncoder().encode(auth.psk) },
    };
  }
  const ciphers = appleIkev2Ciphers(profile.name, profile.ikeProposals ?? defaultProposals.ikev2.ike, profile.espProposals ?? defaultProposals.ikev2.esp);
  const eap = auth.username !== undefined && auth.password !== undefined;
  return {
    VPNType: 'IKEv2',
    IKEv2: {
      RemoteAddress: gateway,
      RemoteIdentifier: auth.remoteId ?? gateway,
      LocalIdentifier: auth.username ?? `backhaul-${profile.name}`,
      AuthenticationMethod: 'SharedSecret',
      SharedSecret: auth.psk,
      ...(eap ? { ExtendedAuthEnabled: 1, AuthName: auth.username, AuthPassword: auth.password } : {}),
      DeadPeerDetectionRate: dpdRate(profile.keepalive?.intervalSeconds),
      EnablePFS: ciphers.enablePfs,
      MTU: ikev2Mtu(profile),
      // Full tunnel: every network through the VPN (macOS 10.15+); split: only what the gateway's
      // traffic selectors and the agent's routes send there. OverridePrimary does not apply (§1).
      ...(profile.fullTunnel ? { IncludeAllNetworks: 1 } : {}),
      IKESecurityAssociationParameters: { ...ciphers.ike },
      ChildSecurityAssociationParameters: { ...ciphers.child },
    },
  };
}

/**
 * Generates the profile. `key` is the per-machine HMAC key for the version digest (see the
 * module comment). Throws TunnelError for what macOS or the generator can't express.
 */
export function generateProfile(profile: TunnelProfile, key: Uint8Array): GeneratedProfile {
  const settings = vpnSettings(profile);
  const digest = createHmac('sha256', key).update(canonical({ name: profile.name, settings })).digest('hex').slice(0, 8);
  const serviceName = `${serviceNamePrefix(profile.name)}${digest})`;
  const identifier = `org.backhaul.vpn.${identifierPart(profile.name)}`;
  const description = `Backhaul backs up over this VPN (profile ${profile.name}). Generated by Backhaul; holds the VPN's credentials.`;
  const vpn: PlistDict = {
    PayloadType: 'com.apple.vpn.managed',
    PayloadIdentifier: `${identifier}.${profile.type}`,
    PayloadUUID: derivedUuid('vpn', identifier, digest),
    PayloadVersion: 1,
    PayloadDisplayName: serviceName,
    PayloadDescription: description,
    PayloadOrganization: 'Backhaul',
    UserDefinedName: serviceName,
    ...settings,
  };
  const root: PlistDict = {
    PayloadContent: [vpn],
    PayloadDisplayName: `Backhaul VPN: ${profile.name}`,
    PayloadDescription: description,
    PayloadIdentifier: identifier,
    PayloadOrganization: 'Backhaul',
    // System scope: the agent runs as a launchd daemon, outside any user's session.
    PayloadScope: 'System',
    PayloadRemovalDisallowed: false,
    PayloadType: 'Configuration',
    PayloadUUID: derivedUuid('profile', identifier, digest),
    PayloadVersion: 1,
  };
  let xml: string;
  try {
    xml = buildPlist(root);
  } catch (error) {
    // Text XML can't carry (a control character in a name or secret): say which profile, don't crash.
    throw new TunnelError('tunnel.macos-profile-text', `profiles.${profile.name}: ${(error as Error).message}`, 'Remove control characters from the profile\'s name, user name and secrets.');
  }
  return { xml, serviceName, digest, identifier };
}
