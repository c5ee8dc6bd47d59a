/**
 * The checklist engine: which targets a name means, scoping (a direct job skips profile checks),
 * a throwing check reported as failed instead of crashing, the tunnel brought up once and taken
 * down, the summary, and the --json report against its schema.
 */
import { describe, expect, it } from 'vitest';
import { hasFailures, resolveTargets, runDoctor } from '../../../src/agent/doctor/engine.js';
import { doctorReportJsonSchema, DoctorReportSchema } from '../../../src/agent/doctor/report-schema.js';
import type { DoctorCheck } from '../../../src/agent/doctor/types.js';
import { config, fakePorts, labJob, labProfile } from './fake-ports.js';

const cfg = config({
  jobs: { offsite: labJob, local: { sources: ['/data'], repository: '/backup/repo', password: 'file:/pki/repo.pw' } },
  profiles: { lab: labProfile, spare: { ...labProfile, gateways: ['vpn2.example.com'] } },
});

const check = (id: string, scope: DoctorCheck['scope'], run: DoctorCheck['run']): DoctorCheck => ({ id, title: id, group: scope === 'host' ? 'host' : 'vpn', scope, run });

describe('resolveTargets', () => {
  it('a job is that job with its profile; direct has none', () => {
    expect(resolveTargets(cfg, 'offsite')).toEqual([{ jobName: 'offsite', job: cfg.jobs.offsite, profileName: 'lab', profile: cfg.profiles.lab }]);
    expect(resolveTargets(cfg, 'local')).toEqual([{ jobName: 'local', job: cfg.jobs.local }]);
  });

  it('a profile is each job that uses it, or the profile alone', () => {
    expect(resolveTargets(cfg, 'lab').map((t) => t.jobName)).toEqual(['offsite']);
    expect(resolveTargets(cfg, 'spare')).toEqual([{ profileName: 'spare', profile: cfg.profiles.spare }]);
  });

  it('no name is every job and every profile no job uses', () => {
    expect(resolveTargets(cfg).map((t) => t.jobName ?? `profile ${t.profileName ?? ''}`)).toEqual(['offsite', 'local', 'profile spare']);
  });

  it('an unknown name is a usage error that lists what exists', () => {
    expect(() => resolveTargets(cfg, 'nope')).toThrow(expect.objectContaining({ code: 'config.unknown-target', hint: 'Known: job offsite, job local, profile lab, profile spare.' }) as Error);
  });
});

describe('runDoctor', () => {
  it('runs host checks once, skips out-of-scope checks with the reason, and counts', async () => {
    const report = await runDoctor([
      check('host.one', 'host', () => Promise.resolve({ status: 'pass', evidence: 'fine' })),
      check('vpn.two', 'profile', () => Promise.resolve({ status: 'warn', evidence: 'hm', fix: 'do this' })),
    ], fakePorts(cfg), resolveTargets(cfg));
    expect(report.reports.map((r) => [r.subject, r.checks.map((c) => `${c.id}:${c.status}`)])).toEqual([
      ['this machine', ['host.one:pass']],
      ['job offsite (profile lab)', ['vpn.two:warn']],
      ['job local (no VPN)', ['vpn.two:skip']],
      ['profile spare', ['vpn.two:warn']],
    ]);
    expect(report.reports[2]?.checks[0]?.evidence).toBe('the job uses profile: direct (no VPN)');
    expect(report.summary).toEqual({ pass: 1, warn: 2, fail: 0, skip: 1 });
    expect(hasFailures(report)).toBe(false);
  });

  it('reports a check that throws as failed, redacted, and goes on', async () => {
    const ports = fakePorts(cfg);
    ports.redactor.add('s3cr3t-value');
    const report = await runDoctor([
      check('vpn.boom', 'profile', () => Promise.reject(new Error('read s3cr3t-value failed'))),
      check('vpn.after', 'profile', () => Promise.resolve({ status: 'pass', evidence: 'still ran' })),
    ], ports, resolveTargets(cfg, 'offsite'));
    const [boom, after] = report.reports[1]?.checks ?? [];
    expect(boom?.status).toBe('fail');
    expect(boom?.evidence).toBe('the check could not run: read [REDACTED] failed');
    expect(after?.status).toBe('pass');
    expect(hasFailures(report)).toBe(true);
  });

  it('brings the tunnel up at most once per target and gives the failure to every check that asks', async () => {
    const seen: string[] = [];
    const asks = (id: string): DoctorCheck => check(id, 'profile', async (ctx) => {
      const tunnel = await ctx.tunnel();
      seen.push(tunnel.ok ? 'up' : tunnel.code);
      return { status: tunnel.ok ? 'pass' : 'fail', evidence: tunnel.ok ? 'up' : tunnel.message, ...(tunnel.ok ? {} : { fix: tunnel.hint }) };
    });
    // No readable certificate: planTunnel refuses before any command runs.
    const report = await runDoctor([asks('a.one'), asks('a.two')], fakePorts(cfg), resolveTargets(cfg, 'offsite'));
    expect(seen).toEqual(['config.certificate-missing', 'config.certificate-missing']);
    expect(report.reports[1]?.checks[0]?.fix).toBe('Check the path in profiles.lab.auth.certificate.');
  });

  it('produces JSON that the report schema accepts, and the schema rejects what it must', async () => {
    const report = await runDoctor([
      check('host.one', 'host', () => Promise.resolve({ status: 'pass', evidence: 'fine' })),
      check('vpn.two', 'profile', () => Promise.resolve({ status: 'fail', evidence: 'bad', fix: 'fix it' })),
    ], fakePorts(cfg), resolveTargets(cfg));
    const json: unknown = JSON.parse(JSON.stringify(report));
    expect(DoctorReportSchema.safeParse(json).success).toBe(true);
    expect(DoctorReportSchema.safeParse({ ...report, summary: { pass: 1 } }).success).toBe(false);
    const bad = { ...report, reports: [{ ...report.reports[0], checks: [{ id: 'host.one', title: 't', group: 'host', status: 'ok', evidence: 'e' }] }] };
    expect(DoctorReportSchema.safeParse(bad).success).toBe(false);
    const schema = doctorReportJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    expect(schema.required).toEqual(['schemaVersion', 'generatedAt', 'reports', 'summary']);
  });
});
