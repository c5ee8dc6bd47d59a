/**
 * The README's promise, for real: `npm start` on a fresh BACKHAUL_HOME creates the demo job and a
 * snapshot, a second `npm start` adds a deduplicated second snapshot and says so, and
 * `backhaul run demo --foreground` on a terminal draws a live progress bar.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn as spawnPty } from '@lydell/node-pty';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/** Runs a command in a pseudo-terminal (so the CLI sees a TTY) and collects what it drew. */
function inTerminal(argv: readonly string[], env: Record<string, string>): Promise<{ output: string; exitCode: number }> {
  return new Promise((resolve) => {
    const term = spawnPty(argv[0] ?? '', argv.slice(1), { cols: 120, rows: 30, cwd: root, env: { ...process.env, ...env } });
    let output = '';
    term.onData((data) => { output += data; });
    term.onExit(({ exitCode }) => { resolve({ output, exitCode }); });
  });
}

describe('npm start', () => {
  it('creates the demo, snapshots it, dedups the second run, and shows a live progress bar', async () => {
    const home = await mkdtemp(join(tmpdir(), 'backhaul-start-'));
    const env = { BACKHAUL_HOME: home };

    const first = await inTerminal([process.execPath, 'scripts/start.mjs'], env);
    expect(first.exitCode).toBe(0);
    expect(first.output).toContain('Welcome to Backhaul. Created a demo job');
    expect(first.output).toContain('That is the first snapshot of the demo repository.');
    // A progress frame: rewritten in place with "\r", a bar, a percentage, an ETA.
    expect(first.output).toMatch(/\r\[[#-]{10,}\] +\d+% {2}.+ETA /);

    const second = spawnSync(process.execPath, ['scripts/start.mjs'], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('That is snapshot number 2 of the demo repository. Deduplication:');
    expect(second.stdout).toMatch(/12 of 12 files unchanged/);

    const listed = spawnSync(
      'restic',
      ['-r', join(home, 'state', 'demo', 'repository'), '--password-file', join(home, 'state', 'demo', 'repository.password'), 'snapshots', '--json'],
      { encoding: 'utf8' },
    );
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout)).toHaveLength(2);

    const rerun = await inTerminal([process.execPath, 'dist/cli/bin.js', 'run', 'demo', '--foreground'], env);
    expect(rerun.exitCode).toBe(0);
    expect(rerun.output).toMatch(/\r\[[#-]{10,}\] +\d+%/);
    expect(rerun.output).toContain('Backup of "demo" succeeded');

    const snapshots = spawnSync(process.execPath, ['dist/cli/bin.js', 'snapshots', 'demo'], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(snapshots.stdout).toContain('3 snapshots');
  });
});
