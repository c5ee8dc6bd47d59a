/**
 * One test per row of docs/cipher-policy.md (windows W1–W9, linux-nm N1–N8, linux-swan S1–S5):
 * the issued configuration carries or refuses what the row says, and `cipherControl` says the same.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cipherControl, weakKernelAlgorithms } from '../../src/connect/cipher-policy.js';
import type { TunnelProfile } from '../../src/connect/driver.js';
import { desiredVpnData } from '../../src/connect/linux-nm.js';
import { swanctlConf } from '../../src/connect/swan-config.js';
import { createWindowsDriver } from '../../src/connect/windows.js';
import { memoryPskMemory } from '../../src/connect/windows-psk.js';
import { ikev2Cert, l2tpPsk, labHost, PASSWORD, recordingJournal } from './linux-fakes.js';
import { FakeWindows } from './windows-fake.js';

const signal = new AbortController().signal;
const doc = readFileSync(fileURLToPath(new URL('../../docs/cipher-policy.md', import.meta.url)), 'utf8');
const tested: string[] = [];
/** `it` for one row, remembered so the last test can check every row of the doc has one. */
function row(id: string, title: string, body: () => Promise<void> | void): void {
  tested.push(id);
  it(`${id}: ${title}`, body);
}

/** The IPsec policy the windows driver leaves on a new entry for `profile`. */
async function windowsIpsec(profile: TunnelProfile): Promise<Record<string, string> | undefined> {
  const fake = new FakeWindows();
  fake.password = PASSWORD;
  await createWindowsDriver({ runner: fake, pskMemory: memoryPskMemory() }).ensureProfile(profile, signal, recordingJournal());
  fake.assertDone();
  return fake.entry(`backhaul-${profile.name}`)?.ipsec;
}

const windows = cipherControl.windows;
const nm = cipherControl['linux-nm'];
const swan = cipherControl['linux-swan'];
const ikev2WindowsCert: TunnelProfile = { ...ikev2Cert, auth: { method: 'certificate', certificate: '/c.pem', keyPath: '/c.key', key: 'k' } };

