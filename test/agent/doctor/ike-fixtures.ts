/**
 * IKE_SA_INIT responses built by hand from RFC 7296 §3 (header, SA, notifies), for the parser and
 * the probe's tests — the shapes strongSwan sends: an accepted proposal with NAT_DETECTION
 * notifies, or a lone NO_PROPOSAL_CHOSEN / INVALID_KE_PAYLOAD notify.
 */
export interface ResponseSpec {
  readonly spiI: Buffer;
  readonly spiR?: Buffer;
  /** Include an SA payload (the gateway accepted a proposal). */
  readonly sa?: boolean;
  readonly notifies?: readonly { readonly type: number; readonly data: Buffer }[];
  /** Exchange type (default 34, IKE_SA_INIT) and flags (default 0x20, Response). */
  readonly exchange?: number;
  readonly flags?: number;
}

export function ikeResponse(spec: ResponseSpec): Buffer {
  const payloads: { type: number; body: Buffer }[] = [];
  if (spec.sa === true) {
    // One proposal, one transform (ENCR AES-GCM-16, 256-bit key) is enough for the parser.
    const transform = Buffer.from([0, 0, 0, 12, 1, 0, 0, 20, 0x80, 14, 1, 0]);
    const proposal = Buffer.concat([Buffer.from([0, 0, 0, 8 + transform.length, 1, 1, 0, 1]), transform]);
    payloads.push({ type: 33, body: proposal });
  }
  for (const notify of spec.notifies ?? []) {
    const head = Buffer.alloc(4);
    head.writeUInt16BE(notify.type, 2);
    payloads.push({ type: 41, body: Buffer.concat([head, notify.data]) });
  }
  const encoded = payloads.map((payload, i) => {
    const header = Buffer.alloc(4);
    header.writeUInt8(payloads[i + 1]?.type ?? 0, 0);
    header.writeUInt16BE(4 + payload.body.length, 2);
    return Buffer.concat([header, payload.body]);
  });
  const body = Buffer.concat(encoded);
  const header = Buffer.alloc(28);
  spec.spiI.copy(header, 0);
  (spec.spiR ?? Buffer.from('a1a2a3a4a5a6a7a8', 'hex')).copy(header, 8);
  header.writeUInt8(payloads[0]?.type ?? 0, 16);
  header.writeUInt8(0x20, 17);
  header.writeUInt8(spec.exchange ?? 34, 18);
  header.writeUInt8(spec.flags ?? 0x20, 19);
  header.writeUInt32BE(28 + body.length, 24);
  return Buffer.concat([header, body]);
}
