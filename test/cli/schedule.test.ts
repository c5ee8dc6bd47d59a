import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { describeSchedule, formatInZone } from '../../src/cli/commands/schedule.js';
import { captureIo } from '../helpers/cli-io.js';

describe('backhaul schedule', () => {
  it('shows each run in the job\'s zone, with the slot when a random delay moves it', () => {
    expect(formatInZone('2026-03-29T01:00:00.000Z', 'Europe/Berlin')).toBe('2026-03-29 03:00:00');
    const text = describeSchedule({
      jobs: [{
        job: 'nightly', at: 'daily at 02:00', timezone: 'Europe/Berlin',
        upcoming: [{ slot: '2026-11-26T01:00:00.000Z', startsAt: '2026-11-26T01:07:00.000Z' }, { slot: '2026-11-27T01:00:00.000Z', startsAt: '2026-11-27T01:00:00.000Z' }],
        waitingFor: 'AC power (onlyOnAc)',
        overdueSince: '2026-11-25T08:00:00.000Z',
      }],
      pausedUntil: '2026-11-26T08:00:00.000Z',
    });
    expect(text).toBe([
      'nightly  daily at 02:00  (Europe/Berlin)',
      '  next  2026-11-26 02:07:00  (slot 02:00:00, random delay 7m)',
      '  then  2026-11-27 02:00:00',
      '  waiting for AC power (onlyOnAc)',
      '  overdue since 2026-11-25 09:00:00',
      'Scheduled runs are paused until 2026-11-26T08:00:00.000Z (backhaul schedule --resume).',
      '',
    ].join('\n'));
    expect(describeSchedule({ jobs: [] })).toContain('No job has a schedule');
  });

  it('refuses bad options before asking the agent', async () => {
    const bad = captureIo();
    expect(await main(['--home', '/nonexistent-backhaul-home', 'schedule', '--count', '0'], bad.io)).toBe(2);
    expect(bad.err.text()).toBe('error: --count must be a whole number 1–100, got "0"\nhint: e.g. backhaul schedule --count 5\n');
    const both = captureIo();
    expect(await main(['--home', '/nonexistent-backhaul-home', 'schedule', '--pause', '2h', '--resume'], both.io)).toBe(2);
    expect(both.err.text()).toContain('--pause and --resume exclude each other');
    const pause = captureIo();
    expect(await main(['--home', '/nonexistent-backhaul-home', 'schedule', '--pause', 'soon'], pause.io)).toBe(2);
    expect(pause.err.text()).toContain('--pause takes a duration such as 30m, 2h or 12h, got "soon"');
  });
});
