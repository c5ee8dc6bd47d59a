/**
 * The VpnClient cmdlets the windows driver runs, as PowerShell statements, and what it reads back.
 * Facts: `../shared/reference/windows.md` §1–§4. Every value is a `psLiteral`; every enum PowerShell
 * returns is turned into its name with [string] before ConvertTo-Json, because Windows PowerShell
 * 5.1 writes enums as numbers.
 *
 * Not confirmed on a real machine (windows.md lists no output for them): the `Routes` and
 * `IPsecCustomPolicy` properties of a VpnConnection, and `Remove-VpnConnectionRoute`'s parameters
 * (taken as Add-VpnConnectionRoute's). The parser treats anything missing as unknown, never as a crash.
 */
import type { TunnelProfile } from './driver.js';
import { IPSEC_PARAMETERS, type WindowsIpsecConfig } from './windows-ipsec.js';
import { psLiteral } from './windows-ps.js';

/** Which phone book: all users (the agent as a service, the default) or the agent's user. */
export type PhoneBook = 'all-users' | 'per-user';

/** The native VPN entry Backhaul owns for a profile (also the RAS interface's name). */
export function windowsEntryName(profile: string): string {
  return `backhaul-${profile}`;
}

const scopeFlag = (book: PhoneBook): string => (book === 'all-users' ? ' -AllUserConnection' : '');
/** Get-VpnConnection's error id for a missing entry: `VPN 623,Get-VpnConnection` (windows.md W5). */
const NOT_FOUND = "[string]$_.FullyQualifiedErrorId -like 'VPN 623,*'";

/** What Backhaul sets on the entry, apart from the PSK (which Windows never shows back). */
export interface EntrySettings {
  readonly serverAddress: string;
  readonly tunnelType: 'L2tp' | 'Ikev2';
  readonly authenticationMethod: 'MSChapv2' | 'MachineCertificate';
  readonly l2tpIPsecAuth: 'Psk' | 'Certificate' | '';
  readonly splitTunneling: boolean;
}

export function entrySettings(profile: TunnelProfile): EntrySettings {
  const l2tp = profile.type === 'l2tp';
  return {
    serverAddress: profile.gateways[0] ?? '',
    tunnelType: l2tp ? 'L2tp' : 'Ikev2',
    // L2TP: PPP authenticates the user (MS-CHAPv2; PAP/CHAP are weaker); IKEv2: the machine certificate.
    authenticationMethod: l2tp ? 'MSChapv2' : 'MachineCertificate',
    l2tpIPsecAuth: !l2tp ? '' : profile.auth?.method === 'psk' ? 'Psk' : 'Certificate',
    splitTunneling: !profile.fullTunnel,
  };
}

/** Reads one entry as JSON: `found`, its settings, status, routes and custom IPsec policy. */
export function readEntryStatements(name: string, book: PhoneBook): string[] {
  const fields = [
    "$o['name'] = [string]$c.Name",
    "$o['serverAddress'] = [string]$c.ServerAddress",
    "$o['tunnelType'] = [string]$c.TunnelType",
    "$o['authenticationMethod'] = @($c.AuthenticationMethod | ForEach-Object { [string]$_ })",
    "$o['encryptionLevel'] = [string]$c.EncryptionLevel",
    "$o['l2tpIPsecAuth'] = [string]$c.L2tpIPsecAuth",
    "$o['splitTunneling'] = [bool]$c.SplitTunneling",
    "$o['connectionStatus'] = [string]$c.ConnectionStatus",
    "$o['routes'] = @($c.Routes | ForEach-Object { [string]$_.DestinationPrefix })",
    "$p = $c.IPsecCustomPolicy",
    `if ($null -ne $p) { $o['ipsec'] = @{ ${IPSEC_PARAMETERS.map((key) => `${key} = [string]$p.${key}`).join('; ')} } }`,
  ];
  return [
    `try { $c = Get-VpnConnection -Name ${psLiteral(name)}${scopeFlag(book)} } catch { if (${NOT_FOUND}) { $c = $null } else { throw } }`,
    `if ($null -eq $c) { $o['found'] = $false } else { $o['found'] = $true; ${fields.join('; ')} }`,
  ];
}

/** Add-VpnConnection: the PSK, when there is one, only ever inside the script (stdin). */
export function addEntryStatement(name: string, settings: EntrySettings, psk: string | undefined, book: PhoneBook): string {
  return `Add-VpnConnection -Name ${psLiteral(name)} -ServerAddress ${psLiteral(settings.serverAddress)} -TunnelType ${settings.tunnelType}` +
    (psk === undefined ? '' : ` -L2tpPsk ${psLiteral(psk)}`) +
    ` -AuthenticationMethod ${settings.authenticationMethod} -EncryptionLevel Required${settings.splitTunneling ? ' -SplitTunneling' : ''}${scopeFlag(book)} -Force`;
}

