import { createInterface } from 'node:readline/promises';
import type { AgentEvent, SessionRecord } from '../../api/types.js';
import type { SessionEvent } from '../../agent/session/session.js';
import { agentClient } from '../client.js';
import type { GlobalOptions } from '../context.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { formatBytes, formatDuration } from '../format.js';
import { describeRecord, humanView, jsonView, type Output } from '../run-view.js';
import { exitCodeFor } from './run.js';

type Io = { out: Output; err: Output };

/** An agent event about `sessionId`, in the shape the run views draw. */
export function toSessionEvent(event: AgentEvent, sessionId: string): SessionEvent | undefined {
  switch (event.type) {
    case 'session':
      return event.session.id === sessionId && event.session.state !== 'queued'
        ? { type: 'state', sessionId, state: event.session.state, at: new Date().toISOString() }
        : undefined;
    case 'progress':
    case 'backup-event':
      return event.sessionId === sessionId ? { type: 'backup', sessionId, event: event.type === 'progress' ? event.progress : event.event } : undefined;
    case 'ended':
      return event.record.id === sessionId ? { type: 'end', record: event.record } : undefined;
    default:
      return undefined;
  }
}

/** Asks on a terminal whether Ctrl-C should cancel the backup or only stop watching it. */
async function askCancel(io: Io): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question('\nCancel the backup too? [y/N] (no = stop watching, the backup goes on) ');
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
    io.err.write('');
  }
}

/** `backhaul run JOB` through the agent: starts it, then follows its progress until it ends. */
export async function runViaAgent(job: string, options: { json?: boolean }, global: GlobalOptions, io: Io): Promise<ExitCodeValue> {
  return (await followRunViaAgent(job, options, global, io)).code;
}

/** Starts `job` on the agent and follows it; returns the exit code and, unless detached, the record. */
export async function followRunViaAgent(job: string, options: { json?: boolean }, global: GlobalOptions, io: Io): Promise<{ code: ExitCodeValue; record?: SessionRecord }> {
  const client = agentClient(global);
  const tunnel = ((await client.jobs()).find((j) => j.name === job)?.profile ?? 'direct') !== 'direct';
  const view = options.json === true ? jsonView(io.out) : humanView(io.out, io.err, { tunnel });
  const controller = new AbortController();
  // Mutated from the event and signal callbacks below.
  const watch: { sessionId?: string; record?: SessionRecord; detached: boolean } = { detached: false };
  // Subscribe first, start second: no state change of the new session can slip between the two.
  const early: AgentEvent[] = [];
  let subscribed!: () => void;
  const ready = new Promise<void>((resolve) => { subscribed = resolve; });
  const handle = (event: AgentEvent) => {
    if (watch.sessionId === undefined) return;
    const sessionEvent = toSessionEvent(event, watch.sessionId);
    if (sessionEvent === undefined) return;
    view(sessionEvent);
    if (sessionEvent.type === 'end') {
      watch.record = sessionEvent.record;
      controller.abort();
    }
  };
  const streaming = client.events((event) => {
    if (event.type === 'snapshot') subscribed();
    else if (watch.sessionId === undefined) early.push(event);
    else handle(event);
  }, controller.signal);
  const failedStream = streaming.then(() => undefined);
  await Promise.race([ready, failedStream]);
  const started = await client.startRun(job).catch((error: unknown) => {
    controller.abort();
    throw error;
  });
  const sessionId = started.sessionId;
  watch.sessionId = sessionId;
  if (options.json !== true) io.out.write(`Started session ${sessionId}${started.queued ? ' (queued behind another run)' : ''}\n`);
  early.splice(0).forEach(handle);

  const onInt = () => {
    process.off('SIGINT', onInt);
    void askCancel(io).then(async (cancel) => {
      if (cancel) {
        await client.cancelRun(sessionId).catch(() => undefined);
        io.err.write('Cancelling the backup…\n');
        process.on('SIGINT', onInt);
      } else {
        watch.detached = true;
        io.err.write('Stopped watching; the backup goes on. Follow it again: backhaul status\n');
        controller.abort();
      }
    });
  };
  process.on('SIGINT', onInt);
  try {
    await streaming;
  } finally {
    process.off('SIGINT', onInt);
  }
  let record = watch.record;
  if (record === undefined && !watch.detached) {
    const found = await client.run(sessionId).catch(() => undefined);
    if (found !== undefined && 'end' in found) record = found;
  }
  if (record === undefined) return { code: watch.detached ? ExitCode.ok : ExitCode.failed };
  if (options.json !== true) (record.end === 'done' ? io.out : io.err).write(`${describeRecord(record).join('\n')}\n`);
  return { code: exitCodeFor(record), record };
}

