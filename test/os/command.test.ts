/**
 * The real CommandRunner against real processes (/bin/sh, bash, cat, sleep). Nothing here asserts
 * on time: timeouts and grace periods are only made short so the tests finish quickly.
 */
import { getEventListeners } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CommandError,
  createCommandRunner,
  type CommandLogEntry,
  type CommandRunner,
  type CommandSpec,
} from '../../src/os/command.js';
import { defaultRedactor, REDACTED, SecretRedactor } from '../../src/os/redact.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'backhaul-command-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `spec` expecting a rejection, and returns it as a CommandError (fails the test otherwise). */
async function failure(runner: CommandRunner, spec: CommandSpec): Promise<CommandError> {
  const outcome = await runner.run(spec).then(
    (result) => new Error(`expected a CommandError, got a result: ${JSON.stringify(result)}`),
    (error: unknown) => error,
  );
  if (!(outcome instanceof CommandError)) throw outcome;
  return outcome;
}

/** True while `pid` exists and is not a zombie (a container's init may never reap orphans). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !/^\d+ \(.*\) Z/.test(stat);
}

/** An AbortController that aborts as soon as a line equal to `line` arrives on stdout. */
function abortOn(line: string): { signal: AbortSignal; onStdoutLine: (got: string) => void } {
  const controller = new AbortController();
  return {
    signal: controller.signal,
    onStdoutLine: (got) => {
      if (got === line) controller.abort();
    },
  };
}

