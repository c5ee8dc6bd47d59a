/**
 * Every row of the restic exit table against real stderr of BOTH versions: restic 0.14.0 from the
 * host lab (shared/reference/recorded/restic/*.txt, through an IPsec tunnel) and from
 * test/fixtures/restic/restic-0.14.0/ (loopback/local), restic 0.18.0 from test/fixtures/restic/restic-0.18.0/.
 */
import { describe, expect, it } from 'vitest';
import type { BackupFailureClass } from '../../src/backup/engine.js';
import type { ResticVersion } from '../../src/backup/restic-binary.js';
import { classifyResticExit, fatalText, parseLockHolder, stderrTail } from '../../src/backup/restic-errors.js';
import type { Recording } from '../helpers/recorded.js';
import { fixture, shared } from './restic-fixtures.js';

const V014: ResticVersion = { major: 0, minor: 14, patch: 0 };
const V018: ResticVersion = { major: 0, minor: 18, patch: 0 };

interface Row {
  readonly recording: Recording;
  readonly version: ResticVersion;
  /** The exit code in the recording (asserted, so the table documents the measured code). */
  readonly exitCode: number;
  readonly cancelledByUs?: boolean;
  readonly networkGaveUp?: boolean;
  readonly expected: BackupFailureClass;
  readonly message: RegExp;
}

const rows: readonly Row[] = [
  // partial: exit 3 on both versions; a snapshot was written.
  { recording: shared('backup-partial-unreadable.txt'), version: V014, exitCode: 3, expected: 'partial', message: /could not be read/ },
  { recording: fixture('0.14.0', 'backup-partial-unreadable.txt'), version: V014, exitCode: 3, expected: 'partial', message: /could not be read/ },
  { recording: fixture('0.18.0', 'backup-partial-unreadable.txt'), version: V018, exitCode: 3, expected: 'partial', message: /could not be read/ },
  // no repository: 0.14 exit 1 + "Is there a repository", 0.18 exit 10.
  {
    recording: shared('backup-repo-missing.txt'),
    version: V014,
    exitCode: 1,
    expected: 'no-repository',
    message: /^There is no restic repository at rest:http:\/\/10\.99\.0\.1:8000\/rec-does-not-exist-14992\/\.$/,
  },
  { recording: fixture('0.14.0', 'backup-repo-missing.txt'), version: V014, exitCode: 1, expected: 'no-repository', message: /rec-0\.14\.0-does-not-exist/ },
  { recording: fixture('0.14.0', 'backup-repo-missing-local.txt'), version: V014, exitCode: 1, expected: 'no-repository', message: /local-does-not-exist/ },
  { recording: fixture('0.18.0', 'backup-repo-missing.txt'), version: V018, exitCode: 10, expected: 'no-repository', message: /rec-0\.18\.0-does-not-exist/ },
  { recording: fixture('0.18.0', 'backup-repo-missing-local.txt'), version: V018, exitCode: 10, expected: 'no-repository', message: /local-does-not-exist/ },
  // locked: 0.14 exit 1 + "already locked", 0.18 exit 11; the holder is named.
  {
    recording: shared('backup-locked.txt'),
    version: V014,
    exitCode: 1,
    expected: 'locked',
    message: /^The repository is locked exclusively by another restic process \(PID 15261, on vm, user root, since 2026-11-25 08:48:02 \(594ms ago\)\)\.$/,
  },
  { recording: fixture('0.14.0', 'backup-locked.txt'), version: V014, exitCode: 1, expected: 'locked', message: /locked exclusively .*PID \d+, on \S+, user root/ },
  { recording: fixture('0.18.0', 'backup-locked.txt'), version: V018, exitCode: 11, expected: 'locked', message: /locked exclusively .*PID \d+, on \S+, user root/ },
  // wrong password: 0.14 exit 1 + text, 0.18 exit 12.
  { recording: shared('backup-wrong-password.txt'), version: V014, exitCode: 1, expected: 'wrong-password', message: /password/ },
  { recording: fixture('0.14.0', 'backup-wrong-password.txt'), version: V014, exitCode: 1, expected: 'wrong-password', message: /password/ },
  { recording: fixture('0.18.0', 'backup-wrong-password.txt'), version: V018, exitCode: 12, expected: 'wrong-password', message: /password/ },
  // cancelled: 0.14 exits 130, 0.18 exits 1 ("context canceled"); known because we sent SIGINT.
  { recording: shared('backup-sigint.txt'), version: V014, exitCode: 130, cancelledByUs: true, expected: 'cancelled', message: /cancelled/ },
  { recording: fixture('0.14.0', 'backup-sigint.txt'), version: V014, exitCode: 130, cancelledByUs: true, expected: 'cancelled', message: /cancelled/ },
  { recording: fixture('0.18.0', 'backup-sigint.txt'), version: V018, exitCode: 1, cancelledByUs: true, expected: 'cancelled', message: /cancelled/ },
  // network: 0.14 fails at once (its text also says "Is there a repository…": network wins);
  // 0.18 retries until we give up at the network deadline and send SIGINT.
  {
    recording: shared('backup-unreachable-tunnel-down.txt'),
    version: V014,
    exitCode: 1,
    expected: 'network',
    message: /^The repository could not be reached: dial tcp 10\.99\.0\.1:8000: connect: network is unreachable\.$/,
  },
  {
    recording: fixture('0.14.0', 'backup-unreachable.txt'),
    version: V014,
    exitCode: 1,
    expected: 'network',
    message: /^The repository could not be reached: dial tcp 127\.0\.0\.1:\d+: connect: connection refused\.$/,
  },
  { recording: fixture('0.18.0', 'backup-unreachable.txt'), version: V018, exitCode: 1, networkGaveUp: true, expected: 'network', message: /network deadline/ },
  // A user cancel while 0.18 retries is a cancel, not a network failure.
  { recording: fixture('0.18.0', 'backup-unreachable.txt'), version: V018, exitCode: 1, cancelledByUs: true, expected: 'cancelled', message: /cancelled/ },
  // Signals we did not send are failures: 0.14's 130, 0.18's "context canceled".
  { recording: shared('backup-sigint.txt'), version: V014, exitCode: 130, expected: 'unknown', message: /signal Backhaul did not send/ },
  {
    recording: fixture('0.18.0', 'backup-sigint.txt'),
    version: V018,
    exitCode: 1,
    expected: 'unknown',
    message: /^restic failed \(exit code 1\): Fatal: unable to save snapshot: context canceled$/,
  },
];

