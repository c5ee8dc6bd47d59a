/**
 * The `macos` driver: macOS's own L2TP/IPsec or IKEv2 client, configured by a profile
 * (`macos-profile.ts`) and driven with `scutil --nc` (`../shared/reference/macos.md`). What it can
 * and can't do, honestly:
 * - it can't install the profile: since macOS 11 only a person (System Settings) or MDM can (§2).
 *   ensureProfile writes the file and fails with `tunnel.macos-profile-install` / `-update`, which
 *   says what to do; once `scutil --nc list` shows the service, the file (it holds the secrets) is
 *   deleted;
 * - secrets live in the profile (hence in the System keychain), never in argv: `scutil --nc start`
 *   takes `--password`/`--secret` only on the command line, visible to `ps` (§3), so they are not used;
 * - `scutil --nc start` returns once the request is accepted, not when the tunnel is up, and
 *   `status` exits 0 whatever the state: the driver polls the status word (§3);
 * - the tunnel interface comes from the extended status (`IPv4.InterfaceName`), never assumed
 *   ppp0 (§5); MTU with `ifconfig IF mtu N` (L2TP; IKEv2 takes the profile's MTU key) and split
 *   routes with `route -n add -net CIDR -interface IF`, journaled and removed at teardown;
 * - L2TP's payload has no cipher keys: the policy can't be enforced, so `cipherPolicy: strict`
 *   refuses such a profile and `legacy` allows it with a warning (`l2tpCipherVerdict`).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandResult, CommandRunner } from '../os/command.js';
import { defaultProposals } from './cipher-policy.js';
import {
  TunnelError,
  type ConnectOutcome,
  type DriverLog,
  type DriverResource,
  type ProfileChange,
  type ResourceJournal,
  type TunnelDriver,
  type TunnelProfile,
  type TunnelStatus,
} from './driver.js';
import { diagnoseMacos, macosError, type MacosEvidence } from './macos-errors.js';
import { generateProfile, versionOf, type GeneratedProfile } from './macos-profile.js';
import { parseNcList, parseNcStatus, type NcStatus } from './macos-scutil.js';
import { computeTunnelMtu } from './mtu.js';
import { assertCipherPolicy } from './tunnel-checks.js';

/** How often and how long the driver polls `scutil --nc status`. Tests pass small counts and no wait. */
export interface MacosPacing {
  readonly pollMs: number;
  /** Status reads while connecting (default 60 × 1 s). */
  readonly connectPolls: number;
  /** Status reads after `scutil --nc stop` (default 20 × 1 s). */
  readonly stopPolls: number;
}

export const defaultMacosPacing: MacosPacing = { pollMs: 1_000, connectPolls: 60, stopPolls: 20 };

export interface MacosOptions {
  readonly runner: CommandRunner;
  /** Backhaul's state dir: profiles go to `<stateDir>/macos` (0700), files 0600. */
  readonly stateDir: string;
  readonly log?: DriverLog;
  readonly pacing?: MacosPacing;
  /** The HMAC key of the profile version digest; default: `<stateDir>/macos/profile-key`, created once. */
  readonly profileKey?: Uint8Array;
}

/** Resource kinds this driver journals: a route it added, and the VPN service it started. */
export const MACOS_ROUTE = 'macos-route';
export const MACOS_SERVICE = 'macos-service';

/** Where the profile for `generated` is written for the person or MDM to install. */
export function profilePath(stateDir: string, generated: GeneratedProfile): string {
  return join(stateDir, 'macos', `${generated.identifier}.mobileconfig`);
}

/**
 * Whether an L2TP profile may be used under the cipher policy: macOS's L2TP payload has no cipher
 * keys (macos.md §1), so Backhaul can't choose or check the IPsec proposals macOS offers.
 */
