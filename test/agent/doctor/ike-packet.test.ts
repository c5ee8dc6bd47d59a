/**
 * The IKE_SA_INIT request, byte by byte against RFC 7296 §3 (header §3.1, SA §3.3, KE §3.4,
 * Nonce §3.9, Notify §3.10, NAT detection §2.23) and the IANA IKEv2 registries; and the reader of
 * responses, including random bytes (it must never throw).
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildIkeSaInit, ikeTransforms, natDetectionHash, NOTIFY, parseIkeSaInitResponse, publicKeyFor } from '../../../src/agent/doctor/ike-packet.js';
import { ikeResponse } from './ike-fixtures.js';

const spiI = Buffer.from('0102030405060708', 'hex');
const nonce = Buffer.alloc(32, 0x5a);
const local = { address: '10.77.5.2', port: 40000 };
const remote = { address: '198.51.100.2', port: 500 };

/** Walks the generic payload headers (§3.2) and returns [type, body] in order. */
function payloads(packet: Buffer): { type: number; body: Buffer }[] {
  const out: { type: number; body: Buffer }[] = [];
  let next = packet.readUInt8(16);
  let offset = 28;
  while (next !== 0) {
    const length = packet.readUInt16BE(offset + 2);
    expect(packet.readUInt8(offset + 1), 'critical bit and reserved are zero').toBe(0);
    out.push({ type: next, body: packet.subarray(offset + 4, offset + length) });
    next = packet.readUInt8(offset);
    offset += length;
  }
  expect(offset, 'the payloads fill the message exactly').toBe(packet.length);
  return out;
}

describe('buildIkeSaInit (RFC 7296)', () => {
  const request = buildIkeSaInit({ proposals: ['aes256-sha256-modp2048'], local, remote, spiI, nonce });
  const packet = request.packet;

  it('writes the IKE header: SPIs, next payload SA, version 2.0, IKE_SA_INIT, Initiator flag, message ID 0, length', () => {
    expect(packet.subarray(0, 8)).toEqual(spiI);
    expect(packet.subarray(8, 16), "responder's SPI is zero in the first message").toEqual(Buffer.alloc(8));
    expect(packet.readUInt8(16)).toBe(33);
    expect(packet.readUInt8(17)).toBe(0x20);
    expect(packet.readUInt8(18)).toBe(34);
    expect(packet.readUInt8(19)).toBe(0x08);
    expect(packet.readUInt32BE(20)).toBe(0);
    expect(packet.readUInt32BE(24)).toBe(packet.length);
    // 28 header + SA 48 + KE (4 + 4 + 256) + Nonce (4 + 32) + two notifies (4 + 4 + 20).
    expect(packet.length).toBe(28 + 48 + 264 + 36 + 28 + 28);
  });

  it('chains SA → KE → Nonce → Notify → Notify', () => {
    expect(payloads(packet).map((p) => p.type)).toEqual([33, 34, 40, 41, 41]);
  });

  it('writes one IKE proposal with ENCR AES-CBC (12) 256-bit, PRF HMAC-SHA2-256 (5), INTEG HMAC-SHA2-256-128 (12), DH group 14', () => {
    const sa = payloads(packet)[0]?.body ?? Buffer.alloc(0);
    expect(sa.readUInt8(0), 'last proposal').toBe(0);
    expect(sa.readUInt16BE(2)).toBe(sa.length);
    expect([sa.readUInt8(4), sa.readUInt8(5), sa.readUInt8(6), sa.readUInt8(7)], 'number 1, protocol IKE, SPI size 0, 4 transforms').toEqual([1, 1, 0, 4]);
    const transforms: number[][] = [];
    let offset = 8;
    while (offset < sa.length) {
      const length = sa.readUInt16BE(offset + 2);
      transforms.push([sa.readUInt8(offset), length, sa.readUInt8(offset + 4), sa.readUInt16BE(offset + 6), ...(length > 8 ? [sa.readUInt16BE(offset + 8), sa.readUInt16BE(offset + 10)] : [])]);
      offset += length;
    }
    expect(transforms).toEqual([
      [3, 12, 1, 12, 0x800e, 256],
      [3, 8, 2, 5],
      [3, 8, 3, 12],
      [0, 8, 4, 14],
    ]);
  });

  it('writes a KE payload for group 14 with a 256-byte public value, and the Nonce', () => {
    const [, ke, nonceBody] = payloads(packet);
    expect(ke?.body.readUInt16BE(0)).toBe(14);
    expect(ke?.body.readUInt16BE(2), "reserved").toBe(0);
    expect(ke?.body.length).toBe(4 + 256);
    expect(nonceBody?.body).toEqual(nonce);
    expect(request.group).toBe(14);
  });

  it('writes NAT_DETECTION_SOURCE_IP and _DESTINATION_IP as SHA-1(SPIi ‖ SPIr ‖ IP ‖ port)', () => {
    const [, , , source, destination] = payloads(packet);
    const sha1 = (hex: string): Buffer => createHash('sha1').update(Buffer.from(hex, 'hex')).digest();
    expect(source?.body.readUInt16BE(2)).toBe(16388);
    expect(source?.body.subarray(4)).toEqual(sha1(`0102030405060708${'00'.repeat(8)}0a4d05029c40`));
    expect(destination?.body.readUInt16BE(2)).toBe(16389);
    expect(destination?.body.subarray(4)).toEqual(sha1(`0102030405060708${'00'.repeat(8)}c633640201f4`));
    expect([source?.body.readUInt8(0), source?.body.readUInt8(1)], 'protocol 0, SPI size 0').toEqual([0, 0]);
  });

  it('offers several proposals in order, numbered, "more" (2) on all but the last', () => {
    const two = buildIkeSaInit({ proposals: ['aes256gcm16-prfsha256-ecp256', 'aes256-sha256-modp2048'], local, remote, spiI, nonce });
    const sa = payloads(two.packet)[0]?.body ?? Buffer.alloc(0);
    const firstLength = sa.readUInt16BE(2);
    expect([sa.readUInt8(0), sa.readUInt8(4)]).toEqual([2, 1]);
    expect([sa.readUInt8(firstLength), sa.readUInt8(firstLength + 4)]).toEqual([0, 2]);
    expect(two.group, 'the first proposal\'s group').toBe(19);
    expect(payloads(two.packet)[1]?.body.length, 'ECP-256 public value is x ‖ y (RFC 5903)').toBe(4 + 64);
  });

  it('maps AEAD, ChaCha20 and curve25519 to their IANA ids, deriving the PRF from the integrity algorithm', () => {
    expect(ikeTransforms('aes256gcm16-prfsha256-ecp256')).toEqual([{ type: 1, id: 20, keyBits: 256 }, { type: 2, id: 5 }, { type: 4, id: 19 }]);
    expect(ikeTransforms('aes128gcm12-prfsha384-modp3072')?.[0]).toEqual({ type: 1, id: 19, keyBits: 128 });
    expect(ikeTransforms('chacha20poly1305-prfsha256-curve25519')).toEqual([{ type: 1, id: 28 }, { type: 2, id: 5 }, { type: 4, id: 31 }]);
    expect(ikeTransforms('aes128-sha384-ecp384')).toEqual([{ type: 1, id: 12, keyBits: 128 }, { type: 2, id: 6 }, { type: 3, id: 13 }, { type: 4, id: 20 }]);
    expect(ikeTransforms('aes256-sha256'), 'no DH group: not an IKE proposal').toBeUndefined();
    expect(publicKeyFor(31)?.length).toBe(32);
    expect(publicKeyFor(21)?.length).toBe(132);
  });

  it('refuses proposals it cannot express instead of sending something else', () => {
    expect(() => buildIkeSaInit({ proposals: ['aes256-sha256'], local, remote })).toThrow(/none of the IKE proposals/);
  });
});

