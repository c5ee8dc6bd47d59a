/**
 * The Linux network plumbing both Linux drivers share: reading routes and interfaces with
 * `ip -j`, adding and removing exactly the split routes a session added (journaled), TCP MSS
 * clamping with nftables, the systemd journal as evidence, bounded polling, and the crash
 * clean-up of every resource kind. Every command goes through the CommandRunner.
 */
import { readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandRunner, CommandSpec } from '../os/command.js';
import { TunnelError, type DriverResource, type ResourceJournal, type TunnelProfile, type TunnelStatus } from './driver.js';
import { removeKillSwitch } from './kill-switch.js';

/** `ip -j route get` for one destination. */
export interface RouteInfo {
  readonly dst: string;
  readonly dev?: string;
  readonly gateway?: string;
  readonly prefsrc?: string;
  /** 'main' unless the route came from another table (charon's 220). */
  readonly table: string;
}

export interface InterfaceInfo {
  readonly name: string;
  readonly mtu: number;
  readonly up: boolean;
  /** IPv4 local addresses (and the peer, on point-to-point links). */
  readonly addresses: readonly { readonly local: string; readonly peer?: string }[];
}

/** Time-related knobs; tests set pollMs to 0. */
export interface Pacing {
  readonly pollMs: number;
}

export const defaultPacing: Pacing = { pollMs: 500 };

/** What interface names a VPN gives its tunnel: ppp0, tun0, ipsec0, xfrm…, wg0. */
export function isTunnelDevice(name: string | undefined): boolean {
  return name !== undefined && /^(ppp|tun|ipsec|xfrm|wg|vti)\w*/.test(name);
}

/** The first usable host address of an IPv4 CIDR: 10.99.0.0/24 → 10.99.0.1; a /32 → itself. */
export function firstHost(cidr: string): string {
  const [address = '', bits = '32'] = cidr.split('/');
  const prefix = Number(bits);
  if (prefix >= 31) return address;
  const parts = address.split('.').map(Number);
  const value = ((parts[0] ?? 0) << 24 | (parts[1] ?? 0) << 16 | (parts[2] ?? 0) << 8 | (parts[3] ?? 0)) >>> 0;
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  const host = ((value & mask) + 1) >>> 0;
  return [host >>> 24, (host >>> 16) & 255, (host >>> 8) & 255, host & 255].join('.');
}

/** How a destination is routed right now (`ip -j route get`), or undefined when it is not. */
export async function routeGet(runner: CommandRunner, destination: string, signal: AbortSignal): Promise<RouteInfo | undefined> {
  const result = await runner.run({ argv: ['ip', '-j', 'route', 'get', destination], okExitCodes: 'any', timeoutMs: 10_000, signal });
  if (result.exitCode !== 0) return undefined;
  const [first] = parseJsonArray(result.stdout);
  if (first === undefined) return undefined;
  return {
    dst: stringField(first, 'dst') ?? destination,
    ...optional('dev', stringField(first, 'dev')),
    ...optional('gateway', stringField(first, 'gateway')),
    ...optional('prefsrc', stringField(first, 'prefsrc')),
    table: stringField(first, 'table') ?? 'main',
  };
}

/** Every interface with its IPv4 addresses (`ip -j addr show`), or one (`dev NAME`). */
export async function interfaces(runner: CommandRunner, signal: AbortSignal, name?: string): Promise<InterfaceInfo[]> {
  const argv = name === undefined ? ['ip', '-j', 'addr', 'show'] : ['ip', '-j', 'addr', 'show', 'dev', name];
  const result = await runner.run({ argv, okExitCodes: 'any', timeoutMs: 10_000, signal });
  if (result.exitCode !== 0) return [];
  return parseJsonArray(result.stdout).map((item) => {
    const flags = Array.isArray(item['flags']) ? item['flags'].filter((flag): flag is string => typeof flag === 'string') : [];
    const addrInfo = Array.isArray(item['addr_info']) ? item['addr_info'].filter(isRecord) : [];
    const addresses = addrInfo
      .filter((addr) => addr['family'] === 'inet')
      .map((addr) => {
        const local = stringField(addr, 'local') ?? '';
        const peer = stringField(addr, 'address');
        return peer === undefined || peer === local ? { local } : { local, peer };
      });
    return { name: stringField(item, 'ifname') ?? '', mtu: typeof item['mtu'] === 'number' ? item['mtu'] : 0, up: flags.includes('UP'), addresses };
  });
}

