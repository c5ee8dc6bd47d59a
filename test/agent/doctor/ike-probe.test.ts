/**
 * The IKE probe over real UDP sockets on 127.0.0.1: a small responder built from RFC 7296 §2.23
 * answers as strongSwan does (an accepted IKE_SA_INIT with NAT_DETECTION hashes of what it saw),
 * or with NO_PROPOSAL_CHOSEN, or stays silent; a closed port gives ICMP port unreachable.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { natDetectionHash, NOTIFY } from '../../../src/agent/doctor/ike-packet.js';
import { createIkeProbe } from '../../../src/agent/doctor/ike-probe.js';
import { ikeResponse } from './ike-fixtures.js';

const sockets: Socket[] = [];
afterEach(() => { for (const s of sockets.splice(0)) s.close(); });

const spiR = Buffer.from('a1a2a3a4a5a6a7a8', 'hex');
const probe = createIkeProbe([200, 200]);

/** A UDP responder on 127.0.0.1; `answer` gets each request (marker stripped) and the sender. */
async function responder(answer: (request: Buffer, from: { address: string; port: number }) => Buffer | undefined, marker = false): Promise<{ port: number; received: Buffer[] }> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  const received: Buffer[] = [];
  socket.on('message', (message, from) => {
    received.push(message);
    const request = marker ? message.subarray(4) : message;
    const reply = answer(request, from);
    if (reply !== undefined) socket.send(marker ? Buffer.concat([Buffer.alloc(4), reply]) : reply, from.port, from.address);
  });
  await new Promise<void>((resolve) => { socket.bind(0, '127.0.0.1', resolve); });
  return { port: socket.address().port, received };
}

/** Answers like a gateway that sees the sender as `seenAs` (a NAT rewrote it when it differs). */
function acceptingGateway(port: number, seenAs?: { address: string; port: number }) {
  return (request: Buffer, from: { address: string; port: number }): Buffer => {
    const spiI = request.subarray(0, 8);
    const peer = seenAs ?? from;
    return ikeResponse({
      spiI, spiR, sa: true,
      notifies: [
        { type: NOTIFY.natDetectionSourceIp, data: natDetectionHash(spiI, spiR, '127.0.0.1', port) },
        { type: NOTIFY.natDetectionDestinationIp, data: natDetectionHash(spiI, spiR, peer.address, peer.port) },
      ],
    });
  };
}