describe('cipher-policy table: windows', () => {
  row('W1', 'the IKE encryption, integrity and DH group of the first IKE proposal Windows can express', async () => {
    expect(await windowsIpsec({ ...l2tpPsk, ikeProposals: ['aes256-sha512-modp2048', 'aes128-sha384-ecp384'] })).toMatchObject({ EncryptionMethod: 'AES128', IntegrityCheckMethod: 'SHA384', DHGroup: 'ECP384' });
    expect(await windowsIpsec({ ...ikev2WindowsCert, ikeProposals: ['aes256gcm16-prfsha384-modp2048s256'] })).toMatchObject({ EncryptionMethod: 'GCMAES256', IntegrityCheckMethod: 'SHA384', DHGroup: 'Group24' });
    expect(windows?.l2tp.enforces.join(' ')).toContain('-EncryptionMethod, -IntegrityCheckMethod, -DHGroup');
  });

  row('W2', 'the ESP cipher and integrity transforms; AES-GCM as GCMAES for both', async () => {
    expect(await windowsIpsec({ ...l2tpPsk, espProposals: ['aes128-sha256'] })).toMatchObject({ CipherTransformConstants: 'AES128', AuthenticationTransformConstants: 'SHA256128' });
    expect(await windowsIpsec({ ...ikev2WindowsCert, espProposals: ['aes256gcm16'] })).toMatchObject({ CipherTransformConstants: 'GCMAES256', AuthenticationTransformConstants: 'GCMAES256' });
    expect(windows?.ikev2.enforces.join(' ')).toContain('-CipherTransformConstants');
  });

  row('W3', 'PFS from the ESP proposal\'s DH group, None without one', async () => {
    expect(await windowsIpsec({ ...l2tpPsk, espProposals: ['aes256-sha256-modp2048'] })).toMatchObject({ PfsGroup: 'PFS2048' });
    expect(await windowsIpsec({ ...l2tpPsk, espProposals: ['aes256-sha256-ecp256'] })).toMatchObject({ PfsGroup: 'ECP256' });
    expect(await windowsIpsec(l2tpPsk)).toMatchObject({ PfsGroup: 'None' });
  });

  row('W4', 'a profile with nothing Windows can express is refused, never left to Windows\' defaults', async () => {
    await expect(windowsIpsec({ ...l2tpPsk, ikeProposals: ['aes256-sha512-modp3072'] })).rejects.toMatchObject({ code: 'tunnel.cipher-unsupported' });
    await expect(windowsIpsec({ ...l2tpPsk, espProposals: ['aes256gcm12', 'aes256ctr-sha256'] })).rejects.toMatchObject({ code: 'tunnel.cipher-unsupported' });
    await expect(windowsIpsec({ ...ikev2WindowsCert, ikeProposals: ['aes256-sha256-curve25519'] })).rejects.toMatchObject({ code: 'tunnel.cipher-unsupported' });
  });

  row('W5', 'weak algorithms refused under strict, written as given under legacy', async () => {
    await expect(windowsIpsec({ ...l2tpPsk, ikeProposals: ['3des-sha1-modp1024'] })).rejects.toMatchObject({ code: 'tunnel.weak-cipher' });
    expect(await windowsIpsec({ ...l2tpPsk, cipherPolicy: 'legacy', ikeProposals: ['3des-sha1-modp1024'], espProposals: ['3des-sha1'] }))
      .toEqual({ EncryptionMethod: 'DES3', IntegrityCheckMethod: 'SHA1', DHGroup: 'Group2', CipherTransformConstants: 'DES3', AuthenticationTransformConstants: 'SHA196', PfsGroup: 'None' });
  });

  row('W6', 'ensureProfile reads the policy back and rewrites it when someone changed it', async () => {
    const fake = new FakeWindows();
    const driver = createWindowsDriver({ runner: fake, pskMemory: memoryPskMemory() });
    await driver.ensureProfile(l2tpPsk, signal, recordingJournal());
    const entry = fake.entry('backhaul-office');
    if (entry?.ipsec !== undefined) entry.ipsec['DHGroup'] = 'Group2';
    expect(await driver.ensureProfile(l2tpPsk, signal, recordingJournal())).toBe('updated');
    expect(fake.calls.at(-1)?.stdin).toContain('Set-VpnConnectionIPsecConfiguration');
    expect(fake.entry('backhaul-office')?.ipsec?.['DHGroup']).toBe('Group14');
    expect(windows?.l2tp.checks.join(' ')).toContain('IPsecCustomPolicy');
  });

  row('W7', 'only one policy: later proposals are not offered', async () => {
    const ipsec = await windowsIpsec({ ...l2tpPsk, ikeProposals: ['aes256-sha256-modp2048', 'aes128-sha256-ecp256'] });
    expect(ipsec?.['DHGroup']).toBe('Group14');
    expect(windows?.l2tp.cannotControl.join(' ')).toContain('one custom policy, not a list');
  });

  row('W8', 'the negotiated algorithms are not read back', () => {
    expect(windows?.l2tp.checks.join(' ')).not.toMatch(/negotiated/);
    expect(windows?.ikev2.cannotControl.join(' ')).toContain('actually negotiated');
  });

  row('W9', 'L2TP\'s PPP layer: MS-CHAPv2 only, protected only by IPsec', async () => {
    const fake = new FakeWindows();
    await createWindowsDriver({ runner: fake }).ensureProfile(l2tpPsk, signal, recordingJournal());
    expect(fake.entry('backhaul-office')?.authenticationMethod).toEqual(['MSChapv2']);
    expect(windows?.l2tp.cannotControl.join(' ')).toContain('PPP layer');
  });
});

