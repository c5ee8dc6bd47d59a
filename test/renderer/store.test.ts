/**
 * The UI's state from events alone: snapshot first, then partial updates, per-session throughput
 * and markers, a job's last run after `ended`, and reconnecting with backoff (fake sleep, no clock).
 */
import { describe, expect, it } from 'vitest';
import type { AgentEvent, BackupProgress, LiveSession, SessionRecord, StatusResponse } from '../../src/api/types.js';
import { connectEvents, Estimators, initialState, MAX_LOG_LINES, reconnectDelayMs, reduce, type UiState } from '../../src/renderer/model/store.js';

const status: StatusResponse = {
  agent: { pid: 1, version: '0', mode: 'user', startedAt: '', configFile: '/c.yaml', socket: '' },
  sessions: [],
  jobs: [{ name: 'nightly', engine: 'restic', profile: 'direct', repository: '/r' }],
  health: [],
};
const live = (state: LiveSession['state'] | 'reconnecting', extra: Partial<LiveSession> = {}): LiveSession =>
  ({ id: 's1', job: 'nightly', trigger: 'api', state, queuedAt: '', ...extra });
const progress = (elapsedSeconds: number, bytesDone: number): BackupProgress => ({
  type: 'progress', fraction: bytesDone / 100e6, bytesDone, bytesTotal: 100e6, filesDone: 0, filesTotal: 10, elapsedSeconds, errorCount: 0, currentFiles: [],
});

function run(events: AgentEvent[]): UiState {
  const estimators = new Estimators();
  return events.reduce((state, event, i) => reduce(state, event, 1000 * i, estimators), initialState);
}

describe('reduce', () => {
  it('goes live on the snapshot and follows a session to its end', () => {
    const record: SessionRecord = {
      id: 's1', job: 'nightly', trigger: 'api', startedAt: '2026-11-25T02:00:00Z', endedAt: '2026-11-25T02:03:00Z', states: [], end: 'done', result: 'success', notes: [],
      summary: { snapshotId: 'abcd1234', filesNew: 1, filesChanged: 0, filesUnmodified: 0, bytesAdded: 5, bytesProcessed: 10, filesProcessed: 1, durationSeconds: 3 },
    };
    const events: AgentEvent[] = [
      { type: 'snapshot', status },
      { type: 'session', session: live('queued') },
      { type: 'session', session: live('connecting') },
      { type: 'session', session: live('verifying') },
      { type: 'session', session: live('backing-up') },
      ...Array.from({ length: 15 }, (_, i): AgentEvent => ({ type: 'progress', sessionId: 's1', job: 'nightly', progress: progress(i, i * 1e6) })),
    ];
    const running = run(events);
    expect(running.connection).toBe('live');
    expect(running.status?.jobs[0]?.sessionId).toBe('s1');
    const view = running.sessions.s1;
    expect(view?.session.state).toBe('backing-up');
    expect(view?.markers.map((m) => m.kind)).toEqual(['connect']);
    expect(view?.samples).toHaveLength(15);
    expect(view?.bytesPerSecond).toBeCloseTo(1e6);
    expect(view?.etaSeconds).toBeCloseTo(86, 0);
    const done = run([...events, { type: 'ended', record }]);
    expect(done.sessions).toEqual({});
    expect(done.status?.sessions).toEqual([]);
    expect(done.status?.jobs[0]).toEqual({ ...status.jobs[0], lastRun: { id: 's1', end: 'done', endedAt: record.endedAt, result: 'success', bytesProcessed: 10, bytesAdded: 5, durationSeconds: 3 } });
    expect(done.ended).toEqual([record]);
  });

  it('marks a tunnel drop and its return on the chart', () => {
    const state = run([
      { type: 'snapshot', status },
      { type: 'session', session: live('backing-up') },
      { type: 'session', session: live('reconnecting', { reconnect: { attempt: 1, maxAttempts: 5 } }) },
      { type: 'session', session: live('backing-up') },
    ]);
    expect(state.sessions.s1?.markers.map((m) => [m.kind, m.label])).toEqual([['drop', 'Tunnel lost'], ['reconnect', 'Tunnel back']]);
  });

  it('keeps health and a bounded log tail', () => {
    const lines: AgentEvent[] = Array.from({ length: MAX_LOG_LINES + 5 }, (_, i) => ({ type: 'log', line: { at: `${i}`, level: 'info', message: `line ${i}` } }));
    const state = run([{ type: 'snapshot', status }, { type: 'health', health: [{ code: 'x', title: 't', text: '', severity: 'warning', badge: true, since: '' }] }, ...lines]);
    expect(state.status?.health.map((h) => h.code)).toEqual(['x']);
    expect(state.logs).toHaveLength(MAX_LOG_LINES);
    expect(state.logs[0]?.message).toBe('line 5');
  });

  it('ignores progress for a session it never heard of', () => {
    expect(run([{ type: 'snapshot', status }, { type: 'progress', sessionId: 'nope', job: 'x', progress: progress(1, 1) }]).sessions).toEqual({});
  });
});

describe('connectEvents', () => {
  it('reconnects with backoff after failures, resets it after a snapshot, and stops on abort', async () => {
    const controller = new AbortController();
    const sleeps: number[] = [];
    let calls = 0;
    let state = initialState;
    const client = {
      events: (onEvent: (event: AgentEvent, id: string | undefined) => void): Promise<void> => {
        calls++;
        if (calls <= 2) return Promise.reject(Object.assign(new Error('the Backhaul agent is not running'), { hint: 'Start it.' }));
        if (calls === 3) {
          onEvent({ type: 'snapshot', status }, '1');
          return Promise.resolve();
        }
        controller.abort();
        return Promise.resolve();
      },
    };
    await connectEvents(client, (update) => { state = update(state); }, controller.signal, {
      sleep: (ms) => { sleeps.push(ms); return Promise.resolve(); },
    });
    expect(calls).toBe(4);
    expect(sleeps).toEqual([reconnectDelayMs(1), reconnectDelayMs(2), reconnectDelayMs(0)]);
    expect(state.connection).toBe('reconnecting');
    expect(state.status).toEqual(status);
    expect(reconnectDelayMs(10)).toBe(15_000);
  });
});
