/**
 * The DNS questions the scheduler asks before an attempt counts: does a gateway of the job's
 * profile resolve (`requireGatewayDns`), and after a wake-up, is the network back — the host the
 * run talks to first resolves. An IP address or a local repository needs no DNS: always yes.
 */
import { isIP } from 'node:net';
import { DIRECT_PROFILE, type Config } from '../../config/schema.js';
import { jobEndpoint } from '../job-endpoint.js';

export type Lookup = (host: string) => Promise<unknown>;

async function resolves(host: string, lookup: Lookup): Promise<boolean> {
  if (isIP(host.replace(/^\[|\]$/g, '')) !== 0) return true;
  return lookup(host).then(() => true, () => false);
}

/** The profile's gateways: one that resolves is enough (failover tries the others). */
export async function gatewayResolves(config: Config, job: string, lookup: Lookup): Promise<boolean> {
  const profileName = config.jobs[job]?.profile ?? DIRECT_PROFILE;
  const profile = config.profiles[profileName];
  if (profile === undefined) return true;
  for (const gateway of profile.gateways) if (await resolves(gateway, lookup)) return true;
  return false;
}

/** The first host the job needs: its gateway through a tunnel, else the repository or SSH host. */
export async function networkReady(config: Config, job: string, lookup: Lookup): Promise<boolean> {
  const settings = config.jobs[job];
  if (settings === undefined) return true;
  if (settings.profile !== DIRECT_PROFILE) return gatewayResolves(config, job, lookup);
  const endpoint = jobEndpoint(job, settings);
  return endpoint.kind === 'tcp' ? resolves(endpoint.host, lookup) : true;
}