describe('cipher-policy table: linux-nm', () => {
  row('N1', 'ipsec-ike holds the IKE proposals, strict', () => {
    expect(desiredVpnData(l2tpPsk, labHost).get('ipsec-ike')).toBe('aes256-sha256-modp2048,aes128-sha256-modp2048!');
  });

  row('N2', 'ipsec-esp holds the ESP proposals, strict; a DH group there means PFS', () => {
    expect(desiredVpnData(l2tpPsk, labHost).get('ipsec-esp')).toBe('aes256-sha256,aes128-sha256!');
    expect(desiredVpnData({ ...l2tpPsk, espProposals: ['aes256-sha256-modp2048'] }, labHost).get('ipsec-esp')).toBe('aes256-sha256-modp2048!');
  });

  row('N3', 'the negotiated ESP algorithms are checked in ip xfrm state', () => {
    expect(weakKernelAlgorithms('\tauth-trunc hmac(sha1) 0x00 96\n\tenc cbc(aes) 0x00\n')).toEqual(['SHA-1']);
    expect(nm?.l2tp.checks.join(' ')).toContain('ip xfrm state');
  });

  row('N4', 'ipsec-pfs is never written (strongSwan ignores it)', () => {
    expect(desiredVpnData(l2tpPsk, labHost).has('ipsec-pfs')).toBe(false);
    expect(nm?.l2tp.cannotControl.join(' ')).toContain('ipsec-pfs');
  });

  row('N5', 'the PPP layer is outside its reach', () => {
    expect(nm?.l2tp.cannotControl.join(' ')).toContain('PPP layer');
  });

  row('N6', 'IKEv2: proposal=yes with ike= and esp=', () => {
    const data = desiredVpnData(ikev2Cert, labHost);
    expect([data.get('proposal'), data.get('ike'), data.get('esp')]).toEqual(['yes', 'aes256gcm16-prfsha256-ecp256;aes256-sha256-modp2048', 'aes256gcm16;aes256-sha256']);
  });

  row('N7', 'IKEv2: the negotiated ESP algorithms are checked', () => {
    expect(nm?.ikev2.checks.join(' ')).toContain('ip xfrm state');
  });

  row('N8', 'IKEv2: the gateway\'s certificate signature algorithms are outside its reach', () => {
    expect(nm?.ikev2.cannotControl.join(' ')).toContain('certificate signature algorithms');
  });
});

describe('cipher-policy table: linux-swan', () => {
  row('S1', 'L2TP: proposals and esp_proposals in swanctl.conf; a DH group in ESP means PFS', () => {
    expect(swanctlConf(l2tpPsk)).toContain('    proposals = aes256-sha256-modp2048,aes128-sha256-modp2048\n');
    expect(swanctlConf({ ...l2tpPsk, espProposals: ['aes256-sha256-modp2048'] })).toContain('        esp_proposals = aes256-sha256-modp2048\n');
  });

  row('S2', 'L2TP: the negotiated ESP algorithms are checked', () => {
    expect(swan?.l2tp.checks.join(' ')).toContain('ip xfrm state');
  });

  row('S3', 'L2TP: the PPP layer is outside its reach', () => {
    expect(swan?.l2tp.cannotControl.join(' ')).toContain('PPP layer');
  });

  row('S4', 'IKEv2: proposals in swanctl.conf', () => {
    const text = swanctlConf(ikev2Cert);
    expect(text).toContain('    proposals = aes256gcm16-prfsha256-ecp256,aes256-sha256-modp2048\n');
    expect(text).toContain('        esp_proposals = aes256gcm16,aes256-sha256\n');
  });

  row('S5', 'IKEv2: checked in the kernel; with userspace ESP only the configuration enforces it', () => {
    expect(swan?.ikev2.checks.join(' ')).toContain('userspace ESP');
  });
});

describe('cipher-policy table: the doc', () => {
  it('has exactly the Windows and Linux rows tested here (the M rows are checked by cipher-policy-macos.test.ts)', () => {
    const rows = [...doc.matchAll(/^\| ([WNS]\d+) \|/gm)].map((match) => match[1]);
    expect(rows).toEqual(tested);
  });
});
