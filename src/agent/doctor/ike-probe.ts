/**
 * Sends one real IKE_SA_INIT to a gateway over UDP (node:dgram) and waits for any answer: an
 * IKE_SA_INIT response, or a notify such as NO_PROPOSAL_CHOSEN or INVALID_KE_PAYLOAD, all mean an
 * IKE daemon got our packet. On UDP 4500 the packet carries the non-ESP marker (RFC 3948).
 * Retransmitted twice, like an IKE initiator, since a lost first datagram is no verdict.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { buildIkeSaInit, natDetectionHash, NON_ESP_MARKER, NOTIFY, parseIkeSaInitResponse, type IkeSaInitResponse } from './ike-packet.js';

export interface IkeProbeTarget {
  /** An IP address (resolve names first). */
  readonly address: string;
  readonly port: 500 | 4500;
  readonly proposals: readonly string[];
}

export type IkeProbeResult =
  | {
      readonly kind: 'answered';
      readonly response: IkeSaInitResponse;
      /** Our address as seen by the gateway differs from our own: a NAT is on the path. Undefined without NAT_DETECTION notifies. */
      readonly natLocal?: boolean;
      /** The gateway's own address differs from the one we sent to: the gateway sits behind a NAT. */
      readonly natRemote?: boolean;
      readonly local: { readonly address: string; readonly port: number };
    }
  | { readonly kind: 'silent'; readonly waitedMs: number }
  /** An ICMP error came back (port unreachable, host unreachable): `code` is the socket error. */
  | { readonly kind: 'refused'; readonly code: string };

export type IkeProbe = (target: IkeProbeTarget, signal: AbortSignal) => Promise<IkeProbeResult>;

/** How long to wait after each attempt, like an IKE initiator's retransmits: three attempts in all. */
export const DEFAULT_ATTEMPTS_MS: readonly number[] = [1_000, 2_000, 3_000];

/** The real probe over node:dgram; `attemptsMs` sets the retransmit waits (tests use short ones). */
export function createIkeProbe(attemptsMs: readonly number[] = DEFAULT_ATTEMPTS_MS): IkeProbe {
  return (target, signal) => probe(target, signal, attemptsMs);
}

export const probeIke: IkeProbe = createIkeProbe();

function probe(target: IkeProbeTarget, signal: AbortSignal, attemptsMs: readonly number[]): Promise<IkeProbeResult> {
  return new Promise<IkeProbeResult>((resolve, reject) => {
    const socket: Socket = createSocket(isIP(target.address) === 6 ? 'udp6' : 'udp4');
    let timer: NodeJS.Timeout | undefined;
    let spiI: Buffer | undefined;
    const finish = (result: IkeProbeResult | Error): void => {
      if (timer !== undefined) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.close();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onAbort = (): void => { finish(signal.reason instanceof Error ? signal.reason : new Error('aborted')); };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      finish(error.code === undefined ? error : { kind: 'refused', code: error.code });
    });
    socket.on('message', (message) => {
      if (spiI === undefined) return;
      const datagram = target.port === 4500 && message.subarray(0, 4).equals(NON_ESP_MARKER) ? message.subarray(4) : message;
      const response = parseIkeSaInitResponse(datagram, spiI);
      if (response === undefined) return;
      const local = socket.address();
      finish({ kind: 'answered', response, local: { address: local.address, port: local.port }, ...natFlags(response, spiI, local, target) });
    });
    socket.connect(target.port, target.address, () => {
      const local = socket.address();
      let request;
      try {
        request = buildIkeSaInit({ proposals: target.proposals, local: { address: local.address, port: local.port }, remote: { address: target.address, port: target.port } });
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      spiI = request.spiI;
      const datagram = target.port === 4500 ? Buffer.concat([NON_ESP_MARKER, request.packet]) : request.packet;
      let attempt = 0;
      let waited = 0;
      const send = (): void => {
        const wait = attemptsMs[attempt];
        if (wait === undefined) {
          finish({ kind: 'silent', waitedMs: waited });
          return;
        }
        attempt += 1;
        waited += wait;
        socket.send(datagram);
        timer = setTimeout(send, wait);
      };
      send();
    });
  });
}

/**
 * Compares the gateway's NAT_DETECTION hashes with what we see (RFC 7296 §2.23: SHA-1 over both
 * SPIs of the response, the address and the port). A gateway may also send a deliberately wrong
 * source hash to force UDP encapsulation (strongSwan with encap=yes or userspace ESP: measured in
 * the host lab), so `natRemote` means "the gateway says so", not necessarily a NAT.
 */
function natFlags(response: IkeSaInitResponse, spiI: Buffer, local: { address: string; port: number }, target: IkeProbeTarget): { natLocal?: boolean; natRemote?: boolean } {
  const matches = (data: Buffer, address: string, port: number): boolean => data.equals(natDetectionHash(spiI, response.spiR, address, port));
  const destination = response.notifies.find((n) => n.type === NOTIFY.natDetectionDestinationIp);
  const sources = response.notifies.filter((n) => n.type === NOTIFY.natDetectionSourceIp);
  const flags: { natLocal?: boolean; natRemote?: boolean } = {};
  if (destination !== undefined) flags.natLocal = !matches(destination.data, local.address, local.port);
  if (sources.length > 0) flags.natRemote = !sources.some((n) => matches(n.data, target.address, target.port));
  return flags;
}
