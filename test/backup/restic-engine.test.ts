/**
 * The restic engine against a replaying runner: exact argv asserted, real recorded output replayed
 * (shared/reference/recorded/restic/ for 0.14 through the host lab, test/fixtures/restic/ for
 * loopback 0.14 and 0.18), and a holding fake for runs that only end when the engine stops them.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BackupRequest } from '../../src/backup/engine.js';
import type { ResticVersion } from '../../src/backup/restic-binary.js';
import { createResticEngine, type ResticEngineOptions } from '../../src/backup/restic.js';
import type { CommandResult, CommandRunner, CommandSpec } from '../../src/os/command.js';
import type { Recording } from '../helpers/recorded.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';
import { fixture, lines, shared } from './restic-fixtures.js';
import { collectRun } from '../helpers/engine-run.js';

const BIN = '/usr/bin/restic';
const V014: ResticVersion = { major: 0, minor: 14, patch: 0 };
const V018: ResticVersion = { major: 0, minor: 18, patch: 0 };
const PASSWORD = 'correct horse battery staple';
const PASSWORD_FILE = /\/restic-password-[0-9a-f]{16}$/;
const ENV = {
  RESTIC_PROGRESS_FPS: '2',
  RESTIC_PASSWORD: '',
  RESTIC_PASSWORD_COMMAND: '',
  RESTIC_PASSWORD_FILE: '',
  RESTIC_REPOSITORY: '',
  RESTIC_REPOSITORY_FILE: '',
};

let scratchDir: string;
beforeEach(async () => {
  scratchDir = await mkdtemp(path.join(tmpdir(), 'backhaul-engine-'));
});
afterEach(async () => {
  await rm(scratchDir, { recursive: true, force: true });
});

function request(extra: Partial<BackupRequest> = {}): BackupRequest {
  return {
    jobName: 'nightly',
    repository: 'rest:http://10.99.0.1:8000/REPO',
    password: PASSWORD,
    sources: ['/var/tmp/backhaul-host/rec-data'],
    excludes: [],
    streams: 4,
    scratchDir,
    ...extra,
  };
}

/** `restic -r REPO --password-file F --json -o rest.connections=4 backup --json -- SOURCES` */
function backupArgv(extra: { repo?: string; options?: string[]; excludes?: string[]; sources?: string[] } = {}): (string | RegExp)[] {
  return [
    BIN,
    '-r',
    extra.repo ?? 'rest:http://10.99.0.1:8000/REPO',
    '--password-file',
    PASSWORD_FILE,
    '--json',
    ...(extra.options ?? ['-o', 'rest.connections=4']),
    'backup',
    '--json',
    ...(extra.excludes ?? []),
    '--',
    ...(extra.sources ?? ['/var/tmp/backhaul-host/rec-data']),
  ];
}

function engine(runner: CommandRunner, version = V014, extra: Partial<ResticEngineOptions> = {}) {
  return createResticEngine({ runner, binary: { path: BIN, version }, ...extra });
}

/** Wraps a runner to look at the password file while the command "runs". */
function inspecting(inner: CommandRunner, seen: { file?: string; mode?: number; content?: string }): CommandRunner {
  return {
    async run(spec) {
      const i = spec.argv.indexOf('--password-file');
      const file = spec.argv[i + 1] ?? '';
      seen.file = file;
      seen.mode = (await stat(file)).mode & 0o777;
      seen.content = await readFile(file, 'utf8');
      return inner.run(spec);
    },
  };
}

