/**
 * The rsync engine against a replaying runner: exact argv of every step asserted, answers are
 * real recorded output (test/fixtures/rsync/ for the engine's own commands and the ssh failures,
 * shared/reference/recorded/rsync/ for the host lab's 23/24/30/255), and a holding fake for runs
 * that only end when the engine stops them. No real time: retry delays are 0, the clock is fake.
 */
import { readFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BackupRequest } from '../../src/backup/engine.js';
import { sshCommand, type RsyncSshTarget } from '../../src/backup/rsync-args.js';
import { createRsyncEngine, type RsyncEngineOptions } from '../../src/backup/rsync.js';
import { notStartedResult, type CommandResult, type CommandRunner, type CommandSpec } from '../../src/os/command.js';
import { collectRun } from '../helpers/engine-run.js';
import type { Recording } from '../helpers/recorded.js';
import { ReplayingCommandRunner, type Expectation, type ReplayReply } from '../helpers/replaying-runner.js';
import { fixture, REC, shared } from './rsync-fixtures.js';

const RSYNC = '/usr/bin/rsync';
const TARGET: RsyncSshTarget = { host: '10.99.0.1', port: 22, user: 'backup', identityFile: '/etc/backhaul/nas.key', knownHostsFile: '/etc/backhaul/known_hosts' };
const SSH = sshCommand({ ssh: 'ssh', target: TARGET, connectTimeoutSeconds: 30 });
const DEST = 'backup@10.99.0.1:/srv/backup/laptop/';
const COMMON = ['-a', '--partial', '--partial-dir=.rsync-partial', '--timeout=300', '--info=progress2', '--stats'];
/** The sources of test/fixtures/rsync/list-only.txt. */
const SOURCES = [`${REC}/data/docs`, `${REC}/data/photos`];
/** Regular files, symlinks etc. in list-only.txt, and their bytes. */
const LISTED_FILES = 8;
const LISTED_BYTES = 2 * 2 * 1024 * 1024 + 10 + 6 + 4;
const LISTED_DIRS = 8;
const LIST_DIR = /\/rsync-[0-9a-f]{12}\/$/;

let scratchDir: string;
beforeEach(async () => {
  scratchDir = await mkdtemp(path.join(tmpdir(), 'backhaul-rsync-engine-'));
});
afterEach(async () => {
  await rm(scratchDir, { recursive: true, force: true });
});

function request(extra: Partial<BackupRequest> = {}): BackupRequest {
  return { jobName: 'nas', repository: '/srv/backup/laptop', password: '', sources: SOURCES, excludes: [], streams: 2, scratchDir, ...extra };
}

function engine(runner: CommandRunner, extra: Partial<RsyncEngineOptions> = {}) {
  let now = 0;
  return createRsyncEngine({
    runner,
    binary: { path: RSYNC },
    target: TARGET,
    retryDelaysMs: [0, 0],
    progressIntervalMs: 0,
    clock: () => (now += 100),
    ...extra,
  });
}

const list = (reply: ReplayReply = fixture('list-only'), sources = SOURCES, excludes: string[] = []): Expectation => ({
  argv: [RSYNC, '-a', '-R', '--list-only', ...excludes.map((x) => `--exclude=${x}`), '--', ...sources, LIST_DIR],
  reply,
});
const dirs = (reply: ReplayReply = fixture('directories-success'), bw: string[] = []): Expectation => ({
  argv: [RSYNC, ...COMMON, ...bw, '-e', SSH, '--from0', /^--files-from=\/.*\/rsync-[0-9a-f]{12}\/directories\.list$/, '--', '/', DEST],
  reply,
});
const worker = (i: number, reply: ReplayReply = fixture('worker-success'), bw: string[] = []): Expectation => ({
  argv: [RSYNC, ...COMMON, ...bw, '-e', SSH, '--from0', new RegExp(`^--files-from=/.*/rsync-[0-9a-f]{12}/worker-${i}\\.list$`), '--no-implied-dirs', '--', '/', DEST],
  reply,
});

