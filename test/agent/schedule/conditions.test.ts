/**
 * Power and metered probes per OS. macOS replays the real `pmset -g batt` samples quoted in
 * shared/reference/macos.md (M4); Windows and nmcli's metered flag use synthetic fixtures, each
 * labelled with its source (test/fixtures/schedule/README.md); Linux reads a temp sysfs tree.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { meteredProbeFor, NMCLI_METERED_ARGV, parseNetworkCostType, parseNmcliMetered, WINDOWS_COST_SCRIPT } from '../../../src/agent/schedule/metered.js';
import { linuxPowerProbe, macosPowerProbe, parseBatteryStatus, parsePmsetBatt, WIN32_BATTERY_SCRIPT, windowsPowerProbe } from '../../../src/agent/schedule/power.js';
import { POWERSHELL_ARGV } from '../../../src/connect/windows-ps.js';
import { loadRecording, parseRecording, type Recording } from '../../helpers/recorded.js';
import { ReplayingCommandRunner } from '../../helpers/replaying-runner.js';

async function fixture(name: string): Promise<Recording> {
  return parseRecording(await readFile(new URL(`../../fixtures/schedule/${name}`, import.meta.url), 'utf8'), `test/fixtures/schedule/${name}`);
}

/** A sysfs tree: each supply with its files. */
async function sysfs(supplies: Record<string, Record<string, string>>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'backhaul-sysfs-'));
  for (const [name, files] of Object.entries(supplies)) {
    const dir = join(root, 'sys', 'class', 'power_supply', name);
    await mkdir(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), `${text}\n`);
  }
  return root;
}

describe('Linux power (sysfs)', () => {
  it('a laptop on its charger: AC', async () => {
    expect(await linuxPowerProbe(await sysfs({ AC: { type: 'Mains', online: '1' }, BAT0: { type: 'Battery', present: '1', status: 'Charging' } }))()).toBe('ac');
  });
  it('a laptop unplugged: battery', async () => {
    expect(await linuxPowerProbe(await sysfs({ AC: { type: 'Mains', online: '0' }, BAT0: { type: 'Battery', present: '1', status: 'Discharging' } }))()).toBe('battery');
  });
  it('USB-C power delivery counts as AC', async () => {
    expect(await linuxPowerProbe(await sysfs({ ucsi: { type: 'USB', online: '1' }, BAT1: { type: 'Battery', status: 'Charging' } }))()).toBe('ac');
  });
  it('a desktop or VM without supplies, or with an empty battery slot: unknown', async () => {
    expect(await linuxPowerProbe(await sysfs({}))()).toBe('unknown');
    expect(await linuxPowerProbe(join(tmpdir(), 'backhaul-no-such-root'))()).toBe('unknown');
    expect(await linuxPowerProbe(await sysfs({ BAT0: { type: 'Battery', present: '0' } }))()).toBe('unknown');
  });
});

describe('macOS power (pmset -g batt, real samples)', () => {
  it('reads AC and battery from the first line', async () => {
    expect(parsePmsetBatt((await fixture('pmset-batt-ac.txt')).stdout)).toBe('ac');
    expect(parsePmsetBatt((await fixture('pmset-batt-battery.txt')).stdout)).toBe('battery');
    expect(parsePmsetBatt('')).toBe('unknown');
  });
  it('runs pmset through the CommandRunner', async () => {
    const runner = new ReplayingCommandRunner([{ argv: ['pmset', '-g', 'batt'], reply: await fixture('pmset-batt-battery.txt') }]);
    expect(await macosPowerProbe(runner)()).toBe('battery');
    runner.assertDone();
  });
});

describe('Windows power (Win32_Battery, synthetic)', () => {
  it('maps BatteryStatus as Microsoft documents it', async () => {
    expect(parseBatteryStatus((await fixture('win32-battery-ac.txt')).stdout)).toBe('ac');
    expect(parseBatteryStatus((await fixture('win32-battery-discharging.txt')).stdout)).toBe('battery');
    expect(parseBatteryStatus((await fixture('win32-battery-none.txt')).stdout)).toBe('unknown');
    expect(parseBatteryStatus('4')).toBe('battery');
    expect(parseBatteryStatus('[10]')).toBe('unknown');
    expect(parseBatteryStatus('not json')).toBe('unknown');
  });
  it('sends the script on stdin to Windows PowerShell', async () => {
    const runner = new ReplayingCommandRunner([{ argv: [...POWERSHELL_ARGV], reply: await fixture('win32-battery-discharging.txt') }]);
    expect(await windowsPowerProbe(runner)()).toBe('battery');
    expect(runner.calls[0]?.stdin).toBe(WIN32_BATTERY_SCRIPT);
    runner.assertDone();
  });
});

describe('metered (nmcli)', () => {
  it('a connected device that is metered, guessed or not, makes the connection metered', async () => {
    expect(parseNmcliMetered((await fixture('nmcli-metered-wifi.txt')).stdout)).toBe('yes');
    expect(parseNmcliMetered((await fixture('nmcli-metered-ethernet.txt')).stdout)).toBe('no');
  });
  it('the real recording of a disconnected ppp0 says nothing', () => {
    const recording = loadRecording('recorded/linux/nmcli_-t_-f_GENERAL,IP4_device_show_ppp0.txt');
    expect(parseNmcliMetered(recording.stdout)).toBe('unknown');
  });
  it('runs nmcli through the CommandRunner; without NetworkManager it is unknown', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: [...NMCLI_METERED_ARGV], reply: await fixture('nmcli-metered-wifi.txt') },
      { argv: [...NMCLI_METERED_ARGV], reply: { spawnError: 'ENOENT' } },
    ]);
    const probe = meteredProbeFor('linux', runner);
    expect(await probe()).toBe('yes');
    expect(await probe()).toBe('unknown');
    runner.assertDone();
    expect(await meteredProbeFor('darwin', runner)()).toBe('unknown');
  });
});

describe('metered (Windows NetworkCostType, synthetic)', () => {
  it('Fixed and Variable are metered, Unrestricted is not, anything else unknown', async () => {
    expect(parseNetworkCostType((await fixture('windows-cost-fixed.txt')).stdout)).toBe('yes');
    expect(parseNetworkCostType((await fixture('windows-cost-unrestricted.txt')).stdout)).toBe('no');
    expect(parseNetworkCostType('Variable\r\n')).toBe('yes');
    expect(parseNetworkCostType('none')).toBe('unknown');
  });
  it('asks Windows PowerShell with the script on stdin', async () => {
    const runner = new ReplayingCommandRunner([{ argv: [...POWERSHELL_ARGV], reply: await fixture('windows-cost-fixed.txt') }]);
    expect(await meteredProbeFor('win32', runner)()).toBe('yes');
    expect(runner.calls[0]?.stdin).toBe(WINDOWS_COST_SCRIPT);
    runner.assertDone();
  });
});
