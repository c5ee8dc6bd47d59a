import { choreError, withRepository } from '../../agent/repository-chores.js';
import { commandContext, type GlobalOptions } from '../context.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { formatBytes } from '../format.js';
import type { Output } from '../run-view.js';

/** `backhaul init JOB`: creates the repository; an existing one is fine. */
export async function initCommand(job: string, global: GlobalOptions, io: { out: Output; err: Output }): Promise<ExitCodeValue> {
  const ctx = await commandContext(global);
  try {
    const outcome = await withRepository(ctx, job, (engine, request) => engine.init(request));
    if (!outcome.ok) throw choreError(job, outcome.failure);
    const repository = ctx.config.jobs[job]?.repository ?? '';
    io.out.write(outcome.value.created ? `Created the repository of "${job}" at ${repository}\n` : `The repository of "${job}" already exists at ${repository}; nothing to do.\n`);
    return ExitCode.ok;
  } finally {
    await ctx.close();
  }
}

/** `backhaul snapshots JOB`: the snapshots in the job's repository, newest last (like restic). */
export async function snapshotsCommand(job: string, options: { json?: boolean }, global: GlobalOptions, io: { out: Output; err: Output }): Promise<ExitCodeValue> {
  const ctx = await commandContext(global);
  try {
    const outcome = await withRepository(ctx, job, (engine, request) => engine.snapshots(request));
    if (!outcome.ok) throw choreError(job, outcome.failure);
    const snapshots = outcome.value;
    if (options.json === true) {
      io.out.write(`${JSON.stringify(snapshots)}\n`);
      return ExitCode.ok;
    }
    if (snapshots.length === 0) {
      io.out.write(`No snapshots yet in the repository of "${job}". Make one: backhaul run ${job} --foreground\n`);
      return ExitCode.ok;
    }
    io.out.write(`${'ID'.padEnd(10)}${'Time'.padEnd(21)}${'Host'.padEnd(16)}${'Size'.padStart(10)}  Paths\n`);
    for (const s of snapshots) {
      const time = s.time.replace('T', ' ').slice(0, 19);
      const size = s.summary === undefined ? '' : formatBytes(s.summary.bytesProcessed);
      io.out.write(`${s.shortId.padEnd(10)}${time.padEnd(21)}${s.hostname.slice(0, 15).padEnd(16)}${size.padStart(10)}  ${s.paths.join(', ')}\n`);
    }
    io.out.write(`${snapshots.length} snapshot${snapshots.length === 1 ? '' : 's'}\n`);
    return ExitCode.ok;
  } finally {
    await ctx.close();
  }
}
