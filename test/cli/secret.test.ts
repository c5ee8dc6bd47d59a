/**
 * `backhaul secret …`: the value comes from a no-echo prompt (a real pseudo-terminal) or from a
 * real stdin pipe, never from argv, and is never printed or logged. These use the file store
 * (settings.secretStore: file, or auto without a session bus); the Secret Service backend has its
 * own tests in test/os/keychain.test.ts and test/integration/keychain-restic.test.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { PromptCancelled, secretSetCommand, type SecretInput } from '../../src/cli/commands/secret.js';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';

const ROOT = join(import.meta.dirname, '..', '..');
// In-process commands here must not find a Secret Service, even when the test runner has a bus.
delete process.env.DBUS_SESSION_BUS_ADDRESS;
const CANARY = 'canary-91d3-Cli-S3cret with spaces';
let home: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'backhaul-cli-secret-'));
  await writeFile(join(home, 'config.yaml'), 'settings:\n  secretStore: file\n');
});

/** Runs the real CLI in a child with `stdin` piped in; DBUS_SESSION_BUS_ADDRESS removed (a headless box). */
function cli(args: string[], stdin: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string; argv: string[] }> {
  const argv = ['--import', 'tsx', 'src/cli/bin.ts', '--home', home, ...args];
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.DBUS_SESSION_BUS_ADDRESS;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.once('error', reject);
    child.once('close', (code) => { resolve({ code, stdout, stderr, argv }); });
    child.stdin.end(stdin);
  });
}

/** Every file under the home (config, state, logs) as text, to look for the value in logs. */
async function everyLogLine(): Promise<string> {
  const logDir = join(home, 'logs');
  const files = await readdir(logDir).catch(() => []);
  return (await Promise.all(files.map((file) => readFile(join(logDir, file), 'utf8')))).join('\n');
}

describe('backhaul secret with stdin', () => {
  it('set reads a real pipe, never argv; without a Secret Service (auto) it warns once and uses the file store', async () => {
    await writeFile(join(home, 'config.yaml'), 'jobs: {}\n');
    const set = await cli(['secret', 'set', 'repo-pw'], `${CANARY}\n`);
    expect(set.code).toBe(0);
    expect(set.stdout).toBe(`Stored keychain:repo-pw in ${join(home, 'state', 'secrets')}.\n`);
    const warnings = set.stderr.split('\n').filter((line) => line !== '');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^warning: keychain: secrets are kept in files in ${join(home, 'state', 'secrets')} \\(mode 0600.*no Secret Service answered`));
    // One trailing newline is dropped; everything else is kept.
    expect(await readFile(join(home, 'state', 'secrets', 'repo-pw'), 'utf8')).toBe(CANARY);
    expect((await stat(join(home, 'state', 'secrets', 'repo-pw'))).mode & 0o777).toBe(0o600);
    expect(set.argv.join(' ')).not.toContain(CANARY);
    expect(set.stdout + set.stderr).not.toContain(CANARY);
    expect(await everyLogLine()).not.toContain(CANARY);
  });

  it('check, list, replace, delete (file store), never showing the value', async () => {
    const pipe = (text: string): SecretInput => ({
      isTTY: false,
      promptHidden: () => Promise.reject(new Error('not a terminal')),
      readAll: () => Promise.resolve(Buffer.from(text)),
    });
    const dir = join(home, 'state', 'secrets');
    const run = async (args: string[]) => {
      const captured = captureIo();
      const code = await main(['--home', home, ...args], captured.io);
      expect(captured.out.text() + captured.err.text()).not.toContain(CANARY);
      return { code, stdout: captured.out.text(), stderr: captured.err.text() };
    };
    expect(await secretSetCommand('repo-pw', { home }, captureIo().io, pipe(`${CANARY}\n`))).toBe(0);
    expect(await run(['secret', 'check', 'repo-pw'])).toEqual({ code: 0, stdout: `keychain:repo-pw is set in ${dir}.\n`, stderr: '' });
    expect(await secretSetCommand('office-psk', { home }, captureIo().io, pipe('psk-value-1234'))).toBe(0);
    expect(await run(['secret', 'list'])).toEqual({ code: 0, stdout: 'office-psk\nrepo-pw\n', stderr: '' });

    expect(await secretSetCommand('repo-pw', { home }, captureIo().io, pipe(`${CANARY}-2\r\n`))).toBe(0);
    expect(await readFile(join(dir, 'repo-pw'), 'utf8')).toBe(`${CANARY}-2`);

    expect(await run(['secret', 'delete', 'repo-pw'])).toEqual({ code: 0, stdout: `Deleted keychain:repo-pw from ${dir}.\n`, stderr: '' });
    expect(await run(['secret', 'check', 'repo-pw'])).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: keychain:repo-pw not found in ${dir}\nhint: Store it with: backhaul secret set repo-pw\n`,
    });
    expect((await run(['secret', 'delete', 'repo-pw'])).stderr).toContain(`error: keychain:repo-pw not found in ${dir}; nothing was deleted`);
    // The fix names the mode's own store.
    expect((await run(['--system', 'secret', 'check', 'x1'])).stderr).toContain('hint: Store it with: backhaul --system secret set x1');
  });

  it('refuses empty stdin and an invalid name, storing nothing', async () => {
    const empty = captureIo();
    const pipe: SecretInput = { isTTY: false, promptHidden: () => Promise.reject(new Error('no')), readAll: () => Promise.resolve(Buffer.from('\n')) };
    await expect(secretSetCommand('repo-pw', { home }, empty.io, pipe)).rejects.toMatchObject({ message: 'stdin was empty; nothing was stored', exitCode: 2 });
    const badName = captureIo();
    expect(await main(['--home', home, 'secret', 'set', '../etc/passwd'], badName.io)).toBe(2);
    expect(badName.err.text()).toContain('error: "../etc/passwd" is not a valid secret name');
    expect(await readdir(join(home, 'state', 'secrets')).catch(() => [])).toEqual([]);
  });
});

