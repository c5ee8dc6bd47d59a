/**
 * The cipher policy: IKE and ESP proposals (strongSwan syntax, `aes256-sha256-modp2048`) are
 * checked before anything is sent to a gateway. MD5, SHA-1, DES, 3DES, NULL encryption and
 * Diffie-Hellman groups below 14 (modp768/1024/1536, and the 1024-bit modp1024s160) are refused
 * unless the profile's policy is `legacy`; an algorithm we don't know is refused too, so a typo is
 * never sent as-is. Each driver documents what it enforces, what it only checks and what it can't
 * control (`cipherControl`).
 */
import type { DriverName } from './driver.js';
import type { TunnelType } from './select.js';

export type CipherPolicyName = 'strict' | 'legacy';

export type AlgorithmKind = 'encryption' | 'integrity' | 'prf' | 'dh' | 'esn';

/** One algorithm the policy objects to, and why. */
export interface WeakAlgorithm {
  readonly phase: 'ike' | 'esp';
  readonly proposal: string;
  readonly algorithm: string;
  readonly reason: string;
}

export interface PolicyVerdict {
  /** False when a weak or unknown algorithm is present and the policy is strict. */
  readonly ok: boolean;
  readonly weak: readonly WeakAlgorithm[];
}

/**
 * Backhaul's own proposals when a profile sets none, so a native client's weak defaults
 * (NetworkManager-l2tp offers 3DES, SHA-1 and modp1024) are never used. IKEv1 has no AEAD for IKE.
 */
export const defaultProposals: Readonly<Record<TunnelType, { readonly ike: readonly string[]; readonly esp: readonly string[] }>> = {
  l2tp: {
    ike: ['aes256-sha256-modp2048', 'aes128-sha256-modp2048'],
    esp: ['aes256-sha256', 'aes128-sha256'],
  },
  ikev2: {
    ike: ['aes256gcm16-prfsha256-ecp256', 'aes256-sha256-modp2048'],
    esp: ['aes256gcm16', 'aes256-sha256'],
  },
};

const WEAK: ReadonlyMap<string, string> = new Map([
  ['md5', 'MD5 is broken'],
  ['md5_128', 'MD5 is broken'],
  ['prfmd5', 'MD5 is broken'],
  ['sha1', 'SHA-1 is deprecated for IPsec integrity (RFC 8221, RFC 8247)'],
  ['sha', 'SHA-1 is deprecated for IPsec integrity (RFC 8221, RFC 8247)'],
  ['sha1_160', 'SHA-1 is deprecated for IPsec integrity (RFC 8221, RFC 8247)'],
  ['prfsha1', 'SHA-1 is deprecated for IPsec integrity (RFC 8221, RFC 8247)'],
  ['des', 'DES has a 56-bit key'],
  ['3des', '3DES has a 64-bit block (Sweet32)'],
  ['null', 'NULL encryption sends everything in the clear'],
  ['blowfish', 'Blowfish has a 64-bit block'],
  ['cast128', 'CAST-128 has a 64-bit block'],
  ['modp768', 'DH group 1 (768-bit) is below group 14'],
  ['modp1024', 'DH group 2 (1024-bit) is below group 14'],
  ['modp1536', 'DH group 5 (1536-bit) is below group 14'],
  ['modp1024s160', 'DH group 22 is a 1024-bit group'],
]);

/** Algorithms we know and accept, by strongSwan keyword (libreswan's `sha2_256`/`ecp_384` too). */
const STRONG: ReadonlyMap<string, AlgorithmKind> = new Map<string, AlgorithmKind>([
  ...['aes', 'aes128', 'aes192', 'aes256', 'aes128ctr', 'aes192ctr', 'aes256ctr', 'camellia128', 'camellia192', 'camellia256', 'chacha20poly1305']
    .map((name): [string, AlgorithmKind] => [name, 'encryption']),
  ...['sha256', 'sha384', 'sha512', 'sha2_256', 'sha2_384', 'sha2_512', 'aesxcbc', 'aescmac']
    .map((name): [string, AlgorithmKind] => [name, 'integrity']),
  ...['prfsha256', 'prfsha384', 'prfsha512', 'prfaesxcbc', 'prfaescmac'].map((name): [string, AlgorithmKind] => [name, 'prf']),
  ...['modp2048', 'modp3072', 'modp4096', 'modp6144', 'modp8192', 'modp2048s224', 'modp2048s256', 'ecp256', 'ecp384', 'ecp521',
    'ecp_256', 'ecp_384', 'ecp_521', 'ecp256bp', 'ecp384bp', 'ecp512bp', 'curve25519', 'x25519', 'curve448', 'x448']
    .map((name): [string, AlgorithmKind] => [name, 'dh']),
  ...['esn', 'noesn'].map((name): [string, AlgorithmKind] => [name, 'esn']),
]);