describe('classifyResticExit on recorded stderr', () => {
  it.each(rows.map((row) => [`${row.recording.source} (exit ${row.exitCode}${row.cancelledByUs === true ? ', we sent SIGINT' : ''}${row.networkGaveUp === true ? ', we gave up on the network' : ''}) → ${row.expected}`, row] as const))(
    '%s',
    (_name, row) => {
      expect(row.recording.exitCode).toBe(row.exitCode);
      const diagnosis = classifyResticExit({
        exitCode: row.recording.exitCode,
        signal: row.recording.signal,
        stderr: row.recording.stderr,
        cancelledByUs: row.cancelledByUs ?? false,
        networkGaveUp: row.networkGaveUp ?? false,
        version: row.version,
      });
      expect(diagnosis.class).toBe(row.expected);
      expect(diagnosis.message).toMatch(row.message);
      if (row.expected !== 'cancelled') expect(diagnosis.fix).toBeTypeOf('string');
    },
  );

  it('covers every failure class the engine can report with a recording of each version', () => {
    const classes = ['partial', 'no-repository', 'locked', 'wrong-password', 'cancelled', 'network', 'unknown'] as const;
    for (const c of classes) {
      expect(rows.some((r) => r.expected === c && r.version === V014), `${c} 0.14`).toBe(true);
      if (c !== 'network' && c !== 'unknown') expect(rows.some((r) => r.expected === c && r.version === V018), `${c} 0.18`).toBe(true);
    }
  });
});

