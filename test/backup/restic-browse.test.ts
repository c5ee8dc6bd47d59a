/**
 * Browsing and restoring a snapshot through the restic engine: exact argv asserted, real output of
 * restic 0.14 and 0.18 replayed (test/fixtures/restic/restic-<v>/ls-*.txt and restore-*.txt,
 * recorded by test/fixtures/restic/record-browse.sh), the password only ever in a private file.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { literalPattern, lsArgv, restoreArgv } from '../../src/backup/restic-args.js';
import type { ResticVersion } from '../../src/backup/restic-binary.js';
import { parseLs, parseRestoreSummary } from '../../src/backup/restic-json.js';
import { createResticEngine } from '../../src/backup/restic.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';
import { fixture } from './restic-fixtures.js';

const BIN = '/usr/bin/restic';
const V014: ResticVersion = { major: 0, minor: 14, patch: 0 };
const V018: ResticVersion = { major: 0, minor: 18, patch: 0 };
const PASSWORD = 'correct horse battery staple';
const PASSWORD_FILE = /\/restic-password-[0-9a-f]{16}$/;
const REPO = '/srv/backups/repo';
const SNAP = '6b28e0cb6f56c84c3a9974ac6d08ae39adcb4719249c0f87c0dc931737814da2';
const DATA = '/var/tmp/backhaul-rec-browse/data';

let scratchDir: string;
beforeEach(async () => {
  scratchDir = await mkdtemp(path.join(tmpdir(), 'backhaul-browse-'));
});
afterEach(async () => {
  await rm(scratchDir, { recursive: true, force: true });
});

const req = () => ({ repository: REPO, password: PASSWORD, scratchDir, streams: 2 });
const global = (): (string | RegExp)[] => [BIN, '-r', REPO, '--password-file', PASSWORD_FILE, '--json'];
const engine = (runner: ReplayingCommandRunner, version: ResticVersion) => createResticEngine({ runner, binary: { path: BIN, version } });

describe('argv', () => {
  it('escapes the characters restic reads as a pattern, so a path is matched literally', () => {
    expect(literalPattern('/data/we*ird[1].txt')).toBe('/data/we\\*ird\\[1].txt');
    expect(literalPattern('/data/a?b\\c')).toBe('/data/a\\?b\\\\c');
    expect(literalPattern('/data/plain name.txt')).toBe('/data/plain name.txt');
  });

  it('builds ls and restore command lines', () => {
    const args = { repository: 'rest:http://10.0.0.1:8000/r', passwordFile: '/p', streams: 3 };
    expect(lsArgv(BIN, args, SNAP, '/data')).toEqual([BIN, '-r', 'rest:http://10.0.0.1:8000/r', '--password-file', '/p', '--json', '-o', 'rest.connections=3', 'ls', SNAP, '/data']);
    expect(restoreArgv(BIN, args, SNAP, '/restore/here', ['/data/a.txt', '/data/x*'])).toEqual([
      BIN, '-r', 'rest:http://10.0.0.1:8000/r', '--password-file', '/p', '--json', '-o', 'rest.connections=3',
      'restore', SNAP, '--target', '/restore/here', '--include', '/data/a.txt', '--include', '/data/x\\*',
    ]);
  });
});

describe('parsing', () => {
  it.each([
    ['0.14 (struct_type only)', fixture('0.14.0', 'ls-dir.txt')],
    ['0.18 (message_type too)', fixture('0.18.0', 'ls-dir.txt')],
  ])('reads a directory listing: %s', (_name, rec) => {
    const listing = parseLs(rec.stdout);
    expect(listing?.snapshot.paths).toEqual([DATA]);
    expect(listing?.nodes.map((n) => [n.type, n.path])).toEqual([
      ['dir', `${DATA}/docs`],
      ['dir', `${DATA}/docs/2026`],
      ['file', `${DATA}/docs/notes.txt`],
      ['file', `${DATA}/docs/we*ird[1].txt`],
    ]);
    expect(listing?.nodes[2]).toMatchObject({ name: 'notes.txt', size: 6, mtime: expect.stringMatching(/^2026-/) as unknown });
    expect(listing?.nodes[0]?.size).toBeUndefined();
  });

  it('reads the top level of a snapshot (restic-0.18.0/ls-root.txt)', () => {
    expect(parseLs(fixture('0.18.0', 'ls-root.txt').stdout)?.nodes.map((n) => n.path)).toEqual(['/var']);
  });

  it('has no listing when restic printed no snapshot (0.14 exits 0 for an unknown id)', () => {
    expect(parseLs(fixture('0.14.0', 'ls-missing-snapshot.txt').stdout)).toBeUndefined();
  });

  it('reads 0.18\'s restore summary; 0.14 prints none', () => {
    expect(parseRestoreSummary(fixture('0.18.0', 'restore-include.txt').stdout)).toEqual({ filesRestored: 2, bytesRestored: 63 });
    expect(parseRestoreSummary(fixture('0.14.0', 'restore-include.txt').stdout)).toEqual({});
  });
});

describe('the engine', () => {
  it.each([
    ['0.14', V014, fixture('0.14.0', 'ls-dir.txt')],
    ['0.18', V018, fixture('0.18.0', 'ls-dir.txt')],
  ] as const)('lists a directory of a snapshot (%s)', async (_name, version, rec) => {
    const replay = new ReplayingCommandRunner([{ argv: [...global(), 'ls', SNAP, `${DATA}/docs`], reply: rec }]);
    const outcome = await engine(replay, version).ls(req(), SNAP, `${DATA}/docs`);
    replay.assertDone();
    expect(outcome.ok && outcome.value.nodes.length).toBe(4);
    expect(JSON.stringify(replay.calls)).not.toContain(PASSWORD);
    expect(await readdir(scratchDir)).toEqual([]);
  });

  it.each([
    ['0.14 exits 0 and says "Ignoring"', V014, fixture('0.14.0', 'ls-missing-snapshot.txt')],
    ['0.18 exits 1', V018, fixture('0.18.0', 'ls-missing-snapshot.txt')],
  ] as const)('fails for a snapshot that does not exist: %s', async (_name, version, rec) => {
    const replay = new ReplayingCommandRunner([{ argv: [...global(), 'ls', '0123abcd', '/'], reply: rec }]);
    const outcome = await engine(replay, version).ls(req(), '0123abcd', '/');
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.failure.stderrTail).toMatch(/no matching ID found for prefix/);
  });

  it.each([
    ['0.14', V014, fixture('0.14.0', 'restore-include.txt')],
    ['0.18', V018, fixture('0.18.0', 'restore-include.txt')],
  ] as const)('restores selected paths, escaped, into a target (%s)', async (_name, version, rec) => {
    const paths = [`${DATA}/docs/2026/plan.md`, `${DATA}/docs/we*ird[1].txt`];
    const replay = new ReplayingCommandRunner([
      {
        argv: [...global(), 'restore', SNAP, '--target', '/tmp/restored', '--include', paths[0] ?? '', '--include', `${DATA}/docs/we\\*ird\\[1].txt`],
        reply: rec,
      },
    ]);
    const outcome = await engine(replay, version).restore(req(), SNAP, '/tmp/restored', paths);
    replay.assertDone();
    expect(outcome.ok).toBe(true);
    expect(await readdir(scratchDir)).toEqual([]);
  });

  it.each([
    ['0.14 exits 1', V014, fixture('0.14.0', 'restore-wrong-password.txt'), 1],
    ['0.18 exits 12', V018, fixture('0.18.0', 'restore-wrong-password.txt'), 12],
  ] as const)('classifies a wrong password on restore: %s', async (_name, version, rec, exitCode) => {
    const replay = new ReplayingCommandRunner([{ argv: [...global(), 'restore', SNAP, '--target', '/tmp/r', '--include', '/x'], reply: rec }]);
    await expect(engine(replay, version).restore(req(), SNAP, '/tmp/r', ['/x'])).resolves.toMatchObject({ ok: false, failure: { class: 'wrong-password', exitCode } });
  });
});
