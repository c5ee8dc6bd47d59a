/**
 * The macos driver's harness for the TunnelDriver contract (contract.ts): a stateful `FakeMac`
 * (scutil --nc, ifconfig, route answering with test/fixtures/macos) per scenario, with
 * Backhaul's profile installed — for `ensure-twice` installed by "a person" between a first
 * ensureProfile that wrote it and the contract's two calls, as it happens on a real Mac.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMacosDriver } from '../../src/connect/macos.js';
import { generateProfile } from '../../src/connect/macos-profile.js';
import type { ContractScenario, DriverHarness } from './contract.js';
import { FakeMac, l2tpProfile, PASSWORD, PROFILE_KEY, PSK } from './macos-fakes.js';

/** scutil's list and status only read; start/stop, ifconfig and route change the Mac. */
const READS = [/^scutil --nc (list|status)\b/];

const stateDirs: string[] = [];

/** Removes the state dirs the harnesses made (call from afterAll). */
export function cleanUpMacosHarnesses(): void {
  for (const dir of stateDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function macosHarness(scenario: ContractScenario): Promise<DriverHarness> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bh-contract-macos-'));
  stateDirs.push(stateDir);
  const mac = new FakeMac();
  const make = () => createMacosDriver({ runner: mac, stateDir, profileKey: PROFILE_KEY, pacing: { pollMs: 0, connectPolls: 5, stopPolls: 3 } });
  const serviceName = generateProfile(l2tpProfile, PROFILE_KEY).serviceName;
  if (scenario === 'ensure-twice') {
    // The first run writes the profile and asks for it to be installed; then the person does.
    await make().ensureProfile(l2tpProfile, new AbortController().signal, { acquire: () => Promise.resolve(), release: () => Promise.resolve() }).then(
      () => { throw new Error('macos harness: the first ensureProfile should have asked for the profile to be installed'); },
      (error: unknown) => { if ((error as { code?: string }).code !== 'tunnel.macos-profile-install') throw error; },
    );
  }
  mac.installed = [serviceName];
  if (scenario === 'pre-existing') mac.state = 'Connected';
  return {
    driver: make(),
    restarted: make,
    profile: l2tpProfile,
    runner: mac,
    secrets: [PSK, PASSWORD],
    isChange: (argv) => !READS.some((read) => read.test(argv.join(' '))),
    leftovers: () => mac.leftovers(),
  };
}
