import fc from 'fast-check';
import { parse } from 'plist';
import { describe, expect, it } from 'vitest';
import type { TunnelProfile } from '../../src/connect/driver.js';
import { appleIkev2Ciphers } from '../../src/connect/macos-ciphers.js';
import { buildPlist, escapeXml } from '../../src/connect/macos-plist.js';
import { dpdRate, generateProfile, ikev2Mtu, serviceNamePrefix, versionOf } from '../../src/connect/macos-profile.js';
import { ikev2Profile, l2tpProfile, PASSWORD, PROFILE_KEY, PSK } from './macos-fakes.js';

type Dict = Record<string, unknown>;

/** The generated profile through an independent plist parser: the outer dict and the VPN payload. */
function parsed(profile: TunnelProfile, key: Uint8Array = PROFILE_KEY): { root: Dict; vpn: Dict } {
  const root = parse(generateProfile(profile, key).xml) as Dict;
  const content = root['PayloadContent'] as Dict[];
  expect(content).toHaveLength(1);
  return { root, vpn: content[0] ?? {} };
}

const UUID = /^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/;

describe('the .mobileconfig (com.apple.vpn.managed, keys from macos.md §1)', () => {
  it('is a Configuration profile with the payload keys Apple documents', () => {
    const { root, vpn } = parsed(l2tpProfile);
    expect(root).toMatchObject({ PayloadType: 'Configuration', PayloadVersion: 1, PayloadScope: 'System', PayloadIdentifier: 'org.backhaul.vpn.office', PayloadRemovalDisallowed: false });
    expect(root['PayloadUUID']).toMatch(UUID);
    expect(vpn).toMatchObject({ PayloadType: 'com.apple.vpn.managed', PayloadVersion: 1, PayloadIdentifier: 'org.backhaul.vpn.office.l2tp' });
    expect(vpn['PayloadUUID']).toMatch(UUID);
    expect(vpn['PayloadUUID']).not.toBe(root['PayloadUUID']);
    expect(vpn['UserDefinedName']).toBe(generateProfile(l2tpProfile, PROFILE_KEY).serviceName);
  });

  it('L2TP: VPNType L2TP, PPP with the server and account, IPSec with the PSK as <data>, split tunnel', () => {
    const { vpn } = parsed(l2tpProfile);
    expect(vpn['VPNType']).toBe('L2TP');
    expect(vpn).not.toHaveProperty('VPNSubType');
    expect(vpn['IPv4']).toEqual({ OverridePrimary: 0 });
    expect(vpn['PPP']).toEqual({ CommRemoteAddress: '203.0.113.2', AuthName: 'vpnuser', AuthPassword: PASSWORD });
    const ipsec = vpn['IPSec'] as Dict;
    expect(ipsec['AuthenticationMethod']).toBe('SharedSecret');
    expect(ipsec['LocalIdentifierType']).toBe('KeyID');
    expect(Buffer.from(ipsec['SharedSecret'] as Uint8Array).toString('utf8')).toBe(PSK);
    expect(vpn).not.toHaveProperty('IKEv2');
  });

  it('L2TP full tunnel sets OverridePrimary 1 ("send all traffic")', () => {
    expect(parsed({ ...l2tpProfile, fullTunnel: true, routes: [] }).vpn['IPv4']).toEqual({ OverridePrimary: 1 });
  });

  it('IKEv2: VPNType IKEv2, SharedSecret as a string, identifiers, DPD, MTU, and SA parameters from the cipher policy', () => {
    const { vpn } = parsed(ikev2Profile);
    expect(vpn['VPNType']).toBe('IKEv2');
    expect(vpn).not.toHaveProperty('PPP');
    expect(vpn).not.toHaveProperty('IPSec');
    expect(vpn['IKEv2']).toEqual({
      RemoteAddress: 'vpn.example.net',
      RemoteIdentifier: 'vpn.example.net',
      LocalIdentifier: 'backhaul-cloud',
      AuthenticationMethod: 'SharedSecret',
      SharedSecret: PSK,
      DeadPeerDetectionRate: 'High',
      EnablePFS: 0,
      MTU: ikev2Mtu(ikev2Profile),
      IKESecurityAssociationParameters: { EncryptionAlgorithm: 'AES-256-GCM', IntegrityAlgorithm: 'SHA2-256', DiffieHellmanGroup: 19, LifeTimeInMinutes: 240 },
      ChildSecurityAssociationParameters: { EncryptionAlgorithm: 'AES-256-GCM', IntegrityAlgorithm: 'SHA2-256', DiffieHellmanGroup: 19, LifeTimeInMinutes: 60 },
    });
  });

  it('IKEv2 with a user and password turns on EAP (ExtendedAuthEnabled)', () => {
    const ikev2 = parsed({ ...ikev2Profile, auth: { method: 'psk', psk: PSK, username: 'alice', password: PASSWORD } }).vpn['IKEv2'] as Dict;
    expect(ikev2).toMatchObject({ ExtendedAuthEnabled: 1, AuthName: 'alice', AuthPassword: PASSWORD, LocalIdentifier: 'alice' });
  });

  it('IKEv2 full tunnel sets IncludeAllNetworks, not OverridePrimary (which does not apply to IKEv2)', () => {
    const { vpn } = parsed({ ...ikev2Profile, fullTunnel: true, routes: [] });
    expect((vpn['IKEv2'] as Dict)['IncludeAllNetworks']).toBe(1);
    expect(vpn).not.toHaveProperty('IPv4');
  });

  it('keeps the IKEv2 MTU inside macOS\'s 1280–1400', () => {
    expect(ikev2Mtu({ ...ikev2Profile, mtu: 1500 })).toBe(1400);
    expect(ikev2Mtu({ ...ikev2Profile, mtu: 576 })).toBe(1280);
    expect(ikev2Mtu({ ...ikev2Profile, mtu: 1350 })).toBe(1350);
  });

  it('maps the keepalive interval to DeadPeerDetectionRate', () => {
    expect([dpdRate(30), dpdRate(300), dpdRate(3600), dpdRate(undefined)]).toEqual(['High', 'Medium', 'Low', 'High']);
  });

  it('refuses certificate auth (no PKCS#12 payload yet) instead of writing a profile that cannot authenticate', () => {
    const cert: TunnelProfile = { ...ikev2Profile, auth: { method: 'certificate', certificate: '/c.pem', keyPath: '/c.key', key: 'k' } };
    expect(() => generateProfile(cert, PROFILE_KEY)).toThrow(expect.objectContaining({ code: 'tunnel.macos-certificate' }));
  });
});

