/**
 * The verifying step shared by the Linux drivers: interface up, MTU applied and confirmed by a
 * don't-fragment probe, split routes and the repository host routed through the tunnel, and the
 * negotiated ESP cipher allowed by the policy. A failed check throws a TunnelError whose code and
 * message name that check and whose hint says what to do.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { CommandRunner } from '../os/command.js';
import { checkProposals, describeWeak, weakKernelAlgorithms } from './cipher-policy.js';
import { TunnelError, type DriverLog, type TunnelProfile, type TunnelStatus } from './driver.js';
import { firstHost, interfaces, routeGet, type RouteInfo } from './linux-net.js';
import { probePathMtu } from './mtu.js';

/** How a driver recognises "through the tunnel" and what MTU it expects. */
export interface TunnelShape {
  /** The tunnel's interface (ppp0, ipsec0), or undefined for kernel xfrm policies (IKEv2). */
  readonly interfaceName?: string;
  /** The tunnel's inner local address (PPP address, IKEv2 virtual IP). */
  readonly localAddress?: string;
  /** The MTU the driver computed or was told to use. */
  readonly expectedMtu: number;
  /** Whether ESP runs in the kernel (so `ip xfrm state` shows the negotiated algorithms). */
  readonly kernelEsp: boolean;
  /** Sets the interface MTU when the probe finds a smaller one (absent: nothing to set). */
  readonly applyMtu?: (mtu: number) => Promise<void>;
}

/** Routed through this tunnel: its interface, charon's table 220, or its inner source address. */
export function throughTunnel(route: RouteInfo | undefined, shape: TunnelShape): boolean {
  if (route === undefined) return false;
  if (shape.interfaceName !== undefined) return route.dev === shape.interfaceName;
  // Kernel xfrm policies (IKEv2) have no interface: charon's table 220, or the virtual IP as source.
  return route.table === '220' || (shape.localAddress !== undefined && route.prefsrc === shape.localAddress);
}

function describeRoute(route: RouteInfo | undefined): string {
  if (route === undefined) return 'no route';
  const via = route.gateway === undefined ? '' : ` via ${route.gateway}`;
  return `${route.dst}${via} dev ${route.dev ?? '?'}${route.table === 'main' ? '' : ` table ${route.table}`}`;
}

async function resolveHost(host: string): Promise<string | undefined> {
  if (isIP(host) !== 0) return host;
  try {
    return (await lookup(host, { family: 4 })).address;
  } catch {
    return undefined;
  }
}

export interface VerifyInput {
  readonly runner: CommandRunner;
  readonly profile: TunnelProfile;
  readonly status: TunnelStatus;
  readonly shape: TunnelShape;
  readonly repositoryHost: string | undefined;
  readonly signal: AbortSignal;
  readonly log: DriverLog;
  /** Seconds each MTU probe ping waits. */
  readonly probeWaitSeconds?: number;
}

