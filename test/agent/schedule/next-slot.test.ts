import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSchedule, type Schedule } from '../../../src/config/schedule-expression.js';
import { latestSlotBetween, nextSlot, upcomingSlots } from '../../../src/agent/schedule/next-slot.js';
import { instantsOf, wallTimeAt } from '../../../src/agent/schedule/zoned-time.js';

function schedule(text: string): Schedule {
  const parsed = parseSchedule(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.schedule;
}

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('zoned time', () => {
  it('finds no instant in a gap and two in a repeated hour', () => {
    expect(instantsOf({ year: 2026, month: 3, day: 29, hour: 2, minute: 30, second: 0 }, 'Europe/Berlin')).toEqual([]);
    expect(instantsOf({ year: 2026, month: 11, day: 1, hour: 1, minute: 30, second: 0 }, 'America/New_York').map(iso))
      .toEqual(['2026-11-01T05:30:00.000Z', '2026-11-01T06:30:00.000Z']);
    expect(wallTimeAt(at('2026-07-01T00:00:00Z'), 'Europe/Berlin')).toMatchObject({ hour: 2, day: 1 });
  });
});

describe('nextSlot', () => {
  it('runs a daily slot in local time, winter and summer', () => {
    const daily = schedule('daily at 02:00');
    expect(iso(nextSlot(daily, at('2026-01-10T12:00:00Z'), 'Europe/Berlin'))).toBe('2026-01-11T01:00:00.000Z');
    expect(iso(nextSlot(daily, at('2026-07-10T12:00:00Z'), 'Europe/Berlin'))).toBe('2026-07-11T00:00:00.000Z');
  });

  it('DST forward (Berlin): 02:30 does not exist, so it runs at 03:00 CEST, once', () => {
    const daily = schedule('daily at 02:30');
    const slot = nextSlot(daily, at('2026-03-28T12:00:00Z'), 'Europe/Berlin');
    expect(iso(slot)).toBe('2026-03-29T01:00:00.000Z'); // 03:00 CEST, the first valid time
    expect(iso(nextSlot(daily, slot ?? 0, 'Europe/Berlin'))).toBe('2026-03-30T00:30:00.000Z');
  });

  it('DST forward (Berlin): every time inside the gap lands on one slot', () => {
    const slots = upcomingSlots(schedule('*/15 2 * * *'), at('2026-03-28T23:00:00Z'), 'Europe/Berlin', 2).map(iso);
    expect(slots).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-30T00:00:00.000Z']);
  });

  it('DST forward (New York): 02:30 runs at 03:00 EDT', () => {
    expect(iso(nextSlot(schedule('30 2 * * *'), at('2026-03-08T00:00:00Z'), 'America/New_York'))).toBe('2026-03-08T07:00:00.000Z');
  });

  it('DST back (New York): 01:30 happens twice and runs once, at the first', () => {
    const daily = schedule('daily at 01:30');
    const slots = upcomingSlots(daily, at('2026-10-31T12:00:00Z'), 'America/New_York', 2).map(iso);
    expect(slots).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });

  it('DST back (Berlin): 02:30 runs once on the long night', () => {
    const slots = upcomingSlots(schedule('30 2 * * *'), at('2026-10-24T12:00:00Z'), 'Europe/Berlin', 3).map(iso);
    expect(slots).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z']);
  });

  it('weekly and cron day rules (either day field when both are restricted)', () => {
    expect(iso(nextSlot(schedule('weekly on sunday at 03:00'), at('2026-11-25T12:00:00Z'), 'UTC'))).toBe('2026-11-29T03:00:00.000Z');
    // 1st of the month OR a Friday: Friday 27 November comes before 1 December.
    expect(iso(nextSlot(schedule('0 0 1 * fri'), at('2026-11-25T12:00:00Z'), 'UTC'))).toBe('2026-11-27T00:00:00.000Z');
    expect(iso(nextSlot(schedule('0 0 29 2 *'), at('2026-03-01T00:00:00Z'), 'UTC'))).toBe('2028-02-29T00:00:00.000Z');
  });

  it('counts intervals from the epoch, so every restart agrees on the slots', () => {
    expect(iso(nextSlot(schedule('every 6h'), at('2026-11-25T13:10:00Z'), 'Europe/Berlin'))).toBe('2026-11-25T18:00:00.000Z');
  });

  it('latestSlotBetween: the last missed slot of three nights', () => {
    const daily = schedule('daily at 02:00');
    expect(iso(latestSlotBetween(daily, at('2026-11-21T01:00:00Z'), at('2026-11-24T09:00:00Z'), 'Europe/Berlin'))).toBe('2026-11-24T01:00:00.000Z');
    expect(latestSlotBetween(daily, at('2026-11-24T01:00:00Z'), at('2026-11-24T09:00:00Z'), 'Europe/Berlin')).toBeUndefined();
    expect(iso(latestSlotBetween(schedule('* * * * *'), at('2025-01-01T00:00:00Z'), at('2026-11-24T09:00:30Z'), 'UTC'))).toBe('2026-11-24T09:00:00.000Z');
  });

  it('slots are strictly increasing, five always found (fuzzed over zones and instants)', () => {
    const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'UTC'];
    const texts = ['30 2 * * *', '*/20 1-3 * * *', '0 0 * * 0', 'daily at 02:30', 'every 45m', '15 * 1,15 * mon'];
    fc.assert(fc.property(fc.constantFrom(...zones), fc.constantFrom(...texts), fc.integer({ min: at('2020-01-01T00:00:00Z'), max: at('2035-01-01T00:00:00Z') }), (zone, text, start) => {
      const slots = upcomingSlots(schedule(text), start, zone, 5);
      expect(slots).toHaveLength(5);
      let previous = start;
      for (const slot of slots) {
        expect(slot).toBeGreaterThan(previous);
        previous = slot;
      }
    }), { numRuns: 300 });
  });
});