describe('run: replayed recordings', () => {
  it('streams progress and returns the summary (recorded/restic/backup-success.txt, 0.14)', async () => {
    const rec = shared('backup-success.txt');
    const replay = new ReplayingCommandRunner([
      { argv: backupArgv({ options: ['-o', 'rest.connections=4', '--limit-upload', '500'], excludes: ['--exclude', '*.tmp', '--exclude', '/x/cache'] }), reply: rec },
    ]);
    const seen: { file?: string; mode?: number; content?: string } = {};
    const { events, result } = await collectRun(
      engine(inspecting(replay, seen)).run(request({ uploadLimitKiBps: 500, excludes: ['*.tmp', '/x/cache'] }), new AbortController().signal),
    );
    replay.assertDone();

    const statusLines = lines(rec.stdout).filter((l) => l.includes('"status"'));
    expect(events).toHaveLength(statusLines.length);
    expect(events.every((e) => e.type === 'progress')).toBe(true);
    expect(events[1]).toEqual({
      type: 'progress',
      fraction: 0.2103913999991497,
      bytesDone: 4453643,
      bytesTotal: 21168370,
      filesDone: 0,
      filesTotal: 166,
      elapsedSeconds: 0,
      errorCount: 0,
      currentFiles: ['/var/tmp/backhaul-host/rec-data/big/b1.bin', '/var/tmp/backhaul-host/rec-data/big/b2.bin'],
    });
    expect(result).toEqual({
      outcome: 'success',
      summary: {
        snapshotId: 'f2c55d4b',
        filesNew: 166,
        filesChanged: 0,
        filesUnmodified: 0,
        bytesAdded: 21229073,
        bytesProcessed: 21168370,
        filesProcessed: 166,
        durationSeconds: 2.217186094,
      },
    });

    // The password went through a private file, never argv or env, and is gone afterwards.
    expect(seen).toMatchObject({ mode: 0o600, content: PASSWORD });
    expect(path.dirname(seen.file ?? '')).toBe(scratchDir);
    const call = replay.calls[0];
    expect(call?.env).toEqual(ENV);
    expect(JSON.stringify(call)).not.toContain(PASSWORD);
    expect(await readdir(scratchDir)).toEqual([]);
  });

  it('passes the password to the runner as a secret and asks for SIGINT on cancel', async () => {
    const specs: CommandSpec[] = [];
    const replay = new ReplayingCommandRunner([{ argv: backupArgv(), reply: shared('backup-success.txt') }]);
    const runner: CommandRunner = {
      run(spec) {
        specs.push(spec);
        return replay.run(spec);
      },
    };
    await collectRun(engine(runner).run(request(), new AbortController().signal));
    expect(specs[0]).toMatchObject({ secrets: [PASSWORD], cancelSignal: 'SIGINT', okExitCodes: 'any' });
    expect(specs[0]?.signal).toBeInstanceOf(AbortSignal);
  });

  it.each([
    ['0.14 (recorded/restic/backup-partial-unreadable.txt)', V014, shared('backup-partial-unreadable.txt'), '/var/tmp/backhaul-host/rec-data-partial/secret.bin', '9d7f20ba'],
    ['0.18 (restic-0.18.0/backup-partial-unreadable.txt)', V018, fixture('0.18.0', 'backup-partial-unreadable.txt'), '/var/tmp/backhaul-rec/data-partial/secret.bin', undefined],
  ] as const)('reports an unreadable file as a file-error event and a warning: %s', async (_name, version, rec, file, snapshotId) => {
    const replay = new ReplayingCommandRunner([{ argv: backupArgv(), reply: rec }]);
    const { events, result } = await collectRun(engine(replay, version).run(request(), new AbortController().signal));
    replay.assertDone();
    expect(events.filter((e) => e.type === 'file-error')).toEqual([
      { type: 'file-error', path: file, during: 'archival', message: `open ${file}: permission denied` },
    ]);
    expect(result.outcome).toBe('warning');
    if (result.outcome !== 'warning') return;
    expect(result.failure).toMatchObject({ class: 'partial', exitCode: 3 });
    expect(result.failure.stderrTail).toContain('at least one source file could not be read');
    expect(result.summary.filesNew).toBeGreaterThan(0);
    if (snapshotId !== undefined) expect(result.summary.snapshotId).toBe(snapshotId);
    else expect(result.summary.snapshotId).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['no-repository', V014, shared('backup-repo-missing.txt'), 1],
    ['no-repository', V018, fixture('0.18.0', 'backup-repo-missing.txt'), 10],
    ['locked', V014, shared('backup-locked.txt'), 1],
    ['locked', V018, fixture('0.18.0', 'backup-locked.txt'), 11],
    ['wrong-password', V014, shared('backup-wrong-password.txt'), 1],
    ['wrong-password', V018, fixture('0.18.0', 'backup-wrong-password.txt'), 12],
    ['network', V014, shared('backup-unreachable-tunnel-down.txt'), 1],
  ] as const)('fails with class %s on restic %o (%#)', async (cls, version, rec, exitCode) => {
    const replay = new ReplayingCommandRunner([{ argv: backupArgv(), reply: rec }]);
    const { events, result } = await collectRun(engine(replay, version).run(request(), new AbortController().signal));
    replay.assertDone();
    expect(events).toEqual([]);
    expect(result).toMatchObject({ outcome: 'failed', failure: { class: cls, exitCode } });
    if (result.outcome === 'failed') expect(result.failure.stderrTail.length).toBeGreaterThan(0);
  });

  it('chooses the connection option by repository scheme, none for a local repository', async () => {
    const cases: [string, string[]][] = [
      ['/srv/repo', []],
      ['sftp:backup@nas:/srv/repo', ['-o', 'sftp.connections=4']],
      ['s3:https://s3.example.com/bucket', ['-o', 's3.connections=4']],
      ['rclone:remote:repo', []],
    ];
    for (const [repo, options] of cases) {
      const rec: Recording = fixture('0.14.0', 'backup-success.txt');
      const replay = new ReplayingCommandRunner([{ argv: backupArgv({ repo, options }), reply: rec }]);
      const { result } = await collectRun(engine(replay).run(request({ repository: repo }), new AbortController().signal));
      replay.assertDone();
      expect(result.outcome, repo).toBe('success');
    }
  });

  it('passes --retry-lock only to restic 0.16+', async () => {
    const rec = fixture('0.18.0', 'backup-success.txt');
    const new018 = new ReplayingCommandRunner([{ argv: backupArgv({ options: ['-o', 'rest.connections=4', '--retry-lock', '60s'] }), reply: rec }]);
    await collectRun(engine(new018, V018, { retryLockMs: 60_000 }).run(request(), new AbortController().signal));
    new018.assertDone();
    const old014 = new ReplayingCommandRunner([{ argv: backupArgv(), reply: fixture('0.14.0', 'backup-success.txt') }]);
    await collectRun(engine(old014, V014, { retryLockMs: 60_000 }).run(request(), new AbortController().signal));
    old014.assertDone();
  });

  it('reports a dedup re-run: nothing new, everything unmodified (restic-0.18.0/backup-dedup-rerun.txt)', async () => {
    const replay = new ReplayingCommandRunner([{ argv: backupArgv(), reply: fixture('0.18.0', 'backup-dedup-rerun.txt') }]);
    const { result } = await collectRun(engine(replay, V018).run(request(), new AbortController().signal));
    expect(result).toMatchObject({ outcome: 'success', summary: { filesNew: 0, filesUnmodified: 62, bytesAdded: 0 } });
  });

  it('fails as engine-missing when restic cannot be started', async () => {
    const replay = new ReplayingCommandRunner([{ argv: backupArgv(), reply: { spawnError: 'ENOENT' } }]);
    const { result } = await collectRun(engine(replay).run(request(), new AbortController().signal));
    expect(result).toMatchObject({ outcome: 'failed', failure: { class: 'engine-missing', exitCode: null } });
    expect(await readdir(scratchDir)).toEqual([]);
  });

  it('never starts restic when the signal is already aborted', async () => {
    const replay = new ReplayingCommandRunner([]);
    const controller = new AbortController();
    controller.abort();
    const { result } = await collectRun(engine(replay).run(request(), controller.signal));
    replay.assertDone();
    expect(result).toMatchObject({ outcome: 'cancelled', failure: { class: 'cancelled' } });
  });
});

