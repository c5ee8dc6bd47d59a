/**
 * The cipher policy as Windows can hold it: `Set-VpnConnectionIPsecConfiguration` takes one
 * custom policy — IKE encryption, integrity and DH group, ESP cipher and integrity transforms and
 * a PFS group, all six together (`../shared/reference/windows.md` §2). So Windows offers exactly
 * one IKE and one ESP proposal: the first of the profile's proposals each that Windows' enums can
 * express. An algorithm outside those enums (SHA-512, modp3072, curve25519, GCM with a short ICV)
 * can't be enforced, and a profile with nothing expressible is refused rather than left to
 * Windows' own (weak) defaults.
 */
import { algorithmKind, proposalAlgorithms } from './cipher-policy.js';

/** The six parameters of Set-VpnConnectionIPsecConfiguration, named as the cmdlet names them. */
export interface WindowsIpsecConfig {
  readonly AuthenticationTransformConstants: string;
  readonly CipherTransformConstants: string;
  readonly EncryptionMethod: string;
  readonly IntegrityCheckMethod: string;
  readonly DHGroup: string;
  readonly PfsGroup: string;
}

export const IPSEC_PARAMETERS: readonly (keyof WindowsIpsecConfig)[] = [
  'AuthenticationTransformConstants', 'CipherTransformConstants', 'EncryptionMethod', 'IntegrityCheckMethod', 'DHGroup', 'PfsGroup',
];

const IKE_ENCRYPTION: Readonly<Record<string, string>> = {
  des: 'DES', '3des': 'DES3', aes128: 'AES128', aes: 'AES128', aes192: 'AES192', aes256: 'AES256',
  aes128gcm16: 'GCMAES128', aes128gcm128: 'GCMAES128', aes256gcm16: 'GCMAES256', aes256gcm128: 'GCMAES256',
};
const IKE_INTEGRITY: Readonly<Record<string, string>> = {
  md5: 'MD5', prfmd5: 'MD5', sha1: 'SHA1', sha: 'SHA1', prfsha1: 'SHA1', sha256: 'SHA256', sha2_256: 'SHA256', prfsha256: 'SHA256',
  sha384: 'SHA384', sha2_384: 'SHA384', prfsha384: 'SHA384',
};
const DH_GROUP: Readonly<Record<string, string>> = {
  modp768: 'Group1', modp1024: 'Group2', modp2048: 'Group14', ecp256: 'ECP256', ecp_256: 'ECP256', ecp384: 'ECP384', ecp_384: 'ECP384', modp2048s256: 'Group24',
};
const PFS_GROUP: Readonly<Record<string, string>> = {
  modp768: 'PFS1', modp1024: 'PFS2', modp2048: 'PFS2048', ecp256: 'ECP256', ecp_256: 'ECP256', ecp384: 'ECP384', ecp_384: 'ECP384', modp2048s256: 'PFS24',
};
const ESP_CIPHER: Readonly<Record<string, string>> = {
  des: 'DES', '3des': 'DES3', aes: 'AES128', aes128: 'AES128', aes192: 'AES192', aes256: 'AES256', null: 'None',
};
/** ESP AES-GCM with a 16-byte ICV: the cipher and the integrity transform are both GCMAES<bits>. */
const ESP_GCM: Readonly<Record<string, string>> = {
  aes128gcm16: 'GCMAES128', aes128gcm128: 'GCMAES128', aes192gcm16: 'GCMAES192', aes192gcm128: 'GCMAES192', aes256gcm16: 'GCMAES256', aes256gcm128: 'GCMAES256',
};
const ESP_INTEGRITY: Readonly<Record<string, string>> = {
  md5: 'MD596', sha1: 'SHA196', sha: 'SHA196', sha256: 'SHA256128', sha2_256: 'SHA256128',
};

export type WindowsIpsecChoice =
  | { readonly ok: true; readonly config: WindowsIpsecConfig; readonly ike: string; readonly esp: string }
  | { readonly ok: false; readonly reason: string };

