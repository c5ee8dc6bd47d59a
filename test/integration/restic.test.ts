/**
 * The restic engine against real restic — 0.14.0 (Debian 12) and 0.18.0 (pinned, cached by
 * scripts/setup-system.sh --test) — with a local repository and with `rclone serve restic` on
 * 127.0.0.1. Every failure class is asserted per version with that version's own exit code.
 * Nothing here asserts on timings; every wait is bounded.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupEvent, BackupRequest } from '../../src/backup/engine.js';
import type { ResticVersion } from '../../src/backup/restic-binary.js';
import { createResticEngine, type ResticEngine, type ResticEngineOptions } from '../../src/backup/restic.js';
import { createCommandRunner } from '../../src/os/command.js';
import {
  canDropCaps,
  capsDroppedRestic,
  haveProgram,
  holdExclusiveLock,
  labRestics,
  startRclone,
  writeRandomFiles,
  type RcloneServer,
} from '../helpers/restic-lab.js';
import { collectRun } from '../helpers/engine-run.js';

const PASSWORD = 'integration-password-1';
const runner = createCommandRunner();

/** Per version: the exit code restic itself gives for each failure (measured, see the report). */
const EXIT = {
  '0.14.0': { noRepository: 1, locked: 1, wrongPassword: 1, sigint: 130, network: 1 },
  '0.18.0': { noRepository: 10, locked: 11, wrongPassword: 12, sigint: 1, network: 1 },
} as const;

let work: string;
const hasRclone = haveProgram('rclone');

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'backhaul-restic-it-'));
  // Keep restic's cache out of root's home.
  process.env.RESTIC_CACHE_DIR = path.join(work, 'cache');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