/**
 * A fake restic that prints `before`, then runs until the engine aborts it (as the real runner
 * would deliver SIGINT), then prints `after` and exits with `exitCode`. Records the specs it got.
 */
class HoldingRunner implements CommandRunner {
  readonly specs: CommandSpec[] = [];
  constructor(
    private readonly before: { stdout?: string[]; stderr?: string[] },
    private readonly after: { stdout?: string[]; stderr?: string[]; exitCode: number | null; signal?: NodeJS.Signals },
  ) {}

  async run(spec: CommandSpec): Promise<CommandResult> {
    this.specs.push(spec);
    const out: string[] = [];
    const err: string[] = [];
    const emit = (part: { stdout?: string[]; stderr?: string[] }) => {
      for (const l of part.stdout ?? []) {
        out.push(l);
        spec.onStdoutLine?.(l);
      }
      for (const l of part.stderr ?? []) {
        err.push(l);
        spec.onStderrLine?.(l);
      }
    };
    await Promise.resolve();
    emit(this.before);
    const signal = spec.signal;
    if (signal === undefined) throw new Error('the engine must pass an AbortSignal');
    if (!signal.aborted) await new Promise((resolve) => { signal.addEventListener('abort', resolve, { once: true }); });
    emit(this.after);
    return {
      argv: spec.argv,
      exitCode: this.after.exitCode,
      signal: this.after.signal ?? null,
      stdout: out.join('\n'),
      stderr: err.join('\n'),
      truncated: false,
      aborted: true,
      timedOut: false,
      durationMs: 1,
    };
  }
}

