/**
 * vpn.keepalive: dead-peer detection (IKEv2) / LCP echo (L2TP) interval and misses. Too long an
 * interval lets a NAT forget the UDP mapping (many expire idle UDP after 30–120 s) and leaves a
 * dead tunnel unnoticed for minutes.
 */
import type { DoctorCheck } from '../types.js';

/** Beyond this, NAT mappings and a dead gateway go unnoticed too long. */
export const MAX_KEEPALIVE_SECONDS = 60;

export const keepaliveCheck: DoctorCheck = {
  id: 'vpn.keepalive',
  title: 'DPD / keepalive configured',
  group: 'vpn',
  scope: 'profile',
  run(ctx) {
    const profile = ctx.target.profile;
    const name = ctx.target.profileName ?? '';
    if (profile === undefined) return Promise.resolve({ status: 'skip', evidence: 'no profile' });
    const what = profile.type === 'ikev2' ? 'dead-peer detection' : 'LCP echo';
    const evidence = `${what} every ${profile.keepaliveSeconds} s, down after ${profile.keepaliveFailures} misses (${profile.keepaliveSeconds * profile.keepaliveFailures} s)`;
    if (profile.keepaliveSeconds > MAX_KEEPALIVE_SECONDS) {
      return Promise.resolve({ status: 'warn', evidence, fix: `Set profiles.${name}.keepaliveSeconds to ${MAX_KEEPALIVE_SECONDS} or less: NATs drop idle UDP mappings after 30–120 s, and a dead tunnel should be noticed within a minute or two.` });
    }
    return Promise.resolve({ status: 'pass', evidence });
  },
};
