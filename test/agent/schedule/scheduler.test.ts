/**
 * The scheduler under virtual time (test/helpers/fake-clock.ts) with a real slot store in a temp
 * dir: each step moves the clock one minute (the loop's cadence, MAX_SLEEP_MS) and evaluates. The
 * machine's conditions are plain variables the tests change.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSchedule } from '../../../src/config/schedule-expression.js';
import { Scheduler, type Metered, type PowerSource, type ScheduledJob } from '../../../src/agent/schedule/scheduler.js';
import { SlotStore } from '../../../src/agent/schedule/slot-store.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

function job(at: string, options: Partial<ScheduledJob> = {}): ScheduledJob {
  const parsed = parseSchedule(at);
  if (!parsed.ok) throw new Error(parsed.message);
  return { name: 'nightly', schedule: parsed.schedule, zone: 'Europe/Berlin', randomDelayMs: 0, catchUp: 'once', overlap: 'wait', onlyOnAc: false, requireGatewayDns: false, skipOnMetered: false, ...options };
}

/** A machine: the fake clock (plus a skew for clock jumps), conditions, and the runs started. */
class Machine {
  readonly clock: FakeClock;
  skew = 0;
  power: PowerSource = 'ac';
  metered: Metered = 'no';
  network = true;
  running = false;
  random = (_key: string) => 0;
  readonly started: { job: string; slot: string; at: string }[] = [];

  constructor(start: string, readonly dir: string) {
    this.clock = new FakeClock(at(start));
  }

  now = (): number => this.clock.now() + this.skew;

  /** A scheduler as a fresh agent would make it: a new store read from the same dir. */
  async scheduler(jobs: readonly ScheduledJob[]): Promise<Scheduler> {
    const store = await SlotStore.open(this.dir);
    const scheduler = new Scheduler({
      now: this.now,
      sleep: this.clock.sleep,
      store,
      random: (key) => this.random(key),
      conditions: {
        powerSource: () => Promise.resolve(this.power),
        metered: () => Promise.resolve(this.metered),
        gatewayResolves: () => Promise.resolve(this.network),
        networkReady: () => Promise.resolve(this.network),
      },
      isRunning: () => this.running,
      start: (name, slot) => { this.started.push({ job: name, slot: iso(slot.slotMs), at: iso(this.now()) }); },
    });
    scheduler.setJobs(jobs);
    return scheduler;
  }

  /** Moves virtual time to `until` in one-minute steps, evaluating after each. */
  async runUntil(scheduler: Scheduler, until: string, stepMs = MINUTE): Promise<void> {
    await scheduler.tick();
    while (this.now() < at(until)) {
      await this.clock.run(this.clock.sleep(Math.min(stepMs, at(until) - this.now())));
      await scheduler.tick();
    }
  }
}

async function machine(start: string): Promise<Machine> {
  return new Machine(start, await mkdtemp(join(tmpdir(), 'backhaul-schedule-')));
}

const slots = (m: Machine) => m.started.map((s) => s.slot);