/** AES-GCM / AES-CCM / Camellia-CCM with an ICV length: aes256gcm16, aes128ccm12, aes256gcm (= 16). */
const AEAD = /^(aes(128|192|256)?|camellia(128|192|256)?)(gcm|ccm)(8|12|16|64|96|128)?$/;
/** AES-GMAC is integrity only, but a valid keyword. */
const GMAC = /^aes(128|192|256)gmac$/;

/** What kind of algorithm `token` names, or undefined when it is not one we know. */
export function algorithmKind(token: string): AlgorithmKind | undefined {
  const name = token.toLowerCase();
  if (WEAK.has(name)) return weakKind(name);
  if (AEAD.test(name)) return 'encryption';
  if (GMAC.test(name)) return 'integrity';
  return STRONG.get(name);
}

function weakKind(name: string): AlgorithmKind {
  if (name.startsWith('modp')) return 'dh';
  if (name.startsWith('prf')) return 'prf';
  if (['des', '3des', 'null', 'blowfish', 'cast128'].includes(name)) return 'encryption';
  return 'integrity';
}

/** The algorithms of one proposal: `aes256-sha256-modp2048!` → aes256, sha256, modp2048. */
export function proposalAlgorithms(proposal: string): string[] {
  return proposal.trim().replace(/!$/, '').toLowerCase().split('-').filter((token) => token !== '');
}

/**
 * Checks a profile's proposals. With `legacy` weak algorithms are reported but allowed (the
 * caller logs them); unknown algorithms are refused under either policy.
 */
export function checkProposals(ike: readonly string[], esp: readonly string[], policy: CipherPolicyName): PolicyVerdict {
  const weak: WeakAlgorithm[] = [];
  let unknown = false;
  for (const [phase, proposals] of [['ike', ike], ['esp', esp]] as const) {
    for (const proposal of proposals) {
      const algorithms = proposalAlgorithms(proposal);
      if (algorithms.length === 0) {
        weak.push({ phase, proposal, algorithm: '', reason: 'an empty proposal' });
        unknown = true;
      }
      for (const algorithm of algorithms) {
        const reason = WEAK.get(algorithm);
        if (reason !== undefined) weak.push({ phase, proposal, algorithm, reason });
        else if (algorithmKind(algorithm) === undefined) {
          weak.push({ phase, proposal, algorithm, reason: 'not an algorithm Backhaul knows (strongSwan syntax, e.g. aes256-sha256-modp2048)' });
          unknown = true;
        }
      }
    }
  }
  return { ok: unknown ? false : weak.length === 0 || policy === 'legacy', weak };
}

/** The sentence naming every weak algorithm: `"3des-sha1-modp1024" (IKE): 3DES has …; SHA-1 …`. */
export function describeWeak(weak: readonly WeakAlgorithm[]): string {
  const byProposal = new Map<string, string[]>();
  for (const item of weak) {
    const key = `"${item.proposal}" (${item.phase === 'ike' ? 'IKE' : 'ESP'})`;
    const reasons = byProposal.get(key) ?? [];
    const text = item.algorithm === '' ? item.reason : `${item.algorithm}: ${item.reason}`;
    if (!reasons.includes(text)) reasons.push(text);
    byProposal.set(key, reasons);
  }
  return [...byProposal].map(([key, reasons]) => `${key} uses ${reasons.join('; ')}`).join('. ');
}

/**
 * Which of the negotiated ESP algorithms the kernel reports (`ip xfrm state`: `enc cbc(des3_ede)`,
 * `auth-trunc hmac(sha1)`, `aead rfc4106(gcm(aes))`) the policy objects to.
 */
export function weakKernelAlgorithms(xfrmState: string): string[] {
  const found = new Set<string>();
  for (const match of xfrmState.matchAll(/^\s*(enc|auth|auth-trunc|aead)\s+(\S+)/gm)) {
    const name = match[2] ?? '';
    if (/md5/.test(name)) found.add('MD5');
    if (/\bhmac\(sha1\)|sha1/.test(name)) found.add('SHA-1');
    if (/des3_ede/.test(name)) found.add('3DES');
    else if (/\bdes\b|\(des\)/.test(name)) found.add('DES');
    if (/cipher_null|ecb\(cipher_null\)/.test(name)) found.add('NULL encryption');
  }
  return [...found];
}

/** What a driver can do about ciphers, per tunnel type: the honest answer for docs and `doctor`. */
export interface CipherControl {
  /** Written into the native configuration, so the client offers only these. */
  readonly enforces: readonly string[];
  /** Read back after connecting and refused when weak. */
  readonly checks: readonly string[];
  /** Outside the driver's reach. */
  readonly cannotControl: readonly string[];
}

