import { createDirectDriver } from '../connect/direct.js';
import type { TunnelDriver, TunnelProfile } from '../connect/driver.js';
import type { Config } from '../config/schema.js';
import type { CommandRunner } from '../os/command.js';
import type { SecretRedactor } from '../os/redact.js';

/** What choosing and preparing a tunnel needs from the agent. */
export interface TunnelPlanContext {
  readonly config: Config;
  readonly runner: CommandRunner;
  readonly redactor: SecretRedactor;
  readonly stateDir: string;
}

export interface TunnelPlan {
  readonly driver: TunnelDriver;
  readonly profile: TunnelProfile;
}

/** A user-facing problem choosing the tunnel: stable code, message, hint. */
export class TunnelPlanError extends Error {
  override readonly name = 'TunnelPlanError';
  constructor(
    readonly code: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

const noTunnel: TunnelProfile = { name: 'direct', type: 'l2tp', gateways: [], routes: [], fullTunnel: false };

/**
 * The driver and the driver-ready profile for a job's `profile` key: `direct` needs no tunnel;
 * a named profile gets the native client that `selectDriver` picks for this host.
 */
export function planTunnel(_ctx: TunnelPlanContext, jobName: string, profileName: string): Promise<TunnelPlan> {
  if (profileName === 'direct') return Promise.resolve({ driver: createDirectDriver(), profile: noTunnel });
  return Promise.reject(
    new TunnelPlanError(
      'tunnel.driver-unavailable',
      `jobs.${jobName}.profile is "${profileName}", but this version has no VPN driver yet`,
      'Use profile: direct for a repository reachable without a VPN.',
    ),
  );
}
