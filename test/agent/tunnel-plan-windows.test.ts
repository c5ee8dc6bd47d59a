/**
 * The windows driver is built where drivers are constructed: planTunnel on a win32 host, and the
 * clean-up driver crash recovery asks for by name.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { driverForCleanUp, planTunnel } from '../../src/agent/tunnel-plan.js';
import { nonLinuxHost } from '../../src/connect/host-probe.js';
import { validateConfigData, type Config } from '../../src/config/schema.js';
import { SecretRedactor } from '../../src/os/redact.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bh-plan-windows-'));
  writeFileSync(join(dir, 'psk'), 'psk-CANARY\n', { mode: 0o600 });
  writeFileSync(join(dir, 'repo'), 'repo-pw\n', { mode: 0o600 });
});
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

function config(type: 'l2tp' | 'ikev2'): Config {
  const result = validateConfigData({
    jobs: { nightly: { sources: ['C:\\data'], repository: 'rest:http://10.99.0.1:8000/r', password: `file:${dir}/repo`, profile: 'office' } },
    profiles: { office: { type, gateways: ['203.0.113.2'], routes: ['10.99.0.0/24'], auth: { method: 'psk', psk: `file:${dir}/psk` } } },
  });
  if (!result.success) throw new Error(JSON.stringify(result.issues));
  return result.data;
}

describe('the windows driver in the agent', () => {
  it('planTunnel builds the windows driver on a win32 host, without running a command', async () => {
    for (const type of ['l2tp', 'ikev2'] as const) {
      const runner = new ReplayingCommandRunner([]);
      const plan = await planTunnel({ config: config(type), runner, redactor: new SecretRedactor(), stateDir: dir, probe: () => Promise.resolve(nonLinuxHost('win32')) }, 'nightly', 'office');
      expect(plan.driver.name).toBe('windows');
      runner.assertDone();
    }
  });

  it('crash recovery gets a windows driver by name, in the phone book of the agent\'s mode', async () => {
    for (const [agentMode, flag] of [['system', ' -AllUserConnection'], ['user', '']] as const) {
      const runner = new ReplayingCommandRunner([{ argv: ['powershell.exe', '-NoProfile', '-NonInteractive', '-Command', '-'], reply: { stdout: '{"ok":true}\n' } }]);
      const driver = driverForCleanUp('windows', { runner, stateDir: dir, agentMode });
      expect(driver?.name).toBe('windows');
      await driver?.cleanUp?.({ profile: 'office', tunnelUp: false, resources: [{ kind: 'windows-vpn-entry', id: 'backhaul-office' }] }, new AbortController().signal);
      expect(runner.calls[0]?.stdin).toContain(`Remove-VpnConnection -Name 'backhaul-office'${flag} -Force`);
      runner.assertDone();
    }
  });
});