describe('backhaul run --foreground with a keychain: password', () => {
  it('without a Secret Service: one warning on stderr, and the missing secret named with the fix', async () => {
    await writeFile(join(home, 'config.yaml'), `jobs:\n  nightly: { sources: [${home}], repository: ${join(home, 'repo')}, password: "keychain:repo-pw" }\n`);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const { io, err } = captureIo();
      expect(await main(['--home', home, 'run', 'nightly', '--foreground'], io)).toBe(1);
      expect(err.text()).toContain(`keychain:repo-pw not found in ${join(home, 'state', 'secrets')}`);
      expect(err.text()).toContain('store it with: backhaul secret set repo-pw');
      const warnings = stderr.mock.calls.map(([text]) => String(text)).filter((text) => text.startsWith('warning: keychain: secrets are kept in files'));
      expect(warnings).toHaveLength(1);
    } finally {
      stderr.mockRestore();
    }
  });
});

describe('backhaul secret set on a terminal', () => {
  it('asks twice without echo (a real pseudo-terminal) and stores what was typed', async () => {
    const { spawn: spawnPty } = await import('@lydell/node-pty');
    const typed = 'pty-S3cret-ünï';
    const { output, exitCode } = await new Promise<{ output: string; exitCode: number }>((resolve) => {
      const term = spawnPty(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', '--home', home, 'secret', 'set', 'vpn-user'], { cols: 100, rows: 10, cwd: ROOT, env: process.env });
      let text = '';
      let stage = 0;
      term.onData((data) => {
        text += data;
        if (stage === 0 && text.includes('(not shown): ')) {
          stage = 1;
          term.write(`${typed}x\x7f\r`); // a typo fixed with Backspace
        } else if (stage === 1 && text.includes('Again, to confirm: ')) {
          stage = 2;
          term.write(`${typed}\r`);
        }
      });
      term.onExit(({ exitCode: code }) => { resolve({ output: text, exitCode: code }); });
    });
    expect(exitCode).toBe(0);
    expect(output).toContain('Secret for keychain:vpn-user (not shown): ');
    expect(output).toContain('Stored keychain:vpn-user in');
    expect(output).not.toContain(typed);
    expect(await readFile(join(home, 'state', 'secrets', 'vpn-user'), 'utf8')).toBe(typed);
  });

  it('refuses two different entries, and Ctrl-C stores nothing (exit 130)', async () => {
    const answers = (values: (string | Error)[]): SecretInput => ({
      isTTY: true,
      promptHidden: () => {
        const next = values.shift() ?? new Error('no more answers');
        return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
      },
      readAll: () => Promise.reject(new Error('not a pipe')),
    });
    const differ = captureIo();
    await expect(secretSetCommand('repo-pw', { home }, differ.io, answers([CANARY, `${CANARY}!`]))).rejects.toMatchObject({
      message: 'the two entries differ; nothing was stored',
      exitCode: 2,
    });
    const cancelled = captureIo();
    expect(await secretSetCommand('repo-pw', { home }, cancelled.io, answers([new PromptCancelled('ctrl-c')]))).toBe(130);
    expect(cancelled.err.text()).toBe('Cancelled; nothing was stored.\n');
    expect(await readdir(join(home, 'state', 'secrets')).catch(() => [])).toEqual([]);
  });

  it('lists the secret commands in help', async () => {
    const { io, out } = captureIo();
    expect(await main(['secret', '--help'], io)).toBe(0);
    for (const command of ['set', 'delete', 'list', 'check']) expect(out.text()).toContain(command);
  });
});
