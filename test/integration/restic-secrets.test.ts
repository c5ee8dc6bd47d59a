/**
 * Canary: the repository password must never reach argv, the environment, any output line, any
 * result or error text, any event or log line — in plain form, base64 or hex — and its file must be
 * gone when the engine returns. Runs real restic (each available version) through a recording
 * wrapper around the real CommandRunner.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupRequest } from '../../src/backup/engine.js';
import { createResticEngine } from '../../src/backup/restic.js';
import { createCommandRunner, type CommandRunner } from '../../src/os/command.js';
import { labRestics, writeRandomFiles } from '../helpers/restic-lab.js';
import { collectRun } from '../helpers/engine-run.js';
import { secretForms } from '../helpers/secret-forms.js';

/** Everything that crossed the runner seam, as text. */
function recordingRunner(inner: CommandRunner, captured: string[]): CommandRunner {
  return {
    async run(spec) {
      captured.push(JSON.stringify({ argv: spec.argv, env: spec.env ?? {}, stdin: spec.stdin ?? null, cwd: spec.cwd ?? null }));
      const wrapped = {
        ...spec,
        onStdoutLine: (line: string) => {
          captured.push(line);
          spec.onStdoutLine?.(line);
        },
        onStderrLine: (line: string) => {
          captured.push(line);
          spec.onStderrLine?.(line);
        },
      };
      try {
        const result = await inner.run(wrapped);
        captured.push(JSON.stringify(result));
        return result;
      } catch (error) {
        captured.push(error instanceof Error ? `${error.message}\n${JSON.stringify(error)}\n${error.stack ?? ''}` : String(error));
        throw error;
      }
    },
  };
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'backhaul-canary-'));
  process.env.RESTIC_CACHE_DIR = path.join(work, 'cache');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

for (const restic of labRestics()) {
  const title = restic.skipReason === undefined ? `restic ${restic.label}` : `restic ${restic.label} (skipped: ${restic.skipReason})`;
  describe.skipIf(restic.skipReason !== undefined)(title, () => {
    it('never lets the password out: init, backup, wrong password', async () => {
      const canary = `canary-${randomBytes(12).toString('hex')}`;
      const wrongCanary = `canary-${randomBytes(12).toString('hex')}`;
      const captured: string[] = [];
      const logs: string[] = [];
      const engine = createResticEngine({
        runner: recordingRunner(createCommandRunner(), captured),
        binary: { path: restic.path, version: restic.version ?? { major: 0, minor: 0, patch: 0 } },
        log: (level, message, fields) => logs.push(JSON.stringify({ level, message, fields })),
      });
      const base = path.join(work, restic.label);
      const data = path.join(base, 'data');
      await writeRandomFiles(data, 3, 64 * 1024);
      const scratchDir = await mkdtemp(path.join(base, 'scratch-'));
      const request: BackupRequest = {
        jobName: 'canary',
        repository: path.join(base, 'repo'),
        password: canary,
        sources: [data],
        excludes: [],
        streams: 2,
        scratchDir,
      };

      const init = await engine.init(request);
      const backup = await collectRun(engine.run(request, new AbortController().signal));
      const wrong = await collectRun(engine.run({ ...request, password: wrongCanary }, new AbortController().signal));
      const snapshots = await engine.snapshots({ ...request, password: wrongCanary });

      expect(init).toMatchObject({ ok: true });
      expect(backup.result.outcome).toBe('success');
      expect(wrong.result).toMatchObject({ outcome: 'failed', failure: { class: 'wrong-password' } });
      expect(snapshots).toMatchObject({ ok: false, failure: { class: 'wrong-password' } });

      const everything = [...captured, ...logs, JSON.stringify([init, backup, wrong, snapshots])].join('\n');
      expect(captured.length).toBeGreaterThan(8);
      for (const form of [...secretForms(canary), ...secretForms(wrongCanary)]) expect(everything).not.toContain(form);
      expect(await readdir(scratchDir)).toEqual([]);
    });
  });
}
