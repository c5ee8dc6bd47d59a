/**
 * The fault lab's smoke test (issue 7): one tunnel drop in the middle of a real backup. The real
 * agent runs in the lab's client namespace (test/helpers/swan-host-lab.ts: client ↔ NAT ↔ server,
 * IKEv2 with certificates over strongSwan's userspace ESP, `rclone serve restic` on the server's
 * private address) and backs up with restic through the tunnel, slowed by --limit-upload so the
 * drop lands mid-upload. The client's charon is stopped; the session must repair the tunnel
 * underneath the running restic (backing-up → reconnecting → backing-up → done), the repository
 * must check clean, and an nftables counter on the client's WAN interface must see no packet to the
 * repository subnet leave outside the tunnel (the kill switch).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent, SessionRecord } from '../../src/api/types.js';
import { startAgent, writeJobConfig, type AgentUnderTest } from '../helpers/agent-process.js';
import { LAB_ESP, LAB_GATEWAY, LAB_IKE, LAB_REPO_HOST, LAB_REPO_SUBNET, sh, swanHostLab, swanHostLabAvailable, waitFor } from '../helpers/swan-host-lab.js';

const TAG = 'bh7';
const lab = swanHostLab(TAG);
const { ns } = lab;
const PROFILE = 'lab';
const JOB = 'offsite';
const REPO = 'onedrop';
const skipReason = swanHostLabAvailable ? '' : ' (skipped: needs root, strongSwan with kernel-libipsec, /dev/net/tun, restic, rclone, openssl and nft)';

let agent: AgentUnderTest | undefined;
let home = '';
let passwordFile = '';

/** Counts what leaves the client's WAN interface for the repository subnet in clear. */
async function leakCounterUp(): Promise<void> {
  const rules = `table ip ${TAG}leak {\n chain out {\n  type filter hook output priority filter;\n  oifname "${TAG}c0" ip daddr ${LAB_REPO_SUBNET} counter\n }\n}\n`;
  await sh(`ip netns exec ${ns.client} nft -f -`, { stdin: rules });
}

async function leakedPackets(): Promise<number> {
  const text = await sh(`ip netns exec ${ns.client} nft list table ip ${TAG}leak`);
  return Number(/counter packets (\d+)/.exec(text)?.[1] ?? 'NaN');
}