/** Wraps a runner to read every --files-from list while the command "runs". */
function readingLists(inner: CommandRunner, lists: Map<string, string[]>): CommandRunner {
  return {
    async run(spec) {
      const arg = spec.argv.find((a) => a.startsWith('--files-from='));
      if (arg !== undefined) {
        const file = arg.slice('--files-from='.length);
        const names = (await readFile(file)).toString('utf8').split('\0');
        expect(names.pop()).toBe('');
        lists.set(path.basename(file), names);
      }
      return inner.run(spec);
    },
  };
}

describe('rsync engine: a full run', () => {
  it('lists, creates the directories, runs one worker per part, restores directory times', async () => {
    const replay = new ReplayingCommandRunner([list(), dirs(), worker(0), worker(1), dirs()]);
    const lists = new Map<string, string[]>();
    const { events, result } = await collectRun(engine(readingLists(replay, lists)).run(request(), new AbortController().signal));
    replay.assertDone();

    expect(result.outcome).toBe('success');
    if (result.outcome !== 'success') return;
    // Both workers replayed worker-success.txt: 2 files created, 4 MiB of literal data each.
    expect(result.summary).toMatchObject({ filesNew: 4, filesChanged: 0, filesUnmodified: 4, bytesAdded: 2 * 4_194_304, bytesProcessed: LISTED_BYTES, filesProcessed: LISTED_FILES });
    for (const call of replay.calls) expect(call.argv.some((a) => a.startsWith('--delete'))).toBe(false);

    // Directories once, in their own list; every file in exactly one worker's list, parts balanced.
    const dirList = lists.get('directories.list') ?? [];
    expect(dirList).toHaveLength(LISTED_DIRS);
    expect(dirList).toContain(`${REC.slice(1)}/data/docs/empty`);
    const parts = [lists.get('worker-0.list') ?? [], lists.get('worker-1.list') ?? []];
    const all = parts.flat().sort();
    expect(all).toHaveLength(LISTED_FILES);
    expect(new Set(all).size).toBe(LISTED_FILES);
    expect(all).toContain(`${REC.slice(1)}/data/docs/new\nline.txt`);
    expect(all).toContain(`${REC.slice(1)}/data/docs/ü-utf8.txt`);
    expect(all).toContain(`${REC.slice(1)}/data/docs/back\\#012x`);
    expect(parts.map((p) => p.filter((f) => f.endsWith('.bin')).length)).toEqual([1, 1]);

    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThan(2);
    let last = 0;
    for (const p of progress) {
      expect(p.bytesTotal).toBe(LISTED_BYTES);
      expect(p.filesTotal).toBe(LISTED_FILES);
      expect(p.fraction).toBeGreaterThanOrEqual(last);
      last = p.fraction;
    }
    expect(progress.at(-1)).toMatchObject({ fraction: 1, bytesDone: LISTED_BYTES, filesDone: LISTED_FILES, errorCount: 0 });
    expect(progress.some((p) => p.bytesPerSecond !== undefined && p.bytesPerSecond > 0)).toBe(true);
    expect(await readdir(scratchDir)).toEqual([]);
  });

  it('reports every rsync it starts, so a crashed agent can stop the leftovers', async () => {
    const replay = new ReplayingCommandRunner([list(), dirs(), worker(0), worker(1), dirs()]);
    let nextPid = 1000;
    const spawning: CommandRunner = {
      run(spec) {
        spec.onSpawn?.(nextPid++);
        return replay.run(spec);
      },
    };
    const started: number[] = [];
    const { result } = await collectRun(engine(spawning).run(request({ onProcessStarted: (pid) => started.push(pid) }), new AbortController().signal));
    replay.assertDone();
    expect(result.outcome).toBe('success');
    expect(started).toEqual([1000, 1001, 1002, 1003, 1004]);
  });

  it('passes the excludes to the listing only, and mirror jobs get one delete pass', async () => {
    const del: Expectation = {
      argv: [RSYNC, ...COMMON, '-e', SSH, '-R', '--delete', '--existing', '--ignore-existing', '--exclude=*.tmp', '--', ...SOURCES, DEST],
      reply: fixture('directories-success'),
    };
    const replay = new ReplayingCommandRunner([list(fixture('list-only'), SOURCES, ['*.tmp']), dirs(), del, worker(0), worker(1), dirs()]);
    const { result } = await collectRun(engine(replay, { mirror: true }).run(request({ excludes: ['*.tmp'] }), new AbortController().signal));
    replay.assertDone();
    expect(result.outcome).toBe('success');
  });

  it('splits the upload limit among the workers', async () => {
    const replay = new ReplayingCommandRunner([list(), dirs(undefined, ['--bwlimit=1000']), worker(0, undefined, ['--bwlimit=500']), worker(1, undefined, ['--bwlimit=500']), dirs(undefined, ['--bwlimit=1000'])]);
    const { result } = await collectRun(engine(replay).run(request({ uploadLimitKiBps: 1000 }), new AbortController().signal));
    replay.assertDone();
    expect(result.outcome).toBe('success');
  });

  it('never starts more workers than there are files', async () => {
    const workers = Array.from({ length: LISTED_FILES }, (_, i) => worker(i, fixture('worker-unchanged')));
    const replay = new ReplayingCommandRunner([list(), dirs(), ...workers, dirs()]);
    const { result } = await collectRun(engine(replay).run(request({ streams: 32 }), new AbortController().signal));
    replay.assertDone();
    expect(result.outcome).toBe('success');
  });

  it('reports a re-run with nothing to send as done, with no file new or changed (test/fixtures/rsync/worker-unchanged.txt)', async () => {
    const replay = new ReplayingCommandRunner([list(), dirs(), worker(0, fixture('worker-unchanged')), worker(1, fixture('worker-unchanged')), dirs()]);
    const { events, result } = await collectRun(engine(replay).run(request(), new AbortController().signal));
    expect(result).toMatchObject({ outcome: 'success', summary: { filesNew: 0, filesChanged: 0, filesUnmodified: LISTED_FILES, bytesAdded: 0 } });
    expect(events.filter((e) => e.type === 'progress').at(-1)).toMatchObject({ fraction: 1 });
  });
});