describe('parseIkeSaInitResponse', () => {
  it('reads an accepted response with its NAT_DETECTION notifies', () => {
    const nat = natDetectionHash(spiI, Buffer.from('a1a2a3a4a5a6a7a8', 'hex'), remote.address, 500);
    const response = parseIkeSaInitResponse(ikeResponse({ spiI, sa: true, notifies: [{ type: NOTIFY.natDetectionSourceIp, data: nat }] }), spiI);
    expect(response?.accepted).toBe(true);
    expect(response?.spiR.toString('hex')).toBe('a1a2a3a4a5a6a7a8');
    expect(response?.notifies).toEqual([{ type: 16388, data: nat }]);
  });

  it('reads a refusal (NO_PROPOSAL_CHOSEN) as an answer without SA', () => {
    const response = parseIkeSaInitResponse(ikeResponse({ spiI, notifies: [{ type: NOTIFY.noProposalChosen, data: Buffer.alloc(0) }] }), spiI);
    expect(response).toEqual({ spiR: expect.any(Buffer) as Buffer, notifies: [{ type: 14, data: Buffer.alloc(0) }], accepted: false });
  });

  it('ignores another SPI, another exchange, a request, and truncated data', () => {
    const other = Buffer.from('ffffffffffffffff', 'hex');
    expect(parseIkeSaInitResponse(ikeResponse({ spiI: other, sa: true }), spiI)).toBeUndefined();
    expect(parseIkeSaInitResponse(ikeResponse({ spiI, sa: true, exchange: 35 }), spiI)).toBeUndefined();
    expect(parseIkeSaInitResponse(ikeResponse({ spiI, sa: true, flags: 0x08 }), spiI)).toBeUndefined();
    expect(parseIkeSaInitResponse(ikeResponse({ spiI, sa: true }).subarray(0, 20), spiI)).toBeUndefined();
  });

  it('never throws on arbitrary bytes after our SPI', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const datagram = Buffer.concat([spiI, Buffer.from(bytes)]);
      expect(() => parseIkeSaInitResponse(datagram, spiI)).not.toThrow();
    }));
    fc.assert(fc.property(fc.uint8Array({ minLength: 20, maxLength: 200 }), (bytes) => {
      const datagram = ikeResponse({ spiI, sa: true, notifies: [{ type: 16389, data: Buffer.from(bytes) }] });
      // Corrupt one length byte anywhere after the header.
      datagram[28 + ((bytes[0] ?? 0) % (datagram.length - 28))] = bytes[1] ?? 0;
      expect(() => parseIkeSaInitResponse(datagram, spiI)).not.toThrow();
    }));
  });
});
