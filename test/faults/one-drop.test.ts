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
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, stopAgent, type AgentUnderTest } from '../helpers/agent-process.js';
import { LAB_REPO_HOST, sh, swanHostLab, swanHostLabAvailable, swanHostLabSkipReason, waitFor } from '../helpers/swan-host-lab.js';
import { charonPidFile, leakCounterUp, leakedPackets, prepareFaultJob, runJobOnce } from './fault-job.js';

const TAG = 'bh7';
const lab = swanHostLab(TAG);
const { ns } = lab;
const skipReason = swanHostLabSkipReason;

let agent: AgentUnderTest | undefined;
let attempt = 0;

describe.skipIf(!swanHostLabAvailable)(`one tunnel drop during a real restic backup${skipReason}`, () => {
  beforeAll(async () => {
    await lab.start();
    await leakCounterUp(lab, TAG);
  }, 120_000);

  afterAll(async () => {
    await stopAgent(agent);
    await lab.close();
  }, 60_000);

  // One retry, with a fresh repository and agent: a repaired tunnel was sometimes seen down once more
  // (docs/architecture.md, "Fault lab": most likely a status query charon did not answer, now
  // confirmed by a probe before any repair). A retry into the same repository would upload nothing
  // and never reach the drop point.
  it('stopping the client\'s charon mid-upload: reconnecting underneath restic, then done; the repository checks clean; nothing leaked', { retry: 1 }, async () => {
    await stopAgent(agent);
    attempt += 1;
    const job = await prepareFaultJob(lab, `onedrop-${attempt}`);
    agent = await startAgent(job.home, [], { wrapper: ['ip', 'netns', 'exec', ns.client] });
    const running = agent;
    let dropped = false;
    let leakBeforeDrop = Number.NaN;
    let leakAfterRepair = Number.NaN;
    let routeDuringOutage = '';
    const live: string[] = [];
    const record = await runJobOnce(running, async (event) => {
      if (event.type === 'session' && event.session.state !== live.at(-1)) live.push(event.session.state);
      if (!dropped && event.type === 'progress' && event.progress.bytesDone >= 3 * 1024 * 1024) {
        dropped = true;
        leakBeforeDrop = await leakedPackets(lab, TAG);
        // Like the lab's case A: charon stopped (SIGTERM), so the tunnel, its TUN device and its
        // table-220 route vanish under the running restic.
        const pid = Number(readFileSync(charonPidFile(job.home), 'utf8').trim());
        process.kill(pid, 'SIGTERM');
        await waitFor('the client charon to exit', () => !existsSync(`/proc/${pid}`), 100);
        // Its routes are gone now: the pin must be what 10.99.0.1 resolves to, not the WAN.
        routeDuringOutage = await sh(`ip -n ${ns.client} route get ${LAB_REPO_HOST} 2>&1 || true`);
      }
      if (event.type === 'session' && event.session.state === 'backing-up' && live.includes('reconnecting') && Number.isNaN(leakAfterRepair)) {
        leakAfterRepair = await leakedPackets(lab, TAG);
      }
    }, 110_000);

    expect(dropped).toBe(true);
    expect(record, running.output()).toBeDefined();
    expect(record?.failure).toBeUndefined();
    // The whole record on failure: which losses, when, and how the repair went.
    expect(record?.states.map((s) => s.state), JSON.stringify(record?.tunnelLosses)).toEqual([
      'preflight', 'connecting', 'verifying', 'backing-up', 'reconnecting', 'backing-up', 'tearing-down', 'done',
    ]);
    expect(record?.result).toBe('success');
    expect(record?.tunnelLosses).toHaveLength(1);
    // charon gone: its vici socket with it, so the status query can't be answered and the backup
    // server's silence decides ('status-failed'); or the SA was seen gone first ('down').
    expect(['down', 'status-failed']).toContain(record?.tunnelLosses?.[0]?.cause);
    expect(record?.tunnelLosses?.[0]?.flowingAt).toBeDefined();
    // Nothing re-uploaded: restic added about the data set once (16 MiB, + pack overhead).
    expect(record?.summary?.bytesAdded).toBeLessThan(16 * 1024 * 1024 * 1.05);

    // The kill switch: while charon was gone the subnet was unreachable (or already repaired:
    // ipsec0), never routed out of the WAN; no clear packet left during the outage (nor before).
    expect(routeDuringOutage).toMatch(/No route to host|unreachable|dev ipsec0/);
    expect(routeDuringOutage).not.toContain(`dev ${TAG}c0`);
    expect(leakBeforeDrop).toBe(0);
    expect(leakAfterRepair).toBe(0);
    expect(await leakedPackets(lab, TAG)).toBe(0);

    const check = await sh(`RESTIC_PASSWORD_FILE=${job.passwordFile} restic --no-cache -r ${job.repoDir} check 2>&1`);
    expect(check).toContain('no errors were found');
    // The session's teardown left the client namespace as it found it: no pin, no table 220.
    expect(await sh(`ip -n ${ns.client} route show`)).not.toContain('unreachable');
    expect((await sh(`ip -n ${ns.client} route show table 220 2>/dev/null || true`)).trim()).toBe('');
  });
});