describe('rsync engine: files that could not be copied (23/24) are a warning with the list', () => {
  it('a file that vanished during the transfer (test/fixtures/rsync/worker-vanished-during.txt, exit 24)', async () => {
    const replay = new ReplayingCommandRunner([list(), dirs(), worker(0, fixture('worker-vanished-during')), worker(1), dirs()]);
    const { events, result } = await collectRun(engine(replay).run(request(), new AbortController().signal));
    replay.assertDone();
    const file = `${REC}/data/photos/z-vanishes.txt`;
    expect(events).toContainEqual(expect.objectContaining({ type: 'file-error', path: file, during: 'vanished' }));
    expect(result).toMatchObject({ outcome: 'warning', failure: { class: 'partial', detail: 'partial', exitCode: 24, files: [file] } });
    if (result.outcome === 'warning') expect(result.failure.message).toBe(`1 file was not copied: ${file}. Some files vanished before they could be copied.`);
  });

  it('a listed file gone before its worker ran (test/fixtures/rsync/worker-vanished-before-start.txt, exit 23)', async () => {
    const replay = new ReplayingCommandRunner([list(), dirs(), worker(0), worker(1, fixture('worker-vanished-before-start')), dirs()]);
    const { result } = await collectRun(engine(replay).run(request(), new AbortController().signal));
    replay.assertDone();
    expect(result).toMatchObject({ outcome: 'warning', failure: { class: 'partial', exitCode: 23, files: [`${REC}/data/photos/gone.bin`] } });
  });

  it('a source that does not exist (test/fixtures/rsync/list-missing-source.txt, exit 23) is listed, the rest copied', async () => {
    const sources = [`${REC}/data/docs`, `${REC}/data/no-such-dir`];
    const replay = new ReplayingCommandRunner([list(fixture('list-missing-source'), sources), dirs(), worker(0), worker(1), dirs()]);
    const { result } = await collectRun(engine(replay).run(request({ sources }), new AbortController().signal));
    replay.assertDone();
    expect(result).toMatchObject({ outcome: 'warning', failure: { class: 'partial', files: [`${REC}/data/no-such-dir`] } });
  });

  it('fails when none of the sources exists', async () => {
    const gone: ReplayReply = { stderr: 'rsync: [sender] link_stat "/nope" failed: No such file or directory (2)\n', exitCode: 23, source: 'derived from test/fixtures/rsync/list-missing-source.txt' };
    const replay = new ReplayingCommandRunner([list(gone, ['/nope'])]);
    const { result } = await collectRun(engine(replay).run(request({ sources: ['/nope'] }), new AbortController().signal));
    replay.assertDone();
    expect(result).toMatchObject({ outcome: 'failed', failure: { class: 'unknown', message: 'Nothing to back up: none of the sources exist (/nope).' } });
  });
});

