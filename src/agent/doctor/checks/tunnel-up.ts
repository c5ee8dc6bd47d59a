/** network.tunnel: the profile's tunnel comes up (doctor brings it up with the real driver and takes it down after). */
import type { DoctorCheck } from '../types.js';

export const tunnelUpCheck: DoctorCheck = {
  id: 'network.tunnel',
  title: 'Tunnel comes up',
  group: 'network',
  scope: 'profile',
  async run(ctx) {
    const tunnel = await ctx.tunnel();
    if (!tunnel.ok) return { status: 'fail', evidence: `${tunnel.code}: ${tunnel.message}`, fix: tunnel.hint };
    const s = tunnel.status;
    const details = [s.interfaceName === undefined ? '' : `on ${s.interfaceName}`, s.localAddress === undefined ? '' : `address ${s.localAddress}`, s.mtu === undefined ? '' : `MTU ${s.mtu}`].filter((x) => x !== '');
    return { status: 'pass', evidence: `up with the ${tunnel.driver.name} driver${details.length > 0 ? ` (${details.join(', ')})` : ''}` };
  },
};