describe.skipIf(!swanHostLabAvailable)(`one tunnel drop during a real restic backup${skipReason}`, () => {
  beforeAll(async () => {
    await lab.start();
    const data = join(lab.dir, 'data');
    mkdirSync(data);
    // Incompressible: at 1 MiB/s the 16 MiB keep restic uploading for about 16 s.
    for (let i = 0; i < 4; i++) writeFileSync(join(data, `part-${i}.bin`), randomBytes(4 * 1024 * 1024));
    home = join(lab.dir, 'home');
    mkdirSync(home);
    const password = `pw-${randomBytes(6).toString('hex')}`;
    passwordFile = join(lab.dir, 'repo.pw');
    writeFileSync(passwordFile, password, { mode: 0o600 });
    const repository = await lab.initRepo(REPO, passwordFile);
    const pki = join(lab.dir, 'pki');
    await writeJobConfig(home, {
      name: JOB, data, repository, password, bandwidthLimit: '1 MiB/s',
      profile: {
        name: PROFILE,
        settings: {
          type: 'ikev2', driver: 'linux-swan', gateways: [LAB_GATEWAY], routes: [LAB_REPO_SUBNET],
          auth: { method: 'certificate', certificate: join(pki, 'client.pem'), key: `file:${join(pki, 'client.key')}`, ca: join(pki, 'ca.pem') },
          ikeProposals: [LAB_IKE], espProposals: [LAB_ESP],
          // Tiny values so the drop is noticed within seconds; the deadline bounds a broken run.
          keepaliveSeconds: 5, stallIntervals: 2, reconnectDeadlineSeconds: 90,
        },
      },
    });
    await leakCounterUp();
  }, 120_000);

  afterAll(async () => {
    if (agent !== undefined && agent.process.exitCode === null && agent.process.signalCode === null) {
      agent.process.kill('SIGTERM');
      await agent.exited;
    }
    await lab.close();
  }, 60_000);

  it('stopping the client\'s charon mid-upload: reconnecting underneath restic, then done; the repository checks clean; nothing leaked', async () => {
    agent = await startAgent(home, [], { wrapper: ['ip', 'netns', 'exec', ns.client] });
    const running = agent;
    const charonPidFile = join(home, 'state', 'tunnels', PROFILE, 'run', 'charon.pid');
    const controller = new AbortController();
    const timer = setTimeout(() => { controller.abort(); }, 110_000);
    let record: SessionRecord | undefined;
    let dropped = false;
    let leakBeforeDrop = Number.NaN;
    let leakAfterRepair = Number.NaN;
    let routeDuringOutage = '';
    const live: string[] = [];
    let acting = Promise.resolve();
    await running.client.events((event: AgentEvent) => {
      if (event.type === 'snapshot') void running.client.startRun(JOB);
      if (event.type === 'session' && event.session.state !== live.at(-1)) live.push(event.session.state);
      acting = acting.then(async () => {
        if (!dropped && event.type === 'progress' && event.progress.bytesDone >= 3 * 1024 * 1024) {
          dropped = true;
          leakBeforeDrop = await leakedPackets();
          // Like the lab's case A: charon stopped (SIGTERM), so the tunnel, its TUN device and its
          // table-220 route vanish under the running restic.
          const pid = Number(readFileSync(charonPidFile, 'utf8').trim());
          process.kill(pid, 'SIGTERM');
          await waitFor('the client charon to exit', () => !existsSync(`/proc/${pid}`), 100);
          // Its routes are gone now: the pin must be what 10.99.0.1 resolves to, not the WAN.
          routeDuringOutage = await sh(`ip -n ${ns.client} route get ${LAB_REPO_HOST} 2>&1 || true`);
        }
        if (event.type === 'session' && event.session.state === 'backing-up' && live.includes('reconnecting') && Number.isNaN(leakAfterRepair)) {
          leakAfterRepair = await leakedPackets();
        }
        if (event.type === 'ended') {
          record = event.record;
          controller.abort();
        }
      });
    }, controller.signal).catch(() => undefined);
    clearTimeout(timer);
    await acting;

    expect(dropped).toBe(true);
    expect(record, running.output()).toBeDefined();
    expect(record?.failure).toBeUndefined();
    // The whole record on failure: which losses, when, and how the repair went.
    expect(record?.states.map((s) => s.state), JSON.stringify(record?.tunnelLosses)).toEqual([
      'preflight', 'connecting', 'verifying', 'backing-up', 'reconnecting', 'backing-up', 'tearing-down', 'done',
    ]);
    expect(record?.result).toBe('success');
    expect(record?.tunnelLosses).toHaveLength(1);
    expect(record?.tunnelLosses?.[0]).toMatchObject({ cause: 'down' });
    expect(record?.tunnelLosses?.[0]?.flowingAt).toBeDefined();
    // Nothing re-uploaded: restic added about the data set once (16 MiB, + pack overhead).
    expect(record?.summary?.bytesAdded).toBeLessThan(16 * 1024 * 1024 * 1.05);

    // The kill switch: while charon was gone the subnet was unreachable (or already repaired:
    // ipsec0), never routed out of the WAN; no clear packet left during the outage (nor before).
    expect(routeDuringOutage).toMatch(/No route to host|unreachable|dev ipsec0/);
    expect(routeDuringOutage).not.toContain(`dev ${TAG}c0`);
    expect(leakBeforeDrop).toBe(0);
    expect(leakAfterRepair).toBe(0);
    expect(await leakedPackets()).toBe(0);

    const check = await sh(`RESTIC_PASSWORD_FILE=${passwordFile} restic --no-cache -r ${lab.dir}/repos/${REPO} check 2>&1`);
    expect(check).toContain('no errors were found');
    // The session's teardown left the client namespace as it found it: no pin, no table 220.
    expect(await sh(`ip -n ${ns.client} route show`)).not.toContain('unreachable');
    expect((await sh(`ip -n ${ns.client} route show table 220 2>/dev/null || true`)).trim()).toBe('');
  });
});