describe('rsync engine: ssh and network failures', () => {
  it.each<[string, () => Recording, string, string]>([
    ['an unknown host key', () => fixture('host-key-unknown'), 'unknown', 'ssh-host-key-unknown'],
    ['a changed host key', () => fixture('host-key-changed'), 'unknown', 'ssh-host-key-changed'],
    ['a refused key', () => fixture('auth-refused'), 'unknown', 'ssh-auth'],
    ['no rsync on the server', () => fixture('remote-rsync-missing'), 'engine-missing', 'remote-rsync-missing'],
    ['a missing destination', () => fixture('destination-missing'), 'no-repository', 'destination-missing'],
  ])('%s fails at the directory pass, once, without starting workers', async (_name, load, cls, detail) => {
    const rec = load();
    const replay = new ReplayingCommandRunner([list(), dirs(rec)]);
    const { events, result } = await collectRun(engine(replay).run(request(), new AbortController().signal));
    replay.assertDone();
    expect(events.filter((e) => e.type === 'retrying')).toEqual([]);
    expect(result).toMatchObject({ outcome: 'failed', failure: { class: cls, detail, exitCode: rec.exitCode } });
    if (result.outcome === 'failed') {
      expect(result.failure.fix).toBeDefined();
      expect(result.failure.stderrTail).toContain('rsync error');
    }
  });

  it('retries an unreachable server, then fails as network (test/fixtures/rsync/connection-refused.txt)', async () => {
    const refused = fixture('connection-refused');
    const replay = new ReplayingCommandRunner([list(), dirs(refused), dirs(refused), dirs(refused)]);
    const { events, result } = await collectRun(engine(replay).run(request(), new AbortController().signal));
    replay.assertDone();
    const retrying = events.filter((e) => e.type === 'retrying');
    expect(retrying).toHaveLength(2);
    expect(retrying[0]?.message).toMatch(/^rsync directories: The SSH server 10\.99\.0\.1:22 could not be reached: connect to host 127\.0\.0\.1 port \d+: Connection refused\. Retrying in 0 s \(retry 1 of 2\)\.$/);
    expect(result).toMatchObject({ outcome: 'failed', failure: { class: 'network', detail: 'ssh-unreachable', exitCode: refused.exitCode } });
  });

  it('a worker that timed out is retried and the run completes (recorded/rsync/rsync-30-timeout-tunnel-down.txt)', async () => {
    const replay = new ReplayingCommandRunner([list(), dirs(), worker(0, shared('rsync-30-timeout-tunnel-down.txt')), worker(1), worker(0), dirs()]);
    const { events, result } = await collectRun(engine(replay).run(request(), new AbortController().signal));
    replay.assertDone();
    expect(events.filter((e) => e.type === 'retrying')).toHaveLength(1);
    expect(result.outcome).toBe('success');
  });

  it('a worker killed by a signal we did not send is retried', async () => {
    const killed: ReplayReply = { signal: 'SIGKILL', stdout: fixture('worker-success').stdout.slice(0, 200) };
    const replay = new ReplayingCommandRunner([list(), dirs(), worker(0), worker(1, killed), worker(1), dirs()]);
    const { events, result } = await collectRun(engine(replay).run(request(), new AbortController().signal));
    replay.assertDone();
    expect(events.find((e) => e.type === 'retrying')?.message).toContain('rsync worker 2: rsync was stopped by SIGKILL, which Backhaul did not send.');
    expect(result.outcome).toBe('success');
  });

  it('says so when rsync itself is missing', async () => {
    const replay = new ReplayingCommandRunner([list({ spawnError: 'ENOENT' })]);
    const { result } = await collectRun(engine(replay).run(request(), new AbortController().signal));
    expect(result).toMatchObject({ outcome: 'failed', failure: { class: 'engine-missing' } });
    if (result.outcome === 'failed') expect(result.failure.message).toContain('/usr/bin/rsync does not exist');
  });
});

