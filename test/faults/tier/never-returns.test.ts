/**
 * A tunnel that never comes back (the fault lab, issue 7): the client's charon is stopped
 * mid-upload and the gateway is unreachable from then on. The session must give up at its
 * deadline — stop restic, fail `tunnel.lost` — and leave nothing behind in the client namespace
 * (no process, no pin, no table-220 route) and no clear packet on the WAN. restic, stopped while
 * the repository is unreachable, can't remove its lock: the job's next session, once the gateway
 * is back, must remove it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, stopAgent, type AgentUnderTest } from '../../helpers/agent-process.js';
import { sh, swanHostLab, swanHostLabAvailable, swanHostLabSkipReason } from '../../helpers/swan-host-lab.js';
import { charonPidFile, JOB, leakCounterUp, leakedPackets, prepareFaultJob, runJobOnce, type FaultJob } from '../fault-job.js';

const TAG = 'bh8';
const lab = swanHostLab(TAG);
const { ns } = lab;
const skipReason = swanHostLabSkipReason;

let agent: AgentUnderTest | undefined;
let job: FaultJob;

const locks = (): Promise<string> => sh(`RESTIC_PASSWORD_FILE=${job.passwordFile} restic --no-cache -r ${job.repoDir} list locks --no-lock 2>&1`);

describe.skipIf(!swanHostLabAvailable)(`a tunnel that never returns during a real restic backup${skipReason}`, () => {
  beforeAll(async () => {
    await lab.start();
    job = await prepareFaultJob(lab, 'neverback', { reconnectDeadlineSeconds: 20 });
    await leakCounterUp(lab, TAG);
  }, 120_000);

  afterAll(async () => {
    await stopAgent(agent);
    await lab.blockGateway(false).catch(() => undefined);
    await lab.close();
  }, 60_000);

  it('fails tunnel.lost at the deadline, leaves nothing running or routed, and the next good run removes the stale lock', async () => {
    agent = await startAgent(job.home, [], { wrapper: ['ip', 'netns', 'exec', ns.client] });
    const running = agent;
    let dropped = false;
    const lost = await runJobOnce(running, async (event) => {
      if (dropped || event.type !== 'progress' || event.progress.bytesDone < 3 * 1024 * 1024) return;
      dropped = true;
      await lab.blockGateway(true);
      process.kill(Number(readFileSync(charonPidFile(job.home), 'utf8').trim()), 'SIGTERM');
    }, 150_000);

    expect(dropped).toBe(true);
    expect(lost, running.output()).toBeDefined();
    expect(lost?.end).toBe('failed');
    expect(lost?.failure?.code).toBe('tunnel.lost');
    expect(lost?.states.map((s) => s.state)).toEqual(['preflight', 'connecting', 'verifying', 'backing-up', 'reconnecting', 'tearing-down', 'failed']);
    expect(lost?.tunnelLosses).toMatchObject([{ gaveUp: 'deadline' }]);
    // charon stopped: its vici socket goes with it, so the status query can't be answered and the
    // server's silence decides ('status-failed'); or the SA was seen gone first ('down').
    expect(['down', 'status-failed']).toContain(lost?.tunnelLosses?.[0]?.cause);
    expect(lost?.notes).toEqual([]);

    // Nothing of the session is left in the client namespace but the agent itself.
    const pids = (await sh(`ip netns pids ${ns.client}`)).split('\n').filter((line) => line.trim() !== '').map(Number);
    expect(pids).toEqual([running.process.pid]);
    expect(await sh(`ip -n ${ns.client} route show`)).not.toContain('unreachable');
    expect((await sh(`ip -n ${ns.client} route show table 220 2>/dev/null || true`)).trim()).toBe('');
    expect(await leakedPackets(lab, TAG)).toBe(0);

    // restic was stopped while the repository was unreachable: its lock stayed, and the job knows.
    expect((await locks()).trim()).not.toBe('');
    const mark = join(job.home, 'state', 'stale-locks', JOB);
    expect(existsSync(mark)).toBe(true);

    await lab.blockGateway(false);
    const next = await runJobOnce(running, () => Promise.resolve(), 150_000);
    expect(next?.end, JSON.stringify(next?.failure)).toBe('done');
    expect((await locks()).trim()).toBe('');
    expect(existsSync(mark)).toBe(false);
    expect(await leakedPackets(lab, TAG)).toBe(0);
  }, 240_000);
});
