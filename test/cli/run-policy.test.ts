/**
 * `backhaul run JOB --foreground` runs without the agent, so it reads the managed policy itself
 * (here BACKHAUL_HOME/policy.yaml via --home): its rules hold, and a broken policy with no good
 * copy runs nothing. Both refusals come before any command runs.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';

async function home(policy: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'backhaul-run-policy-'));
  await writeFile(join(dir, 'config.yaml'), [
    'jobs:',
    '  nightly: { sources: [/srv], repository: /tmp/repo, password: "file:/tmp/pw", profile: office }',
    'profiles:',
    '  office: { type: ikev2, gateways: [vpn.example.com], auth: { method: psk, psk: "file:/tmp/psk" } }',
    '',
  ].join('\n'));
  await writeFile(join(dir, 'policy.yaml'), policy);
  return dir;
}

describe('backhaul run --foreground under a managed policy', () => {
  it('obeys its rules: a PSK profile under requireCertificateAuth is refused', async () => {
    const dir = await home('requireCertificateAuth: true\n');
    const { io, err } = captureIo();
    expect(await main(['--home', dir, 'run', 'nightly', '--foreground'], io)).toBe(2);
    expect(err.text()).toMatch(/profile "office" uses a pre-shared key, but your organisation's policy .* requires certificate authentication/);
  });

  it('a broken policy with no good copy runs nothing (fail closed)', async () => {
    const dir = await home('requireCertificateAuth: perhaps\n');
    const { io, err } = captureIo();
    expect(await main(['--home', dir, 'run', 'nightly', '--foreground'], io)).toBe(2);
    expect(err.text()).toMatch(/^error: your organisation's policy \(.*policy\.yaml\) has errors, and there is no earlier good policy: nothing runs until it is fixed\n.*policy\.yaml:1:25: requireCertificateAuth: expected true or false, got "perhaps"\nhint: /);
  });
});