/** The interface carrying `address` as a local address (the tunnel's end), if any. */
export async function interfaceWithAddress(runner: CommandRunner, address: string, signal: AbortSignal): Promise<InterfaceInfo | undefined> {
  const all = await interfaces(runner, signal);
  return all.find((item) => isTunnelDevice(item.name) && item.addresses.some((addr) => addr.local === address)) ??
    all.find((item) => item.addresses.some((addr) => addr.local === address));
}

/**
 * The tunnel already carrying the profile's first split subnet — the user's own VPN, or one left
 * up — as a status, or undefined when that subnet goes the normal way. Such a tunnel is used and
 * left alone.
 */
export async function tunnelCarryingRoutes(runner: CommandRunner, profile: TunnelProfile, signal: AbortSignal): Promise<TunnelStatus | undefined> {
  const first = profile.routes[0];
  if (first === undefined) return undefined;
  const route = await routeGet(runner, firstHost(first), signal);
  if (route === undefined || !(isTunnelDevice(route.dev) || route.table === '220')) return undefined;
  const [link] = route.dev !== undefined && isTunnelDevice(route.dev) ? await interfaces(runner, signal, route.dev) : [];
  return {
    state: 'up',
    ...(link === undefined ? {} : { interfaceName: link.name, mtu: link.mtu }),
    ...(route.prefsrc === undefined ? {} : { localAddress: route.prefsrc }),
  };
}

/** The status of a tunnel Backhaul did not bring up, found by the route of the first split subnet. */
export async function foreignTunnelStatus(runner: CommandRunner, profile: TunnelProfile, signal: AbortSignal): Promise<TunnelStatus> {
  return (await tunnelCarryingRoutes(runner, profile, signal)) ?? { state: 'down' };
}

/** Calls `probe` until it returns a value, at most `timeoutMs` (counted in polls), honouring abort. */
export async function pollUntil<T>(probe: () => Promise<T | undefined>, timeoutMs: number, pacing: Pacing, signal: AbortSignal): Promise<T | undefined> {
  const interval = Math.max(pacing.pollMs, 1);
  const rounds = Math.max(1, Math.ceil(timeoutMs / interval));
  for (let round = 0; round < rounds; round++) {
    signal.throwIfAborted();
    const value = await probe();
    if (value !== undefined) return value;
    if (pacing.pollMs > 0) await sleep(pacing.pollMs, undefined, { signal });
  }
  return undefined;
}

/** A split route as journaled: `10.99.0.0/24 dev ppp0` or `203.0.113.2 via 10.77.1.1 dev c0`. */
export interface RouteSpec {
  readonly cidr: string;
  readonly dev: string;
  readonly via?: string;
}

export function routeId(route: RouteSpec): string {
  return route.via === undefined ? `${route.cidr} dev ${route.dev}` : `${route.cidr} via ${route.via} dev ${route.dev}`;
}

/**
 * Adds a route (journaled first) and returns it, or undefined when the destination already has
 * exactly this route (someone else's: left alone and not ours to remove).
 */
export async function addRoute(runner: CommandRunner, journal: ResourceJournal, route: RouteSpec, signal: AbortSignal): Promise<RouteSpec | undefined> {
  const existing = await runner.run({ argv: ['ip', '-j', 'route', 'show', 'exact', route.cidr], okExitCodes: 'any', timeoutMs: 10_000, signal });
  const present = parseJsonArray(existing.stdout).some((item) => stringField(item, 'dev') === route.dev);
  if (present) return undefined;
  const resource: DriverResource = { kind: 'route', id: routeId(route) };
  await journal.acquire(resource);
  await runner.run({ argv: ['ip', 'route', 'add', ...routeId(route).split(' '), 'proto', 'static'], timeoutMs: 10_000, signal });
  return route;
}

