/**
 * Tunnel MTU: computed from the encapsulation overhead of the stack in use (ESP with its cipher,
 * NAT-T's UDP header, L2TP + PPP for L2TP/IPsec), then confirmed by a don't-fragment probe through
 * the tunnel. When the probe finds a smaller size, its value wins and the session log says so.
 */
import type { CommandRunner } from '../os/command.js';
import { algorithmKind, proposalAlgorithms } from './cipher-policy.js';
import type { TunnelType } from './select.js';

/** The bytes one ESP cipher adds: IV, padding block size and integrity check value. */
export interface EspCipherOverhead {
  readonly ivBytes: number;
  /** ESP pads (payload + 2 trailer bytes) to a multiple of this. */
  readonly blockBytes: number;
  readonly icvBytes: number;
}

const IPV4_HEADER = 20;
const UDP_HEADER = 8;
const ESP_HEADER = 8;
const ESP_TRAILER = 2;
/** L2TP data header with the length bit (xl2tpd `length bit = yes`): flags, length, tunnel, session. */
const L2TP_HEADER = 8;
/** PPP address/control (ff 03) + protocol. */
const PPP_HEADER = 4;
/** The smallest MTU IPv4 guarantees; the probe never goes below it. */
export const MIN_MTU = 576;
/** ICMP echo = IPv4 header + ICMP header: `ping -s N` sends N + 28 bytes. */
const ICMP_ECHO_OVERHEAD = 28;

const INTEGRITY_ICV: Readonly<Record<string, number>> = {
  md5: 12, sha1: 12, sha: 12, sha256: 16, sha2_256: 16, sha384: 24, sha2_384: 24, sha512: 32, sha2_512: 32, aesxcbc: 12, aescmac: 12,
};

/**
 * The overhead of one ESP proposal (`aes256-sha256`, `aes256gcm16`). Unknown parts count as the
 * worst case, so the computed MTU is never too large.
 */
export function espOverhead(proposal: string): EspCipherOverhead {
  const algorithms = proposalAlgorithms(proposal);
  const cipher = algorithms.find((name) => algorithmKind(name) === 'encryption') ?? 'aes256';
  const aead = /(gcm|ccm)(\d+)?$/.exec(cipher);
  if (aead !== null) {
    const bits = Number(aead[2] ?? 16);
    return { ivBytes: 8, blockBytes: 4, icvBytes: bits >= 64 ? bits / 8 : bits };
  }
  if (cipher === 'chacha20poly1305') return { ivBytes: 8, blockBytes: 4, icvBytes: 16 };
  const block = ['3des', 'des', 'blowfish', 'cast128'].includes(cipher) ? 8 : 16;
  const integrity = algorithms.find((name) => algorithmKind(name) === 'integrity');
  const icv = integrity === undefined ? 32 : INTEGRITY_ICV[integrity] ?? 32;
  return { ivBytes: block, blockBytes: block, icvBytes: icv };
}

export interface Encapsulation {
  readonly type: TunnelType;
  /** The ESP proposals that may be negotiated; the worst one decides. */
  readonly espProposals: readonly string[];
  /** NAT-T wraps ESP in UDP/4500. Unknown before connecting: assume yes. */
  readonly natTraversal: boolean;
  /** MTU of the path to the gateway (the outer packets). Default 1500. */
  readonly pathMtu?: number;
}

/**
 * The largest inner packet that fits one outer packet of `pathMtu` bytes. L2TP/IPsec: transport-
 * mode ESP over UDP/1701 carrying L2TP + PPP; IKEv2: tunnel-mode ESP carrying the IP packet.
 */
export function computeTunnelMtu(encapsulation: Encapsulation): number {
  const pathMtu = encapsulation.pathMtu ?? 1500;
  const proposals = encapsulation.espProposals.length > 0 ? encapsulation.espProposals : [''];
  let best = pathMtu;
  for (const proposal of proposals) {
    const esp = espOverhead(proposal);
    const outerFixed = IPV4_HEADER + (encapsulation.natTraversal ? UDP_HEADER : 0) + ESP_HEADER + esp.ivBytes + esp.icvBytes;
    const inner = encapsulation.type === 'l2tp' ? UDP_HEADER + L2TP_HEADER + PPP_HEADER : 0;
    // The padded ESP payload (inner headers + packet + trailer, rounded up to the block).
    const paddedRoom = Math.floor((pathMtu - outerFixed) / esp.blockBytes) * esp.blockBytes;
    best = Math.min(best, paddedRoom - ESP_TRAILER - inner);
  }
  return Math.max(MIN_MTU, best);
}

/** The bytes the stack adds to every packet, for messages ("1500 − 98 bytes of overhead"). */
export function tunnelOverhead(encapsulation: Encapsulation): number {
  return (encapsulation.pathMtu ?? 1500) - computeTunnelMtu(encapsulation);
}

export type ProbeOutcome =
  /** The full MTU passed with DF set. */
  | { readonly kind: 'confirmed'; readonly mtu: number }
  /** Only a smaller size passed: use it. */
  | { readonly kind: 'smaller'; readonly mtu: number; readonly tried: number }
  /** The target doesn't answer even a small ping: nothing can be concluded. */
  | { readonly kind: 'inconclusive'; readonly reason: string };

export interface ProbeOptions {
  readonly runner: CommandRunner;
  readonly target: string;
  /** The MTU we applied and want confirmed. */
  readonly mtu: number;
  readonly signal: AbortSignal;
  /** Seconds each ping waits for its answer. Default 2. */
  readonly waitSeconds?: number;
}

/**
 * Finds the largest packet that passes to `target` with don't-fragment set (`ping -M do`):
 * one ping at the applied MTU when it passes; otherwise a binary search down to 576. At most
 * about 12 pings, each bounded by `waitSeconds`.
 */
export async function probePathMtu(options: ProbeOptions): Promise<ProbeOutcome> {
  const passes = (size: number): Promise<boolean> => pingDf(options, size);
  if (await passes(options.mtu)) return { kind: 'confirmed', mtu: options.mtu };
  if (!(await passes(MIN_MTU))) {
    return { kind: 'inconclusive', reason: `${options.target} did not answer a ${MIN_MTU}-byte ping with don't-fragment set` };
  }
  let low = MIN_MTU;
  let high = options.mtu - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (await passes(middle)) low = middle;
    else high = middle - 1;
  }
  return { kind: 'smaller', mtu: low, tried: options.mtu };
}

/** argv of one don't-fragment ping carrying a packet of `size` bytes (IP header included). */
export function dfPingArgv(target: string, size: number, waitSeconds = 2): string[] {
  return ['ping', '-n', '-q', '-M', 'do', '-c', '1', '-W', String(waitSeconds), '-s', String(size - ICMP_ECHO_OVERHEAD), target];
}

async function pingDf(options: ProbeOptions, size: number): Promise<boolean> {
  const result = await options.runner.run({
    argv: dfPingArgv(options.target, size, options.waitSeconds),
    okExitCodes: 'any',
    timeoutMs: ((options.waitSeconds ?? 2) + 5) * 1000,
    signal: options.signal,
  });
  options.signal.throwIfAborted();
  return result.exitCode === 0;
}