/** The first proposal of each list Windows can express, as its six parameters. */
export function windowsIpsecConfig(ike: readonly string[], esp: readonly string[]): WindowsIpsecChoice {
  const ikeProblems: string[] = [];
  const espProblems: string[] = [];
  const ikeChoice = firstMapped(ike, mapIke, ikeProblems);
  const espChoice = firstMapped(esp, mapEsp, espProblems);
  if (ikeChoice === undefined || espChoice === undefined) {
    const problems = [...(ikeChoice === undefined ? ikeProblems : []), ...(espChoice === undefined ? espProblems : [])];
    return { ok: false, reason: problems.join('; ') };
  }
  return { ok: true, config: { ...ikeChoice.value, ...espChoice.value }, ike: ikeChoice.proposal, esp: espChoice.proposal };
}

function firstMapped<T>(proposals: readonly string[], map: (proposal: string) => T | string, problems: string[]): { value: T; proposal: string } | undefined {
  for (const proposal of proposals) {
    const value = map(proposal);
    if (typeof value !== 'string') return { value, proposal };
    problems.push(`"${proposal}": ${value}`);
  }
  return undefined;
}

type IkePart = Pick<WindowsIpsecConfig, 'EncryptionMethod' | 'IntegrityCheckMethod' | 'DHGroup'>;
type EspPart = Pick<WindowsIpsecConfig, 'AuthenticationTransformConstants' | 'CipherTransformConstants' | 'PfsGroup'>;

/** An IKE proposal as Windows' main-mode parameters, or why it can't be. */
function mapIke(proposal: string): IkePart | string {
  const names = proposalAlgorithms(proposal);
  const encryption = names.find((name) => algorithmKind(name) === 'encryption');
  // AEAD IKE proposals carry no integrity algorithm: Windows' integrity setting is then the PRF's hash.
  const integrity = names.find((name) => algorithmKind(name) === 'integrity') ?? names.find((name) => algorithmKind(name) === 'prf');
  const dh = names.find((name) => algorithmKind(name) === 'dh');
  const EncryptionMethod = encryption === undefined ? undefined : IKE_ENCRYPTION[encryption];
  const IntegrityCheckMethod = integrity === undefined ? undefined : IKE_INTEGRITY[integrity];
  const DHGroup = dh === undefined ? undefined : DH_GROUP[dh];
  if (EncryptionMethod === undefined) return `Windows has no IKE encryption method for ${encryption ?? 'a proposal without one'}`;
  if (IntegrityCheckMethod === undefined) return `Windows has no IKE integrity method for ${integrity ?? 'a proposal without one'}`;
  if (DHGroup === undefined) return `Windows has no DH group for ${dh ?? 'a proposal without one'}`;
  return { EncryptionMethod, IntegrityCheckMethod, DHGroup };
}

/** An ESP proposal as Windows' quick-mode transforms and PFS group, or why it can't be. */
function mapEsp(proposal: string): EspPart | string {
  const names = proposalAlgorithms(proposal);
  const cipher = names.find((name) => algorithmKind(name) === 'encryption');
  const integrity = names.find((name) => algorithmKind(name) === 'integrity');
  const dh = names.find((name) => algorithmKind(name) === 'dh');
  const PfsGroup = dh === undefined ? 'None' : PFS_GROUP[dh];
  if (PfsGroup === undefined) return `Windows has no PFS group for ${dh ?? ''}`;
  const gcm = cipher === undefined ? undefined : ESP_GCM[cipher];
  if (gcm !== undefined) return { CipherTransformConstants: gcm, AuthenticationTransformConstants: gcm, PfsGroup };
  const CipherTransformConstants = cipher === undefined ? undefined : ESP_CIPHER[cipher];
  const AuthenticationTransformConstants = integrity === undefined ? undefined : ESP_INTEGRITY[integrity];
  if (CipherTransformConstants === undefined) return `Windows has no ESP cipher transform for ${cipher ?? 'a proposal without one'}`;
  if (AuthenticationTransformConstants === undefined) return `Windows has no ESP integrity transform for ${integrity ?? 'a proposal without one'}`;
  return { CipherTransformConstants, AuthenticationTransformConstants, PfsGroup };
}

/** Whether what Windows reports (IPsecCustomPolicy, enum names as strings) is exactly `wanted`. */
export function sameIpsecConfig(current: Readonly<Record<string, unknown>> | undefined, wanted: WindowsIpsecConfig): boolean {
  if (current === undefined) return false;
  return IPSEC_PARAMETERS.every((key) => {
    const value = current[key];
    return typeof value === 'string' && value.toLowerCase() === wanted[key].toLowerCase();
  });
}