/** Set-VpnConnection: the entry's settings, plus the PSK when it changed. */
export function setEntryStatement(name: string, settings: EntrySettings, psk: string | undefined, book: PhoneBook): string {
  return `Set-VpnConnection -Name ${psLiteral(name)} -ServerAddress ${psLiteral(settings.serverAddress)} -TunnelType ${settings.tunnelType}` +
    (psk === undefined ? '' : ` -L2tpPsk ${psLiteral(psk)}`) +
    ` -AuthenticationMethod ${settings.authenticationMethod} -EncryptionLevel Required -SplitTunneling $${String(settings.splitTunneling)}${scopeFlag(book)} -Force`;
}

/** Set-VpnConnection with only the PSK (the settings are right, the key was rotated). */
export function setPskStatement(name: string, psk: string, book: PhoneBook): string {
  return `Set-VpnConnection -Name ${psLiteral(name)} -L2tpPsk ${psLiteral(psk)}${scopeFlag(book)} -Force`;
}

export function setIpsecStatement(name: string, config: WindowsIpsecConfig, book: PhoneBook): string {
  const parameters = IPSEC_PARAMETERS.map((key) => `-${key} ${config[key]}`).join(' ');
  return `Set-VpnConnectionIPsecConfiguration -ConnectionName ${psLiteral(name)} ${parameters}${scopeFlag(book)} -Force`;
}

export function addRouteStatement(name: string, prefix: string, book: PhoneBook): string {
  return `Add-VpnConnectionRoute -ConnectionName ${psLiteral(name)} -DestinationPrefix ${psLiteral(prefix)}${scopeFlag(book)}`;
}

export function removeRouteStatement(name: string, prefix: string, book: PhoneBook): string {
  return `Remove-VpnConnectionRoute -ConnectionName ${psLiteral(name)} -DestinationPrefix ${psLiteral(prefix)}${scopeFlag(book)}`;
}

/** Remove-VpnConnection, an entry already gone being fine (clean-up is idempotent). */
export function removeEntryStatement(name: string, book: PhoneBook): string {
  return `try { Remove-VpnConnection -Name ${psLiteral(name)}${scopeFlag(book)} -Force } catch { if (-not (${NOT_FOUND})) { throw } }`;
}

/** An entry as read back. Fields the script could not fill stay undefined. */
export interface VpnEntry {
  readonly name: string;
  readonly serverAddress: string;
  readonly tunnelType: string;
  readonly authenticationMethod: readonly string[];
  readonly encryptionLevel: string;
  readonly l2tpIPsecAuth: string;
  readonly splitTunneling: boolean;
  readonly connectionStatus: string;
  /** Undefined when Windows did not report routes (unknown, not "none"). */
  readonly routes?: readonly string[];
  readonly ipsec?: Readonly<Record<string, unknown>>;
}

export type EntryLookup =
  | { readonly kind: 'found'; readonly entry: VpnEntry }
  | { readonly kind: 'missing' };

/** The read script's JSON as an entry; tolerant of a string where an array was meant (ConvertTo-Json unrolls one-element arrays). */
export function entryFromJson(data: Readonly<Record<string, unknown>>): EntryLookup {
  if (data['found'] !== true) return { kind: 'missing' };
  const text = (key: string): string => (typeof data[key] === 'string' ? data[key] : '');
  const list = (key: string): string[] | undefined => {
    const value = data[key];
    if (typeof value === 'string') return [value];
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined;
  };
  const ipsec = data['ipsec'];
  const routes = list('routes');
  return {
    kind: 'found',
    entry: {
      name: text('name'),
      serverAddress: text('serverAddress'),
      tunnelType: text('tunnelType'),
      authenticationMethod: list('authenticationMethod') ?? [],
      encryptionLevel: text('encryptionLevel'),
      l2tpIPsecAuth: text('l2tpIPsecAuth'),
      splitTunneling: data['splitTunneling'] === true,
      connectionStatus: text('connectionStatus'),
      ...(routes === undefined ? {} : { routes }),
      ...(typeof ipsec === 'object' && ipsec !== null && !Array.isArray(ipsec) ? { ipsec: ipsec as Record<string, unknown> } : {}),
    },
  };
}

/** Whether the entry already has Backhaul's settings (case-insensitive: PowerShell's enums are). */
export function sameSettings(entry: VpnEntry, wanted: EntrySettings): boolean {
  const eq = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
  return eq(entry.serverAddress, wanted.serverAddress) && eq(entry.tunnelType, wanted.tunnelType) &&
    entry.authenticationMethod.length === 1 && eq(entry.authenticationMethod[0] ?? '', wanted.authenticationMethod) &&
    eq(entry.encryptionLevel, 'Required') && eq(entry.l2tpIPsecAuth, wanted.l2tpIPsecAuth) && entry.splitTunneling === wanted.splitTunneling;
}