describe('classifyResticExit rules', () => {
  const base = { signal: null, cancelledByUs: false, networkGaveUp: false } as const;

  it('stops at our own network give-up even when restic was SIGKILLed in the grace (recorded/restic/backup-sigint-during-tunnel-outage.txt)', () => {
    const rec = shared('backup-sigint-during-tunnel-outage.txt');
    expect(rec.exitCode).toBe(137);
    const d = classifyResticExit({ ...base, exitCode: null, signal: 'SIGKILL', stderr: rec.stderr, networkGaveUp: true, version: V014 });
    expect(d.class).toBe('network');
  });

  it('names the deadline and the last retry error when we gave up (restic-0.18.0/backup-unreachable.txt)', () => {
    const rec = fixture('0.18.0', 'backup-unreachable.txt');
    const d = classifyResticExit({ ...base, exitCode: 1, stderr: rec.stderr, networkGaveUp: true, networkGiveUpMs: 900_000, version: V018 });
    expect(d.message).toMatch(
      /^The repository stayed unreachable for 15 min \(dial tcp 127\.0\.0\.1:\d+: connect: connection refused\), so Backhaul stopped restic\.$/,
    );
  });

  it('calls a SIGKILL we did not send a failure', () => {
    const d = classifyResticExit({ ...base, exitCode: null, signal: 'SIGKILL', stderr: '' });
    expect(d).toMatchObject({ class: 'unknown', message: 'restic was killed by SIGKILL, which Backhaul did not send.' });
  });

  it('trusts 10/11/12 only from versions that have them (0.17+), otherwise reads stderr', () => {
    expect(classifyResticExit({ ...base, exitCode: 11, stderr: '', version: V018 }).class).toBe('locked');
    expect(classifyResticExit({ ...base, exitCode: 11, stderr: '', version: V014 }).class).toBe('unknown');
    expect(classifyResticExit({ ...base, exitCode: 12, stderr: '', version: { major: 0, minor: 17, patch: 0 } }).class).toBe('unknown');
    expect(classifyResticExit({ ...base, exitCode: 12, stderr: '', version: { major: 0, minor: 17, patch: 1 } }).class).toBe('wrong-password');
  });

  it('keeps exit 3 a partial backup even when we cancelled meanwhile (the snapshot exists)', () => {
    expect(classifyResticExit({ ...base, exitCode: 3, stderr: '', cancelledByUs: true }).class).toBe('partial');
  });

  it('ignores retry chatter that recovered: the fatal line decides', () => {
    const stderr = [
      'Load(<data/1234>) returned error, retrying after 1s: dial tcp 10.0.0.1:8000: connect: connection refused',
      'Load(<data/1234>) operation successful after 1 retries',
      'Fatal: wrong password or no key found',
    ].join('\n');
    expect(classifyResticExit({ ...base, exitCode: 1, stderr }).class).toBe('wrong-password');
  });

  it('reports unknown failures with the Fatal line, or the last line, and an unknown exit code as a failure', () => {
    expect(classifyResticExit({ ...base, exitCode: 2, stderr: 'panic: boom\ngoroutine 1 [running]:' })).toMatchObject({
      class: 'unknown',
      message: 'restic failed (exit code 2): goroutine 1 [running]:',
    });
    expect(classifyResticExit({ ...base, exitCode: 42, stderr: '{"message_type":"exit_error","code":42,"message":"Fatal: new thing"}' })).toMatchObject({
      class: 'unknown',
      message: 'restic failed (exit code 42): Fatal: new thing',
    });
    expect(classifyResticExit({ ...base, exitCode: 1, stderr: '' }).message).toBe('restic failed (exit code 1).');
  });

  it('classifies other network errors restic prints', () => {
    for (const text of [
      'Fatal: unable to open config file: Head "https://x/config": dial tcp: lookup x: no such host',
      'Fatal: unable to save snapshot: Post "http://h/data/1": read tcp 1.2.3.4:5->6.7.8.9:80: read: connection reset by peer',
      'Fatal: unable to open config file: Head "http://h/config": context deadline exceeded',
      'Fatal: Load(<config/>): unexpected EOF',
      'Fatal: unable to open config file: dial tcp 10.0.0.1:8000: i/o timeout\nIs there a repository at the following location?\nrest:http://10.0.0.1:8000/r/',
    ]) {
      expect(classifyResticExit({ ...base, exitCode: 1, stderr: text }).class, text).toBe('network');
    }
  });
});

describe('helpers', () => {
  it('parses the lock holder (recorded/restic/backup-locked.txt)', () => {
    expect(parseLockHolder(shared('backup-locked.txt').stderr)).toEqual({
      exclusive: true,
      pid: 15261,
      host: 'vm',
      user: 'root',
      createdAt: '2026-11-25 08:48:02',
      age: '594ms',
    });
    expect(parseLockHolder('nothing here')).toBeUndefined();
  });

  it('builds the fatal text from 0.18 exit_error lines and plain lines, without retries or file errors', () => {
    const text = fatalText(fixture('0.18.0', 'backup-unreachable.txt').stderr);
    expect(text).not.toContain('retrying after');
    expect(text.split('\n')[0]).toBe('signal interrupt received, cleaning up');
    expect(text).toContain('Is there a repository at the following location?');
    expect(fatalText(fixture('0.18.0', 'backup-partial-unreadable.txt').stderr)).toBe('Warning: at least one source file could not be read');
  });

  it('keeps the last lines of stderr without terminal escapes', () => {
    expect(stderrTail(shared('backup-sigint.txt').stderr)).toBe('signal interrupt received, cleaning up');
    expect(stderrTail('a\nb\n\nc\n', 2)).toBe('b\nc');
    // 0.18's JSON lines read as text (restic-0.18.0/backup-partial-unreadable.txt, backup-locked.txt).
    expect(stderrTail(fixture('0.18.0', 'backup-partial-unreadable.txt').stderr)).toBe(
      'open /var/tmp/backhaul-rec/data-partial/secret.bin: permission denied\nWarning: at least one source file could not be read',
    );
    expect(stderrTail(fixture('0.18.0', 'backup-locked.txt').stderr).split('\n')[0]).toMatch(/^unable to create lock in backend: repository is already locked exclusively by PID \d+/);
  });
});
