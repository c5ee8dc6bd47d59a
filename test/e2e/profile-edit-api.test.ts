/**
 * Editing a VPN profile through the real agent process (`PATCH /v1/profiles/NAME`), with the client
 * the UI and CLI use: the change lands in the user's file with its comments, a copy of the file as
 * it was is kept in the state dir, the agent runs with the new value at once, a wrong value, a
 * secret or a field the managed policy locks is refused naming the field, and no answer carries a
 * secret reference.
 */
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentApiError } from '../../src/api/client.js';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';
import { startAgent, stopAgent, type AgentUnderTest } from '../helpers/agent-process.js';

let agent: AgentUnderTest;
let home: string;
let configFile: string;
let original: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'backhaul-profile-edit-'));
  configFile = join(home, 'config.yaml');
  original = [
    '# office (hand-written)',
    'jobs:',
    '  nightly:',
    '    sources: [/home/me]',
    '    repository: rest:http://10.99.0.1:8000/office',
    '    password: file:/etc/backhaul/nightly.pw',
    '    profile: office',
    'profiles:',
    '  office:',
    '    type: l2tp',
    '    gateways: [vpn.example.com]   # the old box',
    '    routes: [10.99.0.0/24]',
    '    auth: { method: psk, psk: "file:/etc/backhaul/office.psk" }',
    '',
  ].join('\n');
  await writeFile(configFile, original, { mode: 0o600 });
  // IT's managed policy (BACKHAUL_HOME/policy.yaml, the Linux source) sets one field of the profile.
  await writeFile(join(home, 'policy.yaml'), ['config:', '  profiles:', '    office:', '      reconnectAttempts: 3', ''].join('\n'));
  agent = await startAgent(home);
}, 120_000);

afterAll(async () => {
  await stopAgent(agent);
});

async function refusal(promise: Promise<unknown>): Promise<AgentApiError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof AgentApiError)) throw new Error(`expected an AgentApiError, got ${String(error)}`);
  return error;
}

describe('PATCH /v1/profiles/NAME on the real agent', () => {
  it('lists the profiles\' everyday fields, never auth', async () => {
    const profiles = await agent.client.profiles();
    expect(profiles).toEqual([
      {
        name: 'office', type: 'l2tp',
        locked: { reconnectAttempts: "locked by your organisation's policy, which sets this value; ask your administrator to change it" },
        settings: { gateways: ['vpn.example.com'], routes: ['10.99.0.0/24'], fullTunnel: false, driver: 'auto', keepaliveSeconds: 30, keepaliveFailures: 4, stallIntervals: 4, reconnectAttempts: 3, reconnectDeadlineSeconds: 600, mssClamp: false },
      },
    ]);
    expect(JSON.stringify(profiles)).not.toContain('office.psk');
  });

  it('writes the change with its comments, keeps a copy of the old file, and runs with it at once', async () => {
    const view = await agent.client.editProfile('office', { gateways: ['vpn2.example.com', 'vpn.example.com'], keepaliveSeconds: 15 });
    expect(view.settings).toMatchObject({ gateways: ['vpn2.example.com', 'vpn.example.com'], keepaliveSeconds: 15 });
    const text = await readFile(configFile, 'utf8');
    expect(text).toBe(original.replace('    gateways: [vpn.example.com]   # the old box\n', '    gateways: [vpn2.example.com, vpn.example.com]   # the old box\n').replace('    auth: { method: psk, psk: "file:/etc/backhaul/office.psk" }\n', '    auth: { method: psk, psk: "file:/etc/backhaul/office.psk" }\n    keepaliveSeconds: 15\n'));
    const copies = await readdir(join(home, 'state', 'config-backups'));
    expect(copies).toHaveLength(1);
    expect(await readFile(join(home, 'state', 'config-backups', copies[0] ?? ''), 'utf8')).toBe(original);
    expect((await agent.client.profiles())[0]?.settings.keepaliveSeconds).toBe(15);
  });

  it('refuses a wrong value (400, naming the field), auth (400 not editable) and an unknown profile (404); the file is untouched', async () => {
    const before = await readFile(configFile, 'utf8');
    const bad = await refusal(agent.client.editProfile('office', { keepaliveSeconds: 1 }));
    expect(bad).toMatchObject({ status: 400, code: 'config.invalid-value', field: 'keepaliveSeconds', message: 'profiles.office.keepaliveSeconds: must be 5–300, got 1' });
    const auth = await refusal(agent.client.editProfile('office', { auth: { method: 'psk', psk: 'file:/tmp/x' } } as never));
    expect(auth).toMatchObject({ status: 400, code: 'config.not-editable', field: 'auth' });
    const locked = await refusal(agent.client.editProfile('office', { reconnectAttempts: 20 }));
    expect(locked).toMatchObject({ status: 423, code: 'config.locked', field: 'reconnectAttempts', message: expect.stringMatching(/^profiles\.office\.reconnectAttempts is locked by your organisation's policy/) as unknown });
    const unknown = await refusal(agent.client.editProfile('home', { mtu: 1400 }));
    expect(unknown).toMatchObject({ status: 404, code: 'config.unknown-profile', hint: 'Known profiles: office.' });
    expect(await readFile(configFile, 'utf8')).toBe(before);
  });

  it('the CLI: profile show, set and unset through the agent, its refusals in the agent\'s words', async () => {
    const shown = captureIo();
    expect(await main(['--home', home, 'profile', 'show', 'office'], shown.io)).toBe(0);
    expect(shown.out.text()).toMatch(/^office \(l2tp\)\n {2}gateways {18}vpn2\.example\.com, vpn\.example\.com\n/);
    expect(shown.out.text()).toContain('  mtu                       (computed)\n');

    const set = captureIo();
    expect(await main(['--home', home, 'profile', 'set', 'office', 'routes', '10.99.0.0/24', '10.98.0.0/16'], set.io)).toBe(0);
    expect(set.out.text()).toContain('office: routes changed\n');
    expect(set.out.text()).toContain('  routes                    10.99.0.0/24, 10.98.0.0/16\n');
    expect(await readFile(configFile, 'utf8')).toContain('    routes: [10.99.0.0/24, 10.98.0.0/16]\n');

    const unset = captureIo();
    expect(await main(['--home', home, 'profile', 'unset', 'office', 'keepaliveSeconds'], unset.io)).toBe(0);
    expect(await readFile(configFile, 'utf8')).not.toContain('keepaliveSeconds');

    const bad = captureIo();
    expect(await main(['--home', home, 'profile', 'set', 'office', 'mtu', '9000'], bad.io)).not.toBe(0);
    expect(bad.err.text()).toContain('profiles.office.mtu: must be 576–1500, got 9000');
    const locked = captureIo();
    expect(await main(['--home', home, 'profile', 'set', 'office', 'reconnectAttempts', '20'], locked.io)).toBe(2);
    expect(locked.err.text()).toContain("profiles.office.reconnectAttempts is locked by your organisation's policy");
    expect(shown.out.text()).toContain("  reconnectAttempts         3   🔒 locked by your organisation's policy");
    const secret = captureIo();
    expect(await main(['--home', home, 'profile', 'set', 'office', 'auth', 'x'], secret.io)).not.toBe(0);
    expect(secret.err.text()).toContain('secret');
  });
});
