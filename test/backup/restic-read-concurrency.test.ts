/**
 * restic's `--read-concurrency` (0.15+): in the argv only when asked for and only for a restic that
 * has it, behind the version check. Exact argv against the replaying runner, replies from the
 * recorded 0.14.0 and 0.18.0 successes (test/fixtures/restic/).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BackupRequest } from '../../src/backup/engine.js';
import { backupArgv } from '../../src/backup/restic-args.js';
import { resticFeatures, type ResticVersion } from '../../src/backup/restic-binary.js';
import { createResticEngine } from '../../src/backup/restic.js';
import { collectRun } from '../helpers/engine-run.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';
import { fixture } from './restic-fixtures.js';

const V014: ResticVersion = { major: 0, minor: 14, patch: 0 };
const V015: ResticVersion = { major: 0, minor: 15, patch: 0 };
const V018: ResticVersion = { major: 0, minor: 18, patch: 0 };

let scratchDir: string;
beforeEach(async () => {
  scratchDir = await mkdtemp(path.join(tmpdir(), 'backhaul-read-concurrency-'));
});
afterEach(async () => {
  await rm(scratchDir, { recursive: true, force: true });
});

function request(): BackupRequest {
  return { jobName: 'j', repository: '/srv/repo', password: 'pw', sources: ['/data'], excludes: ['*.tmp'], streams: 4, scratchDir };
}

function argv(options: string[]): (string | RegExp)[] {
  return ['/usr/bin/restic', '-r', '/srv/repo', '--password-file', /restic-password-[0-9a-f]{16}$/, '--json', 'backup', '--json', ...options, '--exclude', '*.tmp', '--', '/data'];
}

describe('restic --read-concurrency', () => {
  it('is a 0.15+ feature', () => {
    expect(resticFeatures(V014).readConcurrency).toBe(false);
    expect(resticFeatures(V015).readConcurrency).toBe(true);
    expect(resticFeatures(V018).readConcurrency).toBe(true);
  });

  it('goes after backup --json, clamped to 1..32, and is absent unless asked for', () => {
    const req = request();
    expect(backupArgv('restic', req, '/pw', { readConcurrency: 4 })).toContain('--read-concurrency');
    expect(backupArgv('restic', req, '/pw', { readConcurrency: 99 }).join(' ')).toContain('backup --json --read-concurrency 32 --exclude');
    expect(backupArgv('restic', req, '/pw', { readConcurrency: 0 }).join(' ')).toContain('--read-concurrency 1 ');
    expect(backupArgv('restic', req, '/pw')).not.toContain('--read-concurrency');
  });

  it('is passed to restic 0.18 (reply: test/fixtures/restic/restic-0.18.0/backup-success.txt)', async () => {
    const runner = new ReplayingCommandRunner([{ argv: argv(['--read-concurrency', '4']), reply: fixture('0.18.0', 'backup-success.txt') }]);
    const engine = createResticEngine({ runner, binary: { path: '/usr/bin/restic', version: V018 }, readConcurrency: 4 });
    const { result } = await collectRun(engine.run(request(), new AbortController().signal));
    runner.assertDone();
    expect(result.outcome).toBe('success');
  });

  it('is left out for restic 0.14, with a debug line (reply: test/fixtures/restic/restic-0.14.0/backup-success.txt)', async () => {
    const logs: string[] = [];
    const runner = new ReplayingCommandRunner([{ argv: argv([]), reply: fixture('0.14.0', 'backup-success.txt') }]);
    const engine = createResticEngine({
      runner,
      binary: { path: '/usr/bin/restic', version: V014 },
      readConcurrency: 4,
      log: (_level, message) => logs.push(message),
    });
    const { result } = await collectRun(engine.run(request(), new AbortController().signal));
    runner.assertDone();
    expect(result.outcome).toBe('success');
    expect(logs).toContain('restic is older than 0.15: --read-concurrency not passed');
  });
});
