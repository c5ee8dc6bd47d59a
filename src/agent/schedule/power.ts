/**
 * Where the machine's power comes from, per OS behind one function type, chosen once:
 * - Linux: sysfs, `/sys/class/power_supply/<name>/type` and `online` (read under an injected root,
 *   so tests use a temp tree);
 * - macOS: the first line of `pmset -g batt` ("Now drawing from 'AC Power'");
 * - Windows: `Win32_Battery.BatteryStatus` through Windows PowerShell.
 * "unknown" means the OS did not say (a desktop, a VM, a command that failed): the scheduler
 * treats it as mains power, so `onlyOnAc` never blocks a machine without a battery.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { POWERSHELL_ARGV } from '../../connect/windows-ps.js';
import type { CommandRunner } from '../../os/command.js';
import type { PowerSource } from './scheduler.js';

export type PowerProbe = () => Promise<PowerSource>;

/**
 * Linux: a mains or USB supply that is online means AC; otherwise a battery present means battery;
 * no supplies at all (a desktop, a VM) is unknown. `root` is "/" outside tests.
 */
export function linuxPowerProbe(root = '/'): PowerProbe {
  return async () => {
    const dir = join(root, 'sys', 'class', 'power_supply');
    const names = await readdir(dir).catch(() => [] as string[]);
    let battery = false;
    for (const name of names) {
      const read = (file: string) => readFile(join(dir, name, file), 'utf8').then((t) => t.trim(), () => '');
      const type = await read('type');
      if (type === 'Battery') {
        // A battery slot with nothing in it says present=0.
        if ((await read('present')) !== '0') battery = true;
      } else if (['Mains', 'USB', 'USB_C', 'USB_PD'].includes(type) && (await read('online')) === '1') {
        return 'ac';
      }
    }
    return battery ? 'battery' : 'unknown';
  };
}

/** macOS `pmset -g batt`: line 1 names the source (shared/reference/macos.md, M4). */
export function parsePmsetBatt(stdout: string): PowerSource {
  const source = /Now drawing from '([^']+)'/.exec(stdout)?.[1];
  if (source === 'AC Power') return 'ac';
  // 'UPS Power' is a UPS on battery: as good as a battery for "only on AC".
  if (source === 'Battery Power' || source === 'UPS Power') return 'battery';
  return 'unknown';
}

export function macosPowerProbe(runner: CommandRunner): PowerProbe {
  return async () => {
    const result = await runner.run({ argv: ['pmset', '-g', 'batt'], timeoutMs: 10_000, okExitCodes: 'any' });
    return result.exitCode === 0 ? parsePmsetBatt(result.stdout) : 'unknown';
  };
}

/** The PowerShell statement: every battery's BatteryStatus as a JSON array (`[]` without one). */
export const WIN32_BATTERY_SCRIPT = 'ConvertTo-Json -Compress -InputObject @(Get-CimInstance -ClassName Win32_Battery | ForEach-Object { [int]$_.BatteryStatus })';

/**
 * Win32_Battery.BatteryStatus, as Microsoft's Win32_Battery class documents it: 1 Other ("the
 * battery is discharging"), 2 Unknown ("the system has access to AC"), 3 Fully Charged, 4 Low,
 * 5 Critical, 6–9 Charging (and High/Low/Critical), 10 Undefined, 11 Partially Charged.
 */
const ON_AC = new Set([2, 3, 6, 7, 8, 9]);
const ON_BATTERY = new Set([1, 4, 5]);

export function parseBatteryStatus(stdout: string): PowerSource {
  let statuses: unknown;
  try {
    statuses = JSON.parse(stdout.trim() === '' ? '[]' : stdout);
  } catch {
    return 'unknown';
  }
  const list = (Array.isArray(statuses) ? statuses : [statuses]).filter((s): s is number => typeof s === 'number');
  if (list.some((s) => ON_AC.has(s))) return 'ac';
  if (list.some((s) => ON_BATTERY.has(s))) return 'battery';
  return 'unknown';
}

export function windowsPowerProbe(runner: CommandRunner): PowerProbe {
  return async () => {
    const result = await runner.run({ argv: POWERSHELL_ARGV, stdin: WIN32_BATTERY_SCRIPT, timeoutMs: 30_000, okExitCodes: 'any' });
    return result.exitCode === 0 ? parseBatteryStatus(result.stdout) : 'unknown';
  };
}

/** The probe for this OS (chosen once, at start). */
export function powerProbeFor(platform: NodeJS.Platform, runner: CommandRunner, sysfsRoot = '/'): PowerProbe {
  switch (platform) {
    case 'linux': return linuxPowerProbe(sysfsRoot);
    case 'darwin': return macosPowerProbe(runner);
    case 'win32': return windowsPowerProbe(runner);
    default: return () => Promise.resolve('unknown');
  }
}
