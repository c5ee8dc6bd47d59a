/**
 * A job's hooks: commands the admin wants run around a backup (stop a database before, start it
 * after, page someone on failure). Each is an argv list run through the CommandRunner — no shell,
 * so nothing in the config is re-parsed — with a timeout, the job's names in its environment and
 * its output kept short and redacted, since it goes into the history.
 *
 * `pre` hooks run in preflight, in order; the first that fails aborts the run (`hook.pre-failed`)
 * before any tunnel or engine. `post` hooks run after a successful (or warning) backup, `onFailure`
 * hooks after a failed one; theirs failing is a note on the record, never a different outcome.
 * A cancelled run runs neither: the person who cancelled is there to see it.
 */
import type { CommandResult, CommandRunner } from '../../os/command.js';
import type { SessionFailure } from '../session/failures.js';

export type HookPhase = 'pre' | 'post' | 'onFailure';

export interface HookSet {
  readonly pre: readonly (readonly string[])[];
  readonly post: readonly (readonly string[])[];
  readonly onFailure: readonly (readonly string[])[];
  readonly timeoutSeconds: number;
}

/** What a hook learns about the run, as environment variables. */
export interface HookContext {
  readonly job: string;
  readonly sessionId: string;
  /** `success`, `warning` or `failed`; absent for `pre` hooks (nothing has happened yet). */
  readonly result?: 'success' | 'warning' | 'failed';
}

/** How much of a hook's output goes into the history record: the tail, where errors are. */
export const HOOK_OUTPUT_CHARS = 2_000;

/** A hook that did not succeed: its phase, which one, and what it said. */
export class HookError extends Error {
  override readonly name = 'HookError';
  constructor(
    readonly code: 'hook.pre-failed' | 'hook.post-failed' | 'hook.on-failure-failed',
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

const CODES: Readonly<Record<HookPhase, HookError['code']>> = {
  pre: 'hook.pre-failed',
  post: 'hook.post-failed',
  onFailure: 'hook.on-failure-failed',
};

/** The variables a hook sees, besides the agent's own environment. */
export function hookEnvironment(context: HookContext): Record<string, string> {
  return {
    BACKHAUL_JOB: context.job,
    BACKHAUL_SESSION: context.sessionId,
    ...(context.result === undefined ? {} : { BACKHAUL_RESULT: context.result }),
  };
}

/**
 * Runs the hooks of one phase in order, stopping at the first that fails.
 * @throws HookError naming the hook (its program and position), how it ended and its output's tail;
 *   the signal's reason when cancelled.
 */
export async function runHooks(runner: CommandRunner, hooks: HookSet, phase: HookPhase, context: HookContext, signal?: AbortSignal): Promise<void> {
  const commands = hooks[phase];
  for (const [index, argv] of commands.entries()) {
    let result: CommandResult;
    try {
      result = await runner.run({
        argv,
        env: hookEnvironment(context),
        timeoutMs: hooks.timeoutSeconds * 1000,
        killGraceMs: 5_000,
        maxOutputBytes: 64 * 1024,
        // Judged here, so the failure can quote stdout too (many scripts report errors there).
        okExitCodes: 'any',
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      throw hookFailure(phase, index, argv, `could not be started (${error instanceof Error ? error.message : String(error)})`, '');
    }
    if (result.aborted) throw signal?.reason ?? new Error('cancelled');
    if (result.exitCode === 0 && !result.timedOut) continue;
    const how = result.timedOut
      ? `was stopped after hooks.timeoutSeconds (${hooks.timeoutSeconds} s)`
      : result.signal !== null
        ? `was killed by ${result.signal}`
        : `exited with ${String(result.exitCode)}`;
    throw hookFailure(phase, index, argv, how, [result.stdout.trim(), result.stderr.trim()].filter((t) => t !== '').join('\n'));
  }
}

/** Runs `post` or `onFailure` hooks for a finished run; a failure comes back as a note, never thrown. */
export async function runEndHooks(runner: CommandRunner, hooks: HookSet, context: HookContext & { result: 'success' | 'warning' | 'failed' }): Promise<SessionFailure | undefined> {
  try {
    await runHooks(runner, hooks, context.result === 'failed' ? 'onFailure' : 'post', context);
    return undefined;
  } catch (error) {
    if (error instanceof HookError) return { code: error.code, message: error.message, hint: error.hint };
    return { code: CODES[context.result === 'failed' ? 'onFailure' : 'post'], message: String(error), hint: 'Check the hook command in the config file.' };
  }
}

function hookFailure(phase: HookPhase, index: number, argv: readonly string[], how: string, output: string): HookError {
  const name = `hooks.${phase}[${index}] (${argv[0] ?? '?'})`;
  const hint =
    phase === 'pre'
      ? 'The backup did not start. Fix the command or what it checks, or remove it from hooks.pre; run it by hand to see all its output.'
      : `The backup itself is not affected. Fix the command in hooks.${phase}; run it by hand to see all its output.`;
  // The runner already redacted every secret it knows from the output; this only shortens it.
  const tail = output.length > HOOK_OUTPUT_CHARS ? `…${output.slice(-HOOK_OUTPUT_CHARS)}` : output;
  return new HookError(CODES[phase], `${name} ${how}${tail === '' ? '' : `; its output:\n${tail}`}`, hint);
}
