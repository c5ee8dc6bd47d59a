/**
 * The linux-swan driver for real, on this host, without a VM: IKEv2 with certificates between
 * network namespaces (client ↔ NAT ↔ server), ESP in strongSwan's userspace (kernel-libipsec on
 * a TUN device: this kernel has no ESP), a restic backup through the tunnel to `rclone serve
 * restic` on the server's private address, then teardown leaving nothing. Everything runs in
 * namespaces named bh5-<pid>-*, removed afterwards (the lab: test/helpers/swan-host-lab.ts). Needs
 * root, strongSwan with libcharon-extra-plugins, /dev/net/tun, restic, rclone and openssl; skipped
 * otherwise.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TunnelProfile } from '../../src/connect/driver.js';
import type { HostFacts } from '../../src/connect/host-probe.js';
import { createLinuxSwanDriver } from '../../src/connect/linux-swan.js';
import { recordingJournal } from '../connect/linux-fakes.js';
import { inNamespace, LAB_ESP, LAB_GATEWAY, LAB_IKE, LAB_REPO_HOST, LAB_REPO_SUBNET, labRunner as real, sh, swanHostLab, swanHostLabAvailable } from '../helpers/swan-host-lab.js';

const lab = swanHostLab('bh5');
const { ns } = lab;
const SERVER = LAB_GATEWAY;
const REPO = LAB_REPO_HOST;
const signal = new AbortController().signal;
let dir: string;

describe.skipIf(!swanHostLabAvailable)('linux-swan on this host: IKEv2 over userspace ESP between namespaces', () => {
  beforeAll(async () => {
    await lab.start();
    dir = lab.dir;
    mkdirSync(join(dir, 'data'));
    await sh(`printf 'repo-pw\\n' > ${dir}/repo.pw; head -c 8388608 /dev/urandom > ${dir}/data/blob.bin`);
    await lab.initRepo('r', join(dir, 'repo.pw'));
  }, 120_000);

  afterAll(() => lab.close(), 60_000);

  const host: HostFacts = {
    platform: 'linux', networkManagerRunning: false, networkManagerPlugins: [], hasStrongSwan: true, hasXl2tpd: false,
    kernelEsp: false, kernelL2tp: false, charonPath: '/usr/lib/ipsec/charon', userspaceEsp: true, nmL2tpAuthDialog: false,
  };
  const profile = (key = 'client'): TunnelProfile => ({
    name: 'hostlab',
    type: 'ikev2',
    gateways: [SERVER],
    routes: [LAB_REPO_SUBNET],
    fullTunnel: false,
    auth: { method: 'certificate', certificate: join(dir, 'pki', `${key}.pem`), keyPath: join(dir, 'pki', `${key}.key`), key: readFileSync(join(dir, 'pki', `${key}.key`), 'utf8'), ca: join(dir, 'pki', 'ca.pem') },
    ikeProposals: [LAB_IKE],
    espProposals: [LAB_ESP],
    cipherPolicy: 'strict',
    keepalive: { intervalSeconds: 10, failures: 3 },
  });

  it('the repository is not reachable from the client without the tunnel', async () => {
    const probe = await real.run({ argv: ['ip', 'netns', 'exec', ns.client, 'timeout', '5', 'bash', '-c', `exec 3<>/dev/tcp/${REPO}/8000`], okExitCodes: 'any' });
    expect(probe.exitCode).not.toBe(0);
  });

  it('connects, verifies (route, MTU probe), backs up through the tunnel, and tears down leaving nothing', async () => {
    const runner = inNamespace(real, ns.client);
    const logs: string[] = [];
    const state = join(dir, 'state');
    const swan = createLinuxSwanDriver({ runner, host, stateDir: state, log: (_level, line) => logs.push(line), pacing: { pollMs: 100 } });
    const journal = recordingJournal();
    const outcome = await swan.connect(profile(), signal, journal);
    try {
      expect(outcome).toMatchObject({ broughtUp: true, status: { state: 'up', interfaceName: 'ipsec0' } });
      expect(outcome.status.localAddress).toMatch(/^10\.88\.5\.\d+$/);
      await swan.verify?.(profile(), REPO, signal, journal);
      // computed 1438 for AES-GCM behind NAT, capped at kernel-libipsec's fixed 1400
      expect(logs).toEqual(["MTU 1400 confirmed by a don't-fragment probe to 10.99.0.1 (computed from the encapsulation: 1400)"]);
      expect(await swan.status(profile(), signal)).toMatchObject({ state: 'up' });

      const backup = await runner.run({
        argv: ['restic', '--no-cache', '-q', '-r', `rest:http://${REPO}:8000/r`, 'backup', join(dir, 'data')],
        env: { RESTIC_PASSWORD_FILE: join(dir, 'repo.pw') },
        timeoutMs: 90_000,
      });
      expect(backup.exitCode).toBe(0);
      await sh(`RESTIC_PASSWORD_FILE=${dir}/repo.pw restic --no-cache -q -r ${dir}/repos/r check`);
    } finally {
      await swan.disconnect(profile(), signal, journal);
    }
    expect(journal.held()).toEqual([]);
    expect(existsSync(join(state, 'tunnels', 'hostlab'))).toBe(false);
    // no TUN device, no route in table 220, no process left in the client namespace
    const left = await sh(`ip -n ${ns.client} -o link show | grep -c ipsec || true; ip -n ${ns.client} route show table 220 | grep -v '^throw' || true; ip netns pids ${ns.client}`);
    expect(left.trim()).toBe('0');
  }, 120_000);

  it('a certificate from another CA is rejected by the gateway, with a diagnosis, and nothing stays', async () => {
    await sh(`cd ${dir}/pki; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out rogue-ca.key 2>/dev/null
      openssl req -x509 -new -key rogue-ca.key -days 2 -subj "/O=Rogue/CN=Rogue CA" -out rogue-ca.pem 2>/dev/null
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out rogue.key 2>/dev/null; chmod 600 rogue.key
      openssl req -new -key rogue.key -subj "/O=Rogue/CN=client.hostlab" -out rogue.csr 2>/dev/null
      openssl x509 -req -in rogue.csr -CA rogue-ca.pem -CAkey rogue-ca.key -CAcreateserial -days 2 -out rogue.pem 2>/dev/null`);
    const state = join(dir, 'state-rogue');
    const swan = createLinuxSwanDriver({ runner: inNamespace(real, ns.client), host, stateDir: state, pacing: { pollMs: 100 } });
    const journal = recordingJournal();
    await expect(swan.connect(profile('rogue'), signal, journal)).rejects.toMatchObject({
      code: 'tunnel.auth-rejected',
      message: "profile hostlab: the gateway rejected this machine's credentials (likely cause: the gateway does not accept this certificate or pre-shared key: an unknown CA, a revoked certificate or a wrong identity)",
    });
    expect(journal.held()).toEqual([]);
    expect(existsSync(join(state, 'tunnels', 'hostlab'))).toBe(false);
  }, 90_000);
});
