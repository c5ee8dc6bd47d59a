/**
 * rsync jobs end to end: the real agent process runs them against a real OpenSSH server on
 * 127.0.0.1 (test/helpers/sshd-lab.ts), driven only through its Local API and the CLI. A job copies
 * the awkward tree byte for byte and is recorded `succeeded` with its bytes; a job whose
 * known_hosts lacks the server's key fails with the ssh-keyscan fix as its hint (and the known_hosts
 * file is left alone); a closed SSH port fails in verifying; the snapshot routes refuse rsync jobs
 * with job.no-snapshots; `backhaul run` through the agent prints the result; after a kill -9 mid-copy
 * a restarted agent stops the rsync processes left behind. The private key's text never shows up
 * in what the agent says or logs.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent, SessionRecord } from '../../src/api/types.js';
import { parseJournal } from '../../src/agent/session/journal.js';
import { main } from '../../src/cli/main.js';
import { startAgent, type AgentUnderTest } from '../helpers/agent-process.js';
import { captureIo } from '../helpers/cli-io.js';
import { freePort } from '../helpers/restic-lab.js';
import { treeDifferences, writeAwkwardTree } from '../helpers/rsync-lab.js';
import { sshdSkipReason, startSshd, type SshServer } from '../helpers/sshd-lab.js';

const skip = sshdSkipReason();

describe.skipIf(skip !== undefined)(skip === undefined ? 'the agent runs rsync jobs' : `the agent runs rsync jobs (skipped: ${skip})`, () => {
  let work: string;
  let sshd: SshServer;
  let src: string;
  const started: AgentUnderTest[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'backhaul-agent-rsync-'));
    sshd = await startSshd({ dir: join(work, 'sshd') });
    src = join(work, 'src');
    await writeAwkwardTree(src, 2, 256 * 1024);
  });
  afterEach(async () => {
    for (const agent of started.splice(0)) {
      if (agent.process.exitCode === null && agent.process.signalCode === null) {
        agent.process.kill('SIGTERM');
        await agent.exited;
      }
    }
  });
  afterAll(async () => {
    await sshd.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** A home whose config has one rsync job per entry, each with its own destination directory. */
  async function home(jobs: Record<string, { knownHosts?: string; port?: number; sources?: string; bandwidthLimit?: string }>): Promise<{ home: string; dest: (job: string) => string }> {
    const dir = await mkdtemp(join(work, 'home-'));
    const dest = (job: string) => join(dir, `dest-${job}`);
    const lines = ['jobs:'];
    for (const [name, job] of Object.entries(jobs)) {
      await mkdir(dest(name), { recursive: true });
      lines.push(
        `  ${name}:`,
        '    engine: rsync',
        `    sources: [${job.sources ?? src}]`,
        ...(job.bandwidthLimit === undefined ? [] : [`    bandwidthLimit: ${job.bandwidthLimit}`]),
        `    repository: ${dest(name)}`,
        '    streams: 3',
        '    ssh:',
        `      host: ${sshd.host}`,
        `      port: ${job.port ?? sshd.port}`,
        '      user: root',
        `      identity: file:${sshd.userKey}`,
        `      knownHosts: ${job.knownHosts ?? sshd.knownHosts}`,
      );
    }
    await writeFile(join(dir, 'config.yaml'), `${lines.join('\n')}\n`);
    await mkdir(join(dir, 'run'), { recursive: true });
    return { home: dir, dest };
  }

  async function launch(dir: string): Promise<AgentUnderTest> {
    const agent = await startAgent(dir);
    started.push(agent);
    return agent;
  }

  /** Starts `job` through the API and waits (bounded: 120 s) for its ended event. */
  async function runThroughApi(agent: AgentUnderTest, job: string): Promise<{ record: SessionRecord; events: AgentEvent[] }> {
    const events: AgentEvent[] = [];
    const controller = new AbortController();
    const timer = setTimeout(() => { controller.abort(); }, 120_000);
    let sessionId: string | undefined;
    let record: SessionRecord | undefined;
    await agent.client.events((event) => {
      events.push(event);
      if (event.type === 'snapshot' && sessionId === undefined) {
        sessionId = '';
        void agent.client.startRun(job).then((r) => { sessionId = r.sessionId; });
      }
      if (event.type === 'ended' && event.record.job === job) {
        record = event.record;
        controller.abort();
      }
    }, controller.signal);
    clearTimeout(timer);
    if (record === undefined) throw new Error(`no ended event for ${job}: ${agent.output()}`);
    return { record, events };
  }

  /** The middle of the private key file: it must never appear in anything the agent says. */
  async function keyCanary(): Promise<string> {
    const lines = (await readFile(sshd.userKey, 'utf8')).split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
    return lines[1] ?? lines[0] ?? '';
  }

  async function everythingSaid(agent: AgentUnderTest, dir: string): Promise<string> {
    const said = [JSON.stringify(await agent.client.status()), JSON.stringify(await agent.client.history()), JSON.stringify(await agent.client.logs(5000)), agent.output()];
    for (const name of await readdir(join(dir, 'logs'))) said.push(await readFile(join(dir, 'logs', name), 'utf8'));
    return said.join('\n');
  }

  it('copies the tree byte for byte and records success with its bytes; the snapshot routes refuse the job', async () => {
    const { home: dir, dest } = await home({ nas: {} });
    const agent = await launch(dir);
    const { record, events } = await runThroughApi(agent, 'nas');
    expect(record).toMatchObject({ job: 'nas', end: 'done', result: 'success' });
    expect(record.states.map((s) => s.state)).toEqual(['preflight', 'connecting', 'verifying', 'backing-up', 'tearing-down', 'done']);
    expect(record.summary?.snapshotId).toBeUndefined();
    expect(record.summary?.bytesProcessed).toBeGreaterThan(512 * 1024);
    expect(record.summary?.bytesAdded).toBeGreaterThan(512 * 1024);
    expect(record.summary?.filesNew).toBe(record.summary?.filesProcessed);
    expect(events.some((e) => e.type === 'progress')).toBe(true);
    expect(await treeDifferences(src, join(dest('nas'), src))).toEqual([]);

    const history = await agent.client.history({ job: 'nas' });
    expect(history.records).toEqual([record]);
    const status = await agent.client.status();
    expect(status.jobs).toEqual([expect.objectContaining({ name: 'nas', engine: 'rsync', lastRun: expect.objectContaining({ end: 'done', result: 'success' }) as unknown })]);
    // The scratch dir is gone: nothing of the run is left in the state dir but the history.
    expect(await readdir(join(dir, 'state', 'tmp')).catch(() => [])).toEqual([]);

    const refused = { status: 409, code: 'job.no-snapshots', message: expect.stringContaining(`root@${sshd.host}:${dest('nas')}`) as unknown };
    await expect(agent.client.snapshots('nas')).rejects.toMatchObject(refused);
    await expect(agent.client.tree('nas', 'deadbeef', '/')).rejects.toMatchObject(refused);
    const target = join(dir, 'restore-here');
    await expect(agent.client.restore({ job: 'nas', snapshot: 'deadbeef', paths: [src], target })).rejects.toMatchObject(refused);
    expect(await readdir(target).catch(() => 'absent')).toBe('absent');

    const said = await everythingSaid(agent, dir);
    expect(said).toContain('session ended done');
    expect(said).not.toContain(await keyCanary());
  });

  it('an unknown host key fails the job with the ssh-keyscan fix as its hint, and known_hosts is left alone', async () => {
    const emptyKnownHosts = join(work, 'empty_known_hosts');
    await writeFile(emptyKnownHosts, '');
    const { home: dir } = await home({ stranger: { knownHosts: emptyKnownHosts } });
    const agent = await launch(dir);
    const { record } = await runThroughApi(agent, 'stranger');
    expect(record.end).toBe('failed');
    expect(record.failure).toMatchObject({ code: 'backup.unknown' });
    expect(record.failure?.message).toContain(`is not in ${emptyKnownHosts}`);
    expect(record.failure?.hint).toContain(`ssh-keyscan -p ${sshd.port} ${sshd.host} >> ${emptyKnownHosts}`);
    expect(record.failure?.hint).toContain('jobs.stranger.ssh.knownHosts');
    // Not a key problem, not a password problem: the host key is the one thing wrong.
    expect(`${record.failure?.message ?? ''} ${record.failure?.hint ?? ''}`).not.toMatch(/private key|identity file|password|permissions/i);
    expect(record.notes).toEqual([]);
    expect(await readFile(emptyKnownHosts, 'utf8')).toBe('');

    const [last] = (await agent.client.history({ job: 'stranger' })).records;
    expect(last?.failure?.hint).toBe(record.failure?.hint);
    expect(await everythingSaid(agent, dir)).not.toContain(await keyCanary());
  });

  it('a closed SSH port fails in verifying, before rsync runs', async () => {
    const { home: dir } = await home({ closed: { port: await freePort() } });
    const agent = await launch(dir);
    const { record } = await runThroughApi(agent, 'closed');
    expect(record).toMatchObject({ end: 'failed', failure: { code: 'verify.unreachable' } });
    expect(record.failure?.message).toContain(`the SSH server ${sshd.host}:`);
    expect(record.states.map((s) => s.state)).not.toContain('backing-up');
  });

  it('after kill -9 mid-copy, a restarted agent stops the rsync left behind and records the session interrupted', async () => {
    const big = join(work, 'big-src');
    await mkdir(big, { recursive: true });
    await writeFile(join(big, 'a.bin'), randomBytes(6 * 1024 * 1024));
    await writeFile(join(big, 'b.bin'), randomBytes(6 * 1024 * 1024));
    const { home: dir } = await home({ slow: { sources: big, bandwidthLimit: '512 KiB/s' } });
    const agent = await launch(dir);
    // Bounded: the events stream ends at the first progress with bytes, or after 60 s.
    const controller = new AbortController();
    const timer = setTimeout(() => { controller.abort(); }, 60_000);
    let asked = false;
    await agent.client.events((event) => {
      if (event.type === 'snapshot' && !asked) {
        asked = true;
        void agent.client.startRun('slow');
      }
      if (event.type === 'progress' && event.progress.bytesDone > 0) controller.abort();
    }, controller.signal);
    clearTimeout(timer);
    agent.process.kill('SIGKILL');
    await agent.exited;

    const journals = await readdir(join(dir, 'state', 'journal'));
    expect(journals).toHaveLength(1);
    const entries = parseJournal(await readFile(join(dir, 'state', 'journal', journals[0] ?? ''), 'utf8'));
    const pids = entries.flatMap((e) => (e.kind === 'effect' && e.effect === 'process' ? [e.pid] : []));
    // The listing, the directory pass and the workers: each rsync was journaled when it started.
    expect(pids.length).toBeGreaterThanOrEqual(3);

    const restarted = await launch(dir);
    const [record] = (await restarted.client.history({ job: 'slow' })).records;
    expect(record).toMatchObject({ end: 'interrupted', failure: { code: 'session.interrupted' } });
    for (const pid of pids) {
      const stat = existsSync(`/proc/${pid}/stat`) ? await readFile(`/proc/${pid}/stat`, 'utf8') : '';
      expect(stat === '' || / Z /.test(stat) || !stat.includes('(rsync)'), `rsync ${pid} still runs`).toBe(true);
    }
    expect(await readdir(join(dir, 'state', 'journal'))).toEqual([]);
  });

  it('backhaul run, through the agent and in the foreground, prints the result of an rsync job', async () => {
    const { home: dir, dest } = await home({ nas: {} });
    await launch(dir);
    const run = captureIo();
    expect(await main(['--home', dir, 'run', 'nas'], run.io)).toBe(0);
    const text = run.out.text();
    expect(text).toMatch(/^Started session \S+\n/);
    expect(text).toContain('· checking the backup server can be reached');
    expect(text).toContain('Backup of "nas" succeeded');
    expect(text).toMatch(/ {2}data {6}\S+ \S+ scanned, \S+ \S+ sent/);
    expect(text).not.toContain('snapshot');
    expect(await treeDifferences(src, join(dest('nas'), src))).toEqual([]);

    // The same job in the CLI process: only what changed travels, which is nothing.
    const foreground = captureIo();
    expect(await main(['--home', dir, 'run', 'nas', '--foreground'], foreground.io)).toBe(0);
    expect(foreground.out.text()).toMatch(/files {5}\d+ \(0 new, 0 changed, \d+ unchanged\)/);
    expect(foreground.out.text()).toContain(' 0 B sent');

    const snapshots = captureIo();
    expect(await main(['--home', dir, 'snapshots', 'nas'], snapshots.io)).not.toBe(0);
    expect(snapshots.err.text()).toContain('rsync job');
  });
});
