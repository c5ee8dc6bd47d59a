/**
 * Whether the connection is metered, where the OS tells:
 * - Linux: NetworkManager's per-device `GENERAL.METERED` (`yes`, `no`, `yes (guessed)`,
 *   `no (guessed)`, `unknown`), read with `nmcli -t -f GENERAL.STATE,GENERAL.METERED device show`;
 *   metered when a connected device (state 100) says yes, guessed or not;
 * - Windows: the Internet connection profile's `NetworkCostType` (WinRT, through Windows
 *   PowerShell): `Fixed` or `Variable` is metered, `Unrestricted` is not.
 * macOS has no such flag for a command line tool, and a Linux host without NetworkManager says
 * nothing: "unknown", which never holds a run.
 */
import { POWERSHELL_ARGV } from '../../connect/windows-ps.js';
import type { CommandRunner } from '../../os/command.js';
import type { Metered } from './scheduler.js';

export type MeteredProbe = () => Promise<Metered>;

export const NMCLI_METERED_ARGV: readonly string[] = ['nmcli', '-t', '-f', 'GENERAL.STATE,GENERAL.METERED', 'device', 'show'];

/** nmcli's terse output: `KEY:VALUE` lines, one block per device (blank line between). */
export function parseNmcliMetered(stdout: string): Metered {
  let answer: Metered = 'unknown';
  let connected = false;
  for (const line of stdout.split('\n')) {
    const [key, ...rest] = line.split(':');
    const value = rest.join(':').trim();
    if (key === 'GENERAL.STATE') connected = /^100\b/.test(value);
    if (key === 'GENERAL.METERED' && connected) {
      if (value.startsWith('yes')) return 'yes';
      if (value.startsWith('no')) answer = 'no';
    }
  }
  return answer;
}

/** Prints the cost type of the connection Windows uses for the Internet, or `none` without one. */
export const WINDOWS_COST_SCRIPT = '$p = [Windows.Networking.Connectivity.NetworkInformation, Windows.Networking.Connectivity, ContentType = WindowsRuntime]::GetInternetConnectionProfile(); if ($null -eq $p) { \'none\' } else { $p.GetConnectionCost().NetworkCostType.ToString() }';

/** Microsoft's NetworkCostType: Unknown, Unrestricted, Fixed (a data cap), Variable (paid by use). */
export function parseNetworkCostType(stdout: string): Metered {
  const cost = stdout.trim();
  if (cost === 'Fixed' || cost === 'Variable') return 'yes';
  if (cost === 'Unrestricted') return 'no';
  return 'unknown';
}

export function meteredProbeFor(platform: NodeJS.Platform, runner: CommandRunner): MeteredProbe {
  if (platform === 'win32') {
    return async () => {
      const result = await runner.run({ argv: POWERSHELL_ARGV, stdin: WINDOWS_COST_SCRIPT, timeoutMs: 30_000, okExitCodes: 'any' }).catch(() => undefined);
      return result?.exitCode === 0 ? parseNetworkCostType(result.stdout) : 'unknown';
    };
  }
  if (platform !== 'linux') return () => Promise.resolve('unknown');
  return async () => {
    const result = await runner.run({ argv: NMCLI_METERED_ARGV, timeoutMs: 10_000, okExitCodes: 'any' }).catch(() => undefined);
    return result?.exitCode === 0 ? parseNmcliMetered(result.stdout) : 'unknown';
  };
}