function split(rec: Recording, untilStderr: (line: string) => boolean) {
  const err = lines(rec.stderr);
  const cut = err.findIndex(untilStderr);
  return { before: err.slice(0, cut < 0 ? err.length : cut), after: cut < 0 ? [] : err.slice(cut) };
}

describe('run: stopping restic', () => {
  it.each([
    ['0.14 exits 130 (restic-0.14.0/backup-sigint.txt)', V014, fixture('0.14.0', 'backup-sigint.txt'), 130],
    ['0.18 exits 1 (restic-0.18.0/backup-sigint.txt)', V018, fixture('0.18.0', 'backup-sigint.txt'), 1],
    ['0.14 host lab (recorded/restic/backup-sigint.txt)', V014, shared('backup-sigint.txt'), 130],
  ] as const)('cancels on abort after the first progress: %s', async (_name, version, rec, exitCode) => {
    expect(rec.exitCode).toBe(exitCode);
    const out = lines(rec.stdout);
    const runner = new HoldingRunner({ stdout: out.slice(0, 1) }, { stdout: out.slice(1), stderr: lines(rec.stderr), exitCode });
    const controller = new AbortController();
    const gen = engine(runner, version).run(request(), controller.signal);
    const first = await gen.next();
    expect(first.value).toMatchObject({ type: 'progress' });
    controller.abort();
    const { result } = await collectRun(gen);
    expect(runner.specs[0]?.cancelSignal).toBe('SIGINT');
    expect(result).toMatchObject({ outcome: 'cancelled', failure: { class: 'cancelled', exitCode } });
    expect(await readdir(scratchDir)).toEqual([]);
  });

  it('emits retrying events and gives up at the network deadline (restic-0.18.0/backup-unreachable.txt)', async () => {
    const rec = fixture('0.18.0', 'backup-unreachable.txt');
    const { before, after } = split(rec, (l) => !l.includes('returned error, retrying after'));
    expect(before).toHaveLength(3);
    const runner = new HoldingRunner({ stderr: before }, { stderr: after, exitCode: 1 });
    const logs: string[] = [];
    const { events, result } = await collectRun(
      engine(runner, V018, { networkGiveUpMs: 20, log: (_level, message) => logs.push(message) }).run(request(), new AbortController().signal),
    );
    expect(events.map((e) => e.type)).toEqual(['retrying', 'retrying', 'retrying']);
    expect(events[0]).toMatchObject({ message: expect.stringMatching(/^Stat\(<config\/>\) returned error, retrying after .*connection refused$/) as unknown });
    expect(result).toMatchObject({ outcome: 'failed', failure: { class: 'network', exitCode: 1 } });
    if (result.outcome === 'failed') expect(result.failure.message).toMatch(/^The repository stayed unreachable for 20 ms \(dial tcp 127\.0\.0\.1:\d+: connect: connection refused\)/);
    expect(logs).toContain('restic kept retrying past the network deadline; stopping it');
  });

  it('gives up on 0.14 too when it retries mid-run, even if SIGKILL was needed (recorded/restic/backup-sigint-during-tunnel-outage.txt)', async () => {
    const rec = shared('backup-sigint-during-tunnel-outage.txt');
    const out = lines(rec.stdout);
    const runner = new HoldingRunner(
      { stdout: out, stderr: lines(rec.stderr).filter((l) => l.includes('retrying after')).slice(0, 2) },
      { stderr: lines(rec.stderr), exitCode: null, signal: 'SIGKILL' },
    );
    const { events, result } = await collectRun(engine(runner, V014, { networkGiveUpMs: 20 }).run(request(), new AbortController().signal));
    expect(events.some((e) => e.type === 'retrying')).toBe(true);
    expect(result).toMatchObject({ outcome: 'failed', failure: { class: 'network', exitCode: null } });
  });

  it('keeps going when restic recovers before the deadline', async () => {
    const success = fixture('0.18.0', 'backup-success.txt');
    const retry = 'Save(<data/4a1b>) returned error, retrying after 1.2s: Post "http://127.0.0.1:1/r/data/4a1b": dial tcp 127.0.0.1:1: connect: connection refused';
    // Runs until aborted or until 200 ms after recovering, whichever comes first.
    const runner: CommandRunner = {
      async run(spec) {
        spec.onStderrLine?.(retry);
        spec.onStderrLine?.('Save(<data/4a1b>) operation successful after 1 retries');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 200);
          spec.signal?.addEventListener('abort', () => {
            clearTimeout(t);
            resolve();
          });
        });
        for (const l of lines(success.stdout)) spec.onStdoutLine?.(l);
        const aborted = spec.signal?.aborted ?? false;
        return {
          argv: spec.argv,
          exitCode: aborted ? 1 : 0,
          signal: null,
          stdout: success.stdout,
          stderr: retry,
          truncated: false,
          aborted,
          timedOut: false,
          durationMs: 200,
        };
      },
    };
    const { events, result } = await collectRun(engine(runner, V018, { networkGiveUpMs: 20 }).run(request(), new AbortController().signal));
    expect(events[0]).toMatchObject({ type: 'retrying' });
    expect(result.outcome).toBe('success');
  });

  it('stops restic and removes the password file when the consumer stops reading', async () => {
    const rec = shared('backup-sigint.txt');
    const runner = new HoldingRunner({ stdout: lines(rec.stdout).slice(0, 3) }, { stderr: lines(rec.stderr), exitCode: 130 });
    const gen = engine(runner).run(request(), new AbortController().signal);
    await gen.next();
    expect(await readdir(scratchDir)).toHaveLength(1);
    await gen.return(undefined as never);
    expect(runner.specs[0]?.signal?.aborted).toBe(true);
    expect(await readdir(scratchDir)).toEqual([]);
  });
});

