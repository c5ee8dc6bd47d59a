import { describe, expect, it } from 'vitest';
import { CommandError, createCommandRunner, type CommandRunner, type CommandSpec } from '../../src/os/command.js';
import { REDACTED, SecretRedactor } from '../../src/os/redact.js';
import { loadRecording, parseRecording } from './recorded.js';
import { ReplayingCommandRunner, UnexpectedCommandError } from './replaying-runner.js';

async function rejection(runner: CommandRunner, spec: CommandSpec): Promise<unknown> {
  return runner.run(spec).then(
    (result) => new Error(`expected a rejection, got ${JSON.stringify(result)}`),
    (error: unknown) => error,
  );
}

async function commandFailure(runner: CommandRunner, spec: CommandSpec): Promise<CommandError> {
  const error = await rejection(runner, spec);
  if (!(error instanceof CommandError)) throw error;
  return error;
}

describe('ReplayingCommandRunner', () => {
  it('answers expected commands in order, streams the reply lines and records the calls', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: ['ip', '-j', 'route', 'show'], reply: { stdout: '[]\n' } },
      { argv: ['restic', /^--repo=rest:/, 'snapshots'], reply: { stdout: 'a\nb', stderr: 'warn\n', exitCode: 3 } },
    ]);
    const first = await runner.run({ argv: ['ip', '-j', 'route', 'show'] });
    expect(first).toMatchObject({ exitCode: 0, stdout: '[]\n', stderr: '' });
    const out: string[] = [];
    const err: string[] = [];
    const second = await runner.run({
      argv: ['restic', '--repo=rest:http://10.99.0.1:8000/REPO', 'snapshots'],
      env: { RESTIC_PASSWORD_COMMAND: 'backhaul secret get repo' },
      stdin: 'x',
      okExitCodes: [0, 3],
      onStdoutLine: (line) => out.push(line),
      onStderrLine: (line) => err.push(line),
    });
    expect(second.exitCode).toBe(3);
    expect(out).toEqual(['a', 'b']);
    expect(err).toEqual(['warn']);
    expect(runner.calls).toEqual([
      { argv: ['ip', '-j', 'route', 'show'], env: undefined, hasStdin: false, stdin: null, pty: false },
      {
        argv: ['restic', '--repo=rest:http://10.99.0.1:8000/REPO', 'snapshots'],
        env: { RESTIC_PASSWORD_COMMAND: 'backhaul secret get repo' },
        hasStdin: true,
        stdin: 'x',
        pty: false,
      },
    ]);
    runner.assertDone();
  });

  it('fails on an unexpected command, showing expected and got, even when the caller swallows it', async () => {
    const runner = new ReplayingCommandRunner([{ argv: ['nmcli', 'connection', 'up', 'office'], reply: {} }]);
    const error = await rejection(runner, { argv: ['nmcli', 'connection', 'down', 'office'] });
    expect(error).toBeInstanceOf(UnexpectedCommandError);
    expect(String(error)).toContain('argv[2]: expected "up", got "down"');
    expect(String(error)).toContain('expected: ["nmcli", "connection", "up", "office"]');
    expect(String(error)).toContain('got:      ["nmcli", "connection", "down", "office"]');
    expect(() => { runner.assertDone(); }).toThrow(UnexpectedCommandError);
  });

  it('fails when the argv is longer or shorter than expected', async () => {
    const runner = new ReplayingCommandRunner([{ argv: ['ipsec', 'up'], reply: {} }]);
    const error = await rejection(runner, { argv: ['ipsec', 'up', 'office'] });
    expect(String(error)).toContain('argv has 3 elements, expected 2');
  });

  it('fails when a regular expression does not match', async () => {
    const runner = new ReplayingCommandRunner([{ argv: ['ping', /^-c\d+$/], reply: {} }]);
    const error = await rejection(runner, { argv: ['ping', '-c', '3'] });
    expect(error).toBeInstanceOf(UnexpectedCommandError);
  });

  it('fails when the command comes after the expectations ran out', async () => {
    const runner = new ReplayingCommandRunner([{ argv: ['true'], reply: {} }]);
    await runner.run({ argv: ['true'] });
    const error = await rejection(runner, { argv: ['true'] });
    expect(String(error)).toContain('command #2 was not expected: all expected commands already ran');
    expect(() => { runner.assertDone(); }).toThrow('command #2 was not expected');
  });

  it('fails on the wrong mode: pty expected, spawn issued', async () => {
    const runner = new ReplayingCommandRunner([{ argv: ['rasdial', 'office', 'user', '*'], pty: true, reply: {} }]);
    const error = await rejection(runner, { argv: ['rasdial', 'office', 'user', '*'] });
    expect(String(error)).toContain('expected pty mode');
  });

  it('assertDone fails while expected commands remain', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: ['true'], reply: {} },
      { argv: ['ip', 'route', 'del', '10.99.0.0/24'], reply: {} },
    ]);
    await runner.run({ argv: ['true'] });
    expect(() => { runner.assertDone(); }).toThrow(/1 expected command\(s\) were never run:\n {2}\["ip", "route", "del", "10.99.0.0\/24"\]/);
  });

  it('does not count a command whose signal was already aborted (the real runner never starts it)', async () => {
    const runner = new ReplayingCommandRunner([]);
    const error = await commandFailure(runner, { argv: ['restic', 'backup'], signal: AbortSignal.abort() });
    expect(error.reason).toBe('aborted');
    expect(runner.calls).toEqual([]);
    runner.assertDone();
  });

  it('rejects with spawn-failed for a reply that says the program is missing', async () => {
    const runner = new ReplayingCommandRunner([{ argv: ['restic', 'version'], reply: { spawnError: 'ENOENT' } }]);
    const error = await commandFailure(runner, { argv: ['restic', 'version'] });
    expect(error.reason).toBe('spawn-failed');
    expect(error.message).toBe('restic was not found in PATH: install it or set its path');
  });

  it('redacts the reply and argv with the spec secrets and the runner redactor', async () => {
    const redactor = new SecretRedactor();
    redactor.add('registered-secret');
    const runner = new ReplayingCommandRunner(
      [{ argv: ['tool', 'spec-secret'], reply: { stderr: 'spec-secret registered-secret\n', exitCode: 1 } }],
      { redactor },
    );
    const error = await commandFailure(runner, { argv: ['tool', 'spec-secret'], secrets: ['spec-secret'] });
    expect(error.argv).toEqual(['tool', REDACTED]);
    expect(error.stderrTail).toBe(`${REDACTED} ${REDACTED}`);
    expect(error.message).not.toMatch(/spec-secret|registered-secret/);
  });

  it('builds the same CommandError as the real runner for the same output', async () => {
    const argv = ['sh', '-c', 'printf "first\\nFatal: wrong password or no key found\\n" >&2; exit 12'];
    const fake = new ReplayingCommandRunner([
      { argv, reply: { stderr: 'first\nFatal: wrong password or no key found\n', exitCode: 12 } },
    ]);
    const real = createCommandRunner({ redactor: new SecretRedactor() });
    const [fromFake, fromReal] = await Promise.all([commandFailure(fake, { argv }), commandFailure(real, { argv })]);
    const view = ({ name, reason, argv: args, exitCode, signal, stderrTail, message }: CommandError) =>
      ({ name, reason, args, exitCode, signal, stderrTail, message });
    expect(view(fromFake)).toEqual(view(fromReal));
    expect(fromFake.message).toContain('exited with code 12: Fatal: wrong password or no key found');
  });

  it('replays recorded/restic/backup-wrong-password.txt as restic would have failed', async () => {
    const recording = loadRecording('recorded/restic/backup-wrong-password.txt');
    const runner = new ReplayingCommandRunner([
      { argv: ['restic', '-r', 'rest:http://10.99.0.1:8000/REPO', 'backup', '--json', /\/rec-data$/], reply: recording },
    ]);
    const error = await commandFailure(runner, {
      argv: ['restic', '-r', 'rest:http://10.99.0.1:8000/REPO', 'backup', '--json', '/var/tmp/backhaul-host/rec-data'],
      okExitCodes: [0, 3],
    });
    expect(error).toMatchObject({ reason: 'exit', exitCode: 1, stderrTail: 'Fatal: wrong password or no key found' });
    expect(error.message).toBe(
      'restic -r rest:http://10.99.0.1:8000/REPO backup --json /var/tmp/backhaul-host/rec-data exited with code 1: Fatal: wrong password or no key found',
    );
    runner.assertDone();
  });

  it('replays a recording of a run killed by SIGKILL as death by signal (recorded/restic/backup-sigint-during-tunnel-outage.txt)', async () => {
    const recording = loadRecording('recorded/restic/backup-sigint-during-tunnel-outage.txt');
    const runner = new ReplayingCommandRunner([{ argv: ['restic', 'backup'], reply: recording }]);
    const error = await commandFailure(runner, { argv: ['restic', 'backup'] });
    expect(error).toMatchObject({ reason: 'signal', exitCode: null, signal: 'SIGKILL' });
  });

  it('refuses a recording without exit status unless the test supplies one (recorded/restic/backup-tunnel-loss-9min-survived.txt)', async () => {
    const recording = loadRecording('recorded/restic/backup-tunnel-loss-9min-survived.txt');
    const bare = new ReplayingCommandRunner([{ argv: ['restic'], reply: recording }]);
    expect(String(await rejection(bare, { argv: ['restic'] }))).toContain('has no exit code (not captured)');
    const given = new ReplayingCommandRunner([{ argv: ['restic'], reply: { ...recording, exitCode: 0 } }]);
    const result = await given.run({ argv: ['restic'] });
    expect(result.stdout).toContain('"message_type":"summary"');
  });
});

