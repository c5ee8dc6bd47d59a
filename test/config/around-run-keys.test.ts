import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { validateConfigData } from '../../src/config/schema.js';

const profile = { type: 'l2tp', gateways: ['vpn.example.com'], auth: { method: 'psk', psk: 'file:/etc/backhaul/office.psk' } };
const job = (extra: Record<string, unknown>) => ({ sources: ['/home/me'], repository: 'rest:http://10.99.0.1:8000/r', password: 'file:/etc/backhaul/r.pw', profile: 'office', ...extra });

function problems(extra: Record<string, unknown>): string[] {
  const result = validateConfigData({ jobs: { nightly: job(extra) }, profiles: { office: profile } });
  return result.success ? [] : result.issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`);
}

describe('job keys for around a run', () => {
  it('hooks, notify, tunnel and keepAwake with their defaults', () => {
    const result = validateConfigData({ jobs: { nightly: job({ tunnel: 'whenNeeded', hooks: { pre: [['pg_dump', '-f', '/var/backups/db.sql']] }, notify: { healthchecks: 'https://hc-ping.com/5f2c' } }) }, profiles: { office: profile } });
    if (!result.success) throw new Error(JSON.stringify(result.issues));
    expect(result.data.jobs['nightly']).toMatchObject({
      tunnel: 'whenNeeded',
      keepAwake: true,
      hooks: { pre: [['pg_dump', '-f', '/var/backups/db.sql']], post: [], onFailure: [], timeoutSeconds: 300 },
      notify: { healthchecks: 'https://hc-ping.com/5f2c', timeoutSeconds: 10, retries: 2 },
    });
  });

  it('a hook written as a string says how to write it', () => {
    expect(problems({ hooks: { pre: ['systemctl stop db'] } })).toEqual([
      'jobs.nightly.hooks.pre.0: expected a command as a list [program, arg, …], got a string; for a shell command write ["sh", "-c", "…"]',
    ]);
    expect(problems({ hooks: { post: [[]] } })).toEqual(['jobs.nightly.hooks.post.0: must not be empty; expected [program, arg, …]']);
    expect(problems({ hooks: { timeoutSeconds: 0 } })).toEqual(['jobs.nightly.hooks.timeoutSeconds: must be 1–3600, got 0']);
    expect(problems({ hooks: { pre: [], later: [] } })).toEqual(['jobs.nightly.hooks: unknown key']);
  });

  it('notification URLs: http(s) only, no user:password@, and the URL (maybe a token) is never repeated', () => {
    expect(problems({ notify: { webhook: 'ftp://example.com/x' } })).toEqual(['jobs.nightly.notify.webhook: must be an http:// or https:// URL']);
    const withPassword = problems({ notify: { webhook: 'https://bob:s3cr3t-token@hooks.example.com/x' } });
    expect(withPassword).toEqual(['jobs.nightly.notify.webhook: must not hold a user name or password (user:password@); use a URL with a token in its path']);
    expect(withPassword.join()).not.toContain('s3cr3t');
    expect(problems({ notify: { retries: 9 } })).toEqual(['jobs.nightly.notify.retries: must be 0–5, got 9']);
  });

  it('tunnel: whenNeeded needs a VPN profile to fall back to', () => {
    expect(problems({ tunnel: 'whenNeeded', profile: 'direct' })).toEqual([
      'jobs.nightly.tunnel: whenNeeded chooses between the direct path and the job\'s VPN profile, but the job has none; set profile: to a profile name, or remove tunnel',
    ]);
    expect(problems({ tunnel: 'sometimes' })).toEqual(['jobs.nightly.tunnel: must be always or whenNeeded, got "sometimes"']);
  });

  it('a typo in hooks gets a suggestion from the loader', () => {
    const result = parseConfigText(`jobs:\n  nightly:\n    sources: [/home/me]\n    repository: /srv/r\n    password: file:/etc/r.pw\n    hooks:\n      onfailure: [[true]]\n`, 'config.yaml');
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).toContain('onFailure');
  });

  it('fuzz: any notify URL value either validates or gets a message that does not repeat it', () => {
    fc.assert(
      fc.property(fc.oneof(fc.webUrl({ withQueryParameters: true }), fc.string({ minLength: 8 })), (url) => {
        const out = problems({ notify: { webhook: url } });
        for (const message of out) expect(message.slice('jobs.nightly.notify.webhook: '.length)).not.toContain(url);
      }),
      { numRuns: 300 },
    );
  });
});
