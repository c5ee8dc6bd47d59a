/**
 * network.ike-500 / network.ike-4500: a real IKE_SA_INIT to each gateway on UDP 500, and on 4500
 * with the non-ESP marker, and any IKE answer (a response, NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD)
 * counts: an IKE daemon got our packet. The probe offers the profile's proposals the strict policy
 * accepts (Backhaul's defaults when none is), so a weak proposal never goes on the wire.
 */
import { checkProposals, defaultProposals } from '../../../connect/cipher-policy.js';
import { NOTIFY } from '../ike-packet.js';
import type { IkeProbeResult } from '../ike-probe.js';
import type { DoctorCheck, DoctorContext } from '../types.js';
import { gatewayAddresses } from './gateway-dns.js';

/** The proposals a probe may send for this target. */
export function probeProposals(ctx: DoctorContext): readonly string[] {
  const profile = ctx.target.profile;
  const type = profile?.type ?? 'ikev2';
  // An L2TP profile's proposals are IKEv1's; IKEv2 can carry them the same way.
  const strong = (profile?.ikeProposals ?? []).filter((p) => checkProposals([p], [], 'strict').ok);
  return strong.length > 0 ? strong : defaultProposals[type === 'l2tp' ? 'ikev2' : type].ike;
}

/** The probe of one gateway address on one port, once per target. */
export function ikeAnswer(ctx: DoctorContext, address: string, port: 500 | 4500): Promise<IkeProbeResult> {
  return ctx.once(`ike:${address}:${port}`, () => ctx.ikeProbe({ address, port, proposals: probeProposals(ctx) }, ctx.signal));
}

const NOTIFY_NAMES: Readonly<Record<number, string>> = {
  [NOTIFY.noProposalChosen]: 'NO_PROPOSAL_CHOSEN',
  [NOTIFY.invalidKePayload]: 'INVALID_KE_PAYLOAD',
  [NOTIFY.cookie]: 'COOKIE',
};

export function describeAnswer(result: IkeProbeResult): string {
  if (result.kind === 'silent') return `no answer within ${result.waitedMs / 1000} s (3 tries)`;
  if (result.kind === 'refused') return `refused (${result.code}: an ICMP error came back)`;
  if (result.response.accepted) return 'IKE_SA_INIT response, proposal accepted';
  const named = result.response.notifies.map((n) => NOTIFY_NAMES[n.type] ?? `notify ${n.type}`);
  return `answered with ${named.length > 0 ? named.join(', ') : 'an IKE_SA_INIT response'}`;
}

function portCheck(port: 500 | 4500): DoctorCheck {
  return {
    id: `network.ike-${port}`,
    title: `UDP ${port} reaches the gateway's IKE`,
    group: 'network',
    scope: 'profile',
    async run(ctx) {
      const profile = ctx.target.profile;
      const lines: string[] = [];
      let answered = 0;
      const probed: string[] = [];
      for (const gateway of profile?.gateways ?? []) {
        const [address] = (await gatewayAddresses(ctx, gateway)).addresses;
        if (address === undefined) {
          lines.push(`${gateway}: not probed (does not resolve)`);
          continue;
        }
        probed.push(address);
        const result = await ikeAnswer(ctx, address, port);
        if (result.kind === 'answered') answered += 1;
        lines.push(`${gateway}${address === gateway ? '' : ` (${address})`}: ${describeAnswer(result)}`);
      }
      const evidence = lines.join('; ');
      if (probed.length === 0) return { status: 'skip', evidence: `${evidence || 'no gateway'}: nothing to probe` };
      const why = port === 4500
        ? 'UDP 4500 carries IKE and ESP once a NAT is detected (NAT-T); without it the tunnel fails after the first exchange.'
        : 'UDP 500 starts every IKE exchange.';
      const fix = `${why} Allow UDP ${port} outbound to the gateway on this network's firewall and on the gateway's; check the gateway's IKE daemon runs.`;
      if (answered === probed.length) return { status: 'pass', evidence };
      // IKEv1-only gateways (L2TP/IPsec) may ignore an IKEv2 packet: no answer is then no proof —
      // unless the same gateway answered IKEv2 on UDP 500 (strongSwan, libreswan and most routers
      // run both versions in one daemon): then the silence on 4500 is the port, not the protocol.
      if (answered === 0 && profile?.type === 'l2tp') {
        const speaksIkev2 = port === 4500 && (await answersOn500(ctx, probed));
        if (!speaksIkev2) return { status: 'warn', evidence: `${evidence} (the probe speaks IKEv2; an IKEv1-only L2TP gateway may ignore it)`, fix };
        return { status: 'fail', evidence: `${evidence} (the same gateway answers IKEv2 on UDP 500, so UDP 4500 is blocked on the way)`, fix };
      }
      return { status: answered === 0 ? 'fail' : 'warn', evidence, fix };
    },
  };
}

/** Whether any of these gateway addresses answered the IKEv2 probe on UDP 500 (the probe is shared with network.ike-500). */
async function answersOn500(ctx: DoctorContext, addresses: readonly string[]): Promise<boolean> {
  for (const address of addresses) {
    if ((await ikeAnswer(ctx, address, 500)).kind === 'answered') return true;
  }
  return false;
}

export const ike500Check = portCheck(500);
export const ike4500Check = portCheck(4500);
