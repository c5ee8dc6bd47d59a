/**
 * The `windows` driver: Windows' own VPN client (RAS) brings the tunnel up, so the entry is the one
 * the user sees under Settings > VPN. Facts it is built on: `../shared/reference/windows.md`.
 * - one entry `backhaul-<profile>` per profile, in the all-users phone book by default (the agent
 *   runs as a service); per-user only when the agent runs as a user. It stays between sessions,
 *   like the NetworkManager connection of linux-nm; it is journaled only while half-made.
 * - the entry is made and updated with the VpnClient cmdlets through PowerShell, the script on
 *   stdin (the PSK is a parameter of Add-/Set-VpnConnection and must not reach argv), answers as
 *   JSON; ensureProfile changes only what differs.
 * - `rasdial NAME USER *` in a pty types the password at rasdial's prompt; whether rasdial reads a
 *   piped stdin is unconfirmed (windows.md §9 item 3), a pty is a console either way.
 * - the MTU is set on the RAS interface (named like the entry) after every connect: it only exists
 *   while connected, so `store=active`.
 * - failures are translated by the RAS error table (windows-errors.ts); the L2TP NAT-T registry
 *   prerequisite is read and explained, never changed (windows-natt.ts).
 */
import type { CommandRunner } from '../os/command.js';
import { defaultProposals } from './cipher-policy.js';
import { diagnosisError } from './diagnosis.js';
import {
  TunnelError,
  type ConnectOutcome,
  type DriverLog,
  type DriverResource,
  type ProfileChange,
  type TunnelDriver,
  type TunnelProfile,
  type TunnelStatus,
} from './driver.js';
import { computeTunnelMtu } from './mtu.js';
import { assertCipherPolicy } from './tunnel-checks.js';
import { diagnoseRas } from './windows-errors.js';
import { sameIpsecConfig, windowsIpsecConfig, type WindowsIpsecConfig } from './windows-ipsec.js';
import { checkNattRule, type NattRule } from './windows-natt.js';
import { checkField, runPowerShell, psScript, type PsOutcome } from './windows-ps.js';
import { memoryPskMemory, type PskMemory } from './windows-psk.js';
import {
  addEntryStatement,
  addRouteStatement,
  entryFromJson,
  entrySettings,
  readEntryStatements,
  removeEntryStatement,
  removeRouteStatement,
  sameSettings,
  setEntryStatement,
  setIpsecStatement,
  setPskStatement,
  windowsEntryName,
  type EntryLookup,
  type EntrySettings,
  type PhoneBook,
} from './windows-vpn.js';

export interface WindowsOptions {
  readonly runner: CommandRunner;
  readonly log?: DriverLog;
  /** Default all-users: the agent runs as a service. */
  readonly phoneBook?: PhoneBook;
  /** Where the hash of the last PSK written is kept (windows-psk.ts). Default: in memory. */
  readonly pskMemory?: PskMemory;
}

/** The journal kind of an entry being created: a crash between Add and the last Set leaves a half-made entry. */
export const ENTRY_RESOURCE = 'windows-vpn-entry';

/**
 * rasdial's password prompt. Its exact words are unconfirmed (windows.md §9 item 3); it ends in a
 * colon and waits, whereas the progress line "Verifying username and password..." must not match.
 */
export const RASDIAL_PASSWORD_PROMPT = /password[^\n]*:\s*$/i;

/** Windows uses 1400 for its PPP/VPN interfaces (windows.md §7); never raise it, only lower it. */
const WINDOWS_DEFAULT_MTU = 1400;

/** Everything ensureProfile and connect need, checked before any command runs. */
interface EntryPlan {
  readonly name: string;
  readonly settings: EntrySettings;
  readonly ipsec: WindowsIpsecConfig;
  readonly routes: readonly string[];
  readonly psk?: string;
  readonly username?: string;
  readonly password?: string;
}

