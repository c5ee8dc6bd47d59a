/**
 * The profile's checks with fake ports: certificate auth (a real openssl certificate judged under
 * an injected clock), the cipher policy, keepalive, DNS, the IKE ports and NAT-T from probe
 * results, and split routes.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveTargets, runDoctor } from '../../../src/agent/doctor/engine.js';
import { certificateAuthCheck, certificateVerdict } from '../../../src/agent/doctor/checks/certificate-auth.js';
import { cipherPolicyCheck } from '../../../src/agent/doctor/checks/cipher-policy.js';
import { gatewayDnsCheck } from '../../../src/agent/doctor/checks/gateway-dns.js';
import { ike4500Check, ike500Check } from '../../../src/agent/doctor/checks/ike-reachable.js';
import { keepaliveCheck } from '../../../src/agent/doctor/checks/keepalive.js';
import { natTraversalCheck } from '../../../src/agent/doctor/checks/nat-traversal.js';
import { splitRoutesCheck } from '../../../src/agent/doctor/checks/split-routes.js';
import { ipv4InCidr } from '../../../src/os/ipv4.js';
import type { IkeProbeResult, IkeProbeTarget } from '../../../src/agent/doctor/ike-probe.js';
import type { CheckReport, DoctorCheck, DoctorPorts } from '../../../src/agent/doctor/types.js';
import { createCommandRunner } from '../../../src/os/command.js';
import { config, fakePorts, labJob, labProfile } from './fake-ports.js';

async function one(check: DoctorCheck, data: unknown, overrides: Partial<DoctorPorts> = {}, target = 'offsite'): Promise<CheckReport> {
  const cfg = config(data);
  const report = await runDoctor([check], fakePorts(cfg, overrides), resolveTargets(cfg, target));
  const result = report.reports[1]?.checks[0];
  if (result === undefined) throw new Error('no result');
  return result;
}

const base = { jobs: { offsite: labJob }, profiles: { lab: labProfile } };
const withProfile = (extra: Record<string, unknown>) => ({ ...base, profiles: { lab: { ...labProfile, ...extra } } });

describe('vpn.auth', () => {
  let pem = '';
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bh-cert-'));
    // A self-signed EC certificate valid for 40 days from now.
    await createCommandRunner().run({
      argv: ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '40', '-subj', '/CN=doctor.test'],
      timeoutMs: 30_000,
    });
    pem = readFileSync(join(dir, 'c.pem'), 'utf8');
  });
  const inDays = (days: number): Date => new Date(Date.now() + days * 86_400_000);

  it('passes a certificate valid for more than 30 days, with its subject and end date', () => {
    const verdict = certificateVerdict(pem, inDays(0), 'profiles.lab.auth.certificate');
    expect(verdict.status).toBe('pass');
    expect(verdict.evidence).toMatch(/^certificate authentication; CN=doctor.test, valid until \d{4}-.*\((39|40) days\)$/);
  });

  it('warns within 30 days of expiry and fails once expired, with the renewal as the fix', () => {
    const soon = certificateVerdict(pem, inDays(20), 'profiles.lab.auth.certificate');
    expect(soon.status).toBe('warn');
    expect(soon.evidence).toMatch(/expires on .*, in (19|20) days/);
    const expired = certificateVerdict(pem, inDays(41), 'profiles.lab.auth.certificate');
    expect(expired.status).toBe('fail');
    expect(expired.evidence).toMatch(/^CN=doctor.test: expired on /);
    expect(expired.fix).toMatch(/^Renew the certificate/);
    expect(certificateVerdict(pem, inDays(-1), 'k').evidence).toMatch(/not valid before .*clock/);
    expect(certificateVerdict('garbage', inDays(0), 'k').status).toBe('fail');
  });

  it('reads the certificate through the port and fails with the key when it is unreadable', async () => {
    const missing = await one(certificateAuthCheck, base, { readText: () => Promise.reject(Object.assign(new Error('x'), { code: 'ENOENT' })) });
    expect(missing).toMatchObject({ status: 'fail', evidence: 'profiles.lab.auth.certificate: /pki/client.pem can\'t be read (ENOENT)' });
    const ok = await one(certificateAuthCheck, base, { readText: () => Promise.resolve(pem), now: () => inDays(1) });
    expect(ok.status).toBe('pass');
  });

  it('warns on a PSK, and names the profiles sharing the same PSK', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bh-psk-'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'a.psk'), 'same-psk-value-1234', { mode: 0o600 });
    writeFileSync(join(dir, 'b.psk'), 'same-psk-value-1234', { mode: 0o600 });
    writeFileSync(join(dir, 'c.psk'), 'another-psk-value-99', { mode: 0o600 });
    const psk = (file: string) => ({ ...labProfile, auth: { method: 'psk', psk: `file:${join(dir, file)}` } });
    const data = { jobs: { offsite: labJob }, profiles: { lab: psk('a.psk'), branch: psk('b.psk'), other: psk('c.psk') } };
    const result = await one(certificateAuthCheck, data);
    expect(result.status).toBe('warn');
    expect(result.evidence).toBe('profiles.lab.auth uses a pre-shared key; the same PSK is used by profile branch');
    expect(result.fix).toMatch(/Switch to certificates.*At least give each profile its own PSK\.$/);
    expect(JSON.stringify(result)).not.toContain('same-psk-value');
  });
});

describe('vpn.ciphers', () => {
  it('passes strong proposals with PFS', async () => {
    expect(await one(cipherPolicyCheck, base)).toMatchObject({ status: 'pass', evidence: 'IKE aes256gcm16-prfsha256-ecp256; ESP aes256gcm16-ecp256 (profiles.lab): strong algorithms, DH ≥ group 14, PFS on' });
  });

  it('fails MD5, SHA-1, 3DES and small DH groups, naming each, with strong proposals as the fix', async () => {
    const result = await one(cipherPolicyCheck, withProfile({ ikeProposals: ['3des-sha1-modp1024'], espProposals: ['aes128-md5'] }));
    expect(result.status).toBe('fail');
    expect(result.evidence).toContain('"3des-sha1-modp1024" (IKE) uses 3des: 3DES has a 64-bit block (Sweet32); sha1: SHA-1 is deprecated');
    expect(result.evidence).toContain('modp1024: DH group 2 (1024-bit) is below group 14');
    expect(result.evidence).toContain('"aes128-md5" (ESP) uses md5: MD5 is broken');
    expect(result.fix).toMatch(/^Use strong proposals in profiles.lab.ikeProposals/);
  });

  it('only warns under cipherPolicy: legacy, and warns when PFS is off', async () => {
    expect((await one(cipherPolicyCheck, withProfile({ ikeProposals: ['aes256-sha1-modp2048'], cipherPolicy: 'legacy' }))).status).toBe('warn');
    const noPfs = await one(cipherPolicyCheck, withProfile({ espProposals: ['aes256gcm16'] }));
    expect(noPfs.status).toBe('warn');
    expect(noPfs.evidence).toContain('PFS is off');
    expect(noPfs.fix).toBe('Add a DH group to profiles.lab.espProposals, e.g. aes256gcm16-ecp256, and the same group to the gateway\'s ESP proposals.');
  });
});

describe('vpn.keepalive', () => {
  it('passes the defaults and warns on a long interval', async () => {
    expect(await one(keepaliveCheck, base)).toMatchObject({ status: 'pass', evidence: 'dead-peer detection every 30 s, down after 4 misses (120 s)' });
    expect((await one(keepaliveCheck, withProfile({ keepaliveSeconds: 120 }))).status).toBe('warn');
  });
});

describe('network.gateway-dns', () => {
  it('resolves names through the injected resolver; none resolving fails, some warns', async () => {
    const resolveHost = (host: string) => (host === 'vpn.example.com' ? Promise.resolve(['203.0.113.7']) : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' })));
    expect(await one(gatewayDnsCheck, withProfile({ gateways: ['vpn.example.com'] }), { resolveHost })).toMatchObject({ status: 'pass', evidence: 'vpn.example.com → 203.0.113.7' });
    expect(await one(gatewayDnsCheck, withProfile({ gateways: ['vpn.example.com', 'gone.example.com'] }), { resolveHost })).toMatchObject({ status: 'warn', evidence: 'vpn.example.com → 203.0.113.7; gone.example.com does not resolve (ENOTFOUND)' });
    const none = await one(gatewayDnsCheck, withProfile({ gateways: ['gone.example.com'] }), { resolveHost });
    expect(none.status).toBe('fail');
    expect(none.fix).toContain('profiles.lab.gateways');
  });
});

const answered = (natLocal?: boolean): IkeProbeResult => ({
  kind: 'answered', local: { address: '10.77.5.2', port: 40000 },
  response: { spiR: Buffer.alloc(8, 1), notifies: [], accepted: true },
  ...(natLocal === undefined ? {} : { natLocal, natRemote: false }),
});

function probeBy(table: Record<number, IkeProbeResult>, seen: IkeProbeTarget[] = []): DoctorPorts['ikeProbe'] {
  return (target) => {
    seen.push(target);
    const result = table[target.port];
    return result === undefined ? Promise.reject(new Error('no answer scripted')) : Promise.resolve(result);
  };
}

describe('network.ike-500 / ike-4500', () => {
  it('passes when the gateway answers, and offers only proposals the strict policy accepts', async () => {
    const seen: IkeProbeTarget[] = [];
    const result = await one(ike500Check, withProfile({ ikeProposals: ['3des-sha1-modp1024', 'aes256-sha256-modp2048'], cipherPolicy: 'legacy' }), { ikeProbe: probeBy({ 500: answered(false) }, seen) });
    expect(result).toMatchObject({ status: 'pass', evidence: '198.51.100.2: IKE_SA_INIT response, proposal accepted' });
    expect(seen).toEqual([{ address: '198.51.100.2', port: 500, proposals: ['aes256-sha256-modp2048'] }]);
  });

  it('fails on silence with the firewall as the fix; a NO_PROPOSAL_CHOSEN still counts as an answer', async () => {
    const silent = await one(ike4500Check, base, { ikeProbe: probeBy({ 4500: { kind: 'silent', waitedMs: 6000 } }) });
    expect(silent.status).toBe('fail');
    expect(silent.evidence).toBe('198.51.100.2: no answer within 6 s (3 tries)');
    expect(silent.fix).toMatch(/^UDP 4500 carries IKE and ESP once a NAT is detected.*Allow UDP 4500 outbound/);
    const refused: IkeProbeResult = { kind: 'answered', local: { address: '10.0.0.2', port: 1 }, response: { spiR: Buffer.alloc(8), notifies: [{ type: 14, data: Buffer.alloc(0) }], accepted: false } };
    expect(await one(ike500Check, base, { ikeProbe: probeBy({ 500: refused }) })).toMatchObject({ status: 'pass', evidence: '198.51.100.2: answered with NO_PROPOSAL_CHOSEN' });
  });

  it('only warns for an L2TP profile, whose IKEv1 gateway may ignore IKEv2', async () => {
    const l2tp = withProfile({ type: 'l2tp', espProposals: ['aes256-sha256-modp2048'], ikeProposals: ['aes256-sha256-modp2048'] });
    expect((await one(ike500Check, l2tp, { ikeProbe: probeBy({ 500: { kind: 'silent', waitedMs: 6000 } }) })).status).toBe('warn');
    const bothSilent = await one(ike4500Check, l2tp, { ikeProbe: probeBy({ 500: { kind: 'silent', waitedMs: 6000 }, 4500: { kind: 'silent', waitedMs: 6000 } }) });
    expect(bothSilent).toMatchObject({ status: 'warn', evidence: '198.51.100.2: no answer within 6 s (3 tries) (the probe speaks IKEv2; an IKEv1-only L2TP gateway may ignore it)' });
  });

  it('fails an L2TP profile\'s silent UDP 4500 when the same gateway answered IKEv2 on 500 (seen in the QEMU lab with 4500 blocked)', async () => {
    const l2tp = withProfile({ type: 'l2tp', espProposals: ['aes256-sha256-modp2048'], ikeProposals: ['aes256-sha256-modp2048'] });
    const result = await one(ike4500Check, l2tp, { ikeProbe: probeBy({ 500: answered(true), 4500: { kind: 'silent', waitedMs: 6000 } }) });
    expect(result.status).toBe('fail');
    expect(result.evidence).toBe('198.51.100.2: no answer within 6 s (3 tries) (the same gateway answers IKEv2 on UDP 500, so UDP 4500 is blocked on the way)');
    expect(result.fix).toMatch(/Allow UDP 4500 outbound/);
  });
});

describe('network.nat-t', () => {
  it('passes without NAT, and with NAT when UDP 4500 answers', async () => {
    expect((await one(natTraversalCheck, base, { ikeProbe: probeBy({ 500: answered(false) }) })).evidence).toMatch(/^no NAT between 10.77.5.2 and 198.51.100.2/);
    const nat = await one(natTraversalCheck, base, { ikeProbe: probeBy({ 500: answered(true), 4500: answered(true) }) });
    expect(nat).toMatchObject({ status: 'pass', evidence: 'NAT detected: this machine (10.77.5.2) is behind a NAT; UDP 4500 answers, and the strongSwan client switches to NAT-T by itself' });
  });

  it('fails behind a NAT when UDP 4500 is silent', async () => {
    const result = await one(natTraversalCheck, base, { ikeProbe: probeBy({ 500: answered(true), 4500: { kind: 'silent', waitedMs: 6000 } }) });
    expect(result.status).toBe('fail');
    expect(result.fix).toMatch(/allow UDP 4500 outbound/);
  });

  it('skips without NAT_DETECTION notifies or without an answer', async () => {
    expect((await one(natTraversalCheck, base, { ikeProbe: probeBy({ 500: answered() }) })).status).toBe('skip');
    expect((await one(natTraversalCheck, base, { ikeProbe: probeBy({ 500: { kind: 'silent', waitedMs: 1 } }) })).status).toBe('skip');
  });
});

describe('network.routes', () => {
  it('ipv4InCidr: the route check\'s containment test', () => {
    expect(ipv4InCidr('10.99.0.1', '10.99.0.0/24')).toBe(true);
    expect(ipv4InCidr('10.99.1.1', '10.99.0.0/24')).toBe(false);
    expect(ipv4InCidr('192.0.2.1', '0.0.0.0/0')).toBe(true);
    expect(ipv4InCidr('10.99.0.1', '10.99.0.1/32')).toBe(true);
    expect(ipv4InCidr('192.169.0.1', '192.168.0.0/16')).toBe(false);
    expect(ipv4InCidr('10.0.0.1', 'fd00::/8')).toBe(false);
  });

  it('passes when a route covers the repository host, fails with the route to add otherwise', async () => {
    expect(await one(splitRoutesCheck, base)).toMatchObject({ status: 'pass', evidence: '10.99.0.1 is inside 10.99.0.0/24' });
    const result = await one(splitRoutesCheck, withProfile({ routes: ['10.98.0.0/24'] }));
    expect(result).toMatchObject({ status: 'fail', evidence: '10.99.0.1: 10.99.0.1 is outside the routes of profiles.lab (10.98.0.0/24)' });
    expect(result.fix).toMatch(/^Add 10.99.0.1\/32 \(or its subnet\) to profiles.lab.routes/);
    expect((await one(splitRoutesCheck, withProfile({ routes: [], fullTunnel: true }))).status).toBe('pass');
  });
});