export const cipherControl: Readonly<Partial<Record<DriverName, Readonly<Record<TunnelType, CipherControl>>>>> = {
  'linux-nm': {
    l2tp: {
      enforces: [
        'IKE (phase 1) proposals: vpn.data ipsec-ike, strict (a trailing "!" so strongSwan offers nothing else)',
        'ESP (phase 2) proposals: vpn.data ipsec-esp, strict; a DH group in an ESP proposal makes PFS mandatory',
      ],
      checks: ['the negotiated ESP cipher and integrity algorithm in the kernel (ip xfrm state) after connecting'],
      cannotControl: [
        'vpn.data ipsec-pfs: NetworkManager-l2tp writes it only for libreswan, strongSwan ignores it (use a DH group in the ESP proposal instead)',
        'the PPP layer inside the tunnel (MS-CHAPv2 password hashing) — protected only by the IPsec SA',
      ],
    },
    ikev2: {
      enforces: ['IKE and ESP proposals: vpn.data proposal=yes with ike= and esp= (";"-separated), which charon-nm uses instead of its defaults'],
      checks: ['the negotiated ESP algorithm in the kernel (ip xfrm state) after connecting'],
      cannotControl: ['the certificate signature algorithms the gateway presents (charon-nm accepts what its plugins verify)'],
    },
  },
  'linux-swan': {
    l2tp: {
      enforces: ['IKE and ESP proposals in the private swanctl.conf (strongSwan treats swanctl proposals as strict)', 'PFS when an ESP proposal names a DH group'],
      checks: ['the negotiated ESP algorithm in the kernel (ip xfrm state) after connecting'],
      cannotControl: ['the PPP layer inside the tunnel (MS-CHAPv2 password hashing) — protected only by the IPsec SA'],
    },
    ikev2: {
      enforces: ['IKE and ESP proposals in the private swanctl.conf (strict)', 'PFS when an ESP proposal names a DH group'],
      checks: ['the negotiated ESP algorithm (ip xfrm state; with userspace ESP there is no kernel state and only the configuration enforces it)'],
      cannotControl: [],
    },
  },
  windows: {
    l2tp: {
      enforces: [
        'IKE (main mode): the first IKE proposal Windows can express, as Set-VpnConnectionIPsecConfiguration -EncryptionMethod, -IntegrityCheckMethod, -DHGroup',
        'ESP (quick mode): the first ESP proposal Windows can express, as -CipherTransformConstants and -AuthenticationTransformConstants (both GCMAES<bits> for AES-GCM)',
        'PFS: -PfsGroup from that ESP proposal\'s DH group, None without one',
      ],
      checks: ['the custom IPsec policy on the entry (IPsecCustomPolicy), read back by every ensureProfile and rewritten when it differs'],
      cannotControl: [
        'the other proposals: Windows takes one custom policy, not a list; a profile none of whose proposals Windows can express is refused (tunnel.cipher-unsupported), never left to Windows\' defaults',
        'the algorithms actually negotiated: not read back after connecting (no recorded Windows output to read them from)',
        'the PPP layer inside the tunnel (MS-CHAPv2, the only PPP method Backhaul offers) — protected only by the IPsec SA',
      ],
    },
    ikev2: {
      enforces: [
        'IKE SA: the first IKE proposal Windows can express, as -EncryptionMethod, -IntegrityCheckMethod (the PRF\'s hash for AEAD), -DHGroup',
        'child SA: the first ESP proposal Windows can express, as -CipherTransformConstants and -AuthenticationTransformConstants',
        'PFS: -PfsGroup from that ESP proposal\'s DH group, None without one',
      ],
      checks: ['the custom IPsec policy on the entry (IPsecCustomPolicy), read back by every ensureProfile and rewritten when it differs'],
      cannotControl: [
        'the other proposals: Windows takes one custom policy, not a list; a profile none of whose proposals Windows can express is refused (tunnel.cipher-unsupported)',
        'the algorithms actually negotiated: not read back after connecting',
        'the certificate signature algorithms: Windows picks the machine certificate from its store',
      ],
    },
  },
  macos: {
    l2tp: {
      enforces: [],
      checks: [],
      cannotControl: [
        'IKE and ESP proposals, PFS and lifetimes: the com.apple.vpn.managed L2TP payload has no cipher keys, macOS offers its own list; so cipherPolicy strict refuses the profile and legacy allows it with a warning',
        'the PPP layer inside the tunnel (MS-CHAPv2 password hashing) — protected only by the IPsec SA',
      ],
    },
    ikev2: {
      enforces: [
        'IKE SA: the first IKE proposal macOS can express, as IKESecurityAssociationParameters (EncryptionAlgorithm, IntegrityAlgorithm, DiffieHellmanGroup; LifeTimeInMinutes 240)',
        'child SA: the first ESP proposal macOS can express, as ChildSecurityAssociationParameters (LifeTimeInMinutes 60)',
        'PFS: EnablePFS 1 when that ESP proposal names a DH group (the child SA then uses it)',
      ],
      checks: [],
      cannotControl: [
        'the other proposals: macOS takes one algorithm set per SA, not a list; a profile none of whose proposals macOS can express is refused (tunnel.macos-cipher-unsupported), never left to Apple\'s defaults',
        'the negotiated algorithms are not read back after connecting (no recorded macOS output to read them from)',
      ],
    },
  },
};