describe('loadRecording', () => {
  it('parses the restic/rsync format (recorded/restic/backup-wrong-password.txt)', () => {
    expect(loadRecording('recorded/restic/backup-wrong-password.txt')).toMatchObject({
      command: 'RESTIC_PASSWORD=wrong-password restic -r rest:http://10.99.0.1:8000/REPO backup --json /var/tmp/backhaul-host/rec-data',
      exitCode: 1,
      signal: null,
      stdout: '',
      stderr: 'Fatal: wrong password or no key found\n',
    });
  });

  it('splits off the note and reads "exit=137 (SIGKILL …)" (recorded/restic/backup-sigint-during-tunnel-outage.txt)', () => {
    const recording = loadRecording('recorded/restic/backup-sigint-during-tunnel-outage.txt');
    expect(recording.command).toBe(
      'restic -r rest:http://10.99.0.1:8000/REPO -o rest.connections=4 backup --json /var/tmp/backhaul-host/data',
    );
    expect(recording.note).toMatch(/^tunnel stopped at \+8 s/);
    expect(recording).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
    expect(recording.stdout.split('\n')[0]).toMatch(/^\{"message_type":"status"/);
  });

  it('reads "exit=130" as a plain exit code: restic exits 130 itself on SIGINT (recorded/restic/backup-sigint.txt)', () => {
    expect(loadRecording('recorded/restic/backup-sigint.txt')).toMatchObject({ exitCode: 130, signal: null });
  });

  it('reads "exit=not captured" as null (recorded/restic/backup-tunnel-loss-9min-survived.txt)', () => {
    expect(loadRecording('recorded/restic/backup-tunnel-loss-9min-survived.txt').exitCode).toBeNull();
  });

  it('accepts annotated stream markers such as "# --- stdout (summary only) ---" (recorded/restic/backup-rerun-after-killed-run.txt)', () => {
    const recording = loadRecording('recorded/restic/backup-rerun-after-killed-run.txt');
    expect(recording.stdout).toMatch(/^\{"message_type":"summary".*\}\n$/);
    expect(recording.stderr).toBe('');
  });

  it('keeps rsync output verbatim, "\\r" included (recorded/rsync/rsync-progress2-success.txt)', () => {
    const recording = loadRecording('recorded/rsync/rsync-progress2-success.txt');
    expect(recording.exitCode).toBe(0);
    expect(recording.stdout).toContain('\r');
  });

  it('parses the linux format with stderr (recorded/linux/nmcli_-w_60_connection_up_cloud-l2tp.wrong-password.txt)', () => {
    const recording = loadRecording('recorded/linux/nmcli_-w_60_connection_up_cloud-l2tp.wrong-password.txt');
    expect(recording).toMatchObject({ command: 'nmcli -w 60 connection up cloud-l2tp', exitCode: 4, stdout: '' });
    expect(recording.stderr).toMatch(/^Error: Connection activation failed: Unknown reason\n/);
  });

  it('parses the linux format without stderr section, and a command containing pipes', () => {
    const version = loadRecording('recorded/linux/ipsec_version.txt');
    expect(version).toMatchObject({ command: 'ipsec version', exitCode: 0, stderr: '' });
    expect(version.stdout).toMatch(/^Linux strongSwan U5\.9\.8/);
    const canary = loadRecording('recorded/linux/nm-secrets-journal-canary.txt');
    expect(canary).toMatchObject({ command: 'journalctl -b --no-pager | grep -a -F -f /dev/shm/.labpat | wc -l', exitCode: 0, stdout: '0\n' });
  });

  it('takes the exit status from a prose header when there is one (recorded/strongswan/terminate-office.txt)', () => {
    const recording = loadRecording('recorded/strongswan/terminate-office.txt');
    expect(recording.exitCode).toBe(0);
    expect(recording.stdout).toMatch(/terminate completed successfully\n/);
  });

  it('rejects text without a header line', () => {
    expect(() => parseRecording('plain output\n', 'inline')).toThrow("inline: expected a '# <command> | …' header line");
  });
});
