import { describe, expect, it } from 'vitest';
import {
  cleanLine,
  parseSnapshots,
  parseStderrLine,
  parseStdoutLine,
  statusToProgress,
  toBackupSummary,
  type ResticStatus,
} from '../../src/backup/restic-json.js';
import { fixture, lines, shared } from './restic-fixtures.js';

function status(line: string): ResticStatus {
  const msg = parseStdoutLine(line);
  if (msg.kind !== 'status') throw new Error(`not a status line: ${line}`);
  return msg.status;
}

describe('parseStdoutLine', () => {
  it('reads a status line with omitted zero fields as zeros (recorded/restic/backup-success.txt, 0.14)', () => {
    const first = lines(shared('backup-success.txt').stdout)[0] ?? '';
    expect(status(first)).toEqual({
      secondsElapsed: 0,
      secondsRemaining: 0,
      percentDone: 0,
      totalFiles: 1,
      filesDone: 0,
      totalBytes: 8388608,
      bytesDone: 0,
      errorCount: 0,
      currentFiles: [],
    });
  });

  it('reads every field of a full status line (recorded/restic/backup-sigint-during-tunnel-outage.txt)', () => {
    const s = status(
      '{"message_type":"status","seconds_elapsed":2,"seconds_remaining":7,"percent_done":0.2221917529566117,"total_files":1573,"total_bytes":507706508,"bytes_done":112808199,"current_files":["/a","/b"]}',
    );
    expect(s).toMatchObject({ secondsElapsed: 2, secondsRemaining: 7, totalFiles: 1573, bytesDone: 112808199, currentFiles: ['/a', '/b'] });
    expect(s.percentDone).toBeCloseTo(0.2222, 4);
  });

  it('reads the 0.14 summary (short snapshot id, no data_added_packed)', () => {
    const last = lines(shared('backup-success.txt').stdout).at(-1) ?? '';
    const msg = parseStdoutLine(last);
    expect(msg).toEqual({
      kind: 'summary',
      summary: {
        filesNew: 166,
        filesChanged: 0,
        filesUnmodified: 0,
        dirsNew: 7,
        dirsChanged: 0,
        dirsUnmodified: 0,
        dataBlobs: 173,
        treeBlobs: 8,
        dataAdded: 21229073,
        totalFilesProcessed: 166,
        totalBytesProcessed: 21168370,
        totalDuration: 2.217186094,
        snapshotId: 'f2c55d4b',
      },
    });
  });

  it('reads the 0.18 summary (full snapshot id, data_added_packed, backup_start/end ignored)', () => {
    const msg = parseStdoutLine(lines(fixture('0.18.0', 'backup-success.txt').stdout).at(-1) ?? '');
    expect(msg.kind).toBe('summary');
    if (msg.kind !== 'summary') return;
    expect(msg.summary.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    expect(msg.summary.dataAddedPacked).toBeGreaterThan(0);
    expect(msg.summary.filesNew).toBe(62);
  });

  it('keeps unknown message types and verbose lines apart, and never throws on junk', () => {
    expect(parseStdoutLine('{"message_type":"verbose_status","action":"new","item":"/x"}')).toEqual({
      kind: 'verbose',
      action: 'new',
      item: '/x',
    });
    expect(parseStdoutLine('{"message_type":"excluded_item","item":"/x"}')).toEqual({ kind: 'unknown', messageType: 'excluded_item' });
    expect(parseStdoutLine('{"no_type":1}')).toEqual({ kind: 'unknown', messageType: '' });
    expect(parseStdoutLine('created restic repository 61e82cb8a5 at r14i')).toEqual({
      kind: 'text',
      text: 'created restic repository 61e82cb8a5 at r14i',
    });
    expect(parseStdoutLine('{"message_type":"status", broken')).toMatchObject({ kind: 'text' });
    expect(parseStdoutLine('[1,2]')).toMatchObject({ kind: 'text' });
    expect(parseStdoutLine('')).toEqual({ kind: 'text', text: '' });
  });

  it('treats wrong-typed and negative fields as zero', () => {
    const s = status('{"message_type":"status","percent_done":"x","total_files":-4,"bytes_done":null,"current_files":[1,"/a"]}');
    expect(s).toMatchObject({ percentDone: 0, totalFiles: 0, bytesDone: 0, currentFiles: ['/a'] });
  });

  it('parses every recorded stdout line of both versions without throwing', () => {
    const all = [
      ...['backup-success.txt', 'backup-sigint.txt', 'backup-partial-unreadable.txt', 'backup-tunnel-loss-10s-survived.txt'].map(shared),
      ...(['0.14.0', '0.18.0'] as const).flatMap((v) =>
        ['backup-success.txt', 'backup-dedup-rerun.txt', 'backup-sigint.txt', 'backup-partial-unreadable.txt', 'init.txt'].map((n) =>
          fixture(v, n),
        ),
      ),
    ];
    for (const rec of all) {
      for (const line of lines(rec.stdout)) expect(() => parseStdoutLine(line), rec.source).not.toThrow();
      for (const line of lines(rec.stderr)) expect(() => parseStderrLine(line), rec.source).not.toThrow();
    }
  });
});

describe('parseStderrLine', () => {
  it('turns 0.14 file errors (Go PathError: Op/Path/Err) into a readable message (recorded/restic/backup-partial-unreadable.txt)', () => {
    const first = lines(shared('backup-partial-unreadable.txt').stderr)[0] ?? '';
    expect(parseStderrLine(first)).toEqual({
      kind: 'file-error',
      item: '/var/tmp/backhaul-host/rec-data-partial/secret.bin',
      during: 'archival',
      message: 'open /var/tmp/backhaul-host/rec-data-partial/secret.bin: permission denied',
    });
  });

  it('reads 0.18 file errors (error.message) and the final exit_error line (restic-0.18.0/backup-partial-unreadable.txt)', () => {
    const [error, exit] = lines(fixture('0.18.0', 'backup-partial-unreadable.txt').stderr);
    expect(parseStderrLine(error ?? '')).toEqual({
      kind: 'file-error',
      item: '/var/tmp/backhaul-rec/data-partial/secret.bin',
      during: 'archival',
      message: 'open /var/tmp/backhaul-rec/data-partial/secret.bin: permission denied',
    });
    expect(parseStderrLine(exit ?? '')).toEqual({
      kind: 'exit-error',
      code: 3,
      message: 'Warning: at least one source file could not be read',
    });
  });

  it('decodes exit_error messages with newlines and escapes (restic-0.18.0/backup-repo-missing.txt)', () => {
    const msg = parseStderrLine(fixture('0.18.0', 'backup-repo-missing.txt').stderr.trim());
    expect(msg).toMatchObject({ kind: 'exit-error', code: 10 });
    if (msg.kind === 'exit-error') expect(msg.message.split('\n')[0]).toContain('<config/> does not exist');
  });

  it('strips terminal escapes from plain text (recorded/restic/backup-sigint.txt)', () => {
    const first = lines(shared('backup-sigint.txt').stderr)[0] ?? '';
    expect(first).toContain('\u001b[2K');
    expect(parseStderrLine(first)).toEqual({ kind: 'text', text: 'signal interrupt received, cleaning up' });
    expect(cleanLine('\u001b[2Kabc \r')).toBe('abc');
  });

  it('handles check-style errors, unknown JSON types and unknown errno values', () => {
    expect(parseStderrLine('{"message_type":"error","message":"pack abc: broken"}')).toEqual({
      kind: 'file-error',
      item: '',
      during: '',
      message: 'pack abc: broken',
    });
    expect(parseStderrLine('{"message_type":"error","error":{"Op":"lstat","Path":"/x","Err":999},"during":"scan","item":"/x"}')).toMatchObject({
      message: 'lstat /x: errno 999',
    });
    expect(parseStderrLine('{"message_type":"something_new"}')).toEqual({ kind: 'unknown', messageType: 'something_new' });
  });
});

describe('statusToProgress / toBackupSummary', () => {
  it('maps status to progress; eta only when restic can estimate', () => {
    const s = status(
      '{"message_type":"status","seconds_elapsed":2,"seconds_remaining":7,"percent_done":0.5,"total_files":10,"files_done":4,"total_bytes":100,"bytes_done":50,"error_count":1,"current_files":["/a"]}',
    );
    expect(statusToProgress(s)).toEqual({
      type: 'progress',
      fraction: 0.5,
      bytesDone: 50,
      bytesTotal: 100,
      filesDone: 4,
      filesTotal: 10,
      elapsedSeconds: 2,
      etaSeconds: 7,
      errorCount: 1,
      currentFiles: ['/a'],
    });
    expect(statusToProgress(status('{"message_type":"status","percent_done":0.1}'))).not.toHaveProperty('etaSeconds');
  });

  it('maps the summary: bytesAdded is data_added (before compression)', () => {
    const msg = parseStdoutLine(lines(fixture('0.18.0', 'backup-success.txt').stdout).at(-1) ?? '');
    if (msg.kind !== 'summary') throw new Error('no summary');
    const summary = toBackupSummary(msg.summary);
    expect(summary).toMatchObject({ filesNew: 62, filesProcessed: 62, bytesAdded: msg.summary.dataAdded, bytesProcessed: 4849915 });
    expect(summary.snapshotId).toBe(msg.summary.snapshotId);
  });
});

describe('parseSnapshots', () => {
  it('reads 0.18 snapshots with summaries (restic-0.18.0/snapshots.txt)', () => {
    const list = parseSnapshots(fixture('0.18.0', 'snapshots.txt').stdout);
    expect(list).toHaveLength(2);
    const [first, second] = list ?? [];
    expect(first).toMatchObject({ paths: ['/var/tmp/backhaul-rec/data'], hostname: 'vm', username: 'root', tags: [] });
    expect(first?.shortId).toBe(first?.id.slice(0, 8));
    expect(first?.summary).toMatchObject({ filesNew: 62, snapshotId: first?.id });
    expect(second?.summary).toMatchObject({ filesNew: 0, filesUnmodified: 62, bytesAdded: 0 });
  });

  it('reads 0.14 snapshots, which carry no summary (restic-0.14.0/snapshots.txt)', () => {
    const list = parseSnapshots(fixture('0.14.0', 'snapshots.txt').stdout);
    expect(list).toHaveLength(2);
    expect(list?.[0]).not.toHaveProperty('summary');
    expect(list?.[0]?.shortId).toMatch(/^[0-9a-f]{8}$/);
  });

  it('returns [] for no output and undefined for output that is not a JSON array', () => {
    expect(parseSnapshots('')).toEqual([]);
    expect(parseSnapshots('[]')).toEqual([]);
    expect(parseSnapshots('{"a":1}')).toBeUndefined();
    expect(parseSnapshots('Fatal: x')).toBeUndefined();
    expect(parseSnapshots('[{"time":"x"},{"id":"abc","tags":["t"]}]')).toEqual([
      { id: 'abc', shortId: 'abc', time: '', paths: [], hostname: '', tags: ['t'] },
    ]);
  });
});