/**
 * Answers list and directory passes from recordings right away; holds workers until their signal
 * fires (then they "exit 20" like rsync on SIGTERM), except those `answer` replies to.
 */
class HoldingRunner implements CommandRunner {
  readonly calls: string[][] = [];
  readonly aborted: string[] = [];
  constructor(private readonly answer: (argv: readonly string[]) => ReplayReply | undefined) {}

  run(spec: CommandSpec): Promise<CommandResult> {
    this.calls.push([...spec.argv]);
    const reply = this.answer(spec.argv);
    if (reply !== undefined) return new ReplayingCommandRunner([{ argv: spec.argv.map(String), reply }]).run(spec);
    return new Promise((resolve) => {
      const stop = (): void => {
        this.aborted.push(spec.argv.find((a) => a.startsWith('--files-from=')) ?? '');
        resolve({ ...notStartedResult(spec.argv), exitCode: 20, aborted: true });
      };
      if (spec.signal?.aborted === true) stop();
      else spec.signal?.addEventListener('abort', stop, { once: true });
    });
  }
}

function answerSteps(workerReply: (i: number) => ReplayReply | undefined) {
  return (argv: readonly string[]): ReplayReply | undefined => {
    if (argv.includes('--list-only')) return fixture('list-only');
    const from = argv.find((a) => a.startsWith('--files-from=')) ?? '';
    if (from.endsWith('directories.list')) return fixture('directories-success');
    const i = /worker-(\d+)\.list$/.exec(from)?.[1];
    return i === undefined ? undefined : workerReply(Number(i));
  };
}

describe('rsync engine: stopping', () => {
  it('is cancelled before anything runs when the signal already fired', async () => {
    const replay = new ReplayingCommandRunner([]);
    const controller = new AbortController();
    controller.abort();
    const { result } = await collectRun(engine(replay).run(request(), controller.signal));
    expect(result).toMatchObject({ outcome: 'cancelled', failure: { class: 'cancelled' } });
    expect(replay.calls).toEqual([]);
  });

  it('a cancel stops every worker and ends as cancelled', async () => {
    const runner = new HoldingRunner(answerSteps(() => undefined));
    const controller = new AbortController();
    const run = engine(runner).run(request(), controller.signal);
    const first = await run.next();
    expect(first.done).toBe(false);
    controller.abort();
    const { result } = await collectRun(run);
    expect(runner.aborted).toHaveLength(2);
    expect(result).toMatchObject({ outcome: 'cancelled', failure: { class: 'cancelled' } });
  });

  it('a failure no retry can fix in one worker stops the others and is the reported failure', async () => {
    const runner = new HoldingRunner(answerSteps((i) => (i === 0 ? fixture('auth-refused') : undefined)));
    const { result } = await collectRun(engine(runner).run(request(), new AbortController().signal));
    expect(runner.aborted).toEqual([expect.stringMatching(/worker-1\.list$/)]);
    expect(result).toMatchObject({ outcome: 'failed', failure: { class: 'unknown', detail: 'ssh-auth' } });
    // No final directory pass after a failure.
    expect(runner.calls.filter((argv) => argv.some((a) => a.endsWith('directories.list')))).toHaveLength(1);
  });

  it('a consumer that stops reading stops rsync too', async () => {
    const runner = new HoldingRunner(answerSteps(() => undefined));
    const run = engine(runner).run(request(), new AbortController().signal);
    await run.next();
    await run.return(undefined as never);
    expect(runner.aborted).toHaveLength(2);
  });
});