describe('probeIke', () => {
  it('sends a real IKE_SA_INIT and reads the accepted answer: no NAT when the hashes match', async () => {
    let port = 0;
    const gateway = await responder((request, from) => acceptingGateway(port)(request, from));
    port = gateway.port;
    // The responder's ephemeral port stands in for 500 (binding 500 needs root).
    const result = await createIkeProbe([500])({ address: '127.0.0.1', port: port as 500, proposals: ['aes256gcm16-prfsha256-ecp256'] }, AbortSignal.timeout(5_000));
    expect(result.kind).toBe('answered');
    if (result.kind !== 'answered') return;
    expect(result.response.accepted).toBe(true);
    expect(result.natLocal).toBe(false);
    expect(result.natRemote).toBe(false);
    const request = gateway.received[0] ?? Buffer.alloc(0);
    expect(request.readUInt8(18), 'exchange type IKE_SA_INIT').toBe(34);
  });

  it('reports a NAT when the gateway saw another address than ours', async () => {
    let port = 0;
    const gateway = await responder((request, from) => acceptingGateway(port, { address: '203.0.113.9', port: 61000 })(request, from));
    port = gateway.port;
    const result = await probe({ address: '127.0.0.1', port: port as 500, proposals: ['aes256-sha256-modp2048'] }, AbortSignal.timeout(5_000));
    expect(result.kind === 'answered' && result.natLocal).toBe(true);
  });

  it('reads hashes made with a zero responder SPI as a mismatch (the responder must hash its own SPI)', async () => {
    let port = 0;
    const gateway = await responder((request, from) => {
      const spiI = request.subarray(0, 8);
      const zero = Buffer.alloc(8);
      return ikeResponse({ spiI, spiR, sa: true, notifies: [
        { type: NOTIFY.natDetectionSourceIp, data: natDetectionHash(spiI, zero, '127.0.0.1', port) },
        { type: NOTIFY.natDetectionDestinationIp, data: natDetectionHash(spiI, zero, from.address, from.port) },
      ] });
    });
    port = gateway.port;
    const result = await probe({ address: '127.0.0.1', port: port as 500, proposals: ['aes256-sha256-modp2048'] }, AbortSignal.timeout(5_000));
    expect(result.kind === 'answered' && [result.natLocal, result.natRemote]).toEqual([true, true]);
  });

  it('counts NO_PROPOSAL_CHOSEN as an answer', async () => {
    const gateway = await responder((request) => ikeResponse({ spiI: request.subarray(0, 8), notifies: [{ type: NOTIFY.noProposalChosen, data: Buffer.alloc(0) }] }));
    const result = await probe({ address: '127.0.0.1', port: gateway.port as 500, proposals: ['aes256-sha256-modp2048'] }, AbortSignal.timeout(5_000));
    expect(result.kind).toBe('answered');
    expect(result.kind === 'answered' && result.response.accepted).toBe(false);
    expect(result.kind === 'answered' && result.natLocal).toBeUndefined();
  });

  it('retransmits, then reports silence when nothing answers', async () => {
    const gateway = await responder(() => undefined);
    const result = await probe({ address: '127.0.0.1', port: gateway.port as 500, proposals: ['aes256-sha256-modp2048'] }, AbortSignal.timeout(5_000));
    expect(result).toEqual({ kind: 'silent', waitedMs: 400 });
    expect(gateway.received).toHaveLength(2);
    expect(gateway.received[0]).toEqual(gateway.received[1]);
  });

  it('ignores a stray datagram and waits for the real answer', async () => {
    let port = 0;
    const gateway = await responder((request, from) => {
      const s = sockets[0];
      s?.send(Buffer.from('not ike'), from.port, from.address);
      return acceptingGateway(port)(request, from);
    });
    port = gateway.port;
    const result = await probe({ address: '127.0.0.1', port: port as 500, proposals: ['aes256-sha256-modp2048'] }, AbortSignal.timeout(5_000));
    expect(result.kind).toBe('answered');
  });

  it('says refused when an ICMP port unreachable comes back', async () => {
    const gateway = await responder(() => undefined);
    const port = gateway.port;
    sockets.splice(0).forEach((s) => { s.close(); });
    const result = await probe({ address: '127.0.0.1', port: port as 500, proposals: ['aes256-sha256-modp2048'] }, AbortSignal.timeout(5_000));
    expect(result).toEqual({ kind: 'refused', code: 'ECONNREFUSED' });
  });

  it('puts the non-ESP marker in front on UDP 4500 and strips it from the answer', async () => {
    const socket = createSocket('udp4');
    sockets.push(socket);
    // Port 4500 itself may be taken on a CI host: check the marker logic on the request bytes instead.
    const seen: Buffer[] = [];
    socket.on('message', (m) => { seen.push(m); });
    await new Promise<void>((resolve) => { socket.bind(4500, '127.0.0.1', resolve); socket.once('error', () => { resolve(); }); });
    if (socket.address().port !== 4500) return;
    const result = await probe({ address: '127.0.0.1', port: 4500, proposals: ['aes256-sha256-modp2048'] }, AbortSignal.timeout(5_000));
    expect(result.kind).toBe('silent');
    expect(seen[0]?.subarray(0, 4)).toEqual(Buffer.alloc(4));
    const request = seen[0]?.subarray(4) ?? Buffer.alloc(0);
    expect([request.readUInt8(18), request.readUInt8(19)], 'an IKE_SA_INIT request after the marker').toEqual([34, 0x08]);
    expect(request.readUInt32BE(24)).toBe(request.length);
  });
});