describe('profile versions', () => {
  it('is byte-for-byte the same for the same profile and key', () => {
    expect(generateProfile(l2tpProfile, PROFILE_KEY).xml).toBe(generateProfile(l2tpProfile, PROFILE_KEY).xml);
  });

  it('a changed cipher policy gives a new version: new service name and UUIDs, same identifiers (so it replaces the old one)', () => {
    const before = parsed(ikev2Profile);
    const changedProfile = { ...ikev2Profile, ikeProposals: ['aes256-sha384-ecp384'], espProposals: ['aes256gcm16-ecp384'] };
    const after = parsed(changedProfile);
    const oldName = generateProfile(ikev2Profile, PROFILE_KEY).serviceName;
    const newName = generateProfile(changedProfile, PROFILE_KEY).serviceName;
    expect(newName).not.toBe(oldName);
    expect(versionOf(newName, 'cloud')).toMatch(/^[0-9a-f]{8}$/);
    expect(after.root['PayloadIdentifier']).toBe(before.root['PayloadIdentifier']);
    expect(after.vpn['PayloadIdentifier']).toBe(before.vpn['PayloadIdentifier']);
    expect(after.root['PayloadUUID']).not.toBe(before.root['PayloadUUID']);
    expect((after.vpn['IKEv2'] as Dict)['IKESecurityAssociationParameters']).toEqual({ EncryptionAlgorithm: 'AES-256', IntegrityAlgorithm: 'SHA2-384', DiffieHellmanGroup: 20, LifeTimeInMinutes: 240 });
    expect((after.vpn['IKEv2'] as Dict)['EnablePFS']).toBe(1);
  });

  it('a changed PSK gives a new version too, but the name says nothing about it without the machine\'s key', () => {
    const other = { ...l2tpProfile, auth: { method: 'psk' as const, psk: 'another-psk', username: 'vpnuser', password: PASSWORD } };
    expect(generateProfile(other, PROFILE_KEY).serviceName).not.toBe(generateProfile(l2tpProfile, PROFILE_KEY).serviceName);
    expect(generateProfile(l2tpProfile, new Uint8Array(32).fill(8)).serviceName).not.toBe(generateProfile(l2tpProfile, PROFILE_KEY).serviceName);
    expect(generateProfile(l2tpProfile, PROFILE_KEY).serviceName).not.toContain(PSK);
  });

  it('recognises its own service names and no others', () => {
    const name = generateProfile(l2tpProfile, PROFILE_KEY).serviceName;
    expect(name.startsWith(serviceNamePrefix('office'))).toBe(true);
    expect(versionOf(name, 'office')).toBe(name.slice(-9, -1));
    expect(versionOf(name, 'off')).toBeUndefined();
    expect(versionOf('Backhaul office (zz)', 'office')).toBeUndefined();
    expect(versionOf('My VPN', 'office')).toBeUndefined();
  });
});

