/**
 * `backhaul doctor` against the host fault lab (test/helpers/swan-host-lab.ts): the real CLI runs
 * inside the client namespace, sends real IKE_SA_INIT packets to the server's charon through the
 * NAT, brings the real linux-swan tunnel up, probes the MTU and opens the repository with restic.
 * First every item passes; then each is broken on purpose — UDP 4500 blocked at the NAT, a weak
 * proposal, a tiny MTU on the client's link with fragments dropped at the NAT, an expired client
 * certificate, a wrong repository password — and must fail with the right fix text.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DoctorReportSchema } from '../../../src/agent/doctor/report-schema.js';
import type { CheckReport, DoctorReport } from '../../../src/agent/doctor/types.js';
import { prepareLabHome, JOB, PROFILE } from '../../helpers/lab-job.js';
import { RESTIC_018_PATH } from '../../helpers/restic-lab.js';
import { labRunner, sh, swanHostLab, swanHostLabAvailable, swanHostLabSkipReason } from '../../helpers/swan-host-lab.js';
import { existsSync } from 'node:fs';

const TAG = 'bh20';
const lab = swanHostLab(TAG);
const skipReason = swanHostLabSkipReason;
const root = join(import.meta.dirname, '..', '..', '..');

let home = '';
let passwordFile = '';
let configText = '';

interface DoctorRun {
  readonly exitCode: number | null;
  readonly report: DoctorReport;
  readonly byId: ReadonlyMap<string, CheckReport>;
  readonly text: string;
}

/** `backhaul doctor JOB --json` in the client namespace, validated against the report schema. */
async function doctor(): Promise<DoctorRun> {
  const result = await labRunner.run({
    argv: ['ip', 'netns', 'exec', lab.ns.client, process.execPath, '--import', 'tsx', join(root, 'src', 'cli', 'bin.ts'), 'doctor', JOB, '--json'],
    cwd: root,
    env: { BACKHAUL_HOME: home },
    okExitCodes: 'any',
    timeoutMs: 240_000,
  });
  const parsed = DoctorReportSchema.safeParse(JSON.parse(result.stdout));
  if (!parsed.success) throw new Error(`doctor's JSON does not match its schema: ${parsed.error.message}\n${result.stdout}\n${result.stderr}`);
  const report = parsed.data as DoctorReport;
  const byId = new Map(report.reports.flatMap((r) => r.checks).map((c) => [c.id, c]));
  return { exitCode: result.exitCode, report, byId, text: result.stdout };
}

function status(run: DoctorRun, id: string): string {
  const check = run.byId.get(id);
  return `${check?.status ?? 'missing'}: ${check?.evidence ?? ''}${check?.fix === undefined ? '' : ` | fix: ${check.fix}`}`;
}

/** Rewrites the profile in the home's config (JSON is YAML) with `changes` on top of the lab's settings. */
function setProfile(changes: Record<string, unknown>): void {
  const line = configText.split('\n').find((l) => l.startsWith('profiles: ')) ?? '';
  const profiles = JSON.parse(line.slice('profiles: '.length)) as Record<string, Record<string, unknown>>;
  profiles[PROFILE] = { ...profiles[PROFILE], ...changes };
  writeFileSync(join(home, 'config.yaml'), configText.replace(line, `profiles: ${JSON.stringify(profiles)}`));
}

const NETWORK_AND_PROFILE = ['vpn.auth', 'vpn.ciphers', 'vpn.keepalive', 'network.gateway-dns', 'network.ike-500', 'network.ike-4500', 'network.nat-t', 'network.tunnel', 'network.routes', 'network.mtu', 'repository.access'];

