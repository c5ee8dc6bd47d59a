/**
 * A minimal IKEv2 IKE_SA_INIT request (RFC 7296 §1.2, §3) and a reader for what a gateway sends
 * back, for doctor's "does UDP 500/4500 reach an IKE daemon" probe. The request is a real one —
 * header, SA with the profile's proposals, KE with a fresh public value, Nonce and the two
 * NAT_DETECTION notifies — so a gateway answers it as it would answer the VPN client, and its
 * NAT_DETECTION notifies tell whether an address translator sits on the path (§2.23).
 */
import { createECDH, createHash, generateKeyPairSync, getDiffieHellman, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { algorithmKind, proposalAlgorithms } from '../../connect/cipher-policy.js';

/** Payload types (RFC 7296 §3.2). */
export const PAYLOAD = { none: 0, sa: 33, ke: 34, nonce: 40, notify: 41 } as const;
export const IKE_SA_INIT = 34;
/** Notify message types (RFC 7296 §3.10.1). */
export const NOTIFY = {
  noProposalChosen: 14,
  invalidKePayload: 17,
  natDetectionSourceIp: 16388,
  natDetectionDestinationIp: 16389,
  cookie: 16390,
} as const;
const TRANSFORM = { encr: 1, prf: 2, integ: 3, dh: 4 } as const;
const KEY_LENGTH_ATTRIBUTE = 14;
const HEADER_BYTES = 28;
/** Four zero bytes in front of IKE on UDP 4500, so it is told apart from ESP (RFC 3948 §2.2). */
export const NON_ESP_MARKER = Buffer.alloc(4);

interface Transform {
  readonly type: number;
  readonly id: number;
  readonly keyBits?: number;
}

/** IANA "Transform Type 1 - Encryption Algorithm Transform IDs", by strongSwan keyword. */
function encryptionTransform(name: string): Transform | undefined {
  const bits = (text: string | undefined): number => Number(text ?? 128);
  let match = /^aes(128|192|256)?$/.exec(name);
  if (match !== null) return { type: TRANSFORM.encr, id: 12, keyBits: bits(match[1]) };
  match = /^aes(128|192|256)?ctr$/.exec(name);
  if (match !== null) return { type: TRANSFORM.encr, id: 13, keyBits: bits(match[1]) };
  match = /^aes(128|192|256)?(gcm|ccm)(8|12|16|64|96|128)?$/.exec(name);
  if (match !== null) {
    const icv = Number(match[3] ?? 16);
    const icvBytes = icv >= 64 ? icv / 8 : icv;
    const base = match[2] === 'gcm' ? 18 : 14;
    return { type: TRANSFORM.encr, id: base + [8, 12, 16].indexOf(icvBytes), keyBits: bits(match[1]) };
  }
  match = /^camellia(128|192|256)?$/.exec(name);
  if (match !== null) return { type: TRANSFORM.encr, id: 23, keyBits: bits(match[1]) };
  if (name === 'chacha20poly1305') return { type: TRANSFORM.encr, id: 28 };
  if (name === '3des') return { type: TRANSFORM.encr, id: 3 };
  if (name === 'des') return { type: TRANSFORM.encr, id: 2 };
  return undefined;
}

const INTEGRITY: Readonly<Record<string, number>> = { md5: 1, sha1: 2, sha: 2, aesxcbc: 5, aescmac: 8, sha256: 12, sha2_256: 12, sha384: 13, sha2_384: 13, sha512: 14, sha2_512: 14 };
const PRF: Readonly<Record<string, number>> = { prfmd5: 1, prfsha1: 2, prfaesxcbc: 4, prfsha256: 5, prfsha384: 6, prfsha512: 7, prfaescmac: 8 };
/** The PRF strongSwan derives from an integrity algorithm when a proposal names none. */
const PRF_FROM_INTEGRITY: Readonly<Record<number, number>> = { 1: 1, 2: 2, 5: 4, 8: 8, 12: 5, 13: 6, 14: 7 };
/** IANA "Transform Type 4 - Key Exchange Method Transform IDs". */
export const DH_GROUP: Readonly<Record<string, number>> = {
  modp768: 1, modp1024: 2, modp1536: 5, modp2048: 14, modp3072: 15, modp4096: 16, modp6144: 17, modp8192: 18,
  ecp256: 19, ecp_256: 19, ecp384: 20, ecp_384: 20, ecp521: 21, ecp_521: 21, modp1024s160: 22, modp2048s224: 23, modp2048s256: 24,
  ecp256bp: 28, ecp384bp: 29, ecp512bp: 30, curve25519: 31, x25519: 31, curve448: 32, x448: 32,
};

/** The transforms of one strongSwan IKE proposal (`aes256-sha256-modp2048`), or undefined when one can't be expressed. */
export function ikeTransforms(proposal: string): Transform[] | undefined {
  const transforms: Transform[] = [];
  let integrity: number | undefined;
  let prf: number | undefined;
  for (const name of proposalAlgorithms(proposal)) {
    const kind = algorithmKind(name);
    if (kind === 'encryption') {
      const encr = encryptionTransform(name);
      if (encr === undefined) return undefined;
      transforms.push(encr);
    } else if (kind === 'integrity') {
      integrity = INTEGRITY[name];
      if (integrity === undefined) return undefined;
      transforms.push({ type: TRANSFORM.integ, id: integrity });
    } else if (kind === 'prf') {
      prf = PRF[name];
      if (prf === undefined) return undefined;
      transforms.push({ type: TRANSFORM.prf, id: prf });
    } else if (kind === 'dh') {
      const group = DH_GROUP[name];
      if (group === undefined) return undefined;
      transforms.push({ type: TRANSFORM.dh, id: group });
    } else {
      return undefined;
    }
  }
  if (prf === undefined) transforms.push({ type: TRANSFORM.prf, id: integrity === undefined ? 5 : PRF_FROM_INTEGRITY[integrity] ?? 5 });
  if (!transforms.some((t) => t.type === TRANSFORM.encr) || !transforms.some((t) => t.type === TRANSFORM.dh)) return undefined;
  return transforms.sort((a, b) => a.type - b.type);
}

/** A fresh public value for `group` (RFC 7296 §3.4; ECP as x‖y, RFC 5903 §7), or undefined when Node can't make one. */
export function publicKeyFor(group: number): Buffer | undefined {
  const modp: Readonly<Record<number, string>> = { 2: 'modp2', 5: 'modp5', 14: 'modp14', 15: 'modp15', 16: 'modp16', 17: 'modp17', 18: 'modp18' };
  const curves: Readonly<Record<number, string>> = { 19: 'prime256v1', 20: 'secp384r1', 21: 'secp521r1', 28: 'brainpoolP256r1', 29: 'brainpoolP384r1', 30: 'brainpoolP512r1' };
  const modpName = modp[group];
  if (modpName !== undefined) {
    const dh = getDiffieHellman(modpName);
    const key = dh.generateKeys();
    // Left-padded to the prime's length (§3.4).
    return Buffer.concat([Buffer.alloc(dh.getPrime().length - key.length), key]);
  }
  const curve = curves[group];
  if (curve !== undefined) {
    const ecdh = createECDH(curve);
    return ecdh.generateKeys().subarray(1);
  }
  if (group === 31 || group === 32) {
    const { publicKey } = group === 31 ? generateKeyPairSync('x25519') : generateKeyPairSync('x448');
    return Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  }
  return undefined;
}

/** SHA-1(SPIi ‖ SPIr ‖ IP ‖ port): the NAT_DETECTION_*_IP data (RFC 7296 §2.23). */
export function natDetectionHash(spiI: Buffer, spiR: Buffer, address: string, port: number): Buffer {
  const ip = isIP(address) === 6 ? ipv6Bytes(address) : Buffer.from(address.split('.').map(Number));
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16BE(port);
  return createHash('sha1').update(Buffer.concat([spiI, spiR, ip, portBytes])).digest();
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const groups = (text: string): string[] => (text === '' ? [] : text.split(':'));
  const left = groups(head);
  const right = address.includes('::') ? groups(tail) : [];
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  all.forEach((group, i) => out.writeUInt16BE(parseInt(group, 16), i * 2));
  return out;
}

export interface IkeSaInitRequest {
  /** The datagram (without the non-ESP marker). */
  readonly packet: Buffer;
  readonly spiI: Buffer;
  /** The DH group the KE payload carries. */
  readonly group: number;
}

export interface IkeSaInitOptions {
  /** strongSwan-syntax IKE proposals, most preferred first; those we can't express are left out. */
  readonly proposals: readonly string[];
  readonly local: { readonly address: string; readonly port: number };
  readonly remote: { readonly address: string; readonly port: number };
  /** Fixed SPI and nonce for tests; random otherwise. */
  readonly spiI?: Buffer;
  readonly nonce?: Buffer;
}

function genericHeader(next: number, body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt8(next, 0);
  header.writeUInt16BE(4 + body.length, 2);
  return Buffer.concat([header, body]);
}

function transformBytes(transform: Transform, last: boolean): Buffer {
  const attribute = transform.keyBits === undefined ? Buffer.alloc(0) : Buffer.from([0x80, KEY_LENGTH_ATTRIBUTE, transform.keyBits >> 8, transform.keyBits & 0xff]);
  const out = Buffer.alloc(8);
  out.writeUInt8(last ? 0 : 3, 0);
  out.writeUInt16BE(8 + attribute.length, 2);
  out.writeUInt8(transform.type, 4);
  out.writeUInt16BE(transform.id, 6);
  return Buffer.concat([out, attribute]);
}

function proposalBytes(number: number, transforms: readonly Transform[], last: boolean): Buffer {
  const body = Buffer.concat(transforms.map((t, i) => transformBytes(t, i === transforms.length - 1)));
  const out = Buffer.alloc(8);
  out.writeUInt8(last ? 0 : 2, 0);
  out.writeUInt16BE(8 + body.length, 2);
  out.writeUInt8(number, 4);
  out.writeUInt8(1, 5); // Protocol ID: IKE
  out.writeUInt8(0, 6); // SPI size: none in IKE_SA_INIT
  out.writeUInt8(transforms.length, 7);
  return Buffer.concat([out, body]);
}

function notifyBody(type: number, data: Buffer): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt16BE(type, 2); // Protocol ID 0 and SPI size 0 for IKE SA notifies
  return Buffer.concat([out, data]);
}

