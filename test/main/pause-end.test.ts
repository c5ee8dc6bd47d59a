import { describe, expect, it } from 'vitest';
import { pauseEnd } from '../../src/main/pause-end.js';

describe('pauseEnd', () => {
  it('an hour from now, or tomorrow at 08:00 local time', () => {
    const now = new Date(2026, 10, 25, 18, 30, 0);
    expect(pauseEnd('in-1-hour', now).getTime() - now.getTime()).toBe(3_600_000);
    const tomorrow = pauseEnd('tomorrow', now);
    expect([tomorrow.getFullYear(), tomorrow.getMonth(), tomorrow.getDate(), tomorrow.getHours(), tomorrow.getMinutes()]).toEqual([2026, 10, 26, 8, 0]);
    // Past midnight "tomorrow" is still the next calendar day.
    const late = pauseEnd('tomorrow', new Date(2026, 11, 31, 0, 30));
    expect([late.getFullYear(), late.getMonth(), late.getDate(), late.getHours()]).toEqual([2027, 0, 1, 8]);
  });
});