export function l2tpCipherVerdict(profile: TunnelProfile): { readonly allowed: boolean; readonly message: string } {
  const message = `profiles.${profile.name}: macOS's L2TP/IPsec profile has no cipher settings, so Backhaul can't enforce the cipher policy: macOS chooses the IPsec proposals itself`;
  return { allowed: (profile.cipherPolicy ?? 'strict') === 'legacy', message };
}

/** The steps a person takes to install a generated profile. */
export function installSteps(path: string): string {
  return [
    `Install the profile ${path}:`,
    `copy it where you can open it (sudo cp '${path}' ~/Downloads/ && sudo chown "$USER" ~/Downloads/${path.split('/').pop() ?? ''}), open it,`,
    'then in System Settings → Privacy & Security → Profiles (macOS 15: General → Device Management) choose Install',
    '(open "x-apple.systempreferences:com.apple.Profiles-Settings.extension" opens that pane).',
    'Delete the copy afterwards: it holds the VPN\'s credentials.',
    'IT can sign it and deploy it through MDM instead. Then run the job again.',
  ].join(' ');
}

interface Active {
  readonly serviceName: string;
  readonly owned: boolean;
  readonly interfaceName?: string;
  readonly routes: readonly DriverResource[];
}

export function createMacosDriver(options: MacosOptions): TunnelDriver {
  const { runner } = options;
  const pacing = options.pacing ?? defaultMacosPacing;
  const log = options.log ?? (() => undefined);
  const dir = join(options.stateDir, 'macos');
  let key: Uint8Array | undefined = options.profileKey;
  let active: Active | undefined;

  const scutil = (argv: readonly string[], signal: AbortSignal): Promise<CommandResult> =>
    runner.run({ argv: ['scutil', '--nc', ...argv], okExitCodes: 'any', timeoutMs: 30_000, signal });

  const privateDir = async (): Promise<void> => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  };

  /** The per-machine digest key: read, or created once (exclusive create, so two agents agree). */
  const profileKey = async (): Promise<Uint8Array> => {
    if (key !== undefined) return key;
    const path = join(dir, 'profile-key');
    await privateDir();
    await writeFile(path, randomBytes(32), { mode: 0o600, flag: 'wx' }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    });
    key = await readFile(path);
    return key;
  };

  const generated = async (profile: TunnelProfile): Promise<GeneratedProfile> => generateProfile(profile, await profileKey());

  const fail = (profile: TunnelProfile, evidence: MacosEvidence): TunnelError => {
    const diagnosis = diagnoseMacos(evidence);
    log('warn', `scutil: ${diagnosis.raw}`);
    return macosError(profile.name, diagnosis);
  };

  const readStatus = async (profile: TunnelProfile, serviceName: string, signal: AbortSignal): Promise<NcStatus> => {
    const result = await scutil(['status', serviceName], signal);
    if (result.exitCode !== 0) throw fail(profile, { kind: 'command', verb: 'status', exitCode: result.exitCode, output: `${result.stderr}${result.stdout}` });
    return parseNcStatus(result.stdout);
  };

  const toTunnelStatus = (status: NcStatus): TunnelStatus => {
    const state = status.status === 'Connected' ? 'up'
      : status.status === 'Disconnected' ? 'down'
        : status.status === 'Connecting' || status.status === 'Disconnecting' ? 'connecting' : 'unknown';
    return {
      state,
      ...(state === 'up' && status.interfaceName !== undefined ? { interfaceName: status.interfaceName } : {}),
      ...(state === 'up' && status.lcpMtu !== undefined ? { mtu: status.lcpMtu } : {}),
      ...(state === 'up' && status.localAddress !== undefined ? { localAddress: status.localAddress } : {}),
    };
  };

  const wait = async (signal: AbortSignal): Promise<void> => {
    if (pacing.pollMs > 0) await sleep(pacing.pollMs, undefined, { signal });
  };

  /**
   * Polls until Connected, or until the attempt is over: Disconnected after it was seen
   * Connecting (or after three reads, since a just-accepted start may not show Connecting yet).
   */
  const awaitConnected = async (profile: TunnelProfile, serviceName: string, signal: AbortSignal): Promise<NcStatus> => {
    let seenConnecting = false;
    let last: NcStatus | undefined;
    for (let poll = 1; poll <= pacing.connectPolls; poll++) {
      last = await readStatus(profile, serviceName, signal);
      if (last.status === 'Connected') return last;
      if (last.status === 'Connecting') seenConnecting = true;
      const ended = last.status === 'Invalid' || last.status === 'unknown' || (last.status === 'Disconnected' && (seenConnecting || poll >= 3));
      if (ended) throw fail(profile, { kind: 'attempt', status: last, timedOut: false, type: profile.type });
      await wait(signal);
    }
    const status = last ?? parseNcStatus('');
    await scutil(['stop', serviceName], signal); // don't leave macOS trying in the background
    throw fail(profile, { kind: 'attempt', status, timedOut: true, type: profile.type });
  };

  const l2tpMtu = (profile: TunnelProfile): number =>
    profile.mtu ?? computeTunnelMtu({ type: 'l2tp', espProposals: profile.espProposals ?? defaultProposals.l2tp.esp, natTraversal: true });

  const removeRoute = async (resource: DriverResource, signal: AbortSignal): Promise<void> => {
    const [cidr, device] = resource.id.split(' ');
    if (cidr === undefined || device === undefined) return;
    // Gone already (the ppp interface went away and took its routes) is fine: any exit is accepted.
    await runner.run({ argv: ['route', '-n', 'delete', '-net', cidr, '-interface', device], okExitCodes: 'any', timeoutMs: 10_000, signal });
  };

  const stopService = async (profile: TunnelProfile, serviceName: string, signal: AbortSignal): Promise<void> => {
    const stop = await scutil(['stop', serviceName], signal);
    if (stop.exitCode !== 0) {
      const output = `${stop.stderr}${stop.stdout}`;
      if (/No service/.test(output)) return; // removed meanwhile: nothing left to stop
      // A tunnel that dropped by itself is already down; what stop says about it is not recorded.
      const now = await readStatus(profile, serviceName, signal).catch(() => undefined);
      if (now?.status === 'Disconnected') return;
      throw fail(profile, { kind: 'command', verb: 'stop', exitCode: stop.exitCode, output });
    }
    for (let poll = 1; poll <= pacing.stopPolls; poll++) {
      const status = await readStatus(profile, serviceName, signal).catch(() => undefined);
      if (status === undefined || status.status === 'Disconnected') return;
      await wait(signal);
    }
    log('warn', `${serviceName} was still not Disconnected after stopping it`);
  };

  /** Tunnel MTU and split routes on the interface macOS reported (L2TP's ppp device). */
  const applyNetwork = async (profile: TunnelProfile, status: NcStatus, journal: ResourceJournal, routes: DriverResource[], signal: AbortSignal): Promise<void> => {
    const device = status.interfaceName;
    if (device === undefined) {
      if (!profile.fullTunnel && profile.routes.length > 0) log('info', 'IKEv2: no tunnel interface reported; the split routes are the gateway\'s traffic selectors');
      return;
    }
    if (profile.type === 'l2tp') {
      const mtu = l2tpMtu(profile);
      // PPP may have negotiated less (LCPMTU); never raise it above what the link agreed.
      if (status.lcpMtu === undefined || status.lcpMtu > mtu) {
        const set = await runner.run({ argv: ['ifconfig', device, 'mtu', String(mtu)], okExitCodes: 'any', timeoutMs: 10_000, signal });
        if (set.exitCode !== 0) throw new TunnelError('tunnel.macos-mtu', `profile ${profile.name}: ifconfig could not set the MTU of ${device} to ${mtu}: ${set.stderr.trim()}`, `Run the agent as root (its launchd daemon does); set profiles.${profile.name}.mtu if the computed value is refused.`);
        log('info', `MTU ${mtu} set on ${device} (PPP had negotiated ${status.lcpMtu ?? 'an unknown MTU'})`);
      } else {
        log('info', `MTU ${status.lcpMtu} negotiated by PPP on ${device} kept (computed ${mtu})`);
      }
    }
    if (profile.fullTunnel) return;
    for (const cidr of profile.routes) {
      const resource: DriverResource = { kind: MACOS_ROUTE, id: `${cidr} ${device}` };
      await journal.acquire(resource);
      const add = await runner.run({ argv: ['route', '-n', 'add', '-net', cidr, '-interface', device], okExitCodes: 'any', timeoutMs: 10_000, signal });
      if (add.exitCode !== 0) {
        await journal.release(resource);
        throw new TunnelError('tunnel.macos-route', `profile ${profile.name}: route could not add ${cidr} via ${device}: ${`${add.stderr}${add.stdout}`.trim()}`,
          `Check profiles.${profile.name}.routes; another route for ${cidr} may exist (netstat -rn), and the agent must run as root.`);
      }
      routes.push(resource);
    }
  };

  return {
    name: 'macos',

    async ensureProfile(profile, signal): Promise<ProfileChange> {
      assertCipherPolicy(profile);
      if (profile.type === 'l2tp') {
        const verdict = l2tpCipherVerdict(profile);
        if (!verdict.allowed) {
          throw new TunnelError('tunnel.macos-l2tp-cipher-policy', `${verdict.message}; cipherPolicy strict allows only profiles whose ciphers Backhaul controls`,
            `Use an IKEv2 profile on this Mac (its ciphers are set in the profile), or, if your policy accepts what macOS negotiates, set profiles.${profile.name}.cipherPolicy: legacy.`);
        }
        log('warn', `${verdict.message}; allowed by cipherPolicy: legacy`);
      }
      const wanted = await generated(profile);
      const list = await scutil(['list'], signal);
      if (list.exitCode !== 0) throw fail(profile, { kind: 'command', verb: 'list', exitCode: list.exitCode, output: `${list.stderr}${list.stdout}` });
      const services = parseNcList(list.stdout);
      const path = profilePath(options.stateDir, wanted);
      const pendingPath = `${path}.pending`;
      if (services.some((service) => service.name === wanted.serviceName)) {
        const pending = await readFile(pendingPath, 'utf8').catch(() => undefined);
        // Installed: the file holds the VPN's secrets and has done its job.
        await rm(path, { force: true });
        await rm(pendingPath, { force: true });
        return pending === 'updated' ? 'updated' : pending === 'created' ? 'created' : 'unchanged';
      }
      const older = services.filter((service) => versionOf(service.name, profile.name) !== undefined).map((service) => service.name);
      await privateDir();
      await writeFile(path, wanted.xml, { mode: 0o600 });
      await chmod(path, 0o600);
      await writeFile(pendingPath, older.length > 0 ? 'updated' : 'created', { mode: 0o600 });
      const ikev2Note = profile.type === 'ikev2'
        ? ' Note: if this IKEv2 profile is already installed and still not found, macOS is not showing it to scutil (reported on some versions); Backhaul can\'t start it then.'
        : '';
      if (older.length > 0) {
        throw new TunnelError('tunnel.macos-profile-update', `profile ${profile.name}: the installed VPN (${older.join(', ')}) no longer matches the profile's settings (gateway, credentials or cipher policy); a new version ${wanted.serviceName} is at ${path}, and macOS needs a person or MDM to install it`,
          `${installSteps(path)} Installing it replaces the old version.${ikev2Note}`);
      }
      throw new TunnelError('tunnel.macos-profile-install', `profile ${profile.name}: macOS has no VPN ${wanted.serviceName} yet; Backhaul generated its profile at ${path}, and macOS needs a person or MDM to install it`,
        `${installSteps(path)}${ikev2Note}`);
    },

    async connect(profile, signal, journal): Promise<ConnectOutcome> {
      assertCipherPolicy(profile);
      const { serviceName } = await generated(profile);
      const before = await readStatus(profile, serviceName, signal);
      if (before.status === 'Connected') {
        active = { serviceName, owned: false, ...(before.interfaceName === undefined ? {} : { interfaceName: before.interfaceName }), routes: [] };
        log('info', `the ${profile.name} VPN (${serviceName}) was already connected: using it and leaving it up`);
        return { broughtUp: false, status: toTunnelStatus(before) };
      }
      const service: DriverResource = { kind: MACOS_SERVICE, id: serviceName };
      await journal.acquire(service);
      const start = await scutil(['start', serviceName], signal);
      if (start.exitCode !== 0) {
        await journal.release(service);
        throw fail(profile, { kind: 'command', verb: 'start', exitCode: start.exitCode, output: `${start.stderr}${start.stdout}` });
      }
      let status: NcStatus;
      try {
        status = await awaitConnected(profile, serviceName, signal);
        if (profile.type === 'l2tp' && status.interfaceName === undefined) {
          await stopService(profile, serviceName, signal);
          throw fail(profile, { kind: 'no-interface', status });
        }
      } catch (error) {
        // A failed attempt is over (Disconnected) or was stopped above: nothing of ours is left up.
        await journal.release(service);
        throw error;
      }
      const routes: DriverResource[] = [];
      try {
        await applyNetwork(profile, status, journal, routes, signal);
      } catch (error) {
        // connect() fails, so the session won't call disconnect(): undo here what this attempt did.
        for (const route of routes) {
          await removeRoute(route, signal);
          await journal.release(route);
        }
        await stopService(profile, serviceName, signal);
        await journal.release(service);
        throw error;
      }
      active = { serviceName, owned: true, ...(status.interfaceName === undefined ? {} : { interfaceName: status.interfaceName }), routes };
      return { broughtUp: true, status: toTunnelStatus(status) };
    },

    async status(profile, signal): Promise<TunnelStatus> {
      const serviceName = active?.serviceName ?? (await generated(profile)).serviceName;
      const result = await scutil(['status', serviceName], signal);
      if (result.exitCode !== 0) return { state: 'unknown' };
      return toTunnelStatus(parseNcStatus(result.stdout));
    },

    async verify(profile, _repositoryHost, signal): Promise<void> {
      const serviceName = active?.serviceName ?? (await generated(profile)).serviceName;
      const status = await readStatus(profile, serviceName, signal);
      if (status.status !== 'Connected') {
        throw new TunnelError('verify.interface', `verify (interface): the ${profile.name} VPN is ${status.firstLine || 'not connected'}`, 'The VPN dropped right after connecting: check the gateway and the credentials.');
      }
      if (profile.type === 'l2tp' && status.interfaceName !== active?.interfaceName) {
        throw new TunnelError('verify.interface', `verify (interface): the ${profile.name} VPN moved from ${active?.interfaceName ?? 'no interface'} to ${status.interfaceName ?? 'no interface'}`, 'The PPP session was re-established underneath: run the job again.');
      }
    },

    async disconnect(profile, signal, journal): Promise<void> {
      const current = active ?? { serviceName: (await generated(profile)).serviceName, owned: true, routes: [] };
      for (const route of current.routes) {
        await removeRoute(route, signal);
        await journal.release(route);
      }
      await stopService(profile, current.serviceName, signal);
      await journal.release({ kind: MACOS_SERVICE, id: current.serviceName });
      active = undefined;
    },

    async cleanUp(leftovers, signal): Promise<void> {
      // Routes first (they name the interface), then the service that carried them.
      for (const resource of leftovers.resources.filter((item) => item.kind === MACOS_ROUTE)) await removeRoute(resource, signal);
      const services = leftovers.resources.filter((item) => item.kind === MACOS_SERVICE).map((item) => item.id);
      for (const serviceName of services) await scutil(['stop', serviceName], signal);
    },
  };
}
