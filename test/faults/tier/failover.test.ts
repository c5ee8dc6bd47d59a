/**
 * Gateway failover in the fault lab (issue 7): the profile lists two gateways (two addresses of the
 * lab's gateway, each with its own IKE identity, as two HA gateways would have). With the first one
 * unreachable, the session connects through the second and says so (log line, the record's
 * `gateway`); when the tunnel drops mid-backup and its gateway stays down, the repair moves on to
 * the next gateway underneath the running restic. Nothing of a failed attempt may stay behind.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stopAgent, type AgentUnderTest } from '../../helpers/agent-process.js';
import { LAB_GATEWAY, LAB_GATEWAY_2, sh, swanHostLab, swanHostLabAvailable, swanHostLabSkipReason } from '../../helpers/swan-host-lab.js';
import { checkReadData, runWithDrop } from '../drop-run.js';
import { JOB, leakCounterUp, prepareFaultJob, runJobOnce, writeFaultData } from '../fault-job.js';
import { startLabAgent } from '../lab-agent.js';

const TAG = 'bh10';
const lab = swanHostLab(TAG);
const skipReason = swanHostLabSkipReason;

let agent: AgentUnderTest | undefined;
let data: { dir: string; bytes: number };

async function logText(running: AgentUnderTest): Promise<string> {
  return JSON.stringify(await running.client.logs(2000));
}

/** Processes in the client namespace other than the agent (a charon left by a failed attempt), with their command lines. */
async function strayProcesses(running: AgentUnderTest): Promise<string[]> {
  const pids = (await sh(`ip netns pids ${lab.ns.client}`)).split('\n').filter((line) => line.trim() !== '').map(Number);
  const stray = pids.filter((pid) => pid !== running.process.pid);
  return Promise.all(stray.map(async (pid) => `${pid} ${(await sh(`tr '\\0' ' ' < /proc/${pid}/cmdline 2>/dev/null || true`)).trim()}`));
}

describe.skipIf(!swanHostLabAvailable)(`gateway failover with two gateways${skipReason}`, () => {
  beforeAll(async () => {
    await lab.start();
    await leakCounterUp(lab, TAG);
    data = writeFaultData(join(lab.dir, 'data'));
  }, 120_000);

  afterEach(async () => {
    await stopAgent(agent);
    agent = undefined;
    for (const gateway of [LAB_GATEWAY, LAB_GATEWAY_2]) await lab.blockGateway(false, gateway);
  }, 60_000);

  afterAll(async () => {
    await lab.close();
  }, 60_000);

  it('with the first gateway down, connects through the second, says so, and records which gateway served', { timeout: 240_000 }, async () => {
    await lab.blockGateway(true, LAB_GATEWAY_2);
    const job = await prepareFaultJob(lab, 'first-down', { gateways: [LAB_GATEWAY_2, LAB_GATEWAY] }, { data });
    agent = await startLabAgent(lab, job.home);
    const record = await runJobOnce(agent, () => Promise.resolve(), 200_000);

    expect(record?.end, agent.output()).toBe('done');
    expect(record?.states.map((s) => s.state)).toEqual(['preflight', 'connecting', 'verifying', 'backing-up', 'tearing-down', 'done']);
    expect(record?.gateway).toBe(LAB_GATEWAY);
    const log = await logText(agent);
    expect(log).toContain(`gateway ${LAB_GATEWAY_2} failed`);
    expect(log).toContain(`connected through gateway ${LAB_GATEWAY} (2 of 2)`);
    const history = await agent.client.history({ job: JOB, limit: 1 });
    expect(history.records[0]?.gateway).toBe(LAB_GATEWAY);
    expect(await strayProcesses(agent)).toEqual([]);
  });

  it('a drop whose gateway stays down is repaired through the next gateway underneath restic', { timeout: 300_000 }, async () => {
    const job = await prepareFaultJob(lab, 'repair-next', { gateways: [LAB_GATEWAY, LAB_GATEWAY_2], reconnectDeadlineSeconds: 120 }, { data });
    agent = await startLabAgent(lab, job.home);
    const running = agent;
    // At the drop the first gateway goes away for good, then its tunnel's charon is killed.
    const report = await runWithDrop(lab, running, job, { kind: 'kill-charon', at: 0.3 }, TAG, 280_000, { atDrop: () => lab.blockGateway(true, LAB_GATEWAY) });
    const record = report.record;

    expect(report.dropped).toBe(true);
    expect(record?.end, running.output()).toBe('done');
    expect(record?.states.map((s) => s.state)).toEqual(['preflight', 'connecting', 'verifying', 'backing-up', 'reconnecting', 'backing-up', 'tearing-down', 'done']);
    expect(record?.gateway).toBe(LAB_GATEWAY_2);
    expect(record?.tunnelLosses?.[0]?.attempts).toBeGreaterThanOrEqual(2);
    expect(await logText(running)).toContain(`the next reconnect attempt goes to gateway ${LAB_GATEWAY_2}`);
    expect(await checkReadData(job, 'restic')).toContain('no errors were found');
    expect(report.leakedAtEnd).toBe(0);
    expect(await strayProcesses(running)).toEqual([]);
  });
});
