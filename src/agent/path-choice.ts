/**
 * "Where am I": a job with `tunnel: whenNeeded` goes direct when its repository answers without
 * the VPN (the laptop is on the office LAN) and through its profile otherwise. Decided in
 * preflight by one short TCP connect to the endpoint, before any tunnel exists, and kept in the
 * session's history record with the reason, so "why did last night's run not use the VPN?" has an
 * answer.
 */
import type { RepositoryEndpoint } from '../backup/repository.js';

/** Which way a session reached its repository, and why. */
export interface PathChoice {
  readonly via: 'direct' | 'tunnel';
  readonly reason: string;
}

/** Long enough for a LAN or a nearby server, short enough not to stall every run away from the office. */
export const REACHABILITY_TIMEOUT_MS = 3_000;

export type TcpProbe = (host: string, port: number, timeoutMs: number, signal?: AbortSignal) => Promise<void>;

/**
 * Tries the endpoint without the tunnel. Only a completed connect counts: a refusal may come from
 * anything on the way (a captive portal, a hotel firewall), and the tunnel's own verifying will
 * say so if the server really refuses. A repository that is not a network address is always
 * reached through the tunnel (there is nothing to probe).
 */
export async function choosePath(endpoint: RepositoryEndpoint, probe: TcpProbe, signal?: AbortSignal): Promise<PathChoice> {
  if (endpoint.kind !== 'tcp') return { via: 'tunnel', reason: 'the repository is not a network address, so there is nothing to try without the tunnel' };
  const where = `${endpoint.host}:${endpoint.port}`;
  try {
    await probe(endpoint.host, endpoint.port, REACHABILITY_TIMEOUT_MS, signal);
    return { via: 'direct', reason: `${where} answered without the tunnel` };
  } catch (error) {
    signal?.throwIfAborted();
    const said = typeof error === 'object' && error !== null && 'reason' in error && typeof error.reason === 'string' ? error.reason : String(error);
    return { via: 'tunnel', reason: `${where} did not answer without the tunnel (${said})` };
  }
}
