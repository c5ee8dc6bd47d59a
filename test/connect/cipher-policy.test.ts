import { describe, expect, it } from 'vitest';
import {
  algorithmKind,
  checkProposals,
  cipherControl,
  defaultProposals,
  describeWeak,
  weakKernelAlgorithms,
} from '../../src/connect/cipher-policy.js';
import { loadRecording } from '../helpers/recorded.js';

describe('checkProposals', () => {
  it('accepts the default proposals of both tunnel types', () => {
    for (const type of ['l2tp', 'ikev2'] as const) {
      expect(checkProposals(defaultProposals[type].ike, defaultProposals[type].esp, 'strict')).toEqual({ ok: true, weak: [] });
    }
  });

  it.each([
    ['3des-sha1-modp1024', ['3des', 'sha1', 'modp1024']],
    ['aes128-md5-modp2048', ['md5']],
    ['des-sha256-modp2048', ['des']],
    ['aes256-sha256-modp1536', ['modp1536']],
    ['aes256-sha256-modp768', ['modp768']],
    ['aes256-sha256-modp1024s160', ['modp1024s160']],
    ['aes256-prfsha1-ecp256', ['prfsha1']],
    ['null-sha256', ['null']],
  ])('refuses %s under strict', (proposal, algorithms) => {
    const verdict = checkProposals([proposal], ['aes256gcm16'], 'strict');
    expect(verdict.ok).toBe(false);
    expect(verdict.weak.map((w) => w.algorithm)).toEqual(algorithms);
  });

  it('refuses SHA-1 in phase 2 too, and allows it with a warning under legacy', () => {
    expect(checkProposals(defaultProposals.l2tp.ike, ['aes256-sha1'], 'strict')).toMatchObject({ ok: false, weak: [{ phase: 'esp', algorithm: 'sha1' }] });
    expect(checkProposals(defaultProposals.l2tp.ike, ['aes256-sha1'], 'legacy')).toMatchObject({ ok: true, weak: [{ phase: 'esp', algorithm: 'sha1' }] });
  });

  it('refuses an algorithm it does not know under either policy, so a typo is never sent', () => {
    for (const policy of ['strict', 'legacy'] as const) {
      const verdict = checkProposals(['aes256-sha265-modp2048'], ['aes256-sha256'], policy);
      expect(verdict.ok).toBe(false);
      expect(verdict.weak[0]?.reason).toContain('not an algorithm Backhaul knows');
    }
  });

  it('knows strongSwan and libreswan spellings, AEAD and the strict marker', () => {
    expect(checkProposals(['aes256-sha2_256-modp2048!', 'aes256gcm16-prfsha384-ecp384', 'chacha20poly1305-prfsha256-x25519'], ['aes128gcm8', 'aes256-sha512-ecp_384'], 'strict').ok).toBe(true);
    expect(algorithmKind('aes256gcm16')).toBe('encryption');
    expect(algorithmKind('modp2048')).toBe('dh');
    expect(algorithmKind('prfsha256')).toBe('prf');
    expect(algorithmKind('bogus')).toBeUndefined();
  });
});

describe('describeWeak', () => {
  it('names every weak algorithm of a proposal once, with its reason', () => {
    const verdict = checkProposals(['3des-sha1-modp1024'], ['aes256-sha1'], 'strict');
    expect(describeWeak(verdict.weak)).toBe(
      '"3des-sha1-modp1024" (IKE) uses 3des: 3DES has a 64-bit block (Sweet32); sha1: SHA-1 is deprecated for IPsec integrity (RFC 8221, RFC 8247); ' +
        'modp1024: DH group 2 (1024-bit) is below group 14. "aes256-sha1" (ESP) uses sha1: SHA-1 is deprecated for IPsec integrity (RFC 8221, RFC 8247)',
    );
  });
});

describe('weakKernelAlgorithms (what the driver checks after connecting)', () => {
  it('finds SHA-1 in the recorded NetworkManager-l2tp SAs (its default phase 2)', () => {
    expect(weakKernelAlgorithms(loadRecording('recorded/linux/ip_xfrm_state.txt').stdout)).toEqual(['SHA-1']);
  });

  it('accepts the recorded IKEv2 AES-GCM SAs', () => {
    expect(weakKernelAlgorithms(loadRecording('recorded/linux/nm-ikev2-xfrm-state.txt').stdout)).toEqual([]);
  });

  it('names 3DES and MD5', () => {
    expect(weakKernelAlgorithms('\tauth-trunc hmac(md5) 0x00 96\n\tenc cbc(des3_ede) 0x00\n')).toEqual(['MD5', '3DES']);
  });
});

describe('cipherControl', () => {
  it('says for each Linux driver and type what it enforces, checks and cannot control', () => {
    for (const driver of ['linux-nm', 'linux-swan'] as const) {
      for (const type of ['l2tp', 'ikev2'] as const) {
        const control = cipherControl[driver]?.[type];
        expect(control?.enforces.length).toBeGreaterThan(0);
        expect(control?.checks.length).toBeGreaterThan(0);
      }
    }
    expect(cipherControl['linux-nm']?.l2tp.cannotControl.join(' ')).toContain('ipsec-pfs');
  });
});
