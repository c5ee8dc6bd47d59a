import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { holdKeepAwake, keepAwakeCommand } from '../../../src/agent/around-run/keep-awake.js';
import { createCommandRunner, type CommandRunner, type CommandSpec } from '../../../src/os/command.js';

const request = { job: 'nightly', agentPid: 4242 };

/** Whether /proc/PID is a live process (not a zombie). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('keepAwakeCommand: one command per OS, idle sleep only, never the lid', () => {
  it('Linux: a systemd-inhibit block lock on sleep and idle (not handle-lid-switch), held by a tail that ends with the agent', () => {
    expect(keepAwakeCommand('linux', request)).toEqual({
      argv: ['systemd-inhibit', '--what=sleep:idle', '--who=Backhaul', '--why=Backing up nightly', '--mode=block', 'tail', '--pid=4242', '-f', '/dev/null'],
    });
  });

  it('macOS: caffeinate -i (idle sleep only: no -s, which keeps a closed laptop on AC awake, no -d) released when the agent exits', () => {
    expect(keepAwakeCommand('darwin', request)).toEqual({ argv: ['caffeinate', '-i', '-w', '4242'] });
  });

  it('Windows: SetThreadExecutionState(ES_CONTINUOUS | ES_SYSTEM_REQUIRED) from a PowerShell on stdin that waits for the agent', () => {
    const command = keepAwakeCommand('win32', request);
    expect(command?.argv).toEqual(['powershell.exe', '-NoProfile', '-NonInteractive', '-Command', '-']);
    // One line (stdin is run line by line), the flags as a decimal uint32: 0x80000000 | 0x1.
    expect(command?.stdin?.trimEnd().split('\n')).toHaveLength(1);
    expect(command?.stdin).toContain('SetThreadExecutionState([uint32]2147483649)');
    expect(2_147_483_649).toBe(0x80000001);
    expect(command?.stdin).toContain('Wait-Process -Id 4242');
    // Away mode (0x40) would fake sleep on a laptop: never set.
    expect(command?.stdin).not.toMatch(/2147483713|AWAYMODE/i);
  });

  it('has none for an OS it does not know', () => {
    expect(keepAwakeCommand('freebsd', request)).toBeUndefined();
  });
});

describe('holdKeepAwake (real processes)', () => {
  it('keeps the command running until release, then stops it; no warning', async () => {
    const warnings: string[] = [];
    let pid: number | undefined;
    const hold = holdKeepAwake({ argv: ['sleep', '600'] }, { runner: createCommandRunner(), onSpawn: (p) => { pid = p; }, log: (_l, m) => warnings.push(m) });
    await vi.waitFor(() => { expect(pid).toBeDefined(); });
    expect(alive(pid ?? 0)).toBe(true);
    await hold.release();
    expect(alive(pid ?? 0)).toBe(false);
    expect(warnings).toEqual([]);
  });

  it.skipIf(existsSync('/run/dbus/system_bus_socket'))('the real systemd-inhibit without a running logind is a warning, not a failure', async () => {
    const command = keepAwakeCommand('linux', { job: 'nightly', agentPid: process.pid });
    if (command === undefined) throw new Error('no Linux command');
    const warnings: string[] = [];
    const hold = holdKeepAwake(command, { runner: createCommandRunner(), log: (level, m) => warnings.push(`${level}: ${m}`) });
    await vi.waitFor(() => { expect(warnings).toHaveLength(1); }, { timeout: 10_000 });
    expect(warnings[0]).toMatch(/^warn: could not keep the machine awake: systemd-inhibit exited with 1: Failed to connect to bus.*; the backup runs anyway/);
    await expect(hold.release()).resolves.toBeUndefined();
  });

  it('a command that exits on its own is reported ended (the session then stops counting it as left to clean up); a released one is not', async () => {
    const ended: number[] = [];
    let pid: number | undefined;
    const early = holdKeepAwake({ argv: ['sh', '-c', 'exit 1'] }, { runner: createCommandRunner(), onSpawn: (p) => { pid = p; }, onExit: (p) => ended.push(p), log: () => undefined });
    await vi.waitFor(() => { expect(ended).toHaveLength(1); });
    expect(ended).toEqual([pid]);
    await early.release();
    const held = holdKeepAwake({ argv: ['sleep', '600'] }, { runner: createCommandRunner(), onExit: (p) => ended.push(p), log: () => undefined });
    await held.release();
    expect(ended).toHaveLength(1);
  });

  it('a missing tool is a warning naming it', async () => {
    const warnings: string[] = [];
    const hold = holdKeepAwake({ argv: ['backhaul-no-such-inhibitor'] }, { runner: createCommandRunner(), log: (_l, m) => warnings.push(m) });
    await vi.waitFor(() => { expect(warnings).toHaveLength(1); });
    expect(warnings[0]).toMatch(/could not keep the machine awake: .*backhaul-no-such-inhibitor/);
    await hold.release();
  });

  it('hands the command its stdin (the Windows script) and stops it through the abort signal', async () => {
    const seen: CommandSpec[] = [];
    const runner: CommandRunner = {
      run: (spec) => {
        seen.push(spec);
        return new Promise((resolve) => {
          spec.signal?.addEventListener('abort', () => {
            resolve({ argv: spec.argv, exitCode: null, signal: 'SIGTERM', stdout: '', stderr: '', truncated: false, aborted: true, timedOut: false, durationMs: 1 });
          });
        });
      },
    };
    const command = keepAwakeCommand('win32', request);
    if (command === undefined) throw new Error('no Windows command');
    const warnings: string[] = [];
    const hold = holdKeepAwake(command, { runner, log: (_l, m) => warnings.push(m) });
    expect(seen[0]?.stdin).toBe(command.stdin);
    expect(seen[0]?.okExitCodes).toBe('any');
    await hold.release();
    expect(seen[0]?.signal?.aborted).toBe(true);
    expect(warnings).toEqual([]);
  });
});