/** Refuses what the Windows client can't do and values Windows can't store; maps the cipher policy. */
export function planEntry(profile: TunnelProfile): EntryPlan {
  assertCipherPolicy(profile);
  const name = checkField('profile name', windowsEntryName(profile.name));
  const auth = profile.auth;
  if (auth === undefined) throw new TunnelError('tunnel.no-auth', `profile ${profile.name} has no auth settings`, 'Add auth: to the profile.');
  if (profile.type === 'ikev2' && (auth.method === 'psk' || auth.username !== undefined)) {
    throw new TunnelError('tunnel.windows-ikev2-auth', `profile ${profile.name}: Backhaul drives Windows' IKEv2 client with a machine certificate only`,
      'Use auth.method: certificate without username/password for IKEv2 on Windows, with the certificate imported into Local Computer > Personal.');
  }
  const gateway = checkField(`profiles.${profile.name}.gateways[0]`, profile.gateways[0] ?? '');
  const ike = profile.ikeProposals ?? defaultProposals[profile.type].ike;
  const esp = profile.espProposals ?? defaultProposals[profile.type].esp;
  const choice = windowsIpsecConfig(ike, esp);
  if (!choice.ok) {
    throw new TunnelError('tunnel.cipher-unsupported', `profile ${profile.name}: Windows can't offer these proposals: ${choice.reason}`,
      'Windows takes one IKE and one ESP proposal from AES(-GCM), SHA-1/256/384, DH 14/24/ECP256/ECP384; see docs/cipher-policy.md.');
  }
  for (const route of profile.routes) checkField(`profiles.${profile.name}.routes`, route);
  return {
    name,
    settings: { ...entrySettings(profile), serverAddress: gateway },
    ipsec: choice.config,
    routes: profile.fullTunnel ? [] : profile.routes,
    ...(auth.method === 'psk' ? { psk: checkField('auth.psk', auth.psk) } : {}),
    ...(auth.username === undefined ? {} : { username: checkField('auth.username', auth.username) }),
    ...(auth.password === undefined ? {} : { password: checkField('auth.password', auth.password) }),
  };
}

/** The MTU to set: the profile's, else the computed one, never above Windows' own 1400. */
export function windowsMtu(profile: TunnelProfile): number {
  if (profile.mtu !== undefined) return profile.mtu;
  const computed = computeTunnelMtu({ type: profile.type, espProposals: profile.espProposals ?? defaultProposals[profile.type].esp, natTraversal: true });
  return Math.min(WINDOWS_DEFAULT_MTU, computed);
}

/** ConnectionStatus → our state. Only Connected/Disconnected are documented; anything else is unknown. */
export function stateOf(lookup: EntryLookup): TunnelStatus['state'] {
  if (lookup.kind === 'missing') return 'down';
  const status = lookup.entry.connectionStatus.toLowerCase();
  if (status === 'connected') return 'up';
  if (status === 'disconnected') return 'down';
  // [unconfirmed] name of the in-between state (windows.md §4): read "Connecting" as connecting.
  if (status === 'connecting') return 'connecting';
  return 'unknown';
}

