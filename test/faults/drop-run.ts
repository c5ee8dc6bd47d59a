/**
 * One real backup with one tunnel drop at a chosen point of its upload, measured — the unit of the
 * fault tier (test/faults/tier), the soak (test/faults/soak) and `npm run bench -- faults`.
 *
 * The drop point is where the *server* stands, not restic's progress: restic counts bytes as it
 * reads them and reads ~64 MiB ahead of the upload (docs/benchmarks.md), so a 16 MiB data set is
 * "100 %" before the first pack has left. An nftables counter in the server namespace sees every
 * byte that really arrived, retransmissions and re-sent packs included, which is also how the
 * re-upload after a drop is measured.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentEvent, SessionRecord } from '../../src/api/types.js';
import type { AgentUnderTest } from '../helpers/agent-process.js';
import { sh, type SwanHostLab } from '../helpers/swan-host-lab.js';
import { charonPidFile, leakedPackets, runJobOnce, type FaultJob } from './fault-job.js';

/**
 * The ways the lab takes the tunnel away (issue 7): the office's charon killed (SIGKILL: no DELETE
 * sent, its TUN device and routes vanish), the gateway deleting the SA (a gateway restart), and
 * ESP dropped on the path while IKE still passes (a NAT or firewall losing the flow), for longer
 * than DPD would need.
 */
export const DROP_KINDS = ['kill-charon', 'terminate-sa', 'drop-esp'] as const;
export type DropKind = (typeof DROP_KINDS)[number];

export interface DropPlan {
  readonly kind: DropKind;
  /** Drop once the server has received this fraction of the data set (0–1). */
  readonly at: number;
  /** drop-esp: how long ESP stays blocked. */
  readonly outageMs?: number;
}

export interface DropReport {
  readonly plan: DropPlan;
  readonly record?: SessionRecord;
  /** Every state the event stream showed, in order (steps inside `reconnecting` are not states). */
  readonly liveStates: readonly string[];
  /**
   * The steps the session's journal held inside `reconnecting` (`connecting`, `verifying`,
   * `waiting-for-bytes` per attempt), read when it came back to `backing-up` — the journal is gone
   * once the session ends.
   */
  readonly reconnectSteps: readonly string[];
  readonly dropped: boolean;
  /** What the server received over the whole run, TCP payload, and that over the data set. */
  readonly uploadedBytes: number;
  readonly uploadedRatio: number;
  /** Milliseconds from the drop to: the session noticing, the tunnel re-verified, the session's
   * "bytes flow again", and the server seeing bytes again (256 KiB more after its counter stood still). */
  readonly detectMs?: number;
  readonly verifiedMs?: number;
  readonly flowingMs?: number;
  readonly serverFlowingMs?: number;
  /** Clear packets to the repository subnet on the office WAN, before the drop and at the end. */
  readonly leakedBeforeDrop: number;
  readonly leakedAtEnd: number;
}

const POLL_MS = 200;
/** Bounds the poll loop: 20 min at 200 ms, far past any test's own timeout. */
const MAX_POLLS = 6_000;
const FLOWING_AGAIN_BYTES = 256 * 1024;

/** Takes the tunnel away the way `kind` says; resolves once the fault is in place. */
async function inject(lab: SwanHostLab, job: FaultJob, plan: DropPlan): Promise<{ lifted: Promise<void> }> {
  switch (plan.kind) {
    case 'kill-charon': {
      const pid = Number(readFileSync(charonPidFile(job.home), 'utf8').trim());
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await sleep(100);
      return { lifted: Promise.resolve() };
    }
    case 'terminate-sa':
      await lab.terminateServerSas();
      return { lifted: Promise.resolve() };
    case 'drop-esp':
      await lab.blockEsp(true);
      return { lifted: sleep(plan.outageMs ?? 20_000).then(() => lab.blockEsp(false)) };
  }
}

/**
 * Runs the job once on `agent` and drops the tunnel when the server has `plan.at` of the data set.
 * `leakTag` names the lab's WAN leak counter (fault-job.ts: leakCounterUp); `atDrop` changes the
 * lab just before the drop (a gateway that goes away with it).
 */
