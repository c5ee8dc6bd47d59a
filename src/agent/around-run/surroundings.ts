/**
 * What runs around a job's session besides the tunnel and the engine, as the one port the session
 * calls (`SessionSurroundings`): keep the machine awake and run the pre hooks when the session
 * begins; release the machine and run the post or on-failure hooks when it ends.
 */
import type { CommandRunner } from '../../os/command.js';
import type { SessionFailure } from '../session/failures.js';
import type { SessionSurroundings } from '../session/session.js';
import { runEndHooks, runHooks, type HookSet } from './hooks.js';
import { holdKeepAwake, keepAwakeCommand, type KeepAwakeHold } from './keep-awake.js';

export interface SurroundingsOptions {
  readonly job: string;
  readonly runner: CommandRunner;
  readonly platform: NodeJS.Platform;
  /** The agent's (or the CLI's) own pid: the keep-awake command ends with this process. */
  readonly agentPid: number;
  readonly keepAwake: boolean;
  readonly hooks?: HookSet;
  readonly log: (level: 'info' | 'warn', message: string) => void;
}

export function createSurroundings(options: SurroundingsOptions): SessionSurroundings {
  let hold: KeepAwakeHold | undefined;
  return {
    async begin({ sessionId, signal, trackProcess, processEnded }) {
      const command = options.keepAwake ? keepAwakeCommand(options.platform, { job: options.job, agentPid: options.agentPid }) : undefined;
      if (command !== undefined) hold = holdKeepAwake(command, { runner: options.runner, onSpawn: trackProcess, onExit: processEnded, log: options.log });
      if (options.hooks !== undefined) await runHooks(options.runner, options.hooks, 'pre', { job: options.job, sessionId }, signal);
    },
    async end({ sessionId, result }) {
      const notes: SessionFailure[] = [];
      try {
        // Still awake: the hooks are part of the run (each is bounded by hooks.timeoutSeconds).
        if (options.hooks !== undefined && result !== 'cancelled') {
          const note = await runEndHooks(options.runner, options.hooks, { job: options.job, sessionId, result });
          if (note !== undefined) notes.push(note);
        }
      } finally {
        await hold?.release();
        hold = undefined;
      }
      return notes;
    },
  };
}
