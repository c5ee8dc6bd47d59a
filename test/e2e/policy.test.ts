/**
 * A managed policy on the real agent process (BACKHAUL_HOME/policy.yaml, the Linux source with its
 * path moved by BACKHAUL_HOME): a key it locks is refused by the API (423), the CLI (`backhaul job
 * set`) and the UI (Debian's Chromium: the field is read-only and says why), each saying "locked by
 * your organisation's policy" and naming the key. A policy broken later keeps the last good one in
 * force, across a restart; a broken policy with no good copy runs no jobs (fail closed).
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentApiError } from '../../src/api/client.js';
import { main } from '../../src/cli/main.js';
import { startAgent, stopAgent, type AgentUnderTest } from '../helpers/agent-process.js';
import { artifactsDir, chromiumSkipReason, ensureRendererBuilt, launchChromium, type Browser } from '../helpers/chromium.js';
import { captureIo } from '../helpers/cli-io.js';

const skipUi = chromiumSkipReason();
const POLICY = ['# pushed by IT', 'limits:', '  streams: { min: 1, max: 4 }', 'config:', '  jobs:', '    demo:', '      streams: 2', ''].join('\n');
const LOCKED = /^jobs\.demo\.streams is locked by your organisation's policy/;

let home: string;
let agents: AgentUnderTest[] = [];

async function writeHome(dir: string): Promise<void> {
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(join(dir, 'demo.pw'), 'not-a-real-password', { mode: 0o600 });
  await writeFile(join(dir, 'config.yaml'), [
    'jobs:',
    '  demo:',
    `    sources: [${join(dir, 'data')}]`,
    `    repository: ${join(dir, 'repo')}`,
    `    password: file:${join(dir, 'demo.pw')}`,
    '    streams: 3',
    '',
  ].join('\n'));
}

async function start(dir: string, args: readonly string[] = []): Promise<AgentUnderTest> {
  const agent = await startAgent(dir, args);
  agents.push(agent);
  return agent;
}

async function stop(agent: AgentUnderTest): Promise<void> {
  await stopAgent(agent);
  agents = agents.filter((a) => a !== agent);
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'backhaul-policy-e2e-'));
  await writeHome(home);
  await writeFile(join(home, 'policy.yaml'), POLICY);
}, 60_000);

afterAll(async () => {
  for (const agent of [...agents]) await stop(agent);
});

describe('a managed policy on the real agent', () => {
  it('locks the key it sets: the API and the CLI refuse it, naming the key; other fields still change', async () => {
    const agent = await start(home);
    const [demo] = await agent.client.jobs();
    expect(demo?.settings.streams).toBe(2);
    expect(demo?.locked).toEqual({ streams: expect.stringMatching(/^locked by your organisation's policy/) as unknown });

    const refused = await agent.client.editJob('demo', { streams: 6 }).then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(AgentApiError);
    expect(refused).toMatchObject({ status: 423, code: 'config.locked', field: 'streams', message: expect.stringMatching(LOCKED) as unknown });

    const cli = captureIo();
    expect(await main(['--home', home, 'job', 'set', 'demo', 'streams', '6'], cli.io)).toBe(2);
    expect(cli.err.text()).toMatch(/^error: jobs\.demo\.streams is locked by your organisation's policy, which sets this value; ask your administrator to change it\nhint: /);
    expect(await readFile(join(home, 'config.yaml'), 'utf8')).toContain('    streams: 3\n');

    const allowed = captureIo();
    expect(await main(['--home', home, 'job', 'set', 'demo', 'excludes', '*.tmp', '*.iso'], allowed.io)).toBe(0);
    expect(allowed.out.text()).toMatch(/excludes +\*\.tmp, \*\.iso\n/);
    expect(allowed.out.text()).toMatch(/streams +2 +🔒 locked by your organisation's policy/);
    expect((await agent.client.health()).map((h) => h.code)).not.toContain('policy.invalid');
    await stop(agent);
  }, 120_000);

  it('a policy broken later keeps the last good one in force, also after a restart, with a health item', async () => {
    const agent = await start(home);
    await writeFile(join(home, 'policy.yaml'), POLICY.replace('streams: 2', 'streams: two'));
    // Any config reload reads the policy again; an allowed edit is one.
    await agent.client.editJob('demo', { excludes: ['*.bak'] });
    const health = await agent.client.health();
    expect(health.find((h) => h.code === 'policy.invalid')).toMatchObject({ severity: 'warning', text: expect.stringMatching(/policy\.yaml:7:\d+: config\.jobs\.demo\.streams: must be a whole number 1–32, got "two"/) as unknown });
    expect((await agent.client.jobs())[0]?.locked.streams).toMatch(/^locked by your organisation's policy/);
    await stop(agent);

    const restarted = await start(home);
    expect((await restarted.client.jobs())[0]).toMatchObject({ settings: { streams: 2 }, locked: { streams: expect.any(String) as unknown } });
    expect((await restarted.client.health()).map((h) => h.code)).toContain('policy.invalid');
    await stop(restarted);
    await writeFile(join(home, 'policy.yaml'), POLICY);
  }, 120_000);

  it('a broken policy and no good copy: no jobs run (fail closed), and the health item says why', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'backhaul-policy-e2e-'));
    await writeHome(fresh);
    await writeFile(join(fresh, 'policy.yaml'), 'allowLegacyCiphers: true\nconfig:\n  profiles:\n    office:\n      ikeProposals: [aes128-md5-modp2048]\n');
    const agent = await start(fresh);
    expect(await agent.client.jobs()).toEqual([]);
    expect((await agent.client.health()).find((h) => h.code === 'policy.invalid')).toMatchObject({ severity: 'error', text: expect.stringContaining("md5: MD5 is broken; a managed policy can't allow it") as unknown });
    const started = await agent.client.startRun('demo').then(() => undefined, (error: unknown) => error);
    expect(started).toBeInstanceOf(AgentApiError);
    await stop(agent);
  }, 120_000);
});

describe.skipIf(skipUi !== undefined)('a locked field in the UI (Chromium)', () => {
  let browser: Browser | undefined;
  afterAll(async () => { await browser?.close(); });

  it('is shown locked on the Jobs page and in the form, and says why', async () => {
    await ensureRendererBuilt();
    const agent = await start(home, ['--web']);
    browser = await launchChromium();
    const page: Page = await browser.context.newPage();
    // Bounded wait for the login link the agent prints once its web listener is up: 300 × 100 ms.
    for (let i = 0; i < 300 && agent.webUrl() === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    await page.goto(agent.webUrl() ?? '');
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Jobs and profiles' }).waitFor({ timeout: 30_000 });
    const job = page.getByRole('region', { name: 'demo', exact: true });
    const shown = job.locator('dt:text-is("Parallel streams") + dd');
    await shown.locator('.locked').waitFor({ timeout: 30_000 });
    await expect(shown.textContent()).resolves.toMatch(/^2 🔒 Locked by your organisation's policy, which sets this value; ask your administrator to change it \(jobs\.demo\.streams\)$/);

    await job.getByRole('button', { name: 'Edit (demo)' }).click();
    const streams = job.getByRole('form', { name: 'Edit demo' }).getByLabel('Parallel streams');
    await expect(streams.inputValue()).resolves.toBe('2');
    await expect(streams.getAttribute('readonly')).resolves.not.toBeNull();
    const lockId = 'job-demo-streams-lock';
    expect((await streams.getAttribute('aria-describedby'))?.split(' ')).toContain(lockId);
    await expect(page.locator(`#${lockId}`).textContent()).resolves.toMatch(/Locked by your organisation's policy, .* \(jobs\.demo\.streams\)$/);
    // Fields the policy does not set stay editable.
    await expect(job.getByRole('form', { name: 'Edit demo' }).getByLabel('Bandwidth limit').getAttribute('readonly')).resolves.toBeNull();
    await mkdir(join(artifactsDir, 'ui'), { recursive: true });
    await page.screenshot({ path: join(artifactsDir, 'ui', 'policy-locked.png'), fullPage: true });
    await page.close();
    await stop(agent);
  }, 300_000);
});
