import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { checkProposals, defaultProposals, describeWeak } from '../connect/cipher-policy.js';
import { createDirectDriver } from '../connect/direct.js';
import type { DriverLog, TunnelAuth, TunnelDriver, TunnelProfile } from '../connect/driver.js';
import { probeHost, type HostFacts } from '../connect/host-probe.js';
import { createLinuxNmDriver } from '../connect/linux-nm.js';
import { createLinuxSwanDriver } from '../connect/linux-swan.js';
import { createMacosDriver } from '../connect/macos.js';
import { selectDriver } from '../connect/select.js';
import { createWindowsDriver } from '../connect/windows.js';
import { filePskMemory } from '../connect/windows-psk.js';
import type { AuthConfig, Config, ProfileConfig } from '../config/schema.js';
import type { CommandRunner } from '../os/command.js';
import type { SecretRedactor } from '../os/redact.js';
import type { SecretStore } from '../os/secret-store.js';
import { resolveSecret } from '../os/secrets.js';

/** What choosing and preparing a tunnel needs from the agent. */
export interface TunnelPlanContext {
  readonly config: Config;
  readonly runner: CommandRunner;
  readonly redactor: SecretRedactor;
  /** Where the profile's `keychain:` secrets are looked up. */
  readonly secretStore?: SecretStore | undefined;
  readonly stateDir: string;
  /** Session-log lines from the driver (MTU decisions, cipher warnings). */
  readonly log?: DriverLog;
  /**
   * How the agent runs: `system` (an OS service, the default) or `user`. Windows keeps a user's VPN
   * entries in a per-user phone book, which a service can't see, and vice versa.
   */
  readonly agentMode?: 'user' | 'system';
  /** What the host has; default: probe it through the runner. */
  readonly probe?: (signal: AbortSignal) => Promise<HostFacts>;
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

/** How long probing the host may take (a dozen short commands). */
const PROBE_TIMEOUT_MS = 60_000;

/**
 * The driver and the driver-ready profile for a job's `profile` key: `direct` needs no tunnel; a
 * named profile is checked against the cipher policy (before anything else, so a weak proposal
 * never reaches a gateway), its secrets are resolved (each registered with the redactor), the host
 * is probed, and the native client that `selectDriver` picks (or the profile's `driver`) is built.
 */
export async function planTunnel(ctx: TunnelPlanContext, jobName: string, profileName: string): Promise<TunnelPlan> {
  if (profileName === 'direct') return { driver: createDirectDriver(), profile: noTunnel };
  const config = ctx.config.profiles[profileName];
  if (config === undefined) {
    throw new TunnelPlanError('config.unknown-profile', `jobs.${jobName}.profile is "${profileName}", but there is no such profile`, 'Add it under profiles:, or use profile: direct.');
  }
  const ike = config.ikeProposals ?? defaultProposals[config.type].ike;
  const esp = config.espProposals ?? defaultProposals[config.type].esp;
  const verdict = checkProposals(ike, esp, config.cipherPolicy);
  if (!verdict.ok) {
    throw new TunnelPlanError(
      'tunnel.weak-cipher',
      `profiles.${profileName}: refused before contacting the gateway: ${describeWeak(verdict.weak)}`,
      `Use strong proposals such as aes256-sha256-modp2048 (IKE) and aes256-sha256 or aes256gcm16 (ESP). If the gateway can't do better and your policy allows it, set profiles.${profileName}.cipherPolicy: legacy.`,
    );
  }
  if (verdict.weak.length > 0) ctx.log?.('warn', `profiles.${profileName} uses weak ciphers, allowed by cipherPolicy: legacy: ${describeWeak(verdict.weak)}`);
  if (config.auth.method === 'psk') {
    ctx.log?.('warn', `profiles.${profileName} authenticates with a pre-shared key; certificates are recommended (a PSK is shared by every client, and NetworkManager-l2tp keeps it in /etc/ipsec.d while connected)`);
  }

  const profile: TunnelProfile = {
    name: profileName,
    type: config.type,
    gateways: config.gateways,
    ...(config.mtu === undefined ? {} : { mtu: config.mtu }),
    routes: config.routes,
    fullTunnel: config.fullTunnel,
    auth: await resolveAuth(profileName, config.auth, ctx.redactor, ctx.secretStore),
    ikeProposals: ike,
    espProposals: esp,
    cipherPolicy: config.cipherPolicy,
    keepalive: { intervalSeconds: config.keepaliveSeconds, failures: config.keepaliveFailures },
    mssClamp: config.mssClamp,
  };
  const host = await (ctx.probe ?? ((signal) => probeHost(ctx.runner, signal)))(AbortSignal.timeout(PROBE_TIMEOUT_MS));
  return { driver: buildDriver(ctx, host, profileName, config), profile };
}

function buildDriver(ctx: TunnelPlanContext, host: HostFacts, profileName: string, config: ProfileConfig): TunnelDriver {
  let name = config.driver === 'auto' ? undefined : config.driver;
  if (name === undefined) {
    const selection = selectDriver(host, config.type);
    if (!selection.ok) throw new TunnelPlanError('tunnel.driver-unavailable', `profiles.${profileName}: ${selection.reason}`, selection.hint);
    if (selection.driver === 'windows') return windowsDriver(ctx);
    if (selection.driver === 'macos') return createMacosDriver({ runner: ctx.runner, stateDir: ctx.stateDir, ...(ctx.log === undefined ? {} : { log: ctx.log }) });
    if (selection.driver !== 'linux-nm' && selection.driver !== 'linux-swan') {
      throw new TunnelPlanError('tunnel.driver-unavailable', `profiles.${profileName}: the ${selection.driver} VPN driver is not part of this version`, 'Use profile: direct for a repository reachable without a VPN.');
    }
    name = selection.driver;
  } else if (host.platform !== 'linux') {
    throw new TunnelPlanError('tunnel.driver-unavailable', `profiles.${profileName}.driver is ${name}, which runs on Linux only`, 'Remove driver: (or set it to auto).');
  }
  const log = ctx.log ?? (() => undefined);
  return name === 'linux-nm'
    ? createLinuxNmDriver({ runner: ctx.runner, host, log })
    : createLinuxSwanDriver({ runner: ctx.runner, host, stateDir: ctx.stateDir, log });
}

/**
 * The windows driver: the all-users phone book unless the agent runs as a user, and the hash of
 * the PSK it last wrote kept under the state dir, since Windows never shows a PSK back.
 */
function windowsDriver(ctx: Pick<TunnelPlanContext, 'runner' | 'stateDir' | 'log' | 'agentMode'>): TunnelDriver {
  return createWindowsDriver({
    runner: ctx.runner,
    phoneBook: ctx.agentMode === 'user' ? 'per-user' : 'all-users',
    pskMemory: filePskMemory(join(ctx.stateDir, 'tunnels')),
    ...(ctx.log === undefined ? {} : { log: ctx.log }),
  });
}

/** The profile's auth with every secret resolved and registered with the redactor. */
async function resolveAuth(profileName: string, auth: AuthConfig, redactor: SecretRedactor, store: SecretStore | undefined): Promise<TunnelAuth> {
  const at = `profiles.${profileName}.auth`;
  const common = {
    ...(auth.username === undefined ? {} : { username: auth.username }),
    ...(auth.password === undefined ? {} : { password: await resolveSecret(auth.password, { redactor, store }) }),
    ...(auth.remoteId === undefined ? {} : { remoteId: auth.remoteId }),
  };
  if (auth.method === 'psk') return { method: 'psk', psk: await resolveSecret(auth.psk, { redactor, store }), ...common };
  if (auth.key === undefined || auth.key.kind !== 'file') {
    throw new TunnelPlanError('config.missing-key', `${at}.key is required for certificate auth: a file: reference to the certificate's private key`,
      `Add key: file:/path/to/client.key (mode 0600) to ${at}.`);
  }
  await mustRead(`${at}.certificate`, auth.certificate);
  if (auth.ca !== undefined) await mustRead(`${at}.ca`, auth.ca);
  return {
    method: 'certificate',
    certificate: auth.certificate,
    keyPath: auth.key.path,
    key: await resolveSecret(auth.key, { redactor, store }),
    ...(auth.ca === undefined ? {} : { ca: auth.ca }),
    ...common,
  };
}

async function mustRead(key: string, path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new TunnelPlanError('config.certificate-missing', `${key}: ${path} does not exist or can't be read`, `Check the path in ${key}.`);
  }
}

