import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';

function load(schedule: string): ReturnType<typeof parseConfigText> {
  return parseConfigText(['jobs:', '  nightly:', '    sources: [/home/me]', '    repository: /srv/repo', '    password: file:/etc/backhaul/pw', `    schedule: ${schedule}`, ''].join('\n'), 'config.yaml');
}

function errors(schedule: string): string[] {
  const result = load(schedule);
  if (result.ok) throw new Error('expected errors');
  return result.errors.map((e) => `${e.path}: ${e.message}`);
}

describe('jobs.NAME.schedule', () => {
  it('accepts the simple forms and cron, with defaults', () => {
    const result = load('{ at: "daily at 02:00", timezone: Europe/Berlin, randomDelay: 15m }');
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    expect(result.config.jobs['nightly']?.schedule).toEqual({ at: 'daily at 02:00', timezone: 'Europe/Berlin', randomDelay: '15m', catchUp: 'once', overlap: 'wait', onlyOnAc: false, requireGatewayDns: false, skipOnMetered: false });
    expect(load('{ at: "30 2 * * mon-fri", catchUp: skip, overlap: skip, onlyOnAc: true }')).toMatchObject({ ok: true });
  });

  it('names the field and the fix', () => {
    expect(errors('{ at: "61 2 * * *" }')).toEqual([expect.stringMatching(/^jobs\.nightly\.schedule\.at: minute field "61": 61 is out of range 0–59\. Cron fields are minute/) as unknown]);
    expect(errors('{ at: "nightly" }')[0]).toMatch(/^jobs\.nightly\.schedule\.at: not a schedule: "nightly"\. Write a 5-field cron expression/);
    expect(errors('{ at: "daily at 02:00", timezone: Mars/Olympus }')).toEqual(['jobs.nightly.schedule.timezone: must be an IANA time zone such as Europe/Berlin or America/New_York, got "Mars/Olympus"']);
    expect(errors('{ at: "daily at 02:00", randomDelay: 2 days }')).toEqual(['jobs.nightly.schedule.randomDelay: must be a delay of at most 12h such as "15m", "90s" or "1h", got "2 days"']);
    expect(errors('{ at: "daily at 02:00", catchUp: always }')).toEqual(['jobs.nightly.schedule.catchUp: must be once (run one missed slot when the machine is back) or skip, got "always"']);
    expect(errors('{ timezone: UTC }')).toEqual(['jobs.nightly.schedule.at: required']);
  });
});
