/**
 * Reading rsync's output: every progress2 chunk of the recorded runs parses, stats lines, list
 * entries with escaped names, and the per-file problems behind 23/24.
 */
import { describe, expect, it } from 'vitest';
import { parseListEntry, parseRsyncLine, unescapeRsyncName, unescapeRsyncNameBytes } from '../../src/backup/rsync-output.js';
import { chunks, shared } from './rsync-fixtures.js';

describe('parseRsyncLine: progress2', () => {
  it('parses every progress chunk of recorded/rsync/rsync-progress2-success.txt, bytes never going down', () => {
    const rec = shared('rsync-progress2-success.txt');
    const parsed = chunks(rec.stdout).map(parseRsyncLine);
    const progress = parsed.filter((p) => p.kind === 'progress');
    // The recording is progress lines, then rsync's closing summary lines (no --stats there).
    expect(progress.length).toBeGreaterThan(100);
    let last = 0;
    for (const p of progress) {
      expect(p.bytes).toBeGreaterThanOrEqual(last);
      last = p.bytes;
    }
    expect(progress.at(-1)).toMatchObject({ bytes: 21_168_370, percent: 100, transferred: 166, toCheck: { remaining: 0, total: 170 } });
  });

  it('reads a mid-transfer line without the xfr part, and the rate units', () => {
    expect(parseRsyncLine('      4,489,216  26%    4.09MB/s    0:00:02  ')).toEqual({
      kind: 'progress',
      bytes: 4_489_216,
      percent: 26,
      bytesPerSecond: Math.round(4.09 * 1024 * 1024),
    });
    expect(parseRsyncLine('         32,768   0%    0.00kB/s    0:00:00  ')).toMatchObject({ bytes: 32_768, bytesPerSecond: 0 });
    expect(parseRsyncLine('     1.23G  50%  110.64kB/s    ??:??:?? (xfr#5, ir-chk=169/396)')).toMatchObject({
      bytes: Math.round(1.23 * 1024 ** 3),
      toCheck: { remaining: 169, total: 396 },
    });
  });
});

describe('parseRsyncLine: --stats', () => {
  it('reads the counts and sizes, grouped or not', () => {
    expect(parseRsyncLine('Number of created files: 9 (reg: 7, link: 1, special: 1)')).toEqual({
      kind: 'stats',
      values: { created: 9, createdRegular: 7 },
    });
    expect(parseRsyncLine('Number of regular files transferred: 1,234')).toEqual({ kind: 'stats', values: { transferred: 1234 } });
    expect(parseRsyncLine('Literal data: 18,591,040 bytes')).toEqual({ kind: 'stats', values: { literal: 18_591_040 } });
    expect(parseRsyncLine('Matched data: 0 bytes')).toEqual({ kind: 'stats', values: { matched: 0 } });
    expect(parseRsyncLine('Number of created files: 0')).toEqual({ kind: 'stats', values: { created: 0 } });
  });
});

describe('parseRsyncLine: per-file problems', () => {
  it('reads "file has vanished" (recorded/rsync/rsync-24-vanished.txt)', () => {
    const problems = chunks(shared('rsync-24-vanished.txt').stdout)
      .map(parseRsyncLine)
      .filter((p) => p.kind === 'file-problem');
    expect(problems).toEqual([
      expect.objectContaining({ path: '/var/tmp/backhaul-host/rec-vanish/z-vanishes.txt', problem: 'vanished' }),
    ]);
  });

  it('reads a link_stat ENOENT as vanished (recorded/rsync/rsync-23-missing-source.txt)', () => {
    const problems = chunks(shared('rsync-23-missing-source.txt').stdout)
      .map(parseRsyncLine)
      .filter((p) => p.kind === 'file-problem');
    expect(problems).toEqual([expect.objectContaining({ path: '/var/tmp/backhaul-host/no-such-dir', problem: 'vanished' })]);
  });

  it('reads a permission error as unreadable, and leaves connection errors alone', () => {
    expect(parseRsyncLine('rsync: [sender] send_files failed to open "/data/secret.bin": Permission denied (13)')).toMatchObject({
      kind: 'file-problem',
      path: '/data/secret.bin',
      problem: 'unreadable',
    });
    expect(parseRsyncLine('rsync: connection unexpectedly closed (0 bytes received so far) [sender]').kind).toBe('text');
    expect(parseRsyncLine('rsync: [Receiver] mkdir "/srv/x" failed: No such file or directory (2)').kind).toBe('text');
  });
});

describe('names', () => {
  it('undoes \\#ooo escapes, to bytes and to text', () => {
    expect(unescapeRsyncName('new\\#012line')).toBe('new\nline');
    expect(unescapeRsyncName('\\#303\\#274-utf8')).toBe('ü-utf8');
    expect(unescapeRsyncName('back\\#134#012x')).toBe('back\\#012x');
    expect(unescapeRsyncName('back\\slash')).toBe('back\\slash');
    expect(unescapeRsyncNameBytes('bad\\#377')).toEqual(Buffer.from([0x62, 0x61, 0x64, 0xff]));
  });

  it('parses --list-only entries: type, size, escaped name, symlink target dropped', () => {
    expect(parseListEntry('-rw-r--r--      1,234 2026/11/25 10:33:27 tmp/lt/src/new\\#012line')).toEqual({
      type: 'f',
      path: Buffer.from('tmp/lt/src/new\nline'),
      size: 1234,
    });
    expect(parseListEntry('drwxr-xr-x          4,096 2026/11/25 10:33:27 tmp/lt/src/sp ace')).toMatchObject({ type: 'd', path: Buffer.from('tmp/lt/src/sp ace') });
    expect(parseListEntry('lrwxrwxrwx              1 2026/11/25 10:33:27 tmp/lt/src/link -> a')).toMatchObject({ type: 'l', path: Buffer.from('tmp/lt/src/link') });
    expect(parseListEntry('prw-r--r--              0 2026/11/25 10:33:27 tmp/lt/src/fifo')).toMatchObject({ type: 'o' });
    expect(parseListEntry('rsync: [sender] link_stat "/x" failed: No such file or directory (2)')).toBeUndefined();
  });
});
