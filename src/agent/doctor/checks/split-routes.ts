/**
 * network.routes: the repository's host is inside one of the profile's split routes (or the
 * profile is a full tunnel) — otherwise its traffic goes around the tunnel, or nowhere.
 */
import { ipv4InCidr } from '../../../os/ipv4.js';
import type { DoctorCheck } from '../types.js';
import { gatewayAddresses } from './gateway-dns.js';
import { jobHost } from './job-host.js';

export const splitRoutesCheck: DoctorCheck = {
  id: 'network.routes',
  title: 'Split routes cover the repository',
  group: 'network',
  scope: 'job',
  async run(ctx) {
    const profile = ctx.target.profile;
    const name = ctx.target.profileName ?? '';
    if (profile === undefined) return { status: 'skip', evidence: 'the job uses no VPN profile' };
    const host = jobHost(ctx.target.jobName, ctx.target.job);
    if (host === undefined) return { status: 'skip', evidence: 'the repository has no network host' };
    if (profile.fullTunnel) return { status: 'pass', evidence: `profiles.${name}.fullTunnel: everything, ${host} included, goes through the tunnel` };
    const { addresses, error } = await gatewayAddresses(ctx, host);
    if (addresses.length === 0) return { status: 'fail', evidence: `${host} does not resolve (${error ?? 'no addresses'})`, fix: 'Check the repository host name, or use its address in the repository URL.' };
    const routes = profile.routes;
    const outside = addresses.filter((a) => !routes.some((cidr) => ipv4InCidr(a, cidr)));
    const hostText = `${host}${addresses[0] === host ? '' : ` (${addresses.join(', ')})`}`;
    if (outside.length === 0) return { status: 'pass', evidence: `${hostText} is inside ${routes.join(', ')}` };
    return {
      status: 'fail',
      evidence: `${hostText}: ${outside.join(', ')} is outside the routes of profiles.${name} (${routes.length > 0 ? routes.join(', ') : 'none'})`,
      fix: `Add ${outside.map((a) => `${a}/32`).join(', ')} (or its subnet) to profiles.${name}.routes, and make sure the gateway hands out that network (its traffic selectors).`,
    };
  },
};
