/**
 * The README's promise, for real: `npm start` on a fresh BACKHAUL_HOME starts the agent, creates
 * the demo job and a snapshot through it, prints the web UI address and stays up until Ctrl-C
 * (SIGINT), which stops the agent cleanly; a second `npm start` adds a deduplicated second snapshot
 * and says so; `backhaul run demo --foreground` on a terminal draws a live progress bar.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn as spawnPty } from '@lydell/node-pty';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/** Runs `npm start`'s script; when it says to press Ctrl-C, sends SIGINT as the terminal would. */
function npmStart(home: string): Promise<{ output: string; exitCode: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['scripts/start.mjs'], { cwd: root, env: { ...process.env, BACKHAUL_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let interrupted = false;
    const onData = (chunk: string) => {
      output += chunk;
      if (!interrupted && output.includes('Press Ctrl-C to stop it.')) {
        interrupted = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000); // bounded: a hang fails with its output
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ output, exitCode });
    });
  });
}

/** Runs a command in a pseudo-terminal (so the CLI sees a TTY) and collects what it drew. */
function inTerminal(argv: readonly string[], env: Record<string, string>): Promise<{ output: string; exitCode: number }> {
  return new Promise((resolve) => {
    const term = spawnPty(argv[0] ?? '', argv.slice(1), { cols: 120, rows: 30, cwd: root, env: { ...process.env, ...env } });
    let output = '';
    term.onData((data) => { output += data; });
    term.onExit(({ exitCode }) => { setTimeout(() => { resolve({ output, exitCode }); }, 300); });
  });
}

describe('npm start', () => {
  it('starts the agent, snapshots the demo through it, stops cleanly on Ctrl-C, dedups the second run; the CLI draws a live bar', async () => {
    const home = await mkdtemp(join(tmpdir(), 'backhaul-start-'));
    const env = { BACKHAUL_HOME: home };

    const first = await npmStart(home);
    expect(first.output).toContain('Welcome to Backhaul. Created a demo job');
    expect(first.output).toContain('Running the demo job through the agent');
    expect(first.output).toContain('That is the first snapshot of the demo repository.');
    expect(first.output).toMatch(/Web UI \(this link carries a one-time access token\): http:\/\/127\.0\.0\.1:\d+\/login\?token=\S+/);
    expect(first.output).toContain('Agent stopped.');
    expect(first.exitCode).toBe(0);
    // The agent shut down cleanly: it removed its socket and pid file.
    expect(existsSync(join(home, 'run', 'agent.sock'))).toBe(false);
    expect(existsSync(join(home, 'run', 'agent.pid'))).toBe(false);

    const second = await npmStart(home);
    expect(second.exitCode).toBe(0);
    expect(second.output).toContain('That is snapshot number 2 of the demo repository. Deduplication:');
    expect(second.output).toMatch(/12 of 12 files unchanged/);

    const listed = spawnSync(
      'restic',
      ['-r', join(home, 'state', 'demo', 'repository'), '--password-file', join(home, 'state', 'demo', 'repository.password'), 'snapshots', '--json'],
      { encoding: 'utf8' },
    );
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout)).toHaveLength(2);

    const rerun = await inTerminal([process.execPath, 'dist/cli/bin.js', 'run', 'demo', '--foreground'], env);
    expect(rerun.exitCode).toBe(0);
    // A progress frame: rewritten in place with "\r", a bar, a percentage, an ETA.
    expect(rerun.output).toMatch(/\r\[[#-]{10,}\] +\d+% {2}.+ETA /);
    expect(rerun.output).toContain('Backup of "demo" succeeded');

    const snapshots = spawnSync(process.execPath, ['dist/cli/bin.js', 'snapshots', 'demo'], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(snapshots.stdout).toContain('3 snapshots');
  });
});
