import { describe, expect, it } from 'vitest';
import type { LiveSession } from '../../src/api/types.js';
import { EventBus } from '../../src/agent/event-bus.js';
import type { SessionRecord } from '../../src/agent/session/history.js';
import type { SessionEvent } from '../../src/agent/session/session.js';
import { Supervisor } from '../../src/agent/supervisor.js';

describe('Supervisor: a session repairing its tunnel', () => {
  it('shows the attempt, the next try and the cause while reconnecting, and clears them after', async () => {
    const bus = new EventBus();
    const seen: LiveSession[] = [];
    bus.subscribe(({ event }) => { if (event.type === 'session') seen.push(event.session); });
    const at = '2026-11-25T03:00:00.000Z';
    const record: SessionRecord = { id: 's1', job: 'nightly', trigger: 'api', startedAt: at, endedAt: at, states: [], end: 'done', result: 'success', notes: [] };
    const script: SessionEvent[] = [
      { type: 'state', sessionId: 's1', state: 'backing-up', at },
      { type: 'state', sessionId: 's1', state: 'reconnecting', at },
      { type: 'reconnecting', sessionId: 's1', cause: 'down', attempt: 2, maxAttempts: 10, nextTryAt: '2026-11-25T03:00:04.000Z' },
      { type: 'state', sessionId: 's1', state: 'backing-up', at },
    ];
    let finished!: () => void;
    const done = new Promise<void>((resolve) => { finished = resolve; });
    const supervisor = new Supervisor({
      run: (_job, _trigger, _id, _signal, onEvent) => {
        for (const event of script) onEvent(event);
        finished();
        return Promise.resolve(record);
      },
      bus,
      now: () => new Date(at),
      newSessionId: () => 's1',
      concurrency: 1,
      saveRecord: () => Promise.resolve(),
    });
    supervisor.start('nightly', 'api');
    await done;
    const running = seen.filter((s) => s.state !== 'queued');
    expect(running.map((s) => [s.state, s.reconnect])).toEqual([
      ['backing-up', undefined],
      ['reconnecting', undefined],
      ['reconnecting', { attempt: 2, maxAttempts: 10, nextTryAt: '2026-11-25T03:00:04.000Z', cause: 'down' }],
      ['backing-up', undefined],
    ]);
  });
});