/** Removes a route Backhaul added; a route already gone (its device vanished with the tunnel) is fine. */
export async function removeRoute(runner: CommandRunner, journal: ResourceJournal, route: RouteSpec, signal: AbortSignal): Promise<void> {
  await deleteRouteById(runner, routeId(route), signal);
  await journal.release({ kind: 'route', id: routeId(route) });
}

async function deleteRouteById(runner: CommandRunner, id: string, signal: AbortSignal): Promise<void> {
  await runner.run({ argv: ['ip', 'route', 'del', ...id.split(' ')], okExitCodes: 'any', timeoutMs: 10_000, signal });
}

/** nftables table name for a profile's MSS clamp (`backhaul_office_2`). */
export function mssTable(profile: string): string {
  return `backhaul_${profile.replace(/[^a-z0-9_]/g, '_')}`;
}

/**
 * Clamps the MSS of TCP SYNs leaving through `dev` to the route MTU, so TCP never sends segments
 * the tunnel must fragment. One nftables table per profile, journaled before it is created.
 */
export async function addMssClamp(runner: CommandRunner, journal: ResourceJournal, profile: string, dev: string, signal: AbortSignal): Promise<void> {
  const table = mssTable(profile);
  await journal.acquire({ kind: 'nft-table', id: `inet ${table}` });
  // ("fwd" is an nft keyword: a chain of that name is a syntax error.)
  const rules = [
    `table inet ${table} {`,
    '  chain clamp_out {',
    '    type filter hook output priority mangle; policy accept;',
    `    oifname "${dev}" tcp flags syn tcp option maxseg size set rt mtu`,
    '  }',
    '  chain clamp_forward {',
    '    type filter hook forward priority mangle; policy accept;',
    `    oifname "${dev}" tcp flags syn tcp option maxseg size set rt mtu`,
    '  }',
    '}',
    '',
  ].join('\n');
  await runOrFail(runner, { argv: ['nft', '-f', '-'], stdin: rules, timeoutMs: 10_000, signal }, {
    code: 'tunnel.mss-clamp',
    message: `profile ${profile}: the TCP MSS clamp on ${dev} could not be set up`,
    hint: 'Check that nftables is installed (sudo apt-get install -y nftables), or set mssClamp: false.',
  });
}

export async function removeMssClamp(runner: CommandRunner, journal: ResourceJournal, profile: string, signal: AbortSignal): Promise<void> {
  const id = `inet ${mssTable(profile)}`;
  await runner.run({ argv: ['nft', 'delete', 'table', ...id.split(' ')], okExitCodes: 'any', timeoutMs: 10_000, signal });
  await journal.release({ kind: 'nft-table', id });
}

/** The systemd journal's current end, so a failure can read only what happened after it. */
export async function journalCursor(runner: CommandRunner, signal: AbortSignal): Promise<string | undefined> {
  try {
    const result = await runner.run({ argv: ['journalctl', '-n', '0', '--show-cursor', '--no-pager'], okExitCodes: 'any', timeoutMs: 10_000, signal });
    return /^-- cursor: (\S+)/m.exec(result.stdout)?.[1];
  } catch {
    return undefined;
  }
}

/** Journal lines of the given programs after `cursor` (message text only), oldest first. */
export async function journalSince(runner: CommandRunner, cursor: string | undefined, identifiers: readonly string[], signal: AbortSignal): Promise<string[]> {
  if (cursor === undefined) return [];
  try {
    const result = await runner.run({
      argv: ['journalctl', '--no-pager', '-o', 'cat', `--after-cursor=${cursor}`, ...identifiers.flatMap((id) => ['-t', id])],
      okExitCodes: 'any',
      timeoutMs: 15_000,
      signal,
    });
    return result.stdout.split('\n').filter((line) => line.trim() !== '');
  } catch {
    return [];
  }
}