describe.skipIf(!swanHostLabAvailable)(`backhaul doctor against the host lab${skipReason}`, () => {
  beforeAll(async () => {
    await lab.start();
    const data = join(lab.dir, 'doctor-data');
    mkdirSync(data);
    writeFileSync(join(data, 'a.txt'), randomBytes(1024));
    // PFS on: the child SA proposal names a DH group (the gateway strips it for the first child SA).
    const prepared = await prepareLabHome(lab, 'doctor', data, {
      ...(existsSync(RESTIC_018_PATH) ? { resticPath: RESTIC_018_PATH } : {}),
      profileExtra: { espProposals: ['aes256gcm16-ecp256'] },
    });
    home = prepared.home;
    // The lab's certificates live 2 days, which doctor rightly warns about: a client certificate for 400 days from the same CA.
    const pki = join(lab.dir, 'pki');
    await sh(`cd ${pki}; openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 400 -extfile client.ext -out client-400d.pem 2>/dev/null`);
    writeFileSync(join(home, 'config.yaml'), readFileSync(join(home, 'config.yaml'), 'utf8').replace(`"certificate":"${join(pki, 'client.pem')}"`, `"certificate":"${join(pki, 'client-400d.pem')}"`));
    passwordFile = join(home, `${JOB}.pw`);
    configText = readFileSync(join(home, 'config.yaml'), 'utf8');
  }, 180_000);

  afterAll(async () => {
    await lab.blockUdpPort(4500, false).catch(() => undefined);
    await lab.close();
  }, 60_000);

  it('passes every item of a healthy setup: IKE answers on 500 and 4500, the NAT is seen, the tunnel, routes, MTU and repository are fine', { timeout: 300_000 }, async () => {
    const run = await doctor();
    for (const id of NETWORK_AND_PROFILE) expect(status(run, id), id).toMatch(/^pass: /);
    expect(run.byId.get('network.ike-500')?.evidence).toBe('198.51.100.2: IKE_SA_INIT response, proposal accepted');
    // The lab's NAT masquerades the client (10.77.5.2 → 198.51.100.1): the gateway's NAT_DETECTION hash says so.
    expect(run.byId.get('network.nat-t')?.evidence).toMatch(/^NAT detected: this machine \(10\.77\.5\.2\) is behind a NAT; /);
    // The lab's gateway runs userspace ESP, so strongSwan fakes its own NAT hash to force UDP encapsulation.
    expect(run.byId.get('network.nat-t')?.evidence).toContain('the gateway reports its own address as translated');
    expect(run.byId.get('network.nat-t')?.evidence).toMatch(/UDP 4500 answers, and the strongSwan client switches to NAT-T by itself$/);
    expect(run.byId.get('network.tunnel')?.evidence).toMatch(/^up with the linux-swan driver/);
    expect(run.byId.get('repository.access')?.evidence).toMatch(/the password opens it; 0 snapshots$/);
    expect(status(run, 'host.logs-metrics')).toMatch(/^pass: /);
    expect(status(run, 'host.full-disk-access')).toBe('skip: macOS only');
    expect(run.report.summary.fail, run.text).toBe(0);
    expect(run.exitCode).toBe(0);
  });

  it('UDP 4500 blocked at the NAT: ike-4500 and NAT-T fail with "allow UDP 4500", and the tunnel does not come up', { timeout: 300_000 }, async () => {
    await lab.blockUdpPort(4500, true);
    try {
      const run = await doctor();
      expect(status(run, 'network.ike-500')).toMatch(/^pass: /);
      expect(status(run, 'network.ike-4500')).toMatch(/^fail: 198\.51\.100\.2: no answer within 6 s \(3 tries\) \| fix: UDP 4500 carries IKE and ESP once a NAT is detected.*Allow UDP 4500 outbound/);
      expect(status(run, 'network.nat-t')).toMatch(/^fail: NAT detected: .*but UDP 4500 to 198\.51\.100\.2 gets no IKE answer \| fix: Behind a NAT, IKE and ESP move to UDP 4500 \(NAT-T\): allow UDP 4500/);
      expect(status(run, 'network.tunnel')).toMatch(/^fail: /);
      expect(status(run, 'repository.access')).toMatch(/^skip: the tunnel is not up/);
      expect(run.exitCode).toBe(1);
    } finally {
      await lab.blockUdpPort(4500, false);
    }
  });

  it('a weak proposal in the profile: the cipher policy fails naming each algorithm, and nothing weak reaches the gateway', { timeout: 300_000 }, async () => {
    setProfile({ ikeProposals: ['3des-sha1-modp1024'] });
    try {
      const run = await doctor();
      expect(status(run, 'vpn.ciphers')).toMatch(/^fail: IKE 3des-sha1-modp1024; .*3des: 3DES has a 64-bit block.*sha1: SHA-1 is deprecated.*modp1024: DH group 2 \(1024-bit\) is below group 14 \| fix: Use strong proposals in profiles\.lab\.ikeProposals/);
      // The probe offered Backhaul's strong defaults instead, which the gateway accepts.
      expect(status(run, 'network.ike-500')).toMatch(/^pass: /);
      expect(status(run, 'network.tunnel')).toMatch(/^fail: tunnel\.weak-cipher: /);
      expect(run.exitCode).toBe(1);
    } finally {
      writeFileSync(join(home, 'config.yaml'), configText);
    }
  });

  it('a tiny MTU on the client\'s link with fragments dropped at the NAT: the MTU check fails and says which mtu and mssClamp to set', { timeout: 300_000 }, async () => {
    // 1280: IKE's own fragments (strongSwan's default fragment_size) still fit, big ESP packets don't.
    await sh(`ip -n ${lab.ns.client} link set ${TAG}c0 mtu 1280`);
    await sh(`ip netns exec ${lab.ns.nat} nft add table ip ${TAG}frag
      ip netns exec ${lab.ns.nat} nft add chain ip ${TAG}frag pre '{ type filter hook prerouting priority -450; }'
      ip netns exec ${lab.ns.nat} nft add rule ip ${TAG}frag pre 'ip frag-off & 0x3fff != 0 drop'`);
    try {
      const run = await doctor();
      expect(status(run, 'network.tunnel')).toMatch(/^pass: /);
      expect(status(run, 'network.mtu')).toMatch(/^fail: only \d+ bytes cross the tunnel to 10\.99\.0\.1 with don't-fragment set, but the MTU in force is 1400 \(the tunnel interface\).* \| fix: Set profiles\.lab\.mtu: \d+ and profiles\.lab\.mssClamp: true/);
      const measured = Number(/only (\d+) bytes/.exec(run.byId.get('network.mtu')?.evidence ?? '')?.[1]);
      expect(measured).toBeGreaterThan(1100);
      expect(measured).toBeLessThan(1280);
      expect(run.exitCode).toBe(1);
    } finally {
      await sh(`ip -n ${lab.ns.client} link set ${TAG}c0 mtu 1500; ip netns exec ${lab.ns.nat} nft delete table ip ${TAG}frag`);
    }
  });

  it('an expired client certificate: vpn.auth fails with its end date and "Renew", and the gateway refuses the tunnel', { timeout: 300_000 }, async () => {
    const pki = join(lab.dir, 'pki');
    await sh(`
      cd ${pki}
      printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=index.txt\\nnew_certs_dir=.\\nserial=serial\\ndefault_md=sha256\\npolicy=p\\n[p]\\norganizationName=optional\\ncommonName=supplied\\n[ext]\\nsubjectAltName=DNS:client.hostlab\\n' > expired.cnf
      : > index.txt; echo 1000 > serial
      # A key of its own: the gateway must not find the valid certificate of the same key in its cache.
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out expired.key 2>/dev/null; chmod 600 expired.key
      openssl req -new -key expired.key -subj "/O=Backhaul Host Lab/CN=client.hostlab" -out expired.csr 2>/dev/null
      openssl ca -batch -config expired.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem -startdate 20240101000000Z -enddate 20240201000000Z -notext -extensions ext 2>/dev/null
    `);
    setProfile({ auth: { method: 'certificate', certificate: join(pki, 'expired.pem'), key: `file:${join(pki, 'expired.key')}`, ca: join(pki, 'ca.pem') } });
    try {
      const run = await doctor();
      expect(status(run, 'vpn.auth')).toMatch(/^fail: O=Backhaul Host Lab, CN=client\.hostlab: expired on 2024-02-01T00:00:00\.000Z \| fix: Renew the certificate/);
      expect(status(run, 'network.tunnel')).toMatch(/^fail: /);
      expect(run.exitCode).toBe(1);
    } finally {
      writeFileSync(join(home, 'config.yaml'), configText);
    }
  });

  it('a wrong repository password: repository.access fails with backup.wrong-password and says to set the password the repository was created with', { timeout: 300_000 }, async () => {
    const right = readFileSync(passwordFile);
    writeFileSync(passwordFile, 'not-the-password', { mode: 0o600 });
    try {
      const run = await doctor();
      expect(status(run, 'network.tunnel')).toMatch(/^pass: /);
      expect(status(run, 'repository.access')).toMatch(/^fail: rest:http:\/\/10\.99\.0\.1:8000\/doctor: backup\.wrong-password: restic could not open the repository with this password\. \| fix: Set the password the repository was created with/);
      expect(run.text).not.toContain('not-the-password');
      expect(run.exitCode).toBe(1);
    } finally {
      writeFileSync(passwordFile, right, { mode: 0o600 });
    }
  });
});