/** `backhaul status`: the agent, live sessions, jobs, health. */
export async function statusCommand(options: { json?: boolean }, global: GlobalOptions, io: Io): Promise<ExitCodeValue> {
  const status = await agentClient(global).status();
  if (options.json === true) {
    io.out.write(`${JSON.stringify(status)}\n`);
    return ExitCode.ok;
  }
  io.out.write(`Agent ${status.agent.pid} (${status.agent.mode} mode, version ${status.agent.version}), up since ${status.agent.startedAt}\n`);
  if (status.sessions.length === 0) io.out.write('No backup running.\n');
  for (const s of status.sessions) {
    const p = s.progress;
    const progress = p === undefined ? '' : `  ${(p.fraction * 100).toFixed(0)}%  ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}${p.etaSeconds === undefined ? '' : `  ETA ${formatDuration(p.etaSeconds)}`}`;
    io.out.write(`● ${s.job}  ${s.state}  session ${s.id}${progress}\n`);
  }
  for (const job of status.jobs) {
    const next = job.nextRunAt === undefined ? '' : `  next run ${job.nextRunAt}`;
    const overdue = job.overdueSince === undefined ? '' : `  overdue since ${job.overdueSince}`;
    io.out.write(`  job ${job.name}  (${job.engine}, profile ${job.profile})${next}${overdue}\n`);
  }
  if (status.schedulesPausedUntil !== undefined) io.out.write(`Scheduled runs are paused until ${status.schedulesPausedUntil}.\n`);
  for (const h of status.health) io.out.write(`${h.severity}: ${h.title} — ${h.text}\n`);
  return ExitCode.ok;
}

/** `backhaul cancel SESSION|JOB`. */
export async function cancelCommand(target: string, global: GlobalOptions, io: Io): Promise<ExitCodeValue> {
  const client = agentClient(global);
  const status = await client.status();
  const session = status.sessions.find((s) => s.id === target || s.job === target);
  if (session === undefined) {
    io.err.write(`error: nothing to cancel: no running or queued session "${target}"\nhint: "backhaul status" lists what runs now.\n`);
    return ExitCode.usage;
  }
  await client.cancelRun(session.id);
  io.out.write(`Cancelling ${session.job} (session ${session.id}); it tears down before it stops.\n`);
  return ExitCode.ok;
}

/** `backhaul history [JOB]`. */
export async function historyCommand(job: string | undefined, options: { json?: boolean; limit?: string }, global: GlobalOptions, io: Io): Promise<ExitCodeValue> {
  const limit = options.limit === undefined ? 20 : Number(options.limit);
  const page = await agentClient(global).history({ limit, ...(job === undefined ? {} : { job }) });
  if (options.json === true) {
    io.out.write(`${JSON.stringify(page)}\n`);
    return ExitCode.ok;
  }
  if (page.records.length === 0) io.out.write('No sessions yet.\n');
  for (const r of page.records) {
    const outcome = r.end === 'done' ? (r.result ?? 'success') : r.end;
    const took = formatDuration((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000);
    const snap = r.summary?.snapshotId === undefined ? '' : `  snapshot ${r.summary.snapshotId.slice(0, 8)}`;
    const why = r.failure === undefined ? '' : `  ${r.failure.code}`;
    io.out.write(`${r.startedAt.replace('T', ' ').slice(0, 19)}  ${r.job.padEnd(12)} ${outcome.padEnd(11)} ${took.padStart(7)}${snap}${why}\n`);
  }
  return ExitCode.ok;
}

/** `backhaul logs [--follow]`: the agent's recent log lines (redacted), then new ones as they come. */
export async function logsCommand(options: { follow?: boolean; lines?: string; json?: boolean }, global: GlobalOptions, io: Io): Promise<ExitCodeValue> {
  const client = agentClient(global);
  const show = (line: { at: string; level: string; message: string; sessionId?: string; job?: string }) => {
    io.out.write(options.json === true ? `${JSON.stringify(line)}\n` : `${line.at}  ${line.level.padEnd(5)}  ${line.job === undefined ? '' : `[${line.job}] `}${line.message}\n`);
  };
  const { lines } = await client.logs(options.lines === undefined ? 50 : Number(options.lines));
  lines.forEach(show);
  if (options.follow !== true) return ExitCode.ok;
  const controller = new AbortController();
  const stop = () => { controller.abort(); };
  process.once('SIGINT', stop);
  try {
    await client.events((event) => { if (event.type === 'log') show(event.line); }, controller.signal);
  } finally {
    process.off('SIGINT', stop);
  }
  return ExitCode.ok;
}