/**
 * Removes one resource a crashed session left (routes, nft tables, private dirs, daemons by pid
 * file). Returns false for kinds it doesn't know, so the driver can handle its own.
 */
export async function cleanUpCommonResource(runner: CommandRunner, resource: DriverResource, signal: AbortSignal): Promise<boolean> {
  switch (resource.kind) {
    case 'route':
      await deleteRouteById(runner, resource.id, signal);
      return true;
    case 'kill-switch':
      await removeKillSwitch(runner, resource.id, signal);
      return true;
    case 'nft-table':
      await runner.run({ argv: ['nft', 'delete', 'table', ...resource.id.split(' ')], okExitCodes: 'any', timeoutMs: 10_000, signal });
      return true;
    case 'config-dir':
      await rm(resource.id, { recursive: true, force: true });
      return true;
    case 'process':
      await stopByPidFile(runner, resource.id, signal);
      return true;
    default:
      return false;
  }
}

/** How long a leftover daemon gets to exit after SIGTERM before SIGKILL: as long as a session's own teardown gives it. */
export const LEFTOVER_GRACE_MS = 5_000;

/**
 * Ends the daemon whose pid file is `pidFile` (inside a tunnel's private dir, or its `run/`), but
 * only if its command line or environment still names that dir: a reused pid is left alone. Returns
 * once it has exited: charon removes its routes, policy rule and TUN device on the way out, so the
 * tunnel is only gone then. One that ignores SIGTERM is killed after `graceMs`.
 */
export async function stopByPidFile(runner: CommandRunner, pidFile: string, signal: AbortSignal, graceMs = LEFTOVER_GRACE_MS, pacing: Pacing = { pollMs: 100 }): Promise<void> {
  const pid = await readPid(pidFile);
  if (pid === undefined) return;
  let dir = pidFile.slice(0, pidFile.lastIndexOf('/'));
  if (dir.endsWith('/run')) dir = dir.slice(0, -'/run'.length);
  if (!(await namesDir(pid, dir))) return;
  const exited = async (): Promise<true | undefined> => ((await running(pid)) ? undefined : true);
  await runner.run({ argv: ['kill', '-TERM', String(pid)], okExitCodes: 'any', timeoutMs: 10_000, signal });
  if ((await pollUntil(exited, graceMs, pacing, signal)) === true || !(await namesDir(pid, dir))) return;
  await runner.run({ argv: ['kill', '-KILL', String(pid)], okExitCodes: 'any', timeoutMs: 10_000, signal });
  await pollUntil(exited, graceMs, pacing, signal);
}

async function namesDir(pid: number, dir: string): Promise<boolean> {
  const seen = await Promise.all(['cmdline', 'environ'].map((file) => readFile(`/proc/${pid}/${file}`, 'utf8').catch(() => '')));
  return seen.some((text) => text.includes(dir));
}

/** Whether `pid` exists and is not a zombie (a zombie has exited; only its parent hasn't reaped it). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const close = stat.lastIndexOf(')');
  return close >= 0 && stat.slice(close + 2, close + 3) !== 'Z';
}

async function readPid(pidFile: string): Promise<number | undefined> {
  const text = await readFile(pidFile, 'utf8').catch(() => '');
  const pid = Number(text.split('\n')[0]?.trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** Runs a command and turns a failure into a TunnelError with the given code, message and hint. */
export async function runOrFail(runner: CommandRunner, spec: CommandSpec, failure: { code: string; message: string; hint: string }): Promise<string> {
  try {
    const result = await runner.run(spec);
    return result.stdout;
  } catch (error) {
    if (spec.signal?.aborted === true) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new TunnelError(failure.code, `${failure.message}: ${detail}`, failure.hint);
  }
}

function parseJsonArray(text: string): Record<string, unknown>[] {
  try {
    const value: unknown = JSON.parse(text.trim() === '' ? '[]' : text);
    return Array.isArray(value) ? value.filter(isRecord) : [];
  } catch {
    return [];
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(item: Record<string, unknown>, key: string): string | undefined {
  const value = item[key];
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
