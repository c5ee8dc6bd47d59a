/**
 * network.mtu: the largest packet that crosses the tunnel with don't-fragment set (the DF probe of
 * src/connect/mtu.ts, to the repository host) against the MTU in force, and MSS clamping advice.
 * A path that carries less than the tunnel's MTU silently drops big TCP segments: the classic
 * "connects, then hangs" backup.
 */
import { computeTunnelMtu, probePathMtu } from '../../../connect/mtu.js';
import { defaultProposals } from '../../../connect/cipher-policy.js';
import type { DoctorCheck, DoctorContext } from '../types.js';
import { jobHost } from './job-host.js';

/** The interface's MTU from /sys/class/net, or undefined when it can't be read. */
async function sysfsMtu(ctx: DoctorContext, interfaceName: string): Promise<number | undefined> {
  if (!/^[\w.-]+$/.test(interfaceName)) return undefined;
  try {
    const mtu = Number((await ctx.readText(`/sys/class/net/${interfaceName}/mtu`)).trim());
    return Number.isInteger(mtu) && mtu > 0 ? mtu : undefined;
  } catch {
    return undefined;
  }
}

export const tunnelMtuCheck: DoctorCheck = {
  id: 'network.mtu',
  title: 'MTU through the tunnel',
  group: 'network',
  scope: 'job',
  async run(ctx) {
    const profile = ctx.target.profile;
    const name = ctx.target.profileName ?? '';
    if (profile === undefined) return { status: 'skip', evidence: 'the job uses no VPN profile' };
    const host = jobHost(ctx.target.jobName, ctx.target.job);
    if (host === undefined) return { status: 'skip', evidence: 'the repository has no network host to probe' };
    if (ctx.platform !== 'linux') return { status: 'skip', evidence: 'the DF probe (ping -M do) runs on Linux only; macOS and Windows set the MTU their client negotiates' };
    const tunnel = await ctx.tunnel();
    if (!tunnel.ok) return { status: 'skip', evidence: 'the tunnel is not up (see network.tunnel)' };
    const computed = computeTunnelMtu({ type: profile.type, espProposals: profile.espProposals ?? defaultProposals[profile.type].esp, natTraversal: true });
    // What the interface really has (userspace ESP caps it at 1400), when the driver's status does not say.
    const interfaceMtu = tunnel.status.mtu ?? (tunnel.status.interfaceName === undefined ? undefined : await sysfsMtu(ctx, tunnel.status.interfaceName));
    const inForce = profile.mtu ?? interfaceMtu ?? computed;
    const source = profile.mtu !== undefined ? `profiles.${name}.mtu` : interfaceMtu !== undefined ? 'the tunnel interface' : 'computed from the encapsulation';
    const outcome = await probePathMtu({ runner: ctx.runner, target: host, mtu: inForce, signal: ctx.signal });
    const mss = (mtu: number): number => mtu - 40;
    if (outcome.kind === 'inconclusive') {
      return { status: 'warn', evidence: `MTU ${inForce} (${source}) not confirmed: ${outcome.reason}`, fix: `Allow ICMP echo to ${host} through the tunnel so the MTU can be measured, or set profiles.${name}.mtu and mssClamp: true by hand.` };
    }
    if (outcome.kind === 'smaller') {
      return {
        status: 'fail',
        evidence: `only ${outcome.mtu} bytes cross the tunnel to ${host} with don't-fragment set, but the MTU in force is ${outcome.tried} (${source}); larger packets are dropped on the path`,
        fix: `Set profiles.${name}.mtu: ${outcome.mtu} and profiles.${name}.mssClamp: true (TCP segments then stay at ${mss(outcome.mtu)} bytes). Something on the path to the gateway (PPPoE, a mobile link, a tunnel in a tunnel) carries less than 1500 bytes and drops fragments.`,
      };
    }
    const clamp = profile.mssClamp ? `MSS clamped to ${mss(inForce)}` : `mssClamp is off: fine while path MTU discovery works; set profiles.${name}.mssClamp: true if large transfers stall`;
    return { status: 'pass', evidence: `${inForce} bytes (${source}; computed ${computed}) cross the tunnel to ${host} with don't-fragment set; ${clamp}` };
  },
};