describe('createCommandRunner: spawn mode', () => {
  const runner = createCommandRunner({ redactor: new SecretRedactor() });

  it('resolves with stdout, stderr and the exit code of a successful command', async () => {
    const result = await runner.run({ argv: ['sh', '-c', 'echo out; echo err >&2'] });
    expect(result).toMatchObject({
      argv: ['sh', '-c', 'echo out; echo err >&2'],
      exitCode: 0,
      signal: null,
      stdout: 'out\n',
      stderr: 'err\n',
      truncated: false,
      aborted: false,
      timedOut: false,
    });
  });

  it('accepts the exit codes listed in okExitCodes, and only those', async () => {
    const ok = await runner.run({ argv: ['sh', '-c', 'exit 3'], okExitCodes: [0, 3] });
    expect(ok.exitCode).toBe(3);
    const error = await failure(runner, { argv: ['sh', '-c', 'exit 3'], okExitCodes: [0, 1] });
    expect(error).toMatchObject({ reason: 'exit', exitCode: 3, signal: null });
  });

  it("with okExitCodes 'any' resolves whatever the exit code", async () => {
    const result = await runner.run({ argv: ['sh', '-c', 'exit 12'], okExitCodes: 'any' });
    expect(result.exitCode).toBe(12);
  });

  it('rejects a non-zero exit with a CommandError carrying the last 20 stderr lines', async () => {
    const script = 'i=1; while [ $i -le 25 ]; do echo "problem $i" >&2; i=$((i+1)); done; exit 1';
    const error = await failure(runner, { argv: ['sh', '-c', script] });
    expect(error.reason).toBe('exit');
    expect(error.exitCode).toBe(1);
    expect(error.argv).toEqual(['sh', '-c', script]);
    const tail = error.stderrTail.split('\n');
    expect(tail).toHaveLength(20);
    expect(tail[0]).toBe('problem 6');
    expect(tail.at(-1)).toBe('problem 25');
    expect(error.message).toMatch(/^sh -c '.*' exited with code 1: problem 25$/);
  });

  it('rejects a missing program with spawn-failed and says what to do', async () => {
    const error = await failure(runner, { argv: ['backhaul-no-such-program', '--version'] });
    expect(error.reason).toBe('spawn-failed');
    expect(error.message).toBe('backhaul-no-such-program was not found in PATH: install it or set its path');
  });

  it('rejects a program that is not executable with spawn-failed', async () => {
    const file = join(dir, 'restic');
    writeFileSync(file, '#!/bin/sh\n');
    chmodSync(file, 0o644);
    const error = await failure(runner, { argv: [file, 'version'] });
    expect(error.reason).toBe('spawn-failed');
    expect(error.message).toContain(`${file} is not executable`);
  });

  it('names a missing working directory instead of blaming the program', async () => {
    const error = await failure(runner, { argv: ['sh', '-c', 'true'], cwd: join(dir, 'gone') });
    expect(error.reason).toBe('spawn-failed');
    expect(error.message).toContain('working directory');
  });

  it('forces LC_ALL=C and LANG=C on top of the inherited and the given environment', async () => {
    const result = await runner.run({
      argv: ['sh', '-c', 'echo "$LC_ALL|$LANG|$EXTRA|${HOME:+home}"'],
      env: { LC_ALL: 'de_DE.UTF-8', LANG: 'de_DE.UTF-8', EXTRA: 'given' },
    });
    expect(result.stdout).toBe('C|C|given|home\n');
  });

  it('streams each stream line by line in order, flushing a last line without newline', async () => {
    const out: string[] = [];
    const err: string[] = [];
    await runner.run({
      argv: ['sh', '-c', "printf 'one\\ntwo\\r\\n\\nthree'; printf 'e1\\ne2' >&2"],
      onStdoutLine: (line) => out.push(line),
      onStderrLine: (line) => err.push(line),
    });
    expect(out).toEqual(['one', 'two', '', 'three']);
    expect(err).toEqual(['e1', 'e2']);
  });

  it('ends lines at a lone "\\r" when asked (rsync --info=progress2, recorded/rsync/rsync-progress2-success.txt)', async () => {
    const lines: string[] = [];
    await runner.run({
      argv: ['sh', '-c', "printf '  10%%\\r  20%%\\r\\ndone\\n'"],
      splitOnCarriageReturn: true,
      onStdoutLine: (line) => lines.push(line),
    });
    expect(lines).toEqual(['  10%', '  20%', 'done']);
  });

  it('caps each stream at maxOutputBytes, keeping the tail, while every line is still streamed', async () => {
    let streamed = 0;
    const result = await runner.run({
      argv: ['sh', '-c', 'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done'],
      maxOutputBytes: 100,
      onStdoutLine: () => streamed++,
    });
    expect(streamed).toBe(2000);
    expect(result.truncated).toBe(true);
    expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(100);
    expect(result.stdout.endsWith('line 1998\nline 1999\n')).toBe(true);
    expect(result.stdout).not.toContain('line 0\n');
  });

  it('writes stdin and then closes it', async () => {
    const result = await runner.run({ argv: ['cat'], stdin: 'from stdin\nsecond\n' });
    expect(result.stdout).toBe('from stdin\nsecond\n');
  });

  it('gives a command without stdin an immediate end of input', async () => {
    const result = await runner.run({ argv: ['cat'] });
    expect(result.stdout).toBe('');
  });

  it('stops a command that runs past timeoutMs and rejects with reason timeout', async () => {
    const error = await failure(runner, { argv: ['sh', '-c', 'sleep 30'], timeoutMs: 100 });
    expect(error.reason).toBe('timeout');
    expect(error.signal).toBe('SIGTERM');
    expect(error.message).toContain('timed out after 100 ms');
  });

  it("with okExitCodes 'any' resolves a timed-out command with timedOut set", async () => {
    const result = await runner.run({ argv: ['sh', '-c', 'sleep 30'], timeoutMs: 100, okExitCodes: 'any' });
    expect(result).toMatchObject({ timedOut: true, aborted: false, exitCode: null, signal: 'SIGTERM' });
  });

  it('on abort sends cancelSignal to the whole process group, grandchildren included', async () => {
    const marks = join(dir, 'marks');
    const sleepPidFile = join(dir, 'sleep.pid');
    // parent traps TERM; its child sh traps TERM too and starts a grandchild `sleep`.
    const child = 'trap "echo child >> \\"$0\\"; exit 4" TERM; sleep 30 & echo $! > "$1"; echo ready; wait';
    const parent = `trap 'echo parent >> "$1"; exit 3' TERM; sh -c '${child}' "$1" "$2" & wait`;
    const error = await failure(runner, {
      argv: ['sh', '-c', parent, 'sh', marks, sleepPidFile],
      killGraceMs: 60_000,
      ...abortOn('ready'),
    });
    expect(error.reason).toBe('aborted');
    expect(error.exitCode).toBe(3);
    expect(readFileSync(marks, 'utf8').split('\n').sort()).toEqual(['', 'child', 'parent']);
    expect(isAlive(Number(readFileSync(sleepPidFile, 'utf8')))).toBe(false);
  });

  it('sends the configured cancelSignal (SIGINT, as restic wants)', async () => {
    const result = await runner.run({
      // Short sleeps: a signal that lands between two of them still ends the loop at once.
      argv: ['sh', '-c', "trap 'echo got-INT; exit 7' INT; trap 'echo got-TERM; exit 8' TERM; echo ready; while :; do sleep 0.1; done"],
      cancelSignal: 'SIGINT',
      okExitCodes: 'any',
      ...abortOn('ready'),
    });
    expect(result).toMatchObject({ aborted: true, exitCode: 7 });
    expect(result.stdout).toContain('got-INT');
  });

  it('sends SIGKILL to the group after killGraceMs when the command ignores cancelSignal', async () => {
    const error = await failure(runner, {
      argv: ['sh', '-c', "trap '' TERM; echo ready; sleep 30; echo survived"],
      killGraceMs: 200,
      ...abortOn('ready'),
    });
    expect(error).toMatchObject({ reason: 'aborted', exitCode: null, signal: 'SIGKILL' });
  });

  it('does not start a command whose signal is already aborted', async () => {
    const marker = join(dir, 'started');
    const spec = { argv: ['sh', '-c', 'touch "$0"', marker], signal: AbortSignal.abort() };
    const error = await failure(runner, spec);
    expect(error.reason).toBe('aborted');
    const result = await runner.run({ ...spec, okExitCodes: 'any' });
    expect(result).toMatchObject({ aborted: true, exitCode: null, signal: null });
    expect(existsSync(marker)).toBe(false);
  });

  it('leaves no abort listener behind once the command ended', async () => {
    const controller = new AbortController();
    await runner.run({ argv: ['true'], signal: controller.signal });
    await failure(runner, { argv: ['false'], signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('stops the command and rejects with the error when a line callback throws', async () => {
    const outcome = runner.run({
      argv: ['sh', '-c', 'echo first; sleep 30'],
      killGraceMs: 200,
      onStdoutLine: () => {
        throw new Error('parser broke');
      },
    });
    await expect(outcome).rejects.toThrow('parser broke');
  });
});

describe('createCommandRunner: log', () => {
  it('logs one entry per command with redacted argv and never the output', async () => {
    const entries: CommandLogEntry[] = [];
    const runner = createCommandRunner({ redactor: new SecretRedactor(), log: (entry) => entries.push(entry) });
    await runner.run({ argv: ['sh', '-c', 'echo OUTPUT-MARKER'] });
    await failure(runner, { argv: ['sh', '-c', 'echo OUTPUT-MARKER >&2; exit 2'] });
    await failure(runner, { argv: ['backhaul-no-such-program'] });
    expect(entries.map(({ exitCode, signal, reason }) => ({ exitCode, signal, reason }))).toEqual([
      { exitCode: 0, signal: null, reason: undefined },
      { exitCode: 2, signal: null, reason: 'exit' },
      { exitCode: null, signal: null, reason: 'spawn-failed' },
    ]);
    expect(entries[1]?.argv).toEqual(['sh', '-c', 'echo OUTPUT-MARKER >&2; exit 2']);
    expect(JSON.stringify(entries.map(({ argv: _argv, ...rest }) => rest))).not.toContain('OUTPUT-MARKER');
    for (const entry of entries) expect(entry.durationMs).toBeGreaterThanOrEqual(0);
  });
});

describe('createCommandRunner: redaction', () => {
  const canary = 'Canary-9b1e-Secret';
  const forms = [
    canary,
    Buffer.from(canary).toString('base64'),
    Buffer.from(canary).toString('hex'),
  ];

  function expectNoCanary(value: unknown): void {
    const text = JSON.stringify(value);
    for (const form of forms) expect(text).not.toContain(form);
  }

  it('redacts a secret that was (wrongly) put into argv, in the error, its message and the log', async () => {
    const entries: CommandLogEntry[] = [];
    const runner = createCommandRunner({ redactor: new SecretRedactor(), log: (entry) => entries.push(entry) });
    const error = await failure(runner, {
      argv: ['sh', '-c', 'echo "arg was $0" >&2; exit 2', canary],
      secrets: [canary],
    });
    expect(error.argv[3]).toBe(REDACTED);
    expect(error.stderrTail).toBe(`arg was ${REDACTED}`);
    expectNoCanary({ error, message: error.message, entries });
  });

  it('redacts secrets registered in the runner redactor from stderr, lines and the error', async () => {
    const redactor = new SecretRedactor();
    redactor.add(canary);
    const runner = createCommandRunner({ redactor });
    const lines: string[] = [];
    const error = await failure(runner, {
      argv: ['sh', '-c', 'echo "token $TOKEN" >&2; printf %s "$TOKEN" | base64 >&2; printf %s "$TOKEN" | od -An -tx1 | tr -d " \\n" >&2; exit 1'],
      env: { TOKEN: canary },
      onStderrLine: (line) => lines.push(line),
    });
    expect(lines).toEqual([`token ${REDACTED}`, REDACTED, REDACTED]);
    expect(error.stderrTail).toBe(`token ${REDACTED}\n${REDACTED}\n${REDACTED}`);
    expectNoCanary({ error, message: error.message, lines });
  });

  it('uses the process-wide defaultRedactor when given none', async () => {
    defaultRedactor.add('Default-Registry-Canary');
    const result = await createCommandRunner().run({ argv: ['sh', '-c', 'echo "x Default-Registry-Canary y"'] });
    expect(result.stdout).toBe(`x ${REDACTED} y\n`);
  });
});

describe('createCommandRunner: pty mode', () => {
  const runner = createCommandRunner({ redactor: new SecretRedactor() });
  const canary = 'Canary-Pty-Pass-7f3a';
  const forms = [canary, Buffer.from(canary).toString('base64'), Buffer.from(canary).toString('hex')];
  // Reads the password without echo, then prints it raw, as base64 and as hex: each must come back redacted.
  const script = [
    'read -s -p "Password: " pw',
    'echo',
    'echo "len=${#pw}"',
    'echo "raw=$pw"',
    'printf %s "$pw" | base64',
    'printf %s "$pw" | od -An -tx1 | tr -d " \\n"; echo',
    'exit "$0"',
  ].join('; ');

  it('answers a password prompt; the password appears nowhere (result, lines, error, log)', async () => {
    const entries: CommandLogEntry[] = [];
    const logged = createCommandRunner({ redactor: new SecretRedactor(), log: (entry) => entries.push(entry) });
    const lines: string[] = [];
    const error = await failure(logged, {
      argv: ['bash', '-c', script, '4'],
      pty: { answers: [{ prompt: /Password: /, answer: canary }] },
      onStdoutLine: (line) => lines.push(line),
      timeoutMs: 30_000,
    });
    expect(error.reason).toBe('exit');
    expect(error.exitCode).toBe(4);
    expect(lines).toContain(`len=${canary.length}`);
    // Each form was printed and replaced, which also proves the answer typed was exactly the canary.
    expect(lines).toContain(`raw=${REDACTED}`);
    expect(lines.filter((line) => line === REDACTED)).toHaveLength(2);
    expect(error.stderrTail).toContain(`raw=${REDACTED}`);
    const everything = JSON.stringify({ lines, error, message: error.message, entries });
    for (const form of forms) expect(everything).not.toContain(form);
  });

  it('merges the output into stdout of the result', async () => {
    const result = await runner.run({
      argv: ['bash', '-c', script, '0'],
      pty: { answers: [{ prompt: /Password: /, answer: canary }] },
      timeoutMs: 30_000,
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`raw=${REDACTED}\n`);
    for (const form of forms) expect(JSON.stringify(result)).not.toContain(form);
  });

  it('stops a pty command on timeout', async () => {
    const error = await failure(runner, { argv: ['sh', '-c', 'sleep 30'], pty: {}, timeoutMs: 100, killGraceMs: 1000 });
    expect(error.reason).toBe('timeout');
  });

  it('rejects a missing program with spawn-failed in pty mode too', async () => {
    const error = await failure(runner, { argv: ['backhaul-no-such-program'], pty: {} });
    expect(error.reason).toBe('spawn-failed');
    expect(error.message).toBe('backhaul-no-such-program was not found in PATH: install it or set its path');
  });
});

describe('onSpawn', () => {
  it('reports the pid of the process it started, which leads its own process group', async () => {
    const pids: number[] = [];
    const result = await createCommandRunner().run({ argv: ['sh', '-c', 'echo $$; ps -o pgid= -p $$'], onSpawn: (pid) => pids.push(pid) });
    const [shellPid, groupId] = result.stdout.trim().split('\n').map((l) => Number(l.trim()));
    expect(pids).toEqual([shellPid]);
    expect(groupId).toBe(shellPid);
  });
});

describe('pipes', () => {
  it('hands each text over a real anonymous pipe on fd 3, 4 … that the command can open by path', async () => {
    const script = 'for fd in 3 4; do readlink /proc/self/fd/$fd | cut -d: -f1; done; cat /dev/fd/3; echo "|"; cat /dev/fd/4';
    const result = await createCommandRunner({ redactor: new SecretRedactor() }).run({
      argv: ['sh', '-c', script],
      pipes: ['vpn.secrets.password:pipe-secret-one\n', 'pipe-secret-two'],
    });
    expect(result.stdout.split('\n').slice(0, 2)).toEqual(['pipe', 'pipe']);
    expect(result.stdout).not.toContain('pipe-secret');
    expect(result.stdout).toContain(`${REDACTED}\n|\n${REDACTED}`);
    expect(result.argv).toEqual(['sh', '-c', script]);
  });

  it('keeps the texts out of every argv and lets the command see end of file', async () => {
    const result = await createCommandRunner({ redactor: new SecretRedactor() }).run({
      argv: ['sh', '-c', 'wc -c < /dev/fd/3; cat /proc/$$/cmdline /proc/$PPID/cmdline | tr "\\0" " "'],
      pipes: ['0123456789'],
      timeoutMs: 20_000,
    });
    const [count, cmdlines = ''] = result.stdout.split('\n');
    expect(count?.trim()).toBe('10');
    expect(cmdlines).not.toContain('0123456789');
  });

  it('returns the command\'s own exit status and refuses pty mode', async () => {
    const runner = createCommandRunner();
    const error = await failure(runner, { argv: ['sh', '-c', 'exit 4'], pipes: ['x-secret-x'] });
    expect(error.exitCode).toBe(4);
    expect(error.message).toBe("sh -c 'exit 4' exited with code 4");
    await expect(runner.run({ argv: ['true'], pipes: ['x-secret-x'], pty: {} })).rejects.toThrow(TypeError);
  });
});