describe('XML escaping', () => {
  it('escapes XML specials and refuses characters XML cannot carry', () => {
    expect(escapeXml('a&b<c>"d\'\r')).toBe('a&amp;b&lt;c&gt;&quot;d&apos;&#13;');
    // found by the property below: xmldom turns a literal U+2028 into LF
    expect(escapeXml(' \u2028&\u0085')).toBe(' &#x2028;&amp;&#x85;');
    // and U+2029 (CI run: counterexample [" \u2029&", "&", ""])
    expect((parse(generateProfile({ ...l2tpProfile, name: ' \u2029&' }, PROFILE_KEY).xml) as Dict)['PayloadDisplayName']).toBe('Backhaul VPN:  \u2029&');
    expect((parse(generateProfile({ ...l2tpProfile, name: ' \u2028&' }, PROFILE_KEY).xml) as Dict)['PayloadDisplayName']).toBe('Backhaul VPN:  \u2028&');
    expect(() => escapeXml('a\u0001b')).toThrow(/U\+0001/);
    expect(() => escapeXml('\uD800x')).toThrow(/surrogate/);
    expect(buildPlist({ k: [], d: {} })).toContain('<array/>');
    expect(() => generateProfile({ ...l2tpProfile, name: 'a\u0007' }, PROFILE_KEY)).toThrow(expect.objectContaining({ code: 'tunnel.macos-profile-text' }));
  });

  it('property: any name, user and PSK with &, <, quotes or non-ASCII round-trips through a real plist parser', () => {
    const special = fc.constantFrom('&', '<', '>', '"', '\'', 'é', 'ü', '日本', '😀', ']]>', '&amp;', ' ', '\t', '\n', '\r', '\r\n', '\u0085', '\u2028', '\u2029', 'a', 'Z', '9');
    const text = fc.array(fc.oneof(special, fc.string({ unit: 'grapheme', maxLength: 4 })), { minLength: 1, maxLength: 12 }).map((parts) => parts.join(''))
      // eslint-disable-next-line no-control-regex -- XML 1.0 can't carry these; the generator refuses them (tested above)
      .filter((value) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(value));
    fc.assert(
      fc.property(text, text, text, (name, user, psk) => {
        const profile: TunnelProfile = { ...l2tpProfile, name, auth: { method: 'psk', psk, username: user, password: PASSWORD } };
        const xml = generateProfile(profile, PROFILE_KEY).xml;
        // The raw text never appears unescaped: no bare "<" or "&" from the inputs outside markup.
        expect(xml.replace(/<\/?[A-Za-z][^<>]*>|<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|&(amp|lt|gt|quot|apos|#13|#x85|#x2028|#x2029);/g, '')).not.toMatch(/[<&]/);
        const root = parse(xml) as Dict;
        const vpn = (root['PayloadContent'] as Dict[])[0] ?? {};
        expect(vpn['UserDefinedName']).toBe(generateProfile(profile, PROFILE_KEY).serviceName);
        expect((vpn['UserDefinedName'] as string).startsWith(`Backhaul ${name} (`)).toBe(true);
        expect(root['PayloadDisplayName']).toBe(`Backhaul VPN: ${name}`);
        expect((vpn['PPP'] as Dict)['AuthName']).toBe(user);
        expect(Buffer.from((vpn['IPSec'] as Dict)['SharedSecret'] as Uint8Array).toString('utf8')).toBe(psk);
        expect(root['PayloadIdentifier']).toMatch(/^org\.backhaul\.vpn\.[A-Za-z0-9-]+$/);
      }),
      { numRuns: 200 },
    );
  });
});

describe('IKEv2 cipher parameters from the policy\'s proposals', () => {
  it('maps strongSwan keywords to Apple\'s values, first expressible proposal first', () => {
    expect(appleIkev2Ciphers('p', ['aes128-sha256-modp2048'], ['aes128-sha256-modp3072'])).toMatchObject({
      ike: { EncryptionAlgorithm: 'AES-128', IntegrityAlgorithm: 'SHA2-256', DiffieHellmanGroup: 14 },
      child: { EncryptionAlgorithm: 'AES-128', IntegrityAlgorithm: 'SHA2-256', DiffieHellmanGroup: 15 },
      enablePfs: 1,
    });
    expect(appleIkev2Ciphers('p', ['aes192-sha256-modp2048', 'chacha20poly1305-prfsha512-curve25519'], ['aes256-sha512'])).toMatchObject({
      ike: { EncryptionAlgorithm: 'ChaCha20Poly1305', IntegrityAlgorithm: 'SHA2-512', DiffieHellmanGroup: 31 },
      ikeProposal: 'chacha20poly1305-prfsha512-curve25519',
      child: { EncryptionAlgorithm: 'AES-256', IntegrityAlgorithm: 'SHA2-512', DiffieHellmanGroup: 31 },
      enablePfs: 0,
    });
  });

  it('writes legacy algorithms only when the (legacy) proposals name them', () => {
    expect(appleIkev2Ciphers('p', ['3des-sha1-modp1024'], ['3des-sha1'])).toMatchObject({
      ike: { EncryptionAlgorithm: '3DES', IntegrityAlgorithm: 'SHA1-96', DiffieHellmanGroup: 2 },
      child: { EncryptionAlgorithm: '3DES', IntegrityAlgorithm: 'SHA1-96' },
    });
  });

  it('refuses proposals macOS cannot express instead of falling back to its defaults', () => {
    expect(() => appleIkev2Ciphers('p', ['aes192-sha256-modp2048'], ['aes256-sha256'])).toThrow(expect.objectContaining({ code: 'tunnel.macos-cipher-unsupported' }));
    expect(() => appleIkev2Ciphers('p', ['aes256-sha256-ecp256bp'], ['aes256-sha256'])).toThrow(/ecp256bp has no macOS equivalent/);
    expect(() => appleIkev2Ciphers('p', ['aes256-sha256'], ['aes256-sha256'])).toThrow(/no Diffie-Hellman group/);
    expect(() => appleIkev2Ciphers('p', ['aes256-sha256-modp2048'], ['aes256gcm12'])).toThrow(/aes256gcm12/);
  });
});
