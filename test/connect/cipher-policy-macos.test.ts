/**
 * One test per row of the macOS cipher-policy table (docs/cipher-policy.md, section macos, rows
 * M1–M9): the generated profile, the driver and `cipherControl.macos` say what the row says.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'plist';
import { describe, expect, it } from 'vitest';
import { cipherControl } from '../../src/connect/cipher-policy.js';
import type { TunnelProfile } from '../../src/connect/driver.js';
import { createMacosDriver } from '../../src/connect/macos.js';
import { generateProfile } from '../../src/connect/macos-profile.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';
import { recordingJournal } from './linux-fakes.js';
import { ikev2Profile, l2tpProfile, PROFILE_KEY } from './macos-fakes.js';

type Dict = Record<string, unknown>;

function ikev2Keys(profile: TunnelProfile): Dict {
  const root = parse(generateProfile(profile, PROFILE_KEY).xml) as { PayloadContent: { IKEv2: Dict }[] };
  return root.PayloadContent[0]?.IKEv2 ?? {};
}

const signal = new AbortController().signal;
const macos = cipherControl.macos;
const doc = readFileSync(fileURLToPath(new URL('../../docs/cipher-policy.md', import.meta.url)), 'utf8');
const tested: string[] = [];
/** `it` for one row, remembered so the doc check can see every macOS row has one. */
function row(id: string, title: string, body: () => Promise<void> | void): void {
  tested.push(id);
  it(`${id}: ${title}`, body);
}

