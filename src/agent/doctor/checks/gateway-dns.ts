/** network.gateway-dns: every gateway name resolves (through the injected resolver). */
import { isIP } from 'node:net';
import type { DoctorCheck, DoctorContext } from '../types.js';

/** The gateway's addresses, resolved once per target; empty when it does not resolve. */
export function gatewayAddresses(ctx: DoctorContext, gateway: string): Promise<{ readonly addresses: readonly string[]; readonly error?: string }> {
  if (isIP(gateway) !== 0) return Promise.resolve({ addresses: [gateway] });
  return ctx.once(`dns:${gateway}`, async () => {
    try {
      const addresses = await ctx.resolveHost(gateway);
      return addresses.length > 0 ? { addresses } : { addresses: [], error: 'no addresses' };
    } catch (error) {
      return { addresses: [], error: (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error)) };
    }
  });
}

export const gatewayDnsCheck: DoctorCheck = {
  id: 'network.gateway-dns',
  title: 'Gateway resolvable',
  group: 'network',
  scope: 'profile',
  async run(ctx) {
    const gateways = ctx.target.profile?.gateways ?? [];
    const lines: string[] = [];
    let failed = 0;
    for (const gateway of gateways) {
      const found = await gatewayAddresses(ctx, gateway);
      if (found.addresses.length === 0) failed += 1;
      lines.push(isIP(gateway) !== 0 ? `${gateway} is an address` : found.addresses.length > 0 ? `${gateway} → ${found.addresses.join(', ')}` : `${gateway} does not resolve (${found.error ?? 'no addresses'})`);
    }
    const fix = `Check the names in profiles.${ctx.target.profileName ?? ''}.gateways and this machine's DNS (a gateway name may resolve only on some networks; an address avoids that).`;
    if (failed === gateways.length) return { status: 'fail', evidence: lines.join('; '), fix };
    if (failed > 0) return { status: 'warn', evidence: lines.join('; '), fix };
    return { status: 'pass', evidence: lines.join('; ') };
  },
};