describe('Scheduler', () => {
  it('DST forward (Europe/Berlin): 02:30 does not exist on 29 March, so it runs once at 03:00 CEST', async () => {
    const m = await machine('2026-03-28T22:00:00Z');
    const scheduler = await m.scheduler([job('daily at 02:30')]);
    await m.runUntil(scheduler, '2026-03-30T03:00:00Z');
    expect(m.started).toEqual([
      { job: 'nightly', slot: '2026-03-29T01:00:00.000Z', at: '2026-03-29T01:00:00.000Z' },
      { job: 'nightly', slot: '2026-03-30T00:30:00.000Z', at: '2026-03-30T00:30:00.000Z' },
    ]);
  });

  it('DST back (America/New_York): 01:30 happens twice on 1 November and runs once', async () => {
    const m = await machine('2026-10-31T12:00:00Z');
    const scheduler = await m.scheduler([job('30 1 * * *', { zone: 'America/New_York' })]);
    await m.runUntil(scheduler, '2026-11-02T12:00:00Z');
    expect(slots(m)).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });

  it('DST back (Europe/Berlin): every 15 minutes from 02:00 runs the repeated hour once', async () => {
    const m = await machine('2026-10-24T23:30:00Z');
    const scheduler = await m.scheduler([job('*/15 2 * * *')]);
    await m.runUntil(scheduler, '2026-10-25T03:00:00Z');
    expect(slots(m)).toEqual(['2026-10-25T00:00:00.000Z', '2026-10-25T00:15:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T00:45:00.000Z']);
  });

  it('catchUp: once — after 3 missed nights the agent runs once, then on schedule', async () => {
    const m = await machine('2026-11-20T12:00:00Z');
    await m.runUntil(await m.scheduler([job('daily at 02:00')]), '2026-11-20T13:00:00Z');
    // The agent is off for three nights (21, 22, 23 November), then starts again.
    await m.clock.run(m.clock.sleep(at('2026-11-23T09:00:00Z') - m.now()));
    const scheduler = await m.scheduler([job('daily at 02:00')]);
    await m.runUntil(scheduler, '2026-11-23T12:00:00Z');
    expect(m.started).toEqual([{ job: 'nightly', slot: '2026-11-23T01:00:00.000Z', at: '2026-11-23T09:00:00.000Z' }]);
    await m.runUntil(scheduler, '2026-11-24T12:00:00Z');
    expect(slots(m)).toEqual(['2026-11-23T01:00:00.000Z', '2026-11-24T01:00:00.000Z']);
  });

  it('catchUp: skip — missed nights are recorded as skipped, the next night runs', async () => {
    const m = await machine('2026-11-20T12:00:00Z');
    await m.runUntil(await m.scheduler([job('daily at 02:00', { catchUp: 'skip' })]), '2026-11-20T13:00:00Z');
    await m.clock.run(m.clock.sleep(at('2026-11-23T09:00:00Z') - m.now()));
    const scheduler = await m.scheduler([job('daily at 02:00', { catchUp: 'skip' })]);
    await m.runUntil(scheduler, '2026-11-23T12:00:00Z');
    expect(m.started).toEqual([]);
    const lines = (await readFile(join(m.dir, 'slots.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({ slot: '2026-11-23T01:00:00.000Z', state: 'skipped', reason: 'missed (catchUp: skip)' });
    await m.runUntil(scheduler, '2026-11-24T12:00:00Z');
    expect(slots(m)).toEqual(['2026-11-24T01:00:00.000Z']);
  });

  it('a wake-up after sleeping through the slot counts only once the network is back', async () => {
    const m = await machine('2026-11-20T12:00:00Z');
    const scheduler = await m.scheduler([job('daily at 02:00')]);
    await m.runUntil(scheduler, '2026-11-20T23:00:00Z');
    scheduler.suspended();
    // Asleep: no timer fires, nothing is evaluated; the wall clock moves on.
    await m.clock.run(m.clock.sleep(at('2026-11-21T07:00:00Z') - m.now()));
    expect(m.started).toEqual([]);
    m.network = false;
    scheduler.resumed();
    await m.runUntil(scheduler, '2026-11-21T07:10:00Z');
    expect(m.started).toEqual([]);
    expect(scheduler.pending('nightly')).toMatchObject({ slotMs: at('2026-11-21T01:00:00Z'), waitingFor: expect.stringContaining('network') as unknown });
    m.network = true;
    await m.runUntil(scheduler, '2026-11-21T07:20:00Z');
    expect(m.started).toEqual([{ job: 'nightly', slot: '2026-11-21T01:00:00.000Z', at: '2026-11-21T07:10:00.000Z' }]);
  });

  it('a suspend event not followed by resume (the tray quit) holds schedules only briefly', async () => {
    const m = await machine('2026-11-21T00:50:00Z');
    const scheduler = await m.scheduler([job('daily at 02:00')]);
    await m.runUntil(scheduler, '2026-11-21T00:55:00Z');
    scheduler.suspended();
    // The machine never slept (or the resume was lost): the agent keeps ticking.
    await m.runUntil(scheduler, '2026-11-21T01:10:00Z');
    expect(m.started).toEqual([{ job: 'nightly', slot: '2026-11-21T01:00:00.000Z', at: '2026-11-21T01:00:00.000Z' }]);
  });

  it('a slot waiting for AC still runs when AC returns while the next slot\'s random delay runs', async () => {
    const m = await machine('2026-11-21T00:50:00Z');
    m.random = (key) => (key.endsWith('2026-11-21T01:30:00.000Z') ? 0.9 : 0);
    m.power = 'battery';
    const scheduler = await m.scheduler([job('every 30m', { onlyOnAc: true, randomDelayMs: 20 * MINUTE })]);
    await m.runUntil(scheduler, '2026-11-21T01:32:00Z');
    expect(scheduler.pending('nightly')?.slotMs).toBe(at('2026-11-21T01:00:00Z'));
    m.power = 'ac';
    await m.runUntil(scheduler, '2026-11-21T01:34:00Z');
    expect(slots(m)).toEqual(['2026-11-21T01:00:00.000Z']);
  });

  it('an agent restart mid-slot (a new scheduler over the same state dir) does not run the slot again', async () => {
    const m = await machine('2026-11-20T23:00:00Z');
    const first = await m.scheduler([job('daily at 02:00')]);
    await m.runUntil(first, '2026-11-21T01:00:00Z');
    expect(slots(m)).toEqual(['2026-11-21T01:00:00.000Z']);
    // The agent dies while the run is going; a new agent starts a minute later.
    const second = await m.scheduler([job('daily at 02:00')]);
    await m.runUntil(second, '2026-11-21T09:00:00Z');
    expect(slots(m)).toEqual(['2026-11-21T01:00:00.000Z']);
  });

  it('a clock jump backwards over a slot that ran does not run it twice', async () => {
    const m = await machine('2026-11-20T23:00:00Z');
    const scheduler = await m.scheduler([job('daily at 02:00')]);
    await m.runUntil(scheduler, '2026-11-21T01:30:00Z');
    m.skew = -2 * HOUR; // NTP corrects a clock that ran fast: 02:30 local becomes 00:30 again
    await m.runUntil(scheduler, '2026-11-21T03:00:00Z');
    m.skew = 0;
    await m.runUntil(scheduler, '2026-11-22T03:00:00Z');
    expect(slots(m)).toEqual(['2026-11-21T01:00:00.000Z', '2026-11-22T01:00:00.000Z']);
  });

  it('onlyOnAc: on battery the slot waits, and runs when AC returns', async () => {
    const m = await machine('2026-11-20T23:00:00Z');
    m.power = 'battery';
    const scheduler = await m.scheduler([job('daily at 02:00', { onlyOnAc: true })]);
    await m.runUntil(scheduler, '2026-11-21T05:00:00Z');
    expect(m.started).toEqual([]);
    expect(scheduler.pending('nightly')).toMatchObject({ slotMs: at('2026-11-21T01:00:00Z'), waitingFor: 'AC power (onlyOnAc)' });
    m.power = 'ac';
    await m.runUntil(scheduler, '2026-11-21T06:00:00Z');
    expect(m.started).toEqual([{ job: 'nightly', slot: '2026-11-21T01:00:00.000Z', at: '2026-11-21T05:00:00.000Z' }]);
    expect(scheduler.pending('nightly')).toBeUndefined();
  });

  it('onlyOnAc: a power source the OS does not report (a desktop) is not battery', async () => {
    const m = await machine('2026-11-20T23:00:00Z');
    m.power = 'unknown';
    await m.runUntil(await m.scheduler([job('daily at 02:00', { onlyOnAc: true })]), '2026-11-21T02:00:00Z');
    expect(slots(m)).toEqual(['2026-11-21T01:00:00.000Z']);
  });

  it('skipOnMetered and requireGatewayDns hold the slot until they are met', async () => {
    const m = await machine('2026-11-20T23:00:00Z');
    m.metered = 'yes';
    const scheduler = await m.scheduler([job('daily at 02:00', { skipOnMetered: true, requireGatewayDns: true })]);
    await m.runUntil(scheduler, '2026-11-21T02:00:00Z');
    expect(scheduler.pending('nightly')?.waitingFor).toBe('an unmetered connection (skipOnMetered)');
    m.metered = 'no';
    m.network = false;
    await m.runUntil(scheduler, '2026-11-21T02:05:00Z');
    expect(scheduler.pending('nightly')?.waitingFor).toBe('the gateway to resolve in DNS (requireGatewayDns)');
    m.network = true;
    await m.runUntil(scheduler, '2026-11-21T02:10:00Z');
    expect(slots(m)).toEqual(['2026-11-21T01:00:00.000Z']);
  });

  it('overlap: wait — the slot starts when the previous run ends', async () => {
    const m = await machine('2026-11-21T00:50:00Z');
    m.running = true;
    const scheduler = await m.scheduler([job('every 30m', { overlap: 'wait' })]);
    await m.runUntil(scheduler, '2026-11-21T01:10:00Z');
    expect(m.started).toEqual([]);
    m.running = false;
    await m.runUntil(scheduler, '2026-11-21T01:20:00Z');
    expect(m.started).toEqual([{ job: 'nightly', slot: '2026-11-21T01:00:00.000Z', at: '2026-11-21T01:10:00.000Z' }]);
  });

  it('overlap: skip — the slot is recorded as skipped while the previous run goes on', async () => {
    const m = await machine('2026-11-21T00:50:00Z');
    m.running = true;
    const scheduler = await m.scheduler([job('every 30m', { overlap: 'skip' })]);
    await m.runUntil(scheduler, '2026-11-21T01:20:00Z');
    m.running = false;
    await m.runUntil(scheduler, '2026-11-21T01:40:00Z');
    expect(slots(m)).toEqual(['2026-11-21T01:30:00.000Z']);
    const text = await readFile(join(m.dir, 'slots.jsonl'), 'utf8');
    expect(text).toContain('"slot":"2026-11-21T01:00:00.000Z","state":"skipped","reason":"the previous run was still going (overlap: skip)"');
  });

  it('randomDelay: each slot starts within [slot, slot + delay), the same delay for the same slot', async () => {
    await fc.assert(fc.asyncProperty(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), async (r) => {
      const m = await machine('2026-11-21T00:55:00Z');
      m.random = (key) => (key === 'nightly@2026-11-21T01:00:00.000Z' ? r : 0.5);
      const scheduler = await m.scheduler([job('daily at 02:00', { randomDelayMs: 15 * MINUTE })]);
      const predicted = scheduler.nextRun('nightly');
      await m.runUntil(scheduler, '2026-11-21T01:20:00Z', 30_000);
      const started = at(m.started[0]?.at ?? '');
      expect(m.started).toHaveLength(1);
      expect(started).toBeGreaterThanOrEqual(at('2026-11-21T01:00:00Z'));
      expect(started).toBeLessThan(at('2026-11-21T01:15:00Z') + 30_000); // one step of evaluation late at most
      expect(predicted?.dueMs).toBe(at('2026-11-21T01:00:00Z') + Math.floor(r * 15 * MINUTE));
      expect(started - (predicted?.dueMs ?? 0)).toBeLessThan(30_000);
      expect(started).toBeGreaterThanOrEqual(predicted?.dueMs ?? Infinity);
    }), { numRuns: 15 });
  });

  it('paused schedules skip their slots; resumed ones run again', async () => {
    const m = await machine('2026-11-20T23:00:00Z');
    const scheduler = await m.scheduler([job('daily at 02:00')]);
    scheduler.pause(at('2026-11-21T06:00:00Z'));
    expect(scheduler.pausedUntil()).toBe(at('2026-11-21T06:00:00Z'));
    await m.runUntil(scheduler, '2026-11-21T07:00:00Z');
    expect(scheduler.pausedUntil()).toBeUndefined();
    await m.runUntil(scheduler, '2026-11-22T02:00:00Z');
    expect(slots(m)).toEqual(['2026-11-22T01:00:00.000Z']);
  });

  it('lists upcoming runs with their delays, and the pending one first', async () => {
    const m = await machine('2026-11-20T23:00:00Z');
    m.power = 'battery';
    const scheduler = await m.scheduler([job('daily at 02:00', { onlyOnAc: true })]);
    await m.runUntil(scheduler, '2026-11-21T02:00:00Z');
    expect(scheduler.upcoming('nightly', 3).map((u) => iso(u.slotMs))).toEqual(['2026-11-21T01:00:00.000Z', '2026-11-22T01:00:00.000Z', '2026-11-23T01:00:00.000Z']);
  });
});
