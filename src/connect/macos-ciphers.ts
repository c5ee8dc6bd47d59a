/**
 * The cipher policy in macOS terms. An IKEv2 configuration profile carries one
 * `IKESecurityAssociationParameters` and one `ChildSecurityAssociationParameters` dictionary
 * (`../shared/reference/macos.md` §1, from Apple's schema com.apple.vpn.managed.yaml): a single
 * encryption algorithm, integrity algorithm and DH group each — not a list of proposals. So the
 * first of the profile's (already policy-checked) proposals that macOS can express is written, and
 * a profile none of whose proposals macOS can express is refused rather than silently weakened to
 * Apple's defaults. The L2TP payload has no cipher keys at all: nothing is enforceable there.
 */
import { algorithmKind, proposalAlgorithms } from './cipher-policy.js';
import { TunnelError } from './driver.js';

/** One security-association dictionary, with the key names and values of Apple's schema. */
export interface AppleSaParameters {
  readonly EncryptionAlgorithm: string;
  readonly IntegrityAlgorithm: string;
  readonly DiffieHellmanGroup: number;
  readonly LifeTimeInMinutes: number;
}

/** `EncryptionAlgorithm` values (macos.md §1). GCM only with the 16-byte ICV strongSwan writes as gcm16. */
const ENCRYPTION: ReadonlyMap<string, string> = new Map([
  ['des', 'DES'],
  ['3des', '3DES'],
  ['aes128', 'AES-128'],
  ['aes256', 'AES-256'],
  ['aes128gcm16', 'AES-128-GCM'],
  ['aes128gcm128', 'AES-128-GCM'],
  ['aes256gcm16', 'AES-256-GCM'],
  ['aes256gcm128', 'AES-256-GCM'],
  ['chacha20poly1305', 'ChaCha20Poly1305'],
]);

/**
 * `IntegrityAlgorithm` values (macos.md §1). strongSwan's `sha1` is HMAC-SHA1-96 for ESP and IKE
 * integrity; Apple's SHA1-160 is the untruncated variant no strongSwan keyword names.
 */
const INTEGRITY: ReadonlyMap<string, string> = new Map([
  ['sha1', 'SHA1-96'],
  ['sha', 'SHA1-96'],
  ['sha256', 'SHA2-256'],
  ['sha2_256', 'SHA2-256'],
  ['sha384', 'SHA2-384'],
  ['sha2_384', 'SHA2-384'],
  ['sha512', 'SHA2-512'],
  ['sha2_512', 'SHA2-512'],
]);

/** For AEAD ciphers the IKE SA's IntegrityAlgorithm stands for the PRF (hwdsl2's generator pairs AES-256-GCM with SHA2-256). */
const PRF: ReadonlyMap<string, string> = new Map([
  ['prfsha1', 'SHA1-96'],
  ['prfsha256', 'SHA2-256'],
  ['prfsha384', 'SHA2-384'],
  ['prfsha512', 'SHA2-512'],
]);

/** `DiffieHellmanGroup` values macOS accepts (macos.md §1: 1, 2, 5, 14–21, 31, 32), by strongSwan keyword. */
const DH_GROUP: ReadonlyMap<string, number> = new Map([
  ['modp768', 1],
  ['modp1024', 2],
  ['modp1536', 5],
  ['modp2048', 14],
  ['modp3072', 15],
  ['modp4096', 16],
  ['modp6144', 17],
  ['modp8192', 18],
  ['ecp256', 19],
  ['ecp_256', 19],
  ['ecp384', 20],
  ['ecp_384', 20],
  ['ecp521', 21],
  ['ecp_521', 21],
  ['curve25519', 31],
  ['x25519', 31],
  ['curve448', 32],
  ['x448', 32],
]);

/**
 * SA lifetimes: IKE 4 h, child 1 h — strongSwan's rekey defaults (swanctl.conf rekey_time), so
 * both Backhaul drivers rekey alike; within Apple's 10–1440 minutes (its default, 24 h, lets one
 * key protect a whole day of backups).
 */
export const IKE_LIFETIME_MINUTES = 240;
export const CHILD_LIFETIME_MINUTES = 60;

/** What one proposal means to macOS, or why it can't be expressed. */
type Mapped = { readonly ok: true; readonly encryption: string; readonly integrity: string; readonly dh?: number } | { readonly ok: false; readonly why: string };

