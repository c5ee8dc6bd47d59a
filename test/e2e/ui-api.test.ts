/**
 * The routes the UI added, against the real agent process and a real restic repository, through
 * the same client the UI uses: listing snapshots, browsing a tree, restoring (and refusing a
 * target that is not empty, a bad snapshot id, a relative path), power events, and `lastRun`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { startAgent, stopAgent, writeJobConfig, type AgentUnderTest } from '../helpers/agent-process.js';
import { captureIo } from '../helpers/cli-io.js';

let agent: AgentUnderTest;
let home: string;
let data: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'backhaul-ui-api-'));
  data = join(home, 'data');
  await mkdir(join(data, 'docs'), { recursive: true });
  await writeFile(join(data, 'docs', 'a.txt'), 'alpha\n');
  await writeFile(join(data, 'docs', 'we*ird[1].txt'), 'pattern-like name\n');
  await writeFile(join(data, 'b.bin'), randomBytes(4096));
  await writeJobConfig(home, { name: 'nightly', data, repository: join(home, 'repo'), password: `pw-${randomBytes(4).toString('hex')}` });
  expect(await main(['--home', home, 'init', 'nightly'], captureIo().io)).toBe(0);
  agent = await startAgent(home);
  const { sessionId } = await agent.client.startRun('nightly');
  // Bounded wait for the run to end: 600 × 100 ms.
  for (let i = 0; i < 600 && (await agent.client.status()).sessions.length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  expect((await agent.client.run(sessionId)) as { end?: string }).toMatchObject({ end: 'done' });
}, 180_000);

afterAll(async () => {
  await stopAgent(agent);
});

describe('UI routes on the real agent', () => {
  it('carries the last run in status', async () => {
    const job = (await agent.client.status()).jobs[0];
    expect(job?.lastRun).toMatchObject({ end: 'done', result: 'success', bytesProcessed: expect.any(Number) as unknown });
  });

  it('lists snapshots, browses a folder, and restores a pattern-like file name literally', async () => {
    const { snapshots, suggestedTarget } = await agent.client.snapshots('nightly');
    expect(snapshots).toHaveLength(1);
    expect(suggestedTarget).toMatch(/nightly$/);
    const snapshot = snapshots[0]?.id ?? '';
    const top = await agent.client.tree('nightly', snapshot, data);
    expect(top.entries.map((e) => [e.type, e.name])).toEqual([['dir', 'docs'], ['file', 'b.bin']]);
    const docs = await agent.client.tree('nightly', snapshot, join(data, 'docs'));
    expect(docs.entries.map((e) => e.name)).toEqual(['a.txt', 'we*ird[1].txt']);
    const target = join(home, 'restore-1');
    const restored = await agent.client.restore({ job: 'nightly', snapshot, paths: [join(data, 'docs', 'we*ird[1].txt')], target });
    expect(restored.target).toBe(target);
    await expect(readFile(join(target, data, 'docs', 'we*ird[1].txt'), 'utf8')).resolves.toBe('pattern-like name\n');
    await expect(readFile(join(target, data, 'docs', 'a.txt'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('refuses what would overwrite or escape, with a code and a hint', async () => {
    const snapshot = (await agent.client.snapshots('nightly')).snapshots[0]?.id ?? '';
    const full = join(home, 'full');
    await mkdir(full);
    await writeFile(join(full, 'keep.txt'), 'mine');
    await expect(agent.client.restore({ job: 'nightly', snapshot, paths: [data], target: full })).rejects.toMatchObject({ status: 409, code: 'restore.target-not-empty' });
    await expect(agent.client.restore({ job: 'nightly', snapshot, paths: [data], target: 'relative/dir' })).rejects.toMatchObject({ status: 400, code: 'api.bad-request' });
    await expect(agent.client.restore({ job: 'nightly', snapshot: '--target=/', paths: [data], target: join(home, 'x') })).rejects.toMatchObject({ status: 400 });
    await expect(agent.client.restore({ job: 'nightly', snapshot, paths: ['/a/../../etc'], target: join(home, 'y') })).rejects.toMatchObject({ status: 400 });
    await expect(agent.client.tree('nightly', 'not-hex!', '/')).rejects.toMatchObject({ status: 400, code: 'api.bad-parameter' });
    await expect(agent.client.tree('nightly', '0123abcd', '/')).rejects.toMatchObject({ status: 404, code: 'snapshot.unknown', hint: expect.stringContaining('list of snapshots') as unknown });
    await expect(agent.client.snapshots('nope')).rejects.toMatchObject({ status: 404, code: 'config.unknown-job' });
    await expect(readFile(join(full, 'keep.txt'), 'utf8')).resolves.toBe('mine');
  });

  it('takes power events and logs them', async () => {
    await expect(agent.client.power('suspend')).resolves.toEqual({ event: 'suspend' });
    await expect(agent.client.power('resume')).resolves.toEqual({ event: 'resume' });
    const lines = (await agent.client.logs(200)).lines.map((l) => l.message);
    expect(lines).toContain('the system is going to sleep');
    expect(lines).toContain('the system woke up');
  });
});