export function createWindowsDriver(options: WindowsOptions): TunnelDriver {
  const { runner } = options;
  const book = options.phoneBook ?? 'all-users';
  const log = options.log ?? (() => undefined);
  const pskMemory = options.pskMemory ?? memoryPskMemory();
  let natt: NattRule | undefined;
  let appliedMtu: number | undefined;

  const failed = (profile: TunnelProfile, what: string, outcome: PsOutcome): TunnelError => {
    const detail = outcome.kind === 'failed' ? `${outcome.error}${outcome.errorId === '' ? '' : ` (${outcome.errorId})`}` : outcome.kind === 'unknown' ? `unreadable answer: ${outcome.raw.split('\n')[0] ?? ''}` : '';
    return new TunnelError('tunnel.windows-profile', `profile ${profile.name}: ${what}: ${detail}`, 'Run backhaul doctor; the agent must run as an administrator (service) to change the all-users VPN entries.');
  };

  const lookup = async (profile: TunnelProfile, name: string, signal: AbortSignal): Promise<EntryLookup | undefined> => {
    const outcome = await runPowerShell(runner, psScript(readEntryStatements(name, book)), signal);
    if (outcome.kind !== 'ok') {
      log('warn', `profile ${profile.name}: could not read the VPN entry ${name}: ${outcome.kind === 'failed' ? outcome.error : outcome.raw}`);
      return undefined;
    }
    return entryFromJson(outcome.data);
  };

  const statusOf = async (profile: TunnelProfile, name: string, signal: AbortSignal): Promise<TunnelStatus> => {
    const found = await lookup(profile, name, signal);
    if (found === undefined) return { state: 'unknown' };
    const state = stateOf(found);
    return state === 'up' ? { state, interfaceName: name, ...(appliedMtu === undefined ? {} : { mtu: appliedMtu }) } : { state };
  };

  const create = async (profile: TunnelProfile, plan: EntryPlan, signal: AbortSignal, journal: Parameters<TunnelDriver['ensureProfile']>[2]): Promise<void> => {
    const resource: DriverResource = { kind: ENTRY_RESOURCE, id: plan.name };
    await journal.acquire(resource);
    const statements = [
      addEntryStatement(plan.name, plan.settings, plan.psk, book),
      setIpsecStatement(plan.name, plan.ipsec, book),
      ...plan.routes.map((route) => addRouteStatement(plan.name, route, book)),
    ];
    const outcome = await runPowerShell(runner, psScript(statements), signal, plan.psk === undefined ? [] : [plan.psk]);
    if (outcome.kind !== 'ok') {
      // A half-made entry would be "found" next time and patched; remove it so the next run starts clean.
      const removed = await runPowerShell(runner, psScript([removeEntryStatement(plan.name, book)]), AbortSignal.timeout(60_000));
      if (removed.kind === 'ok') await journal.release(resource);
      throw failed(profile, 'Windows did not create the VPN entry', outcome);
    }
    if (plan.psk !== undefined) await pskMemory.remember(plan.name, plan.psk);
    await journal.release(resource);
  };

  return {
    name: 'windows',

    async ensureProfile(profile, signal, journal): Promise<ProfileChange> {
      const plan = planEntry(profile);
      if (profile.type === 'l2tp') {
        natt = await checkNattRule(runner, signal);
        if (!natt.ok) log('warn', natt.explanation);
      }
      const found = await lookup(profile, plan.name, signal);
      if (found === undefined) throw new TunnelError('tunnel.windows-profile', `profile ${profile.name}: could not read the VPN entry ${plan.name}`, 'Run backhaul doctor; the session log has PowerShell\'s answer.');
      if (found.kind === 'missing') {
        await create(profile, plan, signal, journal);
        return 'created';
      }
      const { entry } = found;
      const newPsk = plan.psk !== undefined && !(await pskMemory.matches(plan.name, plan.psk)) ? plan.psk : undefined;
      const statements: string[] = [];
      if (!sameSettings(entry, plan.settings)) statements.push(setEntryStatement(plan.name, plan.settings, newPsk, book));
      else if (newPsk !== undefined) statements.push(setPskStatement(plan.name, newPsk, book));
      if (!sameIpsecConfig(entry.ipsec, plan.ipsec)) statements.push(setIpsecStatement(plan.name, plan.ipsec, book));
      const current = entry.routes ?? [];
      for (const route of plan.routes.filter((wanted) => !current.includes(wanted))) statements.push(addRouteStatement(plan.name, route, book));
      for (const route of current.filter((have) => !plan.routes.includes(have))) statements.push(removeRouteStatement(plan.name, route, book));
      if (statements.length === 0) return 'unchanged';
      const outcome = await runPowerShell(runner, psScript(statements), signal, plan.psk === undefined ? [] : [plan.psk]);
      if (outcome.kind !== 'ok') throw failed(profile, 'Windows did not update the VPN entry', outcome);
      if (newPsk !== undefined) await pskMemory.remember(plan.name, newPsk);
      return 'updated';
    },

    async connect(profile, signal): Promise<ConnectOutcome> {
      const plan = planEntry(profile);
      const before = await statusOf(profile, plan.name, signal);
      if (before.state === 'up') {
        log('info', `the ${profile.name} VPN (${plan.name}) was already connected: using it and leaving it up`);
        return { broughtUp: false, status: before };
      }
      const answers = plan.password === undefined ? [] : [{ prompt: RASDIAL_PASSWORD_PROMPT, answer: plan.password }];
      const dial = await runner.run({
        argv: ['rasdial', plan.name, ...(plan.username === undefined ? [] : [plan.username, '*'])],
        pty: { answers },
        okExitCodes: 'any',
        timeoutMs: 120_000,
        signal,
        secrets: plan.psk === undefined ? [] : [plan.psk],
      });
      signal.throwIfAborted();
      const diagnosis = dial.exitCode === 0 && !/^Remote Access error \d+/m.test(dial.stdout) ? undefined : diagnoseRas(dial.stdout, dial.exitCode);
      if (diagnosis !== undefined) {
        log('warn', `rasdial ${plan.name}: ${diagnosis.evidence}`);
        const nattHint = diagnosis.ras === 809 && profile.type === 'l2tp' && natt !== undefined && !natt.ok ? ` ${natt.explanation}` : '';
        throw diagnosisError(profile.name, { ...diagnosis, action: `${diagnosis.action}${nattHint}` });
      }
      const mtu = windowsMtu(profile);
      const set = await runner.run({ argv: ['netsh', 'interface', 'ipv4', 'set', 'subinterface', plan.name, `mtu=${mtu}`, 'store=active'], okExitCodes: 'any', timeoutMs: 30_000, signal });
      if (set.exitCode === 0) appliedMtu = mtu;
      else log('warn', `could not set the MTU of ${plan.name} to ${mtu} (netsh exit ${set.exitCode ?? 'none'}): ${set.stdout.trim()}`);
      const status = await statusOf(profile, plan.name, signal);
      if (status.state !== 'up') {
        throw new TunnelError('tunnel.connect-failed', `profile ${profile.name}: rasdial reported success but Windows shows ${plan.name} as ${status.state}`, 'Run the job again; if it persists, run backhaul doctor.');
      }
      return { broughtUp: true, status };
    },

    status(profile, signal): Promise<TunnelStatus> {
      return statusOf(profile, windowsEntryName(profile.name), signal);
    },

    /**
     * What Windows can tell without tools windows.md has not verified: the entry is connected and
     * carries every split route (Windows adds an entry's routes when it connects). The session's
     * TCP connect to the repository right after proves the path through the tunnel.
     */
    async verify(profile, _repositoryHost, signal): Promise<void> {
      const name = windowsEntryName(profile.name);
      const found = await lookup(profile, name, signal);
      const state = found === undefined ? 'unknown' : stateOf(found);
      if (found?.kind !== 'found' || state !== 'up') {
        throw new TunnelError('verify.interface', `verify (interface): the ${profile.name} tunnel is ${state}`, 'The VPN dropped right after connecting: check the gateway and the credentials.');
      }
      const routes = found.entry.routes;
      const missing = profile.fullTunnel || routes === undefined ? [] : profile.routes.filter((route) => !routes.includes(route));
      if (missing.length > 0) {
        throw new TunnelError('verify.routes', `verify (routes): the VPN entry ${name} lacks the split route${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, 'Run the job again: ensureProfile adds them.');
      }
      if (routes === undefined && !profile.fullTunnel) log('warn', `Windows did not report the routes of ${name}; the split routes were not checked`);
    },

    async disconnect(profile, signal): Promise<void> {
      const name = windowsEntryName(profile.name);
      const hangUp = await runner.run({ argv: ['rasdial', name, '/disconnect'], okExitCodes: 'any', timeoutMs: 30_000, signal });
      appliedMtu = undefined;
      const after = await statusOf(profile, name, signal);
      if (after.state === 'up') {
        throw new TunnelError('tunnel.disconnect', `profile ${profile.name}: Windows could not disconnect ${name} (rasdial exit ${hangUp.exitCode ?? 'none'})`, `Disconnect it by hand: rasdial "${name}" /disconnect`);
      }
    },

    async cleanUp(leftovers, signal): Promise<void> {
      const name = windowsEntryName(leftovers.profile);
      // Hang up first: Windows refuses to delete a connected entry (error 817).
      if (leftovers.tunnelUp) await runner.run({ argv: ['rasdial', name, '/disconnect'], okExitCodes: 'any', timeoutMs: 30_000, signal });
      for (const resource of leftovers.resources) {
        if (resource.kind !== ENTRY_RESOURCE) continue;
        const outcome = await runPowerShell(runner, psScript([removeEntryStatement(resource.id, book)]), signal);
        if (outcome.kind !== 'ok') log('warn', `could not remove the half-made VPN entry ${resource.id}: ${outcome.kind === 'failed' ? outcome.error : outcome.raw}`);
      }
    },
  };
}
