import { runJob } from '../../agent/run-job.js';
import type { SessionRecord } from '../../agent/session/history.js';
import { SessionCancel } from '../../agent/session/states.js';
import { commandContext, type GlobalOptions } from '../context.js';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { AgentApiError, AgentUnreachableError } from '../../api/client.js';
import { runViaAgent } from './remote.js';
import { describeRecord, humanView, jsonView, type Output } from '../run-view.js';
import type { SessionTrigger } from '../../agent/session/history.js';

export interface RunOptions {
  readonly foreground?: boolean;
  readonly json?: boolean;
}

export function exitCodeFor(record: SessionRecord): ExitCodeValue {
  if (record.end === 'cancelled') return ExitCode.cancelled;
  if (record.end === 'failed') return ExitCode.failed;
  return record.result === 'warning' ? ExitCode.warning : ExitCode.ok;
}

/**
 * Ctrl-C cancels the session cleanly (restic gets SIGINT, teardown runs); a second Ctrl-C
 * leaves at once. SIGTERM (shutdown, a scheduler's stop) is a cancel by the system.
 */
export function cancelOnSignals(controller: AbortController, err: Output): () => void {
  let interrupts = 0;
  const onInt = () => {
    interrupts++;
    if (interrupts > 1) process.exit(ExitCode.cancelled);
    err.write('\nCancelling… (press Ctrl-C again to quit at once)\n');
    controller.abort(new SessionCancel('user'));
  };
  const onTerm = () => { controller.abort(new SessionCancel('system')); };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
}

/** Runs a job in this process and prints its progress and plain answer. Returns the exit code. */
export async function runForeground(
  job: string,
  options: RunOptions,
  global: GlobalOptions,
  io: { out: Output; err: Output },
  trigger: SessionTrigger = 'cli',
): Promise<{ code: ExitCodeValue; record: SessionRecord }> {
  const ctx = await commandContext(global);
  const controller = new AbortController();
  const release = cancelOnSignals(controller, io.err);
  try {
    const tunnel = (ctx.config.jobs[job]?.profile ?? 'direct') !== 'direct';
    const view = options.json === true ? jsonView(io.out) : humanView(io.out, io.err, { tunnel });
    const record = await runJob(ctx, job, trigger, controller.signal, view);
    if (options.json !== true) {
      const lines = describeRecord(record);
      (record.end === 'done' ? io.out : io.err).write(`${lines.join('\n')}\n`);
    }
    return { code: exitCodeFor(record), record };
  } finally {
    release();
    await ctx.close();
  }
}

export async function runCommand(job: string, options: RunOptions, global: GlobalOptions, io: { out: Output; err: Output }): Promise<ExitCodeValue> {
  if (options.foreground === true) return (await runForeground(job, options, global, io)).code;
  try {
    return await runViaAgent(job, options, global, io);
  } catch (error) {
    if (error instanceof AgentUnreachableError) {
      throw new CliError(error.message, ExitCode.failed, `${error.hint.split('. Socket:')[0] ?? ''}. Or run it in this process: backhaul run ${job} --foreground`);
    }
    if (error instanceof AgentApiError) throw new CliError(error.message, error.status === 404 || error.status === 400 ? ExitCode.usage : ExitCode.failed, error.hint);
    throw error;
  }
}
