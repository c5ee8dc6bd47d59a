/**
 * Editing a job through the real agent process (`PATCH /v1/jobs/NAME`), with the client the UI
 * uses: the change lands in the user's file with its comments, the agent runs with it at once, a
 * wrong value is refused naming the field and leaves the file alone, secrets are not editable and
 * never in an answer, and a job with a running session is not changed under it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { startAgent, stopAgent, type AgentUnderTest } from '../helpers/agent-process.js';
import { captureIo } from '../helpers/cli-io.js';

let agent: AgentUnderTest;
let home: string;
let data: string;
let configFile: string;
let original: string;
const canary = `canary-${randomBytes(8).toString('hex')}`;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'backhaul-job-edit-'));
  data = join(home, 'data');
  await mkdir(data, { recursive: true });
  // Enough incompressible data at 1 MiB/s that a run is still going when the edit arrives.
  await writeFile(join(data, 'big.bin'), randomBytes(16 * 1024 * 1024));
  await writeFile(join(home, 'nightly.pw'), canary, { mode: 0o600 });
  configFile = join(home, 'config.yaml');
  original = [
    '# my backups (hand-written)',
    'jobs:',
    '  nightly:',
    `    sources: [${data}]   # just the data`,
    `    repository: ${join(home, 'repo')}`,
    `    password: file:${join(home, 'nightly.pw')}`,
    '    bandwidthLimit: 1 MiB/s',
    '',
  ].join('\n');
  await writeFile(configFile, original, { mode: 0o600 });
  expect(await main(['--home', home, 'init', 'nightly'], captureIo().io)).toBe(0);
  agent = await startAgent(home);
}, 120_000);

afterAll(async () => {
  await stopAgent(agent);
});

async function noSessions(): Promise<void> {
  // Bounded wait: 600 × 100 ms.
  for (let i = 0; i < 600 && (await agent.client.status()).sessions.length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  expect((await agent.client.status()).sessions).toEqual([]);
}

describe('PATCH /v1/jobs/NAME on the real agent', () => {
  it('lists the editable fields and their locks, never a secret', async () => {
    const jobs = await agent.client.jobs();
    expect(jobs).toEqual([
      expect.objectContaining({ name: 'nightly', settings: { sources: [data], excludes: [], streams: 4, profile: 'direct', bandwidthLimit: '1 MiB/s' }, locked: {} }),
    ]);
    expect(JSON.stringify(jobs)).not.toContain('password');
    expect(JSON.stringify(jobs)).not.toContain(canary);
  });

  it('writes the change into the file with its comments and runs with it at once', async () => {
    const view = await agent.client.editJob('nightly', { streams: 8, excludes: ['*.tmp'] });
    expect(view.settings).toMatchObject({ streams: 8, excludes: ['*.tmp'] });
    expect(view.locked).toEqual({});
    expect(JSON.stringify(view)).not.toContain(canary);
    const text = await readFile(configFile, 'utf8');
    expect(text).toBe(original.replace('    bandwidthLimit: 1 MiB/s\n', '    bandwidthLimit: 1 MiB/s\n    excludes: ["*.tmp"]\n    streams: 8\n'));
    const config = await agent.client.config();
    expect(config.ok && config.config).toMatchObject({ jobs: { nightly: { streams: 8, excludes: ['*.tmp'] } } });
    expect((await agent.client.logs(50)).lines.map((l) => l.message)).toContain('job settings changed');
  });

  it('refuses a wrong value naming the field and the fix, and leaves the file alone', async () => {
    const before = await readFile(configFile, 'utf8');
    await expect(agent.client.editJob('nightly', { streams: 64 })).rejects.toMatchObject({
      status: 400,
      code: 'config.invalid-value',
      message: 'jobs.nightly.streams: must be 1–32, got 64',
      field: 'streams',
      hint: expect.stringContaining('1 to 32') as unknown,
    });
    await expect(agent.client.editJob('nightly', { sources: ['relative'] })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/^jobs\.nightly\.sources\[0\]: must be an absolute path/) as unknown });
    await expect(agent.client.editJob('nightly', { profile: 'office' })).rejects.toMatchObject({ status: 400, message: expect.stringContaining('unknown profile "office"') as unknown });
    const secret = { password: 'file:/tmp/other.pw' } as unknown as Parameters<typeof agent.client.editJob>[1];
    await expect(agent.client.editJob('nightly', secret)).rejects.toMatchObject({ status: 400, code: 'config.not-editable', message: expect.stringContaining('secret') as unknown });
    await expect(agent.client.editJob('nope', { streams: 2 })).rejects.toMatchObject({ status: 404, code: 'config.unknown-job' });
    expect(await readFile(configFile, 'utf8')).toBe(before);
  });

  it('answers 409 job.running while the job has a session, and edits it once the run is over', async () => {
    const { sessionId } = await agent.client.startRun('nightly');
    await expect(agent.client.editJob('nightly', { streams: 2 })).rejects.toMatchObject({ status: 409, code: 'job.running', message: expect.stringContaining(sessionId) as unknown });
    await agent.client.cancelRun(sessionId);
    await noSessions();
    await expect(agent.client.editJob('nightly', { streams: 2, bandwidthLimit: null })).resolves.toMatchObject({ settings: { streams: 2 } });
    expect((await agent.client.jobs())[0]?.settings.bandwidthLimit).toBeUndefined();
    expect(await readFile(configFile, 'utf8')).not.toContain('bandwidthLimit');
  }, 120_000);
});
