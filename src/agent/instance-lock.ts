import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Another agent holds the lock: its pid, so the message can say which process to look at. */
export class AgentRunningError extends Error {
  override readonly name = 'AgentRunningError';
  readonly code = 'agent.already-running';
  readonly hint: string;
  constructor(readonly pid: number, pidFile: string) {
    super(`another Backhaul agent is already running (pid ${pid})`);
    this.hint = `Stop it first (kill ${pid}), or give this one its own BACKHAUL_HOME. Lock file: ${pidFile}`;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One agent per state dir: a pid file created exclusively. A pid file whose process is gone (a
 * crash, a kill -9) is stale and taken over. Returns the release function.
 */
export async function acquireInstanceLock(pidFile: string): Promise<() => Promise<void>> {
  await mkdir(dirname(pidFile), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(pidFile, 'wx', 0o600);
      await handle.write(`${process.pid}\n`);
      await handle.close();
      return async () => {
        const owner = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
        if (owner === process.pid) await rm(pidFile, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new AgentRunningError(pid, pidFile);
      await rm(pidFile, { force: true });
    }
  }
  throw new Error(`could not take the agent lock ${pidFile}`);
}