describe('repository chores', () => {
  const repo = 'rest:http://127.0.0.1:45729/rec-0.18.0';
  const chore = (cmd: string): (string | RegExp)[] => [BIN, '-r', repo, '--password-file', PASSWORD_FILE, '--json', '-o', 'rest.connections=2', cmd];
  const req = () => ({ repository: repo, password: PASSWORD, scratchDir, streams: 2 });

  it.each([
    ['0.14 prints text', V014, fixture('0.14.0', 'init.txt'), /^[0-9a-f]{10}$/],
    ['0.18 prints JSON', V018, fixture('0.18.0', 'init.txt'), /^[0-9a-f]{64}$/],
  ] as const)('init creates the repository (%s)', async (_name, version, rec, id) => {
    const replay = new ReplayingCommandRunner([{ argv: chore('init'), reply: rec }]);
    const outcome = await engine(replay, version).init(req());
    replay.assertDone();
    expect(outcome).toMatchObject({ ok: true, value: { created: true, repositoryId: expect.stringMatching(id) as unknown } });
    expect(await readdir(scratchDir)).toEqual([]);
  });

  it.each([
    [V014, fixture('0.14.0', 'init-exists.txt')],
    [V018, fixture('0.18.0', 'init-exists.txt')],
  ] as const)('init over an existing repository is not a failure (%o)', async (version, rec) => {
    const replay = new ReplayingCommandRunner([{ argv: chore('init'), reply: rec }]);
    await expect(engine(replay, version).init(req())).resolves.toEqual({ ok: true, value: { created: false } });
  });

  it('init reports a network failure with its class and fix (restic-0.14.0/backup-unreachable.txt)', async () => {
    const replay = new ReplayingCommandRunner([{ argv: chore('init'), reply: fixture('0.14.0', 'backup-unreachable.txt') }]);
    const outcome = await engine(replay).init(req());
    expect(outcome).toMatchObject({ ok: false, failure: { class: 'network', exitCode: 1 }, fix: expect.stringContaining('VPN') as unknown });
  });

  it('lists snapshots (restic-0.18.0/snapshots.txt)', async () => {
    const replay = new ReplayingCommandRunner([{ argv: chore('snapshots'), reply: fixture('0.18.0', 'snapshots.txt') }]);
    const outcome = await engine(replay, V018).snapshots(req());
    replay.assertDone();
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(outcome.value.map((s) => s.paths)).toEqual([['/var/tmp/backhaul-rec/data'], ['/var/tmp/backhaul-rec/data']]);
  });

  it('classifies a chore failure like a backup (restic-0.18.0/backup-wrong-password.txt)', async () => {
    const replay = new ReplayingCommandRunner([{ argv: chore('snapshots'), reply: fixture('0.18.0', 'backup-wrong-password.txt') }]);
    await expect(engine(replay, V018).snapshots(req())).resolves.toMatchObject({ ok: false, failure: { class: 'wrong-password', exitCode: 12 } });
  });

  it('unlocks (restic-0.14.0/unlock.txt)', async () => {
    const replay = new ReplayingCommandRunner([{ argv: chore('unlock'), reply: fixture('0.14.0', 'unlock.txt') }]);
    await expect(engine(replay).unlock(req())).resolves.toEqual({ ok: true, value: undefined });
    replay.assertDone();
  });
});

