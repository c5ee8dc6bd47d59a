/**
 * vpn.ciphers: the profile's proposals (or Backhaul's defaults) against the cipher policy of
 * src/connect/cipher-policy.ts — no MD5, SHA-1, DES/3DES, no DH group below 14 — and PFS: an ESP
 * proposal with a DH group, so a rekeyed child SA gets fresh keys.
 */
import { algorithmKind, checkProposals, defaultProposals, describeWeak, proposalAlgorithms } from '../../../connect/cipher-policy.js';
import type { DoctorCheck } from '../types.js';

export const cipherPolicyCheck: DoctorCheck = {
  id: 'vpn.ciphers',
  title: 'Cipher policy',
  group: 'vpn',
  scope: 'profile',
  run(ctx) {
    const name = ctx.target.profileName ?? '';
    const profile = ctx.target.profile;
    if (profile === undefined) return Promise.resolve({ status: 'skip', evidence: 'no profile' });
    const ike = profile.ikeProposals ?? defaultProposals[profile.type].ike;
    const esp = profile.espProposals ?? defaultProposals[profile.type].esp;
    const source = profile.ikeProposals === undefined && profile.espProposals === undefined ? 'Backhaul\'s defaults' : `profiles.${name}`;
    const verdict = checkProposals(ike, esp, profile.cipherPolicy);
    const listed = `IKE ${ike.join(', ')}; ESP ${esp.join(', ')} (${source})`;
    if (verdict.weak.length > 0) {
      return Promise.resolve({
        status: profile.cipherPolicy === 'legacy' && verdict.ok ? 'warn' : 'fail',
        evidence: `${listed}: ${describeWeak(verdict.weak)}`,
        fix: `Use strong proposals in profiles.${name}.ikeProposals / espProposals, e.g. aes256gcm16-prfsha256-ecp256 or aes256-sha256-modp2048 (IKE) and aes256gcm16-ecp256 (ESP), and configure the gateway to match.`,
      });
    }
    const pfs = esp.some((proposal) => proposalAlgorithms(proposal).some((a) => algorithmKind(a) === 'dh'));
    if (!pfs) {
      return Promise.resolve({
        status: 'warn',
        evidence: `${listed}: strong, but no ESP proposal names a DH group, so PFS is off (a rekeyed child SA reuses key material from the IKE SA)`,
        fix: `Add a DH group to profiles.${name}.espProposals, e.g. aes256gcm16-ecp256, and the same group to the gateway's ESP proposals.`,
      });
    }
    return Promise.resolve({ status: 'pass', evidence: `${listed}: strong algorithms, DH ≥ group 14, PFS on` });
  },
};