function mapProposal(proposal: string, phase: 'ike' | 'esp'): Mapped {
  let encryption: string | undefined;
  let integrity: string | undefined;
  let prf: string | undefined;
  let dh: number | undefined;
  for (const algorithm of proposalAlgorithms(proposal)) {
    const kind = algorithmKind(algorithm);
    if (kind === 'esn') continue; // macOS has no ESN key; its default is what it is
    if (kind === 'encryption') encryption = ENCRYPTION.get(algorithm) ?? encryption;
    if (kind === 'integrity') integrity = INTEGRITY.get(algorithm) ?? integrity;
    if (kind === 'prf') prf = PRF.get(algorithm) ?? prf;
    if (kind === 'dh') dh = DH_GROUP.get(algorithm) ?? dh;
    const known = (kind === 'encryption' && ENCRYPTION.has(algorithm)) || (kind === 'integrity' && INTEGRITY.has(algorithm))
      || (kind === 'prf' && PRF.has(algorithm)) || (kind === 'dh' && DH_GROUP.has(algorithm));
    if (!known) return { ok: false, why: `${algorithm} has no macOS equivalent` };
  }
  if (encryption === undefined) return { ok: false, why: 'it names no encryption algorithm' };
  const aead = /GCM|ChaCha/.test(encryption);
  // An AEAD cipher needs no integrity algorithm; the key is still written (as the PRF for IKE).
  const chosenIntegrity = integrity ?? prf ?? (aead ? 'SHA2-256' : undefined);
  if (chosenIntegrity === undefined) return { ok: false, why: 'it names no integrity algorithm' };
  if (phase === 'ike' && dh === undefined) return { ok: false, why: 'it names no Diffie-Hellman group' };
  return { ok: true, encryption, integrity: chosenIntegrity, ...(dh === undefined ? {} : { dh }) };
}

function firstExpressible(proposals: readonly string[], phase: 'ike' | 'esp', profile: string): { readonly proposal: string; readonly mapped: Extract<Mapped, { ok: true }> } {
  const reasons: string[] = [];
  for (const proposal of proposals) {
    const mapped = mapProposal(proposal, phase);
    if (mapped.ok) return { proposal, mapped };
    reasons.push(`"${proposal}": ${mapped.why}`);
  }
  throw new TunnelError(
    'tunnel.macos-cipher-unsupported',
    `profiles.${profile}: macOS's IKEv2 client can't be configured with any of the ${phase === 'ike' ? 'IKE' : 'ESP'} proposals (${reasons.join('; ')})`,
    `Add a proposal macOS supports, e.g. ${phase === 'ike' ? 'aes256gcm16-prfsha256-ecp256 or aes256-sha256-modp2048' : 'aes256gcm16 or aes256-sha256'}; macOS offers AES-128/256 (CBC or GCM16), ChaCha20-Poly1305, SHA-1/SHA-2 and DH groups 14-21, 31, 32.`,
  );
}

/** The two SA dictionaries and the PFS switch an IKEv2 profile carries, plus which proposals they came from. */
export interface AppleIkev2Ciphers {
  readonly ike: AppleSaParameters;
  readonly child: AppleSaParameters;
  /** 1 when the ESP proposal names a DH group (strongSwan's way of asking for PFS), else 0. */
  readonly enablePfs: 0 | 1;
  readonly ikeProposal: string;
  readonly espProposal: string;
}

/** Maps the profile's proposals onto macOS's IKEv2 keys. Throws `tunnel.macos-cipher-unsupported`. */
export function appleIkev2Ciphers(profile: string, ikeProposals: readonly string[], espProposals: readonly string[]): AppleIkev2Ciphers {
  const ike = firstExpressible(ikeProposals, 'ike', profile);
  const esp = firstExpressible(espProposals, 'esp', profile);
  const ikeGroup = ike.mapped.dh ?? 14;
  return {
    ike: { EncryptionAlgorithm: ike.mapped.encryption, IntegrityAlgorithm: ike.mapped.integrity, DiffieHellmanGroup: ikeGroup, LifeTimeInMinutes: IKE_LIFETIME_MINUTES },
    // Without PFS the child SA's group is unused; it repeats the IKE group so no weaker value appears.
    child: { EncryptionAlgorithm: esp.mapped.encryption, IntegrityAlgorithm: esp.mapped.integrity, DiffieHellmanGroup: esp.mapped.dh ?? ikeGroup, LifeTimeInMinutes: CHILD_LIFETIME_MINUTES },
    enablePfs: esp.mapped.dh === undefined ? 0 : 1,
    ikeProposal: ike.proposal,
    espProposal: esp.proposal,
  };
}
