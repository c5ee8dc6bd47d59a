/**
 * `backhaul config validate` judges the file as the agent will load it: with the managed policy
 * (here BACKHAUL_HOME/policy.yaml via --home) on top. A broken policy is reported, not blamed on
 * the user's file.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';

const CONFIG = [
  'profiles:',
  '  office:',
  '    type: ikev2',
  '    gateways: [vpn.example.com]',
  '    auth: { method: psk, psk: file:/etc/backhaul/office.psk }',
  '',
].join('\n');

async function home(policy?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'backhaul-validate-'));
  await writeFile(join(dir, 'config.yaml'), CONFIG);
  if (policy !== undefined) await writeFile(join(dir, 'policy.yaml'), policy);
  return dir;
}

describe('backhaul config validate with a managed policy', () => {
  it('without a policy, a PSK profile is valid', async () => {
    const dir = await home();
    const { io, out } = captureIo();
    expect(await main(['--home', dir, 'config', 'validate'], io)).toBe(0);
    expect(out.text()).toBe(`${join(dir, 'config.yaml')}: valid (0 jobs; 1 profile)\n`);
  });

  it('with requireCertificateAuth, the PSK profile is an error naming the profile, the policy and the line', async () => {
    const dir = await home('requireCertificateAuth: true\n');
    const { io, err } = captureIo();
    expect(await main(['--home', dir, 'config', 'validate'], io)).toBe(2);
    expect(err.text()).toContain(`${join(dir, 'config.yaml')}:5:`);
    expect(err.text()).toMatch(/profiles\.office\.auth\.method: profile "office" uses a pre-shared key, but your organisation's policy \(.*policy\.yaml\) requires certificate authentication/);
  });

  it('a valid policy is named in the result', async () => {
    const dir = await home('allowLegacyCiphers: true\n');
    const { io, out } = captureIo();
    expect(await main(['--home', dir, 'config', 'validate'], io)).toBe(0);
    expect(out.text()).toContain(`valid under the policy in ${join(dir, 'policy.yaml')}`);
  });

  it('a broken policy is a warning with its file and line; the user file is judged without it', async () => {
    const dir = await home('requireCertificateAuth: true\nlimits: { streems: { max: 2 } }\n');
    const { io, err } = captureIo();
    expect(await main(['--home', dir, 'config', 'validate'], io)).toBe(0);
    expect(err.text()).toContain(`${join(dir, 'policy.yaml')}:2:11: limits.streems: unknown limit — did you mean "streams"?`);
    const json = captureIo();
    expect(await main(['--home', dir, 'config', 'validate', '--json'], json.io)).toBe(0);
    expect(JSON.parse(json.out.text())).toMatchObject({ ok: true, policy: { ok: false, errors: [{ path: 'limits.streems' }] } });
  });
});
