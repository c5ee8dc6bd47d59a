/**
 * The machine's checks with fake ports: AES instructions per OS, Full Disk Access, logs and
 * metrics, credential age under an injected clock, and the restic version.
 *
 * No macOS or Windows recording exists for these commands under shared/reference/recorded, so
 * their outputs here are SYNTHETIC, following the documented formats:
 * - `sysctl -n machdep.cpu.features` on an Intel Mac: one line of upper-case feature names
 *   separated by spaces (sysctl(8); the names as Intel's CPUID documentation spells them, AES
 *   among them on every Mac since 2010).
 * - `pwsh -Command [System.Runtime.Intrinsics.X86.Aes]::IsSupported …`: PowerShell prints a
 *   boolean as `True` / `False` (.NET API docs, System.Runtime.Intrinsics.X86.Aes.IsSupported).
 * - /proc/cpuinfo: `flags : …` on x86 and `Features : …` on arm64 (Linux
 *   Documentation/arch/x86/cpuinfo.rst; arch/arm64/kernel/cpuinfo.c hwcap names).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveTargets, runDoctor } from '../../../src/agent/doctor/engine.js';
import { aesInstructionsCheck, cpuinfoHasAes } from '../../../src/agent/doctor/checks/aes-instructions.js';
import { credentialAgeCheck } from '../../../src/agent/doctor/checks/credential-age.js';
import { fullDiskAccessCheck, TCC_DATABASE } from '../../../src/agent/doctor/checks/full-disk-access.js';
import { logsMetricsCheck } from '../../../src/agent/doctor/checks/logs-metrics.js';
import { resticVersionCheck } from '../../../src/agent/doctor/checks/restic-version.js';
import type { CheckReport, DoctorCheck, DoctorPorts } from '../../../src/agent/doctor/types.js';
import { ReplayingCommandRunner } from '../../helpers/replaying-runner.js';
import { config, fakePorts, labJob, labProfile } from './fake-ports.js';

const cfg = config({ jobs: { offsite: labJob }, profiles: { lab: labProfile } });

async function hostCheck(check: DoctorCheck, overrides: Partial<DoctorPorts> = {}, data = cfg): Promise<CheckReport> {
  const report = await runDoctor([check], fakePorts(data, overrides), resolveTargets(data, 'offsite'));
  const result = report.reports[0]?.checks[0];
  if (result === undefined) throw new Error('no result');
  return result;
}

const X86_CPUINFO = 'processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse tsc msr pae sse sse2 ssse3 sse4_1 sse4_2 popcnt aes xsave avx rdrand\n';
const ARM_CPUINFO = 'processor\t: 0\nBogoMIPS\t: 48.00\nFeatures\t: fp asimd evtstrm pmull sha1 sha2 crc32 cpuid\n';
const MAC_FEATURES = 'FPU VME DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA CMOV PAT PSE36 CLFSH DS ACPI MMX FXSR SSE SSE2 SS HTT TM PBE SSE3 PCLMULQDQ DTES64 MON DSCPL VMX EST TM2 SSSE3 FMA CX16 TPR PDCM SSE4.1 SSE4.2 x2APIC MOVBE POPCNT AES PCID XSAVE OSXSAVE SEGLIM64 TSCTMR AVX1.0 RDRAND F16C\n';

describe('host.aes', () => {
  it('reads the aes flag from /proc/cpuinfo (x86 flags, arm64 Features)', async () => {
    expect(cpuinfoHasAes(X86_CPUINFO)).toBe(true);
    expect(cpuinfoHasAes(ARM_CPUINFO)).toBe(false);
    expect(cpuinfoHasAes('processor : 0\n')).toBeUndefined();
    expect(await hostCheck(aesInstructionsCheck, { readText: () => Promise.resolve(X86_CPUINFO) })).toMatchObject({ status: 'pass' });
    const without = await hostCheck(aesInstructionsCheck, { readText: () => Promise.resolve(ARM_CPUINFO) });
    expect(without.status).toBe('warn');
    expect(without.fix).toContain('chacha20poly1305');
  });

  it('macOS: Apple silicon passes without a command; an Intel Mac is asked through sysctl (synthetic output)', async () => {
    expect((await hostCheck(aesInstructionsCheck, { platform: 'darwin', arch: 'arm64' })).evidence).toMatch(/^Apple silicon/);
    const runner = new ReplayingCommandRunner([{ argv: ['sysctl', '-n', 'machdep.cpu.features'], reply: { stdout: MAC_FEATURES, source: 'synthetic: sysctl(8) format' } }]);
    expect(await hostCheck(aesInstructionsCheck, { platform: 'darwin', arch: 'x64', runner })).toMatchObject({ status: 'pass', evidence: 'machdep.cpu.features includes AES' });
    runner.assertDone();
  });

  it('Windows: asks .NET through pwsh (synthetic True/False), skips honestly without PowerShell 7', async () => {
    const argv = ['pwsh', '-NoProfile', '-NonInteractive', '-Command', /Aes\]::IsSupported/];
    expect((await hostCheck(aesInstructionsCheck, { platform: 'win32', runner: new ReplayingCommandRunner([{ argv, reply: { stdout: 'True\r\n' } }]) })).status).toBe('pass');
    expect((await hostCheck(aesInstructionsCheck, { platform: 'win32', runner: new ReplayingCommandRunner([{ argv, reply: { stdout: 'False\r\n' } }]) })).status).toBe('warn');
    const missing = await hostCheck(aesInstructionsCheck, { platform: 'win32', runner: new ReplayingCommandRunner([{ argv, reply: { spawnError: 'ENOENT' } }]) });
    expect(missing.status).toBe('skip');
    expect(missing.evidence).toMatch(/PowerShell 7 \(pwsh\) is not installed/);
  });
});

describe('host.full-disk-access', () => {
  it('skips off macOS', async () => {
    expect((await hostCheck(fullDiskAccessCheck)).status).toBe('skip');
  });

  it('passes when TCC.db opens, fails on EPERM with System Settings and the MDM profile as the fix', async () => {
    const reads: string[] = [];
    const granted = await hostCheck(fullDiskAccessCheck, { platform: 'darwin', canRead: (path) => { reads.push(path); return Promise.resolve({ ok: true }); } });
    expect(granted.status).toBe('pass');
    expect(reads).toEqual([TCC_DATABASE]);
    const denied = await hostCheck(fullDiskAccessCheck, { platform: 'darwin', canRead: () => Promise.resolve({ ok: false, code: 'EPERM' }) });
    expect(denied.status).toBe('fail');
    expect(denied.evidence).toContain('backups silently miss Mail');
    expect(denied.fix).toMatch(/Full Disk Access.*resources\/macos\/backhaul-pppc\.mobileconfig/);
  });

  it('falls back to ~/Library/Mail when TCC.db is missing', async () => {
    const home = '/Users/ann';
    const canRead = (path: string) => Promise.resolve(path === TCC_DATABASE ? { ok: false as const, code: 'ENOENT' } : path === '/Users/ann/Library/Mail' ? { ok: false as const, code: 'EPERM' } : { ok: true as const });
    expect((await hostCheck(fullDiskAccessCheck, { platform: 'darwin', homedir: home, canRead })).status).toBe('fail');
  });
});

describe('host.logs-metrics', () => {
  it('passes a writable log dir with no agent, and with an agent whose /metrics has backhaul_ series', async () => {
    expect((await hostCheck(logsMetricsCheck)).evidence).toMatch(/is writable; metrics: the agent is not running/);
    const metrics = '# HELP backhaul_sessions_total x\nbackhaul_sessions_total{job="a"} 1\nbackhaul_running 0\n';
    expect((await hostCheck(logsMetricsCheck, { agentMetrics: () => Promise.resolve(metrics) })).evidence).toMatch(/\/metrics answers with 2 backhaul_ series$/);
    expect((await hostCheck(logsMetricsCheck, { agentMetrics: () => Promise.resolve('up 1\n') })).status).toBe('fail');
  });

  it('fails when the log dir takes no writes', async () => {
    const ports = fakePorts(cfg);
    const blocked = join(mkdtempSync(join(tmpdir(), 'bh-logs-')), 'file');
    writeFileSync(blocked, 'a file where the log dir should be');
    const result = await hostCheck(logsMetricsCheck, { paths: { ...ports.paths, logDir: join(blocked, 'logs') } });
    expect(result.status).toBe('fail');
    expect(result.evidence).toMatch(/takes no writes \((ENOTDIR|EEXIST)\)/);
  });
});

describe('host.credential-age', () => {
  const now = new Date('2026-11-25T03:00:00Z');
  const ages: Record<string, number> = { '/pki/client.pem': 10, '/pki/client.key': 10, '/pki/repo.pw': 400 };
  const modifiedAt = (path: string) => {
    const days = ages[path];
    return days === undefined ? Promise.reject(Object.assign(new Error('x'), { code: 'ENOENT' })) : Promise.resolve(new Date(now.getTime() - days * 86_400_000));
  };

  it('skips without a rotation policy', async () => {
    expect((await hostCheck(credentialAgeCheck)).status).toBe('skip');
  });

  it('warns on files older than the policy, by key, and lists keychain entries as not checked', async () => {
    const data = config({ jobs: { offsite: labJob }, profiles: { lab: { ...labProfile, auth: { ...labProfile.auth, password: 'keychain:lab-eap' } } } });
    const result = await hostCheck(credentialAgeCheck, { now: () => now, modifiedAt, credentialMaxAgeDays: 365 }, data);
    expect(result.status).toBe('warn');
    expect(result.evidence).toBe('older than 365 days: jobs.offsite.password: 400 days; within: profiles.lab.auth.certificate: 10 days, profiles.lab.auth.key: 10 days; not checked: profiles.lab.auth.password (keychain)');
    expect(result.fix).toMatch(/^Rotate these/);
    expect((await hostCheck(credentialAgeCheck, { now: () => now, modifiedAt, credentialMaxAgeDays: 500 })).status).toBe('pass');
    const fromConfig = config({ settings: { credentialMaxAgeDays: 365 }, jobs: { offsite: labJob }, profiles: { lab: labProfile } });
    expect((await hostCheck(credentialAgeCheck, { now: () => now, modifiedAt }, fromConfig)).status).toBe('warn');
  });
});

describe('repository.restic', () => {
  it('passes 0.18, warns before 0.16, fails when restic is missing with the install hint', async () => {
    const binary = (minor: number) => () => Promise.resolve({ path: '/usr/bin/restic', version: { major: 0, minor, patch: 0 } });
    expect(await hostCheck(resticVersionCheck, { resticBinary: binary(18) })).toMatchObject({ status: 'pass', evidence: 'restic 0.18.0 at /usr/bin/restic' });
    expect((await hostCheck(resticVersionCheck, { resticBinary: binary(14) })).status).toBe('warn');
    const missing = await hostCheck(resticVersionCheck, { resticBinary: () => Promise.reject(Object.assign(new Error('restic was not found'), { code: 'backup.engine-missing', hint: 'Install restic.' })) });
    expect(missing).toMatchObject({ status: 'fail', evidence: 'restic was not found', fix: 'Install restic.' });
  });
});
