/**
 * The agent's side of the managed policy: the `policy.invalid` health item follows what is in
 * force, and a running agent notices a policy changed underneath it (Group Policy, MDM) without a
 * restart.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { HealthRegistry } from '../../src/agent/health.js';
import { policyInForce, POLICY_HEALTH_CODE } from '../../src/agent/managed-policy.js';
import { AgentClient } from '../../src/api/client.js';
import { socketTransport } from '../../src/api/node-transport.js';
import { resolvePaths } from '../../src/os/paths.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';

const clock = () => new Date('2026-11-25T10:00:00Z');

describe('policyInForce', () => {
  it('keeps the policy.invalid health item in step with what is in force', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backhaul-policy-agent-'));
    const file = join(dir, 'policy.yaml');
    const health = new HealthRegistry();
    const ctx = { location: { kind: 'yaml' as const, file }, runner: new ReplayingCommandRunner([]), stateDir: join(dir, 'state'), health, now: clock };

    expect(await policyInForce(ctx)).toMatchObject({ ok: true });
    expect(health.list()).toEqual([]);

    await writeFile(file, 'requireCertificateAuth: sure\n');
    expect(await policyInForce(ctx)).toMatchObject({ ok: false, errors: [{ path: 'requireCertificateAuth' }] });
    expect(health.list()).toEqual([expect.objectContaining({ code: POLICY_HEALTH_CODE, severity: 'error', badge: true, text: expect.stringContaining(`${file}:1:25: requireCertificateAuth: expected true or false, got "sure"`) as unknown })]);

    await writeFile(file, 'requireCertificateAuth: true\n');
    expect(await policyInForce(ctx)).toMatchObject({ ok: true, loaded: { policy: { requireCertificateAuth: true } } });
    expect(health.list()).toEqual([]);

    await writeFile(file, 'requireCertificateAuth: [\n');
    expect(await policyInForce(ctx)).toMatchObject({ ok: true, loaded: { policy: { requireCertificateAuth: true } } });
    expect(health.list()).toEqual([expect.objectContaining({ code: POLICY_HEALTH_CODE, severity: 'warning', text: expect.stringContaining('the policy read at 2026-11-25T10:00:00.000Z') as unknown })]);
  });
});

describe('a running agent', () => {
  let agent: Agent | undefined;
  afterEach(async () => { await agent?.stop(); });

  it('notices a new policy without a restart', async () => {
    const home = await mkdtemp(join(tmpdir(), 'backhaul-policy-agent-'));
    await mkdir(join(home, 'data'));
    await writeFile(join(home, 'config.yaml'), `jobs:\n  demo: { sources: [${join(home, 'data')}], repository: ${join(home, 'repo')}, password: "file:${join(home, 'pw')}" }\n`);
    const paths = resolvePaths({ platform: process.platform, env: { BACKHAUL_HOME: home }, homedir: home, mode: 'user' });
    agent = await Agent.start({ paths, mode: 'user', version: 'test', policyLocation: { kind: 'yaml', file: join(home, 'policy.yaml') }, policyPollMs: 20 });
    const client = new AgentClient(socketTransport(agent.socket));
    expect((await client.jobs())[0]?.locked).toEqual({});

    await writeFile(join(home, 'policy.yaml'), 'config: { jobs: { demo: { streams: 2 } } }\n');
    // Bounded wait for the poll to see it: 250 × 20 ms.
    let locked: Record<string, string> = {};
    for (let i = 0; i < 250 && locked['streams'] === undefined; i++) {
      await new Promise((r) => setTimeout(r, 20));
      locked = { ...(await client.jobs())[0]?.locked };
    }
    expect(locked['streams']).toMatch(/^locked by your organisation's policy/);
    expect((await client.jobs())[0]?.settings.streams).toBe(2);
  });
});