/** Runs every check in order; the first failure throws. */
export async function verifyTunnel(input: VerifyInput): Promise<void> {
  const { runner, profile, shape, signal } = input;
  const fail: (check: string, message: string, hint: string) => never = (check, message, hint) => {
    throw new TunnelError(`verify.${check}`, `verify (${check}): ${message}`, hint);
  };

  // 1. interface up
  if (input.status.state !== 'up') fail('interface', `the ${profile.name} tunnel is ${input.status.state}`, 'The VPN dropped right after connecting: check the gateway and the credentials.');
  if (shape.interfaceName !== undefined) {
    const [link] = await interfaces(runner, signal, shape.interfaceName);
    if (link?.up !== true) {
      fail('interface', `the tunnel interface ${shape.interfaceName} is ${link === undefined ? 'missing' : 'down'}`, 'The tunnel came up but its interface vanished: the L2TP/PPP session ended. Run the job again; see the session log for pppd\'s reason.');
    }
  }

  // 2. split routes present
  for (const cidr of profile.routes) {
    const probe = firstHost(cidr);
    const route = await routeGet(runner, probe, signal);
    if (!throughTunnel(route, shape)) {
      fail('routes', `the split route ${cidr} does not go through the tunnel (ip route get ${probe}: ${describeRoute(route)})`,
        `Check profiles.${profile.name}.routes; another route for ${cidr} (a LAN or another VPN) may be more specific.`);
    }
  }

  // 3. the repository host routed through the tunnel
  let repositoryAddress: string | undefined;
  if (input.repositoryHost !== undefined) {
    repositoryAddress = await resolveHost(input.repositoryHost);
    if (repositoryAddress === undefined) {
      fail('repository-route', `the repository host ${input.repositoryHost} does not resolve`, 'Use the repository server\'s IP address, or make its name resolvable (the VPN may push DNS only for full tunnels).');
    }
    const route = await routeGet(runner, repositoryAddress, signal);
    const covered = profile.fullTunnel || profile.routes.length === 0 || throughTunnel(route, shape);
    if (!covered) {
      fail('repository-route', `the repository host ${input.repositoryHost} is not routed through the tunnel (ip route get ${repositoryAddress}: ${describeRoute(route)})`,
        `Add the repository's subnet to profiles.${profile.name}.routes, or use profile: direct if it is reachable without the VPN.`);
    }
  }

  // 4. MTU applied and confirmed by a don't-fragment probe
  let mtu = shape.expectedMtu;
  if (shape.interfaceName !== undefined) {
    const [link] = await interfaces(runner, signal, shape.interfaceName);
    const applied = link?.mtu ?? 0;
    if (applied > shape.expectedMtu) {
      fail('mtu', `${shape.interfaceName} has MTU ${applied}, larger than the ${shape.expectedMtu} the tunnel can carry`, `Set profiles.${profile.name}.mtu to ${shape.expectedMtu} or less, or remove it to let Backhaul compute it.`);
    }
    mtu = applied;
  }
  const target = repositoryAddress ?? (profile.routes[0] === undefined ? undefined : firstHost(profile.routes[0]));
  if (target === undefined) {
    input.log('info', `MTU ${mtu} (computed ${shape.expectedMtu}); no address to probe through the tunnel`);
  } else {
    const outcome = await probePathMtu({ runner, target, mtu, signal, ...(input.probeWaitSeconds === undefined ? {} : { waitSeconds: input.probeWaitSeconds }) });
    if (outcome.kind === 'confirmed') {
      input.log('info', `MTU ${mtu} confirmed by a don't-fragment probe to ${target} (computed from the encapsulation: ${shape.expectedMtu})`);
    } else if (outcome.kind === 'smaller') {
      input.log('warn', `MTU probe to ${target}: only ${outcome.mtu} bytes pass with don't-fragment set, not ${outcome.tried}; using the probe's value ${outcome.mtu}`);
      await shape.applyMtu?.(outcome.mtu);
    } else {
      input.log('info', `MTU ${mtu} not confirmed: ${outcome.reason}; keeping the computed value`);
    }
  }

  // 5. the negotiated cipher (kernel ESP only)
  if (shape.kernelEsp) {
    const state = await runner.run({ argv: ['ip', 'xfrm', 'state'], okExitCodes: 'any', timeoutMs: 10_000, signal });
    const weak = weakKernelAlgorithms(state.stdout);
    if (weak.length > 0 && (profile.cipherPolicy ?? 'strict') === 'strict') {
      fail('cipher', `the gateway negotiated ${weak.join(', ')} for ESP, which the cipher policy refuses`,
        `Configure the gateway for AES with SHA-256 or AES-GCM, or set profiles.${profile.name}.cipherPolicy: legacy if your policy allows it.`);
    }
  }
}

/** The cipher policy's verdict as a TunnelError, thrown before anything is sent to the gateway. */
export function assertCipherPolicy(profile: TunnelProfile): void {
  const verdict = checkProposals(profile.ikeProposals ?? [], profile.espProposals ?? [], profile.cipherPolicy ?? 'strict');
  if (verdict.ok) return;
  throw new TunnelError(
    'tunnel.weak-cipher',
    `profiles.${profile.name}: refused before contacting the gateway: ${describeWeak(verdict.weak)}`,
    `Use strong proposals such as aes256-sha256-modp2048 (IKE) and aes256-sha256 or aes256gcm16 (ESP). If the gateway can't do better and your policy allows it, set profiles.${profile.name}.cipherPolicy: legacy.`,
  );
}
