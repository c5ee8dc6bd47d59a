/**
 * `backhaul doctor` through the real CLI entry point: the real ports on this machine, a profile
 * whose gateway is 127.0.0.1 (nothing listens on UDP 500/4500, so the kernel answers with ICMP
 * port unreachable) and whose certificate is missing (so no tunnel is attempted). The --json
 * report must match its schema; exit 1 because items fail; the human output names each fix.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { DoctorReportSchema } from '../../src/agent/doctor/report-schema.js';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';

let home: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'backhaul-doctor-'));
  await writeFile(join(home, 'repo.pw'), 'a-repository-password', { mode: 0o600 });
  await writeFile(join(home, 'config.yaml'), [
    'jobs:',
    '  offsite:',
    `    sources: [${home}]`,
    '    repository: rest:http://10.99.0.1:8000/repo',
    `    password: file:${join(home, 'repo.pw')}`,
    '    profile: office',
    'profiles:',
    '  office:',
    '    type: ikev2',
    '    gateways: [127.0.0.1]',
    '    routes: [10.99.0.0/24]',
    `    auth: { method: certificate, certificate: ${join(home, 'missing.pem')}, key: file:${join(home, 'missing.key')} }`,
    '',
  ].join('\n'));
});

describe('backhaul doctor', () => {
  it('--json prints a report that matches its schema, and exits 1 when an item fails', async () => {
    const { io, out } = captureIo();
    expect(await main(['--home', home, 'doctor', 'offsite', '--json'], io)).toBe(1);
    const report = DoctorReportSchema.parse(JSON.parse(out.text()));
    const byId = new Map(report.reports.flatMap((r) => r.checks).map((c) => [c.id, c]));
    expect(byId.get('network.ike-500')).toMatchObject({ status: 'fail', evidence: '127.0.0.1: refused (ECONNREFUSED: an ICMP error came back)' });
    expect(byId.get('network.tunnel')?.evidence).toMatch(/^config\.certificate-missing: /);
    expect(byId.get('repository.access')?.status).toBe('skip');
    expect(byId.get('network.routes')?.status).toBe('pass');
    expect(report.summary.fail).toBeGreaterThan(0);
  });

  it('prints one line per item with its fix, grouped', async () => {
    const { io, out } = captureIo();
    expect(await main(['--home', home, 'doctor', 'office'], io)).toBe(1);
    const text = out.text();
    expect(text).toContain('job offsite (profile office)\n  VPN profile\n');
    expect(text).toMatch(/\n {4}\[FAIL\] UDP 500 reaches the gateway's IKE: 127\.0\.0\.1: refused .*\n {11}fix: UDP 500 starts every IKE exchange\./);
    expect(text).toMatch(/\n\d+ checks: \d+ pass, \d+ warn, \d+ fail, \d+ skipped\n$/);
  });

  it('refuses an unknown name and a bad --max-credential-age with exit 2', async () => {
    const unknown = captureIo();
    expect(await main(['--home', home, 'doctor', 'nope'], unknown.io)).toBe(2);
    expect(unknown.err.text()).toBe('error: "nope" is neither a job nor a profile\nhint: Known: job offsite, profile office.\n');
    const bad = captureIo();
    expect(await main(['--home', home, 'doctor', '--max-credential-age', 'soon'], bad.io)).toBe(2);
    expect(bad.err.text()).toContain('--max-credential-age must be a whole number of days');
  });
});
