import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { driverForCleanUp, planTunnel, TunnelPlanError } from '../../src/agent/tunnel-plan.js';
import { validateConfigData, type Config } from '../../src/config/schema.js';
import { REDACTED, SecretRedactor } from '../../src/os/redact.js';
import { l2tpPsk, labHost, PASSWORD, PSK } from '../connect/linux-fakes.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bh5-plan-'));
  for (const [name, value] of [['psk', PSK], ['password', PASSWORD], ['repo', 'repo-pw'], ['client.key', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n']]) {
    writeFileSync(join(dir, name ?? ''), `${value ?? ''}\n`, { mode: 0o600 });
  }
  writeFileSync(join(dir, 'client.pem'), 'CERT');
});
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

function config(profile: Record<string, unknown>): Config {
  const result = validateConfigData({
    jobs: { nightly: { sources: ['/srv'], repository: 'rest:http://10.99.0.1:8000/r', password: `file:${dir}/repo`, profile: 'office' } },
    profiles: {
      office: {
        type: 'l2tp',
        gateways: ['203.0.113.2'],
        routes: ['10.99.0.0/24'],
        auth: { method: 'psk', psk: `file:${dir}/psk`, username: 'vpnuser', password: `file:${dir}/password` },
        ...profile,
      },
    },
  });
  if (!result.success) throw new Error(JSON.stringify(result.issues));
  return result.data;
}

function context(cfg: Config, redactor = new SecretRedactor(), logs: string[] = []) {
  return { config: cfg, runner: new ReplayingCommandRunner([]), redactor, stateDir: dir, probe: () => Promise.resolve(labHost), log: (_l: string, m: string) => logs.push(m) };
}

describe('planTunnel', () => {
  it('needs no tunnel for profile direct', async () => {
    const plan = await planTunnel(context(config({})), 'nightly', 'direct');
    expect(plan.driver.name).toBe('direct');
  });

  it('resolves the profile: secrets registered with the redactor, default proposals, keepalive, the driver the host offers', async () => {
    const redactor = new SecretRedactor();
    const plan = await planTunnel(context(config({}), redactor), 'nightly', 'office');
    expect(plan.driver.name).toBe('linux-nm');
    // the unit tests' profile is exactly what the docs' defaults resolve to
    expect(plan.profile).toEqual({ ...l2tpPsk, mssClamp: false });
    expect(redactor.redact(`${PSK} ${PASSWORD}`)).toBe(`${REDACTED} ${REDACTED}`);
  });

  it('honours driver: linux-swan', async () => {
    expect((await planTunnel(context(config({ driver: 'linux-swan' })), 'nightly', 'office')).driver.name).toBe('linux-swan');
  });

  it('refuses 3DES/SHA-1/modp1024 before resolving a secret or probing the host', async () => {
    rmSync(join(dir, 'psk'));
    const ctx = { ...context(config({ ikeProposals: ['3des-sha1-modp1024'] })), probe: () => Promise.reject(new Error('must not probe')) };
    const error = await planTunnel(ctx, 'nightly', 'office').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TunnelPlanError);
    expect(error).toMatchObject({
      code: 'tunnel.weak-cipher',
      message:
        'profiles.office: refused before contacting the gateway: "3des-sha1-modp1024" (IKE) uses 3des: 3DES has a 64-bit block (Sweet32); ' +
        'sha1: SHA-1 is deprecated for IPsec integrity (RFC 8221, RFC 8247); modp1024: DH group 2 (1024-bit) is below group 14',
      hint: "Use strong proposals such as aes256-sha256-modp2048 (IKE) and aes256-sha256 or aes256gcm16 (ESP). If the gateway can't do better and your policy allows it, set profiles.office.cipherPolicy: legacy.",
    });
  });

  it('allows weak proposals under cipherPolicy: legacy, with a warning in the session log', async () => {
    const logs: string[] = [];
    await planTunnel(context(config({ espProposals: ['aes256-sha1'], cipherPolicy: 'legacy' }), new SecretRedactor(), logs), 'nightly', 'office');
    expect(logs).toEqual([
      'profiles.office uses weak ciphers, allowed by cipherPolicy: legacy: "aes256-sha1" (ESP) uses sha1: SHA-1 is deprecated for IPsec integrity (RFC 8221, RFC 8247)',
      'profiles.office authenticates with a pre-shared key; certificates are recommended (a PSK is shared by every client, and NetworkManager-l2tp keeps it in /etc/ipsec.d while connected)',
    ]);
  });

  it('certificate auth needs a key reference and readable certificate files', async () => {
    const cert = { method: 'certificate', certificate: join(dir, 'client.pem'), ca: join(dir, 'missing-ca.pem') };
    await expect(planTunnel(context(config({ auth: cert })), 'nightly', 'office')).rejects.toMatchObject({ code: 'config.missing-key' });
    await expect(planTunnel(context(config({ auth: { ...cert, key: `file:${dir}/client.key` } })), 'nightly', 'office')).rejects.toMatchObject({
      code: 'config.certificate-missing',
      message: `profiles.office.auth.ca: ${join(dir, 'missing-ca.pem')} does not exist or can't be read`,
    });
  });

  it('says which package is missing when the host has no client for the type', async () => {
    const ctx = { ...context(config({})), probe: () => Promise.resolve({ ...labHost, networkManagerRunning: false, hasStrongSwan: false }) };
    await expect(planTunnel(ctx, 'nightly', 'office')).rejects.toMatchObject({ code: 'tunnel.driver-unavailable', hint: expect.stringContaining('network-manager-l2tp') as unknown });
  });
});

describe('driverForCleanUp', () => {
  it('gives crash recovery a driver for each Linux driver name, and none for unknown ones', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: ['ip', 'route', 'del', '10.99.0.0/24', 'dev', 'ppp0'], reply: {} },
      { argv: ['nmcli', '-w', '30', 'connection', 'down', 'id', 'backhaul-office'], reply: {} },
    ]);
    const nm = driverForCleanUp('linux-nm', { runner, stateDir: dir });
    await nm?.cleanUp?.({ profile: 'office', tunnelUp: true, resources: [{ kind: 'route', id: '10.99.0.0/24 dev ppp0' }] }, new AbortController().signal);
    runner.assertDone();
    expect(driverForCleanUp('linux-swan', { runner, stateDir: dir })?.name).toBe('linux-swan');
    expect(driverForCleanUp('wireguard', { runner, stateDir: dir })).toBeUndefined();
  });
});