/** Host facts for a driver that only cleans up: no probe needed, every removal tolerates absence. */
const cleanUpHost: HostFacts = {
  platform: 'linux',
  networkManagerRunning: true,
  networkManagerPlugins: ['l2tp', 'strongswan'],
  hasStrongSwan: true,
  hasXl2tpd: true,
  kernelEsp: true,
  kernelL2tp: true,
  userspaceEsp: true,
  nmL2tpAuthDialog: true,
};

/**
 * The driver that removes what a crashed session of `driverName` left (for crash recovery's
 * `driverFor`): its `cleanUp` works from the journaled resources alone.
 */
export function driverForCleanUp(driverName: string, ctx: Pick<TunnelPlanContext, 'runner' | 'stateDir' | 'agentMode'>): TunnelDriver | undefined {
  switch (driverName) {
    case 'direct':
      return createDirectDriver();
    case 'linux-nm':
      return createLinuxNmDriver({ runner: ctx.runner, host: cleanUpHost });
    case 'linux-swan':
      return createLinuxSwanDriver({ runner: ctx.runner, host: cleanUpHost, stateDir: ctx.stateDir });
    case 'macos':
      return createMacosDriver({ runner: ctx.runner, stateDir: ctx.stateDir });
    case 'windows':
      return windowsDriver(ctx);
    default:
      return undefined;
  }
}