export async function runWithDrop(
  lab: SwanHostLab,
  agent: AgentUnderTest,
  job: FaultJob,
  plan: DropPlan,
  leakTag: string,
  timeoutMs: number,
  options: {
    readonly atDrop?: () => Promise<void>;
    /** The server port whose incoming bytes count as the upload (default 8000, rclone's). */
    readonly port?: number;
    /** Sees every event of the run, in order. */
    readonly onEvent?: (event: AgentEvent) => void;
  } = {},
): Promise<DropReport> {
  await lab.uploadCounterReset(options.port);
  const liveStates: string[] = [];
  let droppedAt: number | undefined;
  let serverFlowingAt: number | undefined;
  let leakedBeforeDrop = Number.NaN;
  let lifted: Promise<void> = Promise.resolve();
  let ended = false;
  let poller: Promise<void> | undefined;

  // The server's view of the outage: after the drop, the first poll that saw no new byte marks
  // the wire gone quiet (bytes already in flight when the fault went in still arrive); flowing
  // again is the first poll after that with FLOWING_AGAIN_BYTES more.
  let quietAt: { at: number; payload: number } | undefined;
  let previousPayload = -1;
  const poll = async (): Promise<void> => {
    for (let i = 0; i < MAX_POLLS && !ended; i++) {
      const { payloadBytes } = await lab.uploadCounter();
      if (droppedAt === undefined && payloadBytes >= plan.at * job.dataBytes) {
        leakedBeforeDrop = await leakedPackets(lab, leakTag);
        droppedAt = Date.now();
        await options.atDrop?.();
        ({ lifted } = await inject(lab, job, plan));
      } else if (droppedAt !== undefined && quietAt === undefined && payloadBytes === previousPayload) {
        quietAt = { at: Date.now(), payload: payloadBytes };
      } else if (quietAt !== undefined && serverFlowingAt === undefined && payloadBytes >= quietAt.payload + FLOWING_AGAIN_BYTES) {
        serverFlowingAt = Date.now();
      }
      previousPayload = payloadBytes;
      await sleep(POLL_MS);
    }
  };

  let record: SessionRecord | undefined;
  let reconnectSteps: string[] = [];
  try {
    record = await runJobOnce(agent, (event) => {
      options.onEvent?.(event);
      if (event.type === 'session' && event.session.state !== liveStates.at(-1)) {
        liveStates.push(event.session.state);
        if (event.session.state === 'backing-up') poller ??= poll();
        if (event.session.state === 'backing-up' && liveStates.includes('reconnecting')) reconnectSteps = journalSteps(job.home, event.session.id);
      }
      return Promise.resolve();
    }, timeoutMs);
  } finally {
    ended = true;
    await poller;
    await lifted;
  }

  const { payloadBytes } = await lab.uploadCounter();
  const loss = record?.tunnelLosses?.[0];
  const after = (iso: string | undefined): number | undefined => (iso === undefined || droppedAt === undefined ? undefined : Date.parse(iso) - droppedAt);
  const detectMs = after(loss?.detectedAt);
  const verifiedMs = after(loss?.verifiedAt);
  const flowingMs = after(loss?.flowingAt);
  return {
    plan,
    ...(record === undefined ? {} : { record }),
    liveStates,
    reconnectSteps,
    dropped: droppedAt !== undefined,
    uploadedBytes: payloadBytes,
    uploadedRatio: payloadBytes / job.dataBytes,
    ...(detectMs === undefined ? {} : { detectMs }),
    ...(verifiedMs === undefined ? {} : { verifiedMs }),
    ...(flowingMs === undefined ? {} : { flowingMs }),
    ...(serverFlowingAt === undefined || droppedAt === undefined ? {} : { serverFlowingMs: serverFlowingAt - droppedAt }),
    leakedBeforeDrop,
    leakedAtEnd: await leakedPackets(lab, leakTag),
  };
}

/** The `step` entries of a live session's journal (src/agent/session/journal.ts), as `state:step`. */
function journalSteps(home: string, sessionId: string): string[] {
  const file = join(home, 'state', 'journal', `${sessionId}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').flatMap((line) => {
    if (line.trim() === '') return [];
    const entry = JSON.parse(line) as { kind?: string; state?: string; step?: string };
    return entry.kind === 'step' ? [`${entry.state ?? ''}:${entry.step ?? ''}`] : [];
  });
}

/** `restic check --read-data` on the server's copy of the repository: every pack read back. */
export async function checkReadData(job: FaultJob, resticPath: string): Promise<string> {
  if (job.passwordFile === undefined) throw new Error('checkReadData needs a restic job');
  return sh(`RESTIC_PASSWORD_FILE=${job.passwordFile} ${resticPath} --no-cache -r ${job.repoDir} check --read-data 2>&1 || true`);
}

/**
 * Restores the latest snapshot into a temp dir and compares it with the source byte for byte.
 * Returns diff's complaints: empty when they match.
 */
export async function restoreDiff(job: FaultJob, resticPath: string, scratch: string): Promise<string> {
  if (job.passwordFile === undefined) throw new Error('restoreDiff needs a restic job');
  const target = mkdtempSync(join(scratch, 'restore-'));
  try {
    await sh(`RESTIC_PASSWORD_FILE=${job.passwordFile} ${resticPath} --no-cache -q -r ${job.repoDir} restore latest --target ${target}`);
    return (await sh(`diff -r ${job.data} ${target}${job.data} 2>&1 || true`)).trim();
  } finally {
    rmSync(target, { recursive: true, force: true });
  }
}

/** One row of the per-drop table the soak and the bench print. */
export function dropRow(index: number, resticLabel: string, report: DropReport): string[] {
  const s = (ms: number | undefined) => (ms === undefined ? '–' : (ms / 1000).toFixed(1));
  return [
    String(index + 1),
    resticLabel,
    report.plan.kind,
    `${Math.round(report.plan.at * 100)} %`,
    report.record?.end ?? 'no record',
    s(report.detectMs),
    s(report.verifiedMs),
    s(report.flowingMs),
    s(report.serverFlowingMs),
    `${((report.uploadedRatio - 1) * 100).toFixed(1)} %`,
    (report.record?.tunnelLosses ?? []).map((loss) => `${loss.cause}×${loss.attempts}`).join(', ') || '–',
  ];
}

export const DROP_TABLE_HEADER = ['#', 'restic', 'drop', 'at', 'end', 'detect s', 'tunnel back s', 'flowing (session) s', 'flowing (server) s', 'uploaded over data set', 'losses (cause×attempts)'];
