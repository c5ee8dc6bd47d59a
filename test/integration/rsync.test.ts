/**
 * The rsync engine against real rsync and a real OpenSSH server started here on 127.0.0.1 (random
 * port, generated host and user keys, host key checking on): a full copy compared byte for byte,
 * an incremental re-run, a file vanishing mid-run, a worker killed mid-run, an interrupted large
 * file resumed from --partial-dir, mirror deletion, and an unknown host key. Transfers are slowed
 * with the job's own bandwidth limit so there is a "mid-run" to act in; nothing asserts on time,
 * and every wait is bounded.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainRun, type BackupEvent, type BackupRequest } from '../../src/backup/engine.js';
import { PARTIAL_DIR } from '../../src/backup/rsync-args.js';
import { createRsyncEngine, type RsyncEngineOptions } from '../../src/backup/rsync.js';
import { createCommandRunner } from '../../src/os/command.js';
import { collectRun } from '../helpers/engine-run.js';
import { findProcesses, treeDifferences, until, writeAwkwardTree } from '../helpers/rsync-lab.js';
import { sshdSkipReason, startSshd, type SshServer } from '../helpers/sshd-lab.js';

const skip = sshdSkipReason();
const runner = createCommandRunner();
const MiB = 1024 * 1024;

describe.skipIf(skip !== undefined)(skip === undefined ? 'rsync over a real sshd' : `rsync over a real sshd (skipped: ${skip})`, () => {
  let work: string;
  let sshd: SshServer;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'backhaul-rsync-it-'));
    sshd = await startSshd({ dir: path.join(work, 'sshd') });
  });
  afterAll(async () => {
    await sshd.stop();
    await rm(work, { recursive: true, force: true });
  });

  function engine(extra: Partial<RsyncEngineOptions> = {}) {
    return createRsyncEngine({
      runner,
      binary: { path: 'rsync' },
      target: { host: sshd.host, port: sshd.port, user: 'root', identityFile: sshd.userKey, knownHostsFile: sshd.knownHosts },
      retryDelaysMs: [200, 200],
      killGraceMs: 5_000,
      ...extra,
    });
  }

  /** A fresh source tree and an empty destination directory. */
  async function fixture(name: string, bigFiles = 2, bigSize = MiB): Promise<{ src: string; dest: string; copy: string }> {
    const src = path.join(work, name, 'src');
    const dest = path.join(work, name, 'dest');
    await writeAwkwardTree(src, bigFiles, bigSize);
    await mkdir(dest, { recursive: true });
    return { src, dest, copy: path.join(dest, src) };
  }

  async function request(src: string, dest: string, extra: Partial<BackupRequest> = {}): Promise<BackupRequest> {
    const scratchDir = await mkdtemp(path.join(work, 'scratch-'));
    await chmod(scratchDir, 0o700);
    return { jobName: 'it', repository: dest, password: '', sources: [src], excludes: [], streams: 3, scratchDir, ...extra };
  }

  it('copies a whole tree with 3 workers: byte for byte, links, empty dirs, modes and times', async () => {
    const { src, dest, copy } = await fixture('full', 3);
    const req = await request(src, dest);
    const { events, result } = await collectRun(engine().run(req, new AbortController().signal));
    expect(result.outcome).toBe('success');
    if (result.outcome !== 'success') return;
    expect(result.summary.filesNew).toBe(result.summary.filesProcessed);
    expect(result.summary.bytesAdded).toBe(result.summary.bytesProcessed - 'readme.txt'.length);
    expect(await treeDifferences(src, copy)).toEqual([]);
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.at(-1)).toMatchObject({ fraction: 1 });
    expect(await readdir(req.scratchDir)).toEqual([]);
  });

  it('a re-run transfers only what changed', async () => {
    const { src, dest, copy } = await fixture('incremental', 2);
    const first = await drainRun(engine().run(await request(src, dest), new AbortController().signal));
    expect(first.outcome).toBe('success');

    const same = await drainRun(engine().run(await request(src, dest), new AbortController().signal));
    expect(same).toMatchObject({ outcome: 'success', summary: { filesNew: 0, filesChanged: 0, bytesAdded: 0 } });

    await writeFile(path.join(src, 'small', 's03.bin'), randomBytes(4096));
    await writeFile(path.join(src, 'docs', 'added.txt'), 'new file\n');
    const changed = await drainRun(engine().run(await request(src, dest), new AbortController().signal));
    expect(changed.outcome).toBe('success');
    if (changed.outcome !== 'success') return;
    expect(changed.summary).toMatchObject({ filesNew: 1, filesChanged: 1 });
    // rsync's delta transfer: at most the two files' bytes travel, not the 2 MiB of big files.
    expect(changed.summary.bytesAdded).toBeLessThanOrEqual(4096 + 'new file\n'.length);
    expect(await treeDifferences(src, copy)).toEqual([]);
  });

  it('a file that vanishes mid-run gives a warning naming it, not a failure', async () => {
    const { src, dest } = await fixture('vanish', 1, 2 * MiB);
    // rsync sends a directory's files before its subdirectories, and subdirectories by name: a
    // file in small/ goes after the 2 MiB in big/, which the bandwidth limit makes take seconds.
    const victim = path.join(src, 'small', 'zz-vanishes.txt');
    await writeFile(victim, 'going away\n');
    const run = engine().run(await request(src, dest, { streams: 1, uploadLimitKiBps: 512 }), new AbortController().signal);
    const events: BackupEvent[] = [];
    const result = await drainRun(run, (event) => {
      events.push(event);
      if (event.type === 'progress' && event.bytesDone >= 64 * 1024) void rm(victim, { force: true });
    });
    expect(result).toMatchObject({ outcome: 'warning', failure: { class: 'partial', files: [victim] } });
    expect(events).toContainEqual(expect.objectContaining({ type: 'file-error', path: victim, during: 'vanished' }));
  });

  it('a worker killed mid-run is retried, and the copy is complete', async () => {
    const { src, dest, copy } = await fixture('killed', 2, 2 * MiB);
    const req = await request(src, dest, { streams: 2, uploadLimitKiBps: 1024 });
    const killed: number[] = [];
    let retried = false;
    const result = await drainRun(engine().run(req, new AbortController().signal), (event) => {
      if (event.type === 'retrying' && event.message.startsWith('rsync worker 2: rsync was stopped by SIGKILL')) retried = true;
      if (killed.length > 0 || event.type !== 'progress' || event.bytesDone === 0) return;
      // The local rsync of worker 2: its argv names its list in this run's scratch dir.
      const pids = findProcesses((argv) => argv[0] === 'rsync' && argv.some((a) => a.startsWith('--files-from=') && a.includes(req.scratchDir) && a.endsWith('worker-1.list')));
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      killed.push(...pids);
    });
    expect(killed.length).toBeGreaterThan(0);
    expect(retried).toBe(true);
    expect(result.outcome).toBe('success');
    expect(await treeDifferences(src, copy)).toEqual([]);
  });

  it('an interrupted large file resumes from the partial dir', async () => {
    const size = 8 * MiB;
    const { src, dest, copy } = await fixture('resume', 0);
    await writeFile(path.join(src, 'large.bin'), randomBytes(size));
    const controller = new AbortController();
    const first = await drainRun(engine().run(await request(src, dest, { streams: 1, uploadLimitKiBps: 1024 }), controller.signal), (event) => {
      if (event.type === 'progress' && event.bytesDone >= MiB) controller.abort();
    });
    expect(first.outcome).toBe('cancelled');
    // The server side keeps what it received in the partial dir once it notices the end.
    const partial = path.join(copy, PARTIAL_DIR, 'large.bin');
    const serverGone = () => findProcesses((argv) => argv.includes('--server') && argv.some((a) => a.includes(dest))).length === 0;
    expect(await until(serverGone)).toBe(true);
    const kept = await stat(partial).then((s) => s.size, () => 0);
    expect(kept).toBeGreaterThan(0);

    const second = await drainRun(engine().run(await request(src, dest, { streams: 1 }), new AbortController().signal));
    expect(second.outcome).toBe('success');
    if (second.outcome !== 'success') return;
    // The partial file was the basis: most of what it held was not sent again (rsync matches it
    // block by block, so a little more than size - kept travels).
    expect(second.summary.bytesAdded).toBeLessThan(size - kept / 2);
    expect(await treeDifferences(src, copy)).toEqual([]);
  });

  it('deletes on the destination only for mirror jobs', async () => {
    const { src, dest, copy } = await fixture('mirror', 1);
    expect((await drainRun(engine().run(await request(src, dest), new AbortController().signal))).outcome).toBe('success');
    await rm(path.join(src, 'docs', 'readme.txt'));
    await rm(path.join(src, 'docs', 'link-to-readme'));
    await rm(path.join(src, 'small'), { recursive: true });

    expect((await drainRun(engine().run(await request(src, dest), new AbortController().signal))).outcome).toBe('success');
    await expect(stat(path.join(copy, 'docs', 'readme.txt'))).resolves.toBeDefined();

    expect((await drainRun(engine({ mirror: true }).run(await request(src, dest), new AbortController().signal))).outcome).toBe('success');
    expect(await treeDifferences(src, copy)).toEqual([]);
  });

  it('refuses a server whose host key is not in known_hosts', async () => {
    const { src, dest } = await fixture('hostkey', 0);
    const empty = path.join(work, 'known_hosts_empty');
    await writeFile(empty, '');
    const stranger = createRsyncEngine({
      runner,
      binary: { path: 'rsync' },
      target: { host: sshd.host, port: sshd.port, user: 'root', identityFile: sshd.userKey, knownHostsFile: empty },
      retryDelaysMs: [200],
    });
    const result = await drainRun(stranger.run(await request(src, dest), new AbortController().signal));
    expect(result).toMatchObject({ outcome: 'failed', failure: { detail: 'ssh-host-key-unknown' } });
    if (result.outcome === 'failed') expect(result.failure.message).toContain(empty);
    expect(await readdir(dest)).toEqual([]);
  });
});