/**
 * Builds the request. Proposals that can't be expressed are skipped; with none left it throws.
 * The KE payload carries the first proposal's first group Node can generate.
 */
export function buildIkeSaInit(options: IkeSaInitOptions): IkeSaInitRequest {
  const proposals = options.proposals.map(ikeTransforms).filter((t): t is Transform[] => t !== undefined);
  if (proposals.length === 0) throw new Error(`none of the IKE proposals can be sent in a probe: ${options.proposals.join(', ')}`);
  const groups = proposals.flatMap((transforms) => transforms.filter((t) => t.type === TRANSFORM.dh).map((t) => t.id));
  const group = groups.find((g) => publicKeyFor(g) !== undefined);
  const key = group === undefined ? undefined : publicKeyFor(group);
  if (group === undefined || key === undefined) throw new Error('no DH group of these proposals can be generated here');
  const spiI = options.spiI ?? randomBytes(8);
  const spiR = Buffer.alloc(8);
  const sa = Buffer.concat(proposals.map((transforms, i) => proposalBytes(i + 1, transforms, i === proposals.length - 1)));
  const keHeader = Buffer.alloc(4);
  keHeader.writeUInt16BE(group, 0);
  const payloads = Buffer.concat([
    genericHeader(PAYLOAD.ke, sa),
    genericHeader(PAYLOAD.nonce, Buffer.concat([keHeader, key])),
    genericHeader(PAYLOAD.notify, options.nonce ?? randomBytes(32)),
    genericHeader(PAYLOAD.notify, notifyBody(NOTIFY.natDetectionSourceIp, natDetectionHash(spiI, spiR, options.local.address, options.local.port))),
    genericHeader(PAYLOAD.none, notifyBody(NOTIFY.natDetectionDestinationIp, natDetectionHash(spiI, spiR, options.remote.address, options.remote.port))),
  ]);
  const header = Buffer.alloc(HEADER_BYTES);
  spiI.copy(header, 0);
  header.writeUInt8(PAYLOAD.sa, 16);
  header.writeUInt8(0x20, 17); // Major version 2, minor 0
  header.writeUInt8(IKE_SA_INIT, 18);
  header.writeUInt8(0x08, 19); // Initiator
  header.writeUInt32BE(0, 20); // Message ID 0
  header.writeUInt32BE(HEADER_BYTES + payloads.length, 24);
  return { packet: Buffer.concat([header, payloads]), spiI, group };
}

