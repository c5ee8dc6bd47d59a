/**
 * network.nat-t: whether a NAT sits between this machine and the gateway, from the gateway's own
 * NAT_DETECTION notifies in its answer on UDP 500 (RFC 7296 §2.23), and whether NAT traversal can
 * work: UDP 4500 must answer, and Windows needs its AssumeUDPEncapsulationContextOnSendRule.
 * strongSwan (linux-swan, linux-nm) and macOS switch to UDP 4500 by themselves.
 */
import { checkNattRule } from '../../../connect/windows-natt.js';
import type { DoctorCheck } from '../types.js';
import { gatewayAddresses } from './gateway-dns.js';
import { ikeAnswer } from './ike-reachable.js';

export const natTraversalCheck: DoctorCheck = {
  id: 'network.nat-t',
  title: 'NAT detected and NAT-T on',
  group: 'network',
  scope: 'profile',
  async run(ctx) {
    const gateway = ctx.target.profile?.gateways[0] ?? '';
    const [address] = (await gatewayAddresses(ctx, gateway)).addresses;
    if (address === undefined) return { status: 'skip', evidence: `${gateway} does not resolve` };
    const answer = await ikeAnswer(ctx, address, 500);
    if (answer.kind !== 'answered') return { status: 'skip', evidence: `no IKE answer on UDP 500 from ${gateway}, so no NAT_DETECTION notifies to compare (see network.ike-500)` };
    if (answer.natLocal === undefined) {
      return { status: 'skip', evidence: `${gateway}'s answer carried no NAT_DETECTION notifies (it refused the proposal before computing them); NAT unknown` };
    }
    const behind = [answer.natLocal ? `this machine (${answer.local.address}) is behind a NAT` : '', answer.natRemote === true ? 'the gateway reports its own address as translated (a NAT in front of it, or a gateway forcing UDP encapsulation, as strongSwan does with encap=yes or userspace ESP)' : ''].filter((s) => s !== '');
    if (behind.length === 0) return { status: 'pass', evidence: `no NAT between ${answer.local.address} and ${address} (the gateway's NAT_DETECTION hashes match); NAT-T not needed` };
    const found = `NAT detected: ${behind.join('; ')}`;
    const on4500 = await ikeAnswer(ctx, address, 4500);
    if (on4500.kind !== 'answered') {
      return { status: 'fail', evidence: `${found}, but UDP 4500 to ${address} gets no IKE answer`, fix: 'Behind a NAT, IKE and ESP move to UDP 4500 (NAT-T): allow UDP 4500 outbound to the gateway, and on the gateway.' };
    }
    if (ctx.platform === 'win32' && ctx.target.profile?.type === 'l2tp') {
      const rule = await checkNattRule(ctx.runner, ctx.signal);
      if (!rule.ok) return { status: 'fail', evidence: `${found}; UDP 4500 answers, but ${rule.explanation.split(':')[0] ?? ''}`, fix: rule.explanation };
    }
    return { status: 'pass', evidence: `${found}; UDP 4500 answers, and the ${ctx.platform === 'darwin' ? 'macOS' : ctx.platform === 'win32' ? 'Windows' : 'strongSwan'} client switches to NAT-T by itself` };
  },
};
