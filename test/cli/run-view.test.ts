/** The plain answer after a run, for an rsync copy: no snapshot line, bytes "sent", files not copied listed. */
import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../src/agent/session/history.js';
import { describeRecord } from '../../src/cli/run-view.js';

const base: SessionRecord = {
  id: 's1',
  job: 'nas',
  trigger: 'cli',
  startedAt: '2026-11-25T03:00:00.000Z',
  endedAt: '2026-11-25T03:01:05.000Z',
  states: [],
  end: 'done',
  result: 'success',
  notes: [],
  summary: { filesNew: 2, filesChanged: 1, filesUnmodified: 7, bytesAdded: 2048, bytesProcessed: 10 * 1024 * 1024, filesProcessed: 10, durationSeconds: 65 },
};

describe('describeRecord', () => {
  it('says what an rsync copy sent, with no snapshot line', () => {
    expect(describeRecord(base)).toEqual([
      'Backup of "nas" succeeded in 1:05.',
      '  files     10 (2 new, 1 changed, 7 unchanged)',
      '  data      10 MiB scanned, 2.0 KiB sent',
    ]);
  });

  it('says which way a tunnel: whenNeeded run went, and why', () => {
    expect(describeRecord({ ...base, path: { via: 'direct', reason: '10.99.0.1:8000 answered without the tunnel' } }).at(-1)).toBe('  path      direct: 10.99.0.1:8000 answered without the tunnel');
    expect(describeRecord({ ...base, path: { via: 'tunnel', reason: '10.99.0.1:8000 did not answer without the tunnel (no answer within 3 s)' } }).at(-1)).toBe('  path      through the tunnel: 10.99.0.1:8000 did not answer without the tunnel (no answer within 3 s)');
    expect(describeRecord(base).some((l) => l.includes('path'))).toBe(false);
  });

  it('lists the files a warning names, at most 20', () => {
    const files = Array.from({ length: 23 }, (_, i) => `/home/me/f${i}`);
    const lines = describeRecord({
      ...base,
      result: 'warning',
      failure: { code: 'backup.partial', message: '23 files were not copied', hint: 'Check the files listed.', files },
    });
    expect(lines.slice(3, 6)).toEqual(['warning: 23 files were not copied', 'hint: Check the files listed.', '  not copied: /home/me/f0']);
    expect(lines.filter((l) => l.startsWith('  not copied: '))).toHaveLength(20);
    expect(lines.at(-1)).toBe('  … and 3 more (backhaul history --json lists them)');
  });
});