export interface IkeNotify {
  readonly type: number;
  readonly data: Buffer;
}

/** What a gateway answered to our IKE_SA_INIT. */
export interface IkeSaInitResponse {
  readonly spiR: Buffer;
  readonly notifies: readonly IkeNotify[];
  /** True when the gateway chose a proposal (the answer has an SA payload). */
  readonly accepted: boolean;
}

/**
 * Reads an IKE_SA_INIT response to the request with `spiI`, or undefined when the datagram is
 * something else (another exchange, a stray packet, a truncated one).
 */
export function parseIkeSaInitResponse(datagram: Buffer, spiI: Buffer): IkeSaInitResponse | undefined {
  if (datagram.length < HEADER_BYTES || !datagram.subarray(0, 8).equals(spiI)) return undefined;
  if (datagram.readUInt8(18) !== IKE_SA_INIT || (datagram.readUInt8(19) & 0x20) === 0) return undefined;
  const length = Math.min(datagram.readUInt32BE(24), datagram.length);
  const notifies: IkeNotify[] = [];
  let accepted = false;
  let next = datagram.readUInt8(16);
  let offset = HEADER_BYTES;
  while (next !== PAYLOAD.none && offset + 4 <= length) {
    const payloadLength = datagram.readUInt16BE(offset + 2);
    if (payloadLength < 4 || offset + payloadLength > length) return undefined;
    if (next === PAYLOAD.sa) accepted = true;
    if (next === PAYLOAD.notify && payloadLength >= 8) {
      const spiSize = datagram.readUInt8(offset + 5);
      notifies.push({ type: datagram.readUInt16BE(offset + 6), data: datagram.subarray(offset + 8 + spiSize, offset + payloadLength) });
    }
    next = datagram.readUInt8(offset);
    offset += payloadLength;
  }
  return { spiR: Buffer.from(datagram.subarray(8, 16)), notifies, accepted };
}
