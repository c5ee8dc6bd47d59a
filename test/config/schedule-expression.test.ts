import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDelay, parseSchedule, type Schedule } from '../../src/config/schedule-expression.js';

function ok(text: string): Schedule {
  const parsed = parseSchedule(text);
  if (!parsed.ok) throw new Error(`${text}: ${parsed.message}`);
  return parsed.schedule;
}

function error(text: unknown): { message: string; hint: string } {
  const parsed = parseSchedule(text);
  if (parsed.ok) throw new Error(`${String(text)} parsed`);
  return parsed;
}

describe('parseSchedule', () => {
  it('reads cron fields with lists, ranges, steps and names', () => {
    const schedule = ok('0,30 9-17/2 * jan-mar,dec mon-fri');
    expect(schedule).toMatchObject({ kind: 'calendar', minutes: [0, 30], hours: [9, 11, 13, 15, 17], seconds: [0], daysRestricted: false, weekdaysRestricted: true });
    if (schedule.kind !== 'calendar') throw new Error('calendar expected');
    expect([...schedule.months].sort((a, b) => a - b)).toEqual([1, 2, 3, 12]);
    expect([...schedule.weekdays].sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('folds day-of-week 7 into Sunday and reads "a/n" as a through the end', () => {
    const schedule = ok('45/5 0 * * 7');
    if (schedule.kind !== 'calendar') throw new Error('calendar expected');
    expect(schedule.minutes).toEqual([45, 50, 55]);
    expect([...schedule.weekdays]).toEqual([0]);
  });

  it('reads the simple forms', () => {
    expect(ok('daily at 02:00')).toMatchObject({ kind: 'calendar', hours: [2], minutes: [0], seconds: [0], weekdaysRestricted: false });
    expect(ok('Daily  at 23:59:30')).toMatchObject({ hours: [23], minutes: [59], seconds: [30] });
    const weekly = ok('weekly on sunday at 03:00');
    if (weekly.kind !== 'calendar') throw new Error('calendar expected');
    expect([...weekly.weekdays]).toEqual([0]);
    expect(ok('weekly on fri at 18:15')).toMatchObject({ hours: [18], minutes: [15] });
    expect(ok('hourly')).toMatchObject({ kind: 'calendar', minutes: [0], hours: Array.from({ length: 24 }, (_, i) => i) });
    expect(ok('@daily')).toMatchObject({ hours: [0], minutes: [0] });
    expect(ok('every 6h')).toEqual({ kind: 'interval', text: 'every 6h', everyMs: 6 * 3_600_000 });
    expect(ok('every 30m')).toMatchObject({ everyMs: 30 * 60_000 });
    expect(ok('every 2 days')).toMatchObject({ everyMs: 2 * 86_400_000 });
  });

  it('names the field and the fix for bad cron', () => {
    expect(error('61 * * * *').message).toBe('minute field "61": 61 is out of range 0–59');
    expect(error('0 24 * * *').message).toBe('hour field "24": 24 is out of range 0–23');
    expect(error('0 2 * foo *').message).toBe('month field "foo": "foo" is not a month (1–12 or jan–dec)');
    expect(error('0 2 * * mon-sun/x').message).toContain('day of week field');
    expect(error('0 5-2 * * *').message).toBe('hour field "5-2": the range "5-2" runs backwards');
    expect(error('0 2 * *')).toMatchObject({ message: 'a cron expression has 5 fields (minute hour day-of-month month day-of-week), got 4' });
    expect(error('0 0 30 2 *').message).toContain('never matches');
  });

  it('explains bad simple forms', () => {
    expect(error('daily at 25:00')).toMatchObject({ message: '"25:00" is not a time of day (hours 0–23, minutes and seconds 0–59)' });
    expect(error('daily')).toMatchObject({ hint: expect.stringContaining('daily at 02:00') as unknown });
    expect(error('weekly on someday at 03:00').message).toBe('"someday" is not a day of the week');
    expect(error('every 10s').message).toBe('seconds are too short for a backup schedule');
    expect(error('every 0m').message).toContain('out of range');
    expect(error('every 40d').message).toContain('out of range');
    expect(error('nightly').message).toBe('not a schedule: "nightly"');
    expect(error('')).toMatchObject({ message: 'must not be empty' });
    expect(error(42)).toMatchObject({ message: 'expected a schedule expression as text' });
    // Found by the fuzzer: names of Object's own properties are not macros or units.
    expect(error('__proto__').message).toBe('not a schedule: "__proto__"');
    expect(error('every 5 constructor').message).toBe('"constructor" is not a unit of time');
  });

  it('never throws, and every failure has a message and a hint (fuzzed)', () => {
    const token = fc.oneof(
      fc.constantFrom('__proto__', 'constructor', 'toString', '*', '*/5', '0', '59', '60', '1-5', '5-1', 'mon', 'jan', 'sun-sat', ',', '/', '-', 'daily', 'weekly', 'on', 'at', 'every', '02:00', '24:61', '6h', 'h', '@daily', '@nope', ' '),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(fc.property(fc.oneof(fc.array(token, { maxLength: 7 }).map((t) => t.join(' ')), fc.string(), fc.anything()), (input) => {
      const parsed = parseSchedule(input);
      if (!parsed.ok) {
        expect(parsed.message.length).toBeGreaterThan(0);
        expect(parsed.hint.length).toBeGreaterThan(0);
        // Bounded: a pasted novel is not echoed back.
        expect(parsed.message.length).toBeLessThan(200);
      }
    }), { numRuns: 3000 });
  });

  it('parseDelay reads 90s, 15m, 1h and 0, and nothing else (fuzzed)', () => {
    expect([parseDelay('90s'), parseDelay('15m'), parseDelay(' 1h '), parseDelay('0')]).toEqual([90_000, 900_000, 3_600_000, 0]);
    expect([parseDelay('15'), parseDelay('1d'), parseDelay('-5m'), parseDelay('1.5h'), parseDelay('')]).toEqual([undefined, undefined, undefined, undefined, undefined]);
    fc.assert(fc.property(fc.string(), (text) => {
      const ms = parseDelay(text);
      expect(ms === undefined || (Number.isSafeInteger(ms) && ms >= 0)).toBe(true);
    }));
  });
});
