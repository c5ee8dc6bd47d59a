import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BackupSummary } from '../../backup/engine.js';
import type { SessionFailure } from './failures.js';
import type { CancelledBy, EndState, SessionState } from './states.js';
import type { TunnelLossRecord } from './tunnel-supervisor.js';
import type { PathChoice } from '../path-choice.js';

/** How a run was started. */
export type SessionTrigger = 'cli' | 'demo' | 'schedule' | 'tray' | 'api';

/** One finished session, as the UI lists it and the CLI prints it. */
export interface SessionRecord {
  readonly id: string;
  readonly job: string;
  readonly trigger: SessionTrigger;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly states: readonly { readonly state: SessionState | 'interrupted'; readonly at: string }[];
  /** `interrupted`: the agent died mid-session; recovery cleaned up after it on the next start. */
  readonly end: EndState | 'interrupted';
  /** Only for `done`. */
  readonly result?: 'success' | 'warning';
  /** Why it failed, or the warning behind a `warning` result. */
  readonly failure?: SessionFailure;
  readonly cancelledBy?: CancelledBy;
  readonly summary?: BackupSummary;
  /** Problems that did not change the outcome (e.g. a teardown that failed). */
  readonly notes: readonly SessionFailure[];
  /** Seconds spent in each state (connecting, backing-up, …), for the UI and metrics. */
  readonly phaseSeconds?: Readonly<Partial<Record<SessionState, number>>>;
  /** The VPN gateway that carried the session (the last one, after a failover). */
  readonly gateway?: string;
  /** For `tunnel: whenNeeded` jobs: whether the session went direct or through the tunnel, and why. */
  readonly path?: PathChoice;
  /** Each time the tunnel was lost under the running engine, and how its repair went. */
  readonly tunnelLosses?: readonly TunnelLossRecord[];
  /** How often the engine moved no bytes for the configured number of keepalive intervals. */
  readonly stalls?: number;
}

/** Seconds in each state, from the transition timestamps (the end state itself takes none). */
export function phaseSeconds(states: readonly { readonly state: SessionState | 'interrupted'; readonly at: string }[]): Partial<Record<SessionState, number>> {
  const phases: Partial<Record<SessionState, number>> = {};
  for (let i = 0; i + 1 < states.length; i++) {
    const current = states[i];
    const next = states[i + 1];
    if (current === undefined || next === undefined || current.state === 'interrupted') continue;
    const seconds = Math.max(0, (Date.parse(next.at) - Date.parse(current.at)) / 1000);
    phases[current.state] = (phases[current.state] ?? 0) + seconds;
  }
  return phases;
}

export function historyFile(stateDir: string): string {
  return join(stateDir, 'history.jsonl');
}

/** Appends one record. JSON lines: a crash mid-write costs at most that line. */
export async function appendHistory(stateDir: string, record: SessionRecord): Promise<void> {
  const file = historyFile(stateDir);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await appendFile(file, `${JSON.stringify(record)}\n`, { mode: 0o600 });
}

/** Newest first. Lines that don't parse are skipped rather than hiding the rest of the history. */
export async function readHistory(stateDir: string, filter: { job?: string; limit?: number } = {}): Promise<SessionRecord[]> {
  let text: string;
  try {
    text = await readFile(historyFile(stateDir), 'utf8');
  } catch {
    return [];
  }
  const records: SessionRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const record = JSON.parse(line) as SessionRecord;
      if (filter.job === undefined || record.job === filter.job) records.push(record);
    } catch {
      // skip a torn line
    }
  }
  records.reverse();
  return filter.limit === undefined ? records : records.slice(0, filter.limit);
}
