/**
 * The scheduler as the agent wires it (ScheduleService), under the fake clock: next runs from the
 * config, the overdue health item and its clearing by a success, and the pause.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HealthRegistry } from '../../../src/agent/health.js';
import { overdueHealthItem, overdueSince } from '../../../src/agent/schedule/overdue.js';
import { ScheduleService } from '../../../src/agent/schedule/service.js';
import type { SessionRecord } from '../../../src/agent/session/history.js';
import { validateConfigData } from '../../../src/config/schema.js';
import { createMemoryLogger } from '../../../src/os/log.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { ReplayingCommandRunner } from '../../helpers/replaying-runner.js';

const DAY = 86_400_000;

function config(job: Record<string, unknown>) {
  const result = validateConfigData({ jobs: { nightly: { sources: ['/home/me'], repository: '/srv/repo', password: 'file:/etc/pw', ...job } } });
  if (!result.success) throw new Error(JSON.stringify(result.issues));
  return result.data;
}

function success(endedAt: string): SessionRecord {
  return { id: `s-${endedAt}`, job: 'nightly', trigger: 'schedule', startedAt: endedAt, endedAt, states: [], end: 'done', result: 'success', notes: [] };
}

describe('overdue', () => {
  it('counts from the last success, else from when the job was first seen', () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    expect(overdueSince({ afterDays: 3, lastSuccessMs: now - 4 * DAY, trackedSinceMs: now - 30 * DAY, nowMs: now })).toBe(now - DAY);
    expect(overdueSince({ afterDays: 3, lastSuccessMs: now - 2 * DAY, trackedSinceMs: now - 30 * DAY, nowMs: now })).toBeUndefined();
    expect(overdueSince({ afterDays: 3, lastSuccessMs: undefined, trackedSinceMs: now - 5 * DAY, nowMs: now })).toBe(now - 2 * DAY);
    expect(overdueSince({ afterDays: undefined, lastSuccessMs: undefined, trackedSinceMs: now - 50 * DAY, nowMs: now })).toBeUndefined();
    expect(overdueHealthItem([])).toBeUndefined();
    expect(overdueHealthItem([{ job: 'a', sinceMs: now, afterDays: 2 }, { job: 'b', sinceMs: now - DAY, afterDays: 7 }])).toMatchObject({ code: 'job.overdue', title: '2 jobs are overdue: "a", "b"', badge: true, since: new Date(now - DAY).toISOString() });
  });
});

describe('ScheduleService', () => {
  it('gives the next run, raises job.overdue after N days without success, and a success clears it', async () => {
    const clock = new FakeClock(Date.parse('2026-11-25T12:00:00Z'));
    const health = new HealthRegistry();
    const stateDir = await mkdtemp(join(tmpdir(), 'backhaul-schedule-service-'));
    const started: string[] = [];
    const service = await ScheduleService.start({
      stateDir, runner: new ReplayingCommandRunner([]), health, logger: createMemoryLogger(),
      start: (job) => { started.push(job); }, isRunning: () => false,
      history: [success('2026-11-20T01:30:00.000Z')],
      platform: 'linux', sysfsRoot: join(stateDir, 'no-sysfs'), lookup: () => Promise.resolve({}),
      now: clock.now, sleep: clock.sleep, systemZone: 'Europe/Berlin',
    }, config({ schedule: { at: 'daily at 02:00' }, overdueAfterDays: 3 }));
    try {
      await service.scheduler.tick();
      expect(service.jobFields('nightly')).toEqual({ nextRunAt: '2026-11-26T01:00:00.000Z', overdueSince: '2026-11-23T01:30:00.000Z' });
      expect(health.list()).toMatchObject([{ code: 'job.overdue', title: '"nightly" has not backed up for 3 days' }]);
      service.runEnded(success('2026-11-25T12:30:00.000Z'));
      expect(health.list()).toEqual([]);
      expect(service.jobFields('nightly')).toEqual({ nextRunAt: '2026-11-26T01:00:00.000Z' });

      service.pause(Date.parse('2026-11-25T18:00:00Z'));
      expect(service.listing(2)).toMatchObject({ pausedUntil: '2026-11-25T18:00:00.000Z', jobs: [{ job: 'nightly', at: 'daily at 02:00', timezone: 'Europe/Berlin', upcoming: [{ slot: '2026-11-26T01:00:00.000Z' }, { slot: '2026-11-27T01:00:00.000Z' }] }] });
      // A restarted agent keeps the pause (the file is written in the background: wait for it).
      const again = async () => ScheduleService.start({
        stateDir, runner: new ReplayingCommandRunner([]), health, logger: createMemoryLogger(), start: () => undefined, isRunning: () => false, history: [],
        platform: 'linux', sysfsRoot: join(stateDir, 'no-sysfs'), now: clock.now, sleep: clock.sleep, systemZone: 'UTC',
      }, config({}));
      for (let i = 0; i < 600 && !(await readFile(join(stateDir, 'schedule', 'pause.json'), 'utf8').catch(() => '')).includes('18:00'); i++) await new Promise((r) => setTimeout(r, 50));
      const restarted = await again();
      expect(restarted.pausedUntil()).toBe('2026-11-25T18:00:00.000Z');
      await clock.run(restarted.stop());
      service.pause(undefined);
      expect(service.pausedUntil()).toBeUndefined();
      expect(started).toEqual([]);
    } finally {
      await clock.run(service.stop());
    }
  });
});