for (const restic of labRestics()) {
  const label = restic.label as keyof typeof EXIT;
  const title = restic.skipReason === undefined ? `restic ${label}` : `restic ${label} (skipped: ${restic.skipReason})`;

  describe.skipIf(restic.skipReason !== undefined)(title, () => {
    const version: ResticVersion = restic.version ?? { major: 0, minor: 0, patch: 0 };
    const exit = EXIT[label];
    const makeEngine = (extra: Partial<ResticEngineOptions> = {}): ResticEngine =>
      createResticEngine({ runner, binary: { path: restic.path, version }, killGraceMs: 60_000, ...extra });

    for (const backend of ['local', 'rclone'] as const) {
      const backendTitle = backend === 'local' ? 'local repository' : hasRclone ? 'rclone serve restic' : 'rclone serve restic (skipped: rclone not installed)';

      describe.skipIf(backend === 'rclone' && !hasRclone)(backendTitle, () => {
        let base: string;
        let data: string;
        let dataFiles: string[];
        let dataBytes: number;
        let rclone: RcloneServer | undefined;

        beforeAll(async () => {
          base = path.join(work, `${label}-${backend}`);
          data = path.join(base, 'data');
          dataFiles = [
            ...(await writeRandomFiles(path.join(data, 'big'), 3, 1024 * 1024, 'b')),
            ...(await writeRandomFiles(path.join(data, 'small'), 20, 8 * 1024, 's')),
          ];
          dataBytes = 3 * 1024 * 1024 + 20 * 8 * 1024;
          if (backend === 'rclone') rclone = await startRclone(path.join(base, 'rclone'));
        });
        afterAll(async () => {
          await rclone?.stop();
        });

        /** A fresh repository name per test (rclone caches listings). */
        function freshRepo(name: string): { repository: string; dir: string } {
          const unique = `${name}-${randomBytes(4).toString('hex')}`;
          if (rclone !== undefined) return { repository: rclone.repo(unique), dir: path.join(rclone.dir, unique) };
          const dir = path.join(base, 'repos', unique);
          return { repository: dir, dir };
        }

        async function request(repository: string, extra: Partial<BackupRequest> = {}): Promise<BackupRequest> {
          await mkdir(path.join(base, 'scratch'), { recursive: true });
          const scratchDir = await mkdtemp(path.join(base, 'scratch', 's-'));
          await chmod(scratchDir, 0o700);
          return { jobName: 'it', repository, password: PASSWORD, sources: [data], excludes: [], streams: 2, scratchDir, ...extra };
        }

        async function initRepo(engine: ResticEngine, repository: string): Promise<void> {
          const outcome = await engine.init(await request(repository));
          expect(outcome).toMatchObject({ ok: true, value: { created: true } });
        }

        it('init, then a backup that streams progress and ends with a summary', async () => {
          const engine = makeEngine();
          const { repository } = freshRepo('first');
          await initRepo(engine, repository);
          // 1 MiB/s makes the run last a few seconds, long enough for progress lines (2 per second).
          const req = await request(repository, { uploadLimitKiBps: 1024 });
          const { events, result } = await collectRun(engine.run(req, new AbortController().signal));

          const progress = events.filter((e) => e.type === 'progress');
          expect(progress.length).toBeGreaterThan(0);
          for (const p of progress) {
            expect(p.fraction).toBeGreaterThanOrEqual(0);
            expect(p.fraction).toBeLessThanOrEqual(1);
            expect(p.bytesDone).toBeLessThanOrEqual(dataBytes);
          }
          expect(progress.some((p) => p.bytesTotal === dataBytes)).toBe(true);
          expect(result.outcome).toBe('success');
          if (result.outcome !== 'success') return;
          expect(result.summary).toMatchObject({ filesNew: dataFiles.length, filesProcessed: dataFiles.length, bytesProcessed: dataBytes });
          expect(result.summary.bytesAdded).toBeGreaterThanOrEqual(dataBytes);
          expect(result.summary.snapshotId).toMatch(/^[0-9a-f]{8,64}$/);
          expect(await readdir(req.scratchDir)).toEqual([]);

          const list = await engine.snapshots(await request(repository));
          expect(list.ok).toBe(true);
          if (list.ok) {
            expect(list.value).toHaveLength(1);
            expect(list.value[0]?.paths).toEqual([data]);
            expect(result.summary.snapshotId?.startsWith(list.value[0]?.shortId ?? '-')).toBe(true);
          }
          await expect(engine.init(await request(repository))).resolves.toEqual({ ok: true, value: { created: false } });
          await expect(engine.unlock(await request(repository))).resolves.toEqual({ ok: true, value: undefined });
        });

        it('re-runs deduplicated: nothing new, every file unmodified, few bytes added', async () => {
          const engine = makeEngine();
          const { repository } = freshRepo('dedup');
          await initRepo(engine, repository);
          const first = await collectRun(engine.run(await request(repository), new AbortController().signal));
          expect(first.result.outcome).toBe('success');
          const { result } = await collectRun(engine.run(await request(repository), new AbortController().signal));
          expect(result.outcome).toBe('success');
          if (result.outcome !== 'success') return;
          expect(result.summary).toMatchObject({ filesNew: 0, filesChanged: 0, filesUnmodified: dataFiles.length });
          expect(result.summary.bytesAdded).toBeLessThan(dataBytes / 100);
        });

        it(`fails as wrong-password (exit ${exit.wrongPassword})`, async () => {
          const engine = makeEngine();
          const { repository } = freshRepo('wrongpw');
          await initRepo(engine, repository);
          const { result } = await collectRun(engine.run(await request(repository, { password: 'not-the-password' }), new AbortController().signal));
          expect(result).toMatchObject({ outcome: 'failed', failure: { class: 'wrong-password', exitCode: exit.wrongPassword } });
          if (result.outcome === 'failed') expect(result.failure.stderrTail).toMatch(/wrong password or no key found/);
        });

        it(`fails as no-repository (exit ${exit.noRepository})`, async () => {
          const engine = makeEngine();
          const { repository } = freshRepo('missing');
          const { result } = await collectRun(engine.run(await request(repository), new AbortController().signal));
          expect(result).toMatchObject({ outcome: 'failed', failure: { class: 'no-repository', exitCode: exit.noRepository } });
          if (result.outcome === 'failed') {
            expect(result.failure.message).toContain('There is no restic repository at');
            expect(result.failure.stderrTail).toMatch(/Is there a repository at the following location\?/);
          }
        });

        it(`fails as locked while another restic holds an exclusive lock (exit ${exit.locked})`, async () => {
          const engine = makeEngine();
          const { repository, dir } = freshRepo('locked');
          await initRepo(engine, repository);
          expect((await collectRun(engine.run(await request(repository), new AbortController().signal))).result.outcome).toBe('success');
          const passwordFile = path.join(base, `pw-${randomBytes(4).toString('hex')}`);
          await writeFile(passwordFile, PASSWORD, { mode: 0o600 });
          const holder = await holdExclusiveLock(restic.path, dir, passwordFile);
          try {
            const { result } = await collectRun(engine.run(await request(repository), new AbortController().signal));
            expect(result).toMatchObject({ outcome: 'failed', failure: { class: 'locked', exitCode: exit.locked } });
            if (result.outcome === 'failed') {
              expect(result.failure.message).toContain(`PID ${holder.pid}`);
              expect(result.failure.stderrTail).toMatch(/repository is already locked exclusively/);
            }
          } finally {
            await holder.release();
          }
        });

        it.skipIf(!canDropCaps())('warns with class partial and a file-error event for an unreadable file (exit 3)', async () => {
          const partial = path.join(base, `partial-${randomBytes(4).toString('hex')}`);
          await writeRandomFiles(partial, 4, 4096, 'ok');
          const secret = path.join(partial, 'secret.bin');
          await writeFile(secret, 'not for restic');
          await chmod(secret, 0o000);
          // restic runs as root without CAP_DAC_OVERRIDE/READ_SEARCH: the mode-000 file is unreadable to it.
          const wrapper = await capsDroppedRestic(base, restic.path);
          const engine = createResticEngine({ runner, binary: { path: wrapper, version } });
          const { repository } = freshRepo('partial');
          await initRepo(engine, repository);
          const { events, result } = await collectRun(engine.run(await request(repository, { sources: [partial] }), new AbortController().signal));
          expect(events).toContainEqual({ type: 'file-error', path: secret, during: 'archival', message: `open ${secret}: permission denied` });
          expect(result.outcome).toBe('warning');
          if (result.outcome !== 'warning') return;
          expect(result.failure).toMatchObject({ class: 'partial', exitCode: 3 });
          expect(result.summary).toMatchObject({ filesNew: 4 });
          expect(result.summary.snapshotId).toBeDefined();
        });

        it(`is cancelled by SIGINT after the first progress event (restic exits ${exit.sigint})`, async () => {
          const engine = makeEngine();
          const { repository, dir } = freshRepo('sigint');
          await initRepo(engine, repository);
          const slow = path.join(base, `slow-${randomBytes(4).toString('hex')}`);
          await writeRandomFiles(slow, 1, 8 * 1024 * 1024, 'r');
          const controller = new AbortController();
          const gen = engine.run(await request(repository, { sources: [slow], uploadLimitKiBps: 1000 }), controller.signal);
          const events: BackupEvent[] = [];
          let step = await gen.next();
          for (let i = 0; step.done !== true && i < 10_000; i++) {
            events.push(step.value);
            if (step.value.type === 'progress') controller.abort();
            step = await gen.next();
          }
          expect(step.done).toBe(true);
          expect(events[0]?.type).toBe('progress');
          expect(step.value).toMatchObject({ outcome: 'cancelled', failure: { class: 'cancelled', exitCode: exit.sigint } });
          // SIGINT (not SIGKILL) let restic remove its own lock.
          expect(await readdir(path.join(dir, 'locks'))).toEqual([]);
        });

        // Only a server can go away: the local backend has no such case.
        if (backend === 'rclone') {
          it(label === '0.14.0' ? 'fails as network at once when the server is gone' : 'emits retrying events, then fails as network at the deadline when the server is gone', async () => {
            const gone = await startRclone(path.join(base, `gone-${randomBytes(4).toString('hex')}`));
            const repository = gone.repo('repo');
            try {
              await initRepo(makeEngine(), repository);
            } finally {
              await gone.stop();
            }
            const engine = makeEngine({ networkGiveUpMs: 3_000 });
            const { events, result } = await collectRun(engine.run(await request(repository), new AbortController().signal));
            expect(result).toMatchObject({ outcome: 'failed', failure: { class: 'network', exitCode: exit.network } });
            if (result.outcome !== 'failed') return;
            expect(result.failure.stderrTail).toMatch(/connection refused/);
            const retrying = events.filter((e) => e.type === 'retrying');
            if (label === '0.14.0') {
              expect(retrying).toEqual([]);
              expect(result.failure.message).toMatch(/^The repository could not be reached: dial tcp 127\.0\.0\.1:\d+: connect: connection refused\.$/);
            } else {
              expect(retrying.length).toBeGreaterThan(0);
              expect(retrying[0]?.message).toMatch(/returned error, retrying after .*connection refused/);
              expect(result.failure.message).toMatch(/^The repository stayed unreachable for 3 s \(dial tcp 127\.0\.0\.1:\d+: connect: connection refused\), so Backhaul stopped restic\.$/);
            }
          });
        }
      });
    }
  });
}
