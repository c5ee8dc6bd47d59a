/**
 * Whether the connection is metered, where the OS tells. Linux: NetworkManager's per-device
 * `GENERAL.METERED` (`yes`, `no`, `yes (guessed)`, `no (guessed)`, `unknown`), read with
 * `nmcli -t -f GENERAL.STATE,GENERAL.METERED device show`; metered when a connected device (state
 * 100) says yes, guessed or not. macOS and Windows expose no such flag to a command line tool we
 * run, and a Linux host without NetworkManager says nothing: all "unknown", which never holds a run.
 */
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

export function meteredProbeFor(platform: NodeJS.Platform, runner: CommandRunner): MeteredProbe {
  if (platform !== 'linux') return () => Promise.resolve('unknown');
  return async () => {
    const result = await runner.run({ argv: NMCLI_METERED_ARGV, timeoutMs: 10_000, okExitCodes: 'any' }).catch(() => undefined);
    return result?.exitCode === 0 ? parseNmcliMetered(result.stdout) : 'unknown';
  };
}