describe('cipher-policy table: macos (docs/cipher-policy.md)', () => {
  row('M1', 'IKEv2 enforces the IKE SA from the first IKE proposal macOS can express', () => {
    expect(ikev2Keys({ ...ikev2Profile, ikeProposals: ['aes256-sha384-ecp384', 'aes128-sha256-modp2048'] })['IKESecurityAssociationParameters'])
      .toMatchObject({ EncryptionAlgorithm: 'AES-256', IntegrityAlgorithm: 'SHA2-384', DiffieHellmanGroup: 20 });
    expect(macos?.ikev2.enforces.some((line) => line.includes('IKESecurityAssociationParameters'))).toBe(true);
  });

  row('M2', 'IKEv2 enforces the child SA from the first ESP proposal; an AEAD cipher gets SHA2-256 as its integrity key', () => {
    expect(ikev2Keys({ ...ikev2Profile, espProposals: ['aes128-sha512'] })['ChildSecurityAssociationParameters']).toMatchObject({ EncryptionAlgorithm: 'AES-128', IntegrityAlgorithm: 'SHA2-512' });
    expect(ikev2Keys({ ...ikev2Profile, espProposals: ['chacha20poly1305'] })['ChildSecurityAssociationParameters']).toMatchObject({ EncryptionAlgorithm: 'ChaCha20Poly1305', IntegrityAlgorithm: 'SHA2-256' });
    expect(macos?.ikev2.enforces.some((line) => line.includes('ChildSecurityAssociationParameters'))).toBe(true);
  });

  row('M3', 'PFS is on exactly when the ESP proposal names a DH group, and the child SA uses it', () => {
    expect(ikev2Keys({ ...ikev2Profile, espProposals: ['aes256gcm16-modp3072'] })).toMatchObject({ EnablePFS: 1, ChildSecurityAssociationParameters: { DiffieHellmanGroup: 15 } });
    expect(ikev2Keys({ ...ikev2Profile, espProposals: ['aes256gcm16'] })['EnablePFS']).toBe(0);
    expect(macos?.ikev2.enforces.some((line) => line.startsWith('PFS'))).toBe(true);
  });

  row('M4', 'SA lifetimes are 240 minutes (IKE) and 60 (child)', () => {
    const keys = ikev2Keys(ikev2Profile);
    expect(keys['IKESecurityAssociationParameters']).toMatchObject({ LifeTimeInMinutes: 240 });
    expect(keys['ChildSecurityAssociationParameters']).toMatchObject({ LifeTimeInMinutes: 60 });
  });

  row('M5', 'a proposal macOS cannot express is skipped, and none left is a refusal, not Apple\'s defaults', () => {
    expect(ikev2Keys({ ...ikev2Profile, ikeProposals: ['aes192-sha256-modp2048', 'aes128-sha256-ecp256'] })['IKESecurityAssociationParameters']).toMatchObject({ EncryptionAlgorithm: 'AES-128', DiffieHellmanGroup: 19 });
    for (const ikeProposals of [['aes192-sha256-modp2048'], ['aes256ctr-sha256-modp2048'], ['camellia256-sha256-modp2048'], ['aes256-sha256-ecp256bp'], ['aes256-sha256-modp2048s256']]) {
      expect(() => generateProfile({ ...ikev2Profile, ikeProposals }, PROFILE_KEY)).toThrow(expect.objectContaining({ code: 'tunnel.macos-cipher-unsupported' }));
    }
    for (const espProposals of [['aes256ccm16'], ['aes256gcm8'], ['aes256gcm12']]) {
      expect(() => generateProfile({ ...ikev2Profile, espProposals }, PROFILE_KEY)).toThrow(expect.objectContaining({ code: 'tunnel.macos-cipher-unsupported' }));
    }
  });

  row('M6', 'weak algorithms are refused under strict before anything runs, and written as given under legacy', async () => {
    const weak: TunnelProfile = { ...ikev2Profile, ikeProposals: ['3des-sha1-modp1024'], espProposals: ['3des-sha1'] };
    const dir = mkdtempSync(join(tmpdir(), 'bh-macos-policy-'));
    try {
      const runner = new ReplayingCommandRunner([]);
      const driver = createMacosDriver({ runner, stateDir: dir, profileKey: PROFILE_KEY });
      await expect(driver.ensureProfile(weak, signal, recordingJournal())).rejects.toMatchObject({ code: 'tunnel.weak-cipher' });
      runner.assertDone();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(ikev2Keys({ ...weak, cipherPolicy: 'legacy' })['IKESecurityAssociationParameters']).toMatchObject({ EncryptionAlgorithm: '3DES', IntegrityAlgorithm: 'SHA1-96', DiffieHellmanGroup: 2 });
  });

  row('M7', 'the negotiated algorithms are not checked on macOS, and the table says so', () => {
    expect(macos?.ikev2.checks).toEqual([]);
    expect(macos?.ikev2.cannotControl.some((line) => line.includes('not read back'))).toBe(true);
  });

  row('M8', 'L2TP ciphers can\'t be controlled: strict refuses the profile, legacy allows it with a warning', async () => {
    const l2tp = parse(generateProfile(l2tpProfile, PROFILE_KEY).xml) as { PayloadContent: Dict[] };
    const payload = JSON.stringify(l2tp.PayloadContent[0]);
    expect(payload).not.toMatch(/Encryption|Integrity|DiffieHellman|PFS|LifeTime/);
    const dir = mkdtempSync(join(tmpdir(), 'bh-macos-policy-'));
    try {
      const runner = new ReplayingCommandRunner([]);
      const warnings: string[] = [];
      const driver = createMacosDriver({ runner, stateDir: dir, profileKey: PROFILE_KEY, log: (_level, message) => warnings.push(message) });
      await expect(driver.ensureProfile({ ...l2tpProfile, cipherPolicy: 'strict' }, signal, recordingJournal())).rejects.toMatchObject({ code: 'tunnel.macos-l2tp-cipher-policy' });
      runner.assertDone();
      const legacy = new ReplayingCommandRunner([{ argv: ['scutil', '--nc', 'list'], reply: { stdout: '' } }]);
      const allowed = createMacosDriver({ runner: legacy, stateDir: dir, profileKey: PROFILE_KEY, log: (_level, message) => warnings.push(message) });
      await expect(allowed.ensureProfile({ ...l2tpProfile, cipherPolicy: 'legacy' }, signal, recordingJournal())).rejects.toMatchObject({ code: 'tunnel.macos-profile-install' });
      expect(warnings.some((line) => /can't enforce the cipher policy.*allowed by cipherPolicy: legacy/.test(line))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(macos?.l2tp.enforces).toEqual([]);
    expect(macos?.l2tp.cannotControl[0]).toMatch(/no cipher keys.*strict refuses.*legacy allows/);
  });

  row('M9', 'the PPP layer inside L2TP is outside the driver\'s reach, and the table says so', () => {
    expect(macos?.l2tp.cannotControl.some((line) => line.includes('PPP layer'))).toBe(true);
  });

  it('the doc has exactly the macOS rows tested here', () => {
    expect([...doc.matchAll(/^\| (M\d+) \|/gm)].map((match) => match[1])).toEqual(tested);
  });
});
