import { readFile } from 'node:fs/promises';

/**
 * What identifies a process beyond its pid, which the kernel reuses: on Linux the start time in
 * clock ticks since boot (/proc/PID/stat field 22). Undefined where that can't be read; callers
 * then must not act on the pid alone.
 */
export async function processIdentity(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after its last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTime = rest[19];
    return startTime === undefined ? undefined : `linux-start:${startTime}`;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is still the process that had `identity`. */
export async function isSameProcess(pid: number, identity: string | undefined): Promise<boolean> {
  if (identity === undefined) return false;
  return (await processIdentity(pid)) === identity;
}

/**
 * Stops a leftover process group from a crashed session: SIGTERM, then SIGKILL if it is still
 * there after `graceMs`. Only when the pid still belongs to the process that was journaled.
 */
export async function stopLeftoverProcess(pid: number, identity: string | undefined, graceMs = 5_000): Promise<'stopped' | 'gone' | 'not-ours'> {
  if (!(await isSameProcess(pid, identity))) return (await processIdentity(pid)) === undefined ? 'gone' : 'not-ours';
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  };
  signalGroup('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await isRunning(pid, identity))) return 'stopped';
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  signalGroup('SIGKILL');
  return 'stopped';
}

/** Running and not a zombie (a zombie has exited; only its parent hasn't reaped it). */
async function isRunning(pid: number, identity: string | undefined): Promise<boolean> {
  if (!(await isSameProcess(pid, identity))) return false;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
