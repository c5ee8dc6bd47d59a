/**
 * An rsync job through the fault lab's tunnel (issue 7, "rsync: --timeout makes it exit on a dead
 * tunnel; re-run the affected workers with --partial"): three workers copy 16 MiB to a real sshd on
 * the server's private address. The office charon is killed and the gateway stays unreachable
 * for longer than rsync's --timeout, so the workers' connections die: the session notices the lost
 * tunnel and repairs it once the gateway answers, the engine re-runs the workers that failed, and
 * the copy completes byte for byte without sending the data set again.
 *
 * (Dropping only ESP for 25 s was tried first: rsync keeps filling its sockets' send buffers for
 * ~8 s after the drop, so the supervisor's stall window, its keepalive tick and its 10 s probe
 * outlasted the outage and the tunnel — whose SA never broke — was rightly not rebuilt; the
 * workers still re-ran. That run is why the outage here is a lost SA, not a lossy path.)
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src/api/types.js';
import { stopAgent, type AgentUnderTest } from '../../helpers/agent-process.js';
import { sshdSkipReason, startSshd, type SshServer } from '../../helpers/sshd-lab.js';
import { LAB_REPO_HOST, sh, SWAN_HOST_LAB_NEEDS, swanHostLab, swanHostLabAvailable } from '../../helpers/swan-host-lab.js';
import { runWithDrop } from '../drop-run.js';
import { leakCounterUp, prepareRsyncFaultJob, writeFaultData } from '../fault-job.js';
import { startLabAgent } from '../lab-agent.js';

const TAG = 'bh13';
const lab = swanHostLab(TAG);
const sshdSkip = sshdSkipReason();
const available = swanHostLabAvailable && sshdSkip === undefined;
const skipReason = available ? '' : ` (skipped: ${sshdSkip ?? `needs ${SWAN_HOST_LAB_NEEDS}`})`;
/** rsync's --timeout in this test; the outage is longer, so every worker's connection dies. */
const IO_TIMEOUT_SECONDS = 10;
const OUTAGE_MS = 25_000;

let agent: AgentUnderTest | undefined;
let sshd: SshServer | undefined;

describe.skipIf(!available)(`a tunnel drop under an rsync job with three workers${skipReason}`, () => {
  beforeAll(async () => {
    await lab.start();
    await leakCounterUp(lab, TAG);
    sshd = await startSshd({ dir: join(lab.dir, 'sshd'), host: LAB_REPO_HOST, netns: lab.ns.server });
  }, 120_000);

  afterAll(async () => {
    await stopAgent(agent);
    await sshd?.stop();
    await lab.blockGateway(false).catch(() => undefined);
    await lab.close();
  }, 60_000);

  it('charon killed, gateway away for longer than rsync --timeout: the tunnel is repaired, the workers re-run, the copy matches, little is sent again', { timeout: 300_000 }, async () => {
    if (sshd === undefined) throw new Error('sshd did not start');
    const data = writeFaultData(join(lab.dir, 'data'));
    const job = prepareRsyncFaultJob(lab, 'rsync', sshd, data, IO_TIMEOUT_SECONDS);
    agent = await startLabAgent(lab, job.home);
    const retries: string[] = [];
    const onEvent = (event: AgentEvent): void => {
      if (event.type === 'backup-event' && event.event.type === 'retrying') retries.push(event.event.message);
    };
    let gatewayBack: Promise<void> = Promise.resolve();
    const atDrop = async (): Promise<void> => {
      await lab.blockGateway(true);
      gatewayBack = sleep(OUTAGE_MS).then(() => lab.blockGateway(false));
    };
    const report = await runWithDrop(lab, agent, job, { kind: 'kill-charon', at: 0.3 }, TAG, 280_000, { port: 22, onEvent, atDrop });
    await gatewayBack;
    const record = report.record;

    expect(report.dropped).toBe(true);
    expect(record?.end, agent.output()).toBe('done');
    expect(record?.states.map((s) => s.state)).toEqual(['preflight', 'connecting', 'verifying', 'backing-up', 'reconnecting', 'backing-up', 'tearing-down', 'done']);
    // rsync's own timeout ended at least one worker, and the engine ran it again.
    expect(retries.length, agent.output()).toBeGreaterThan(0);
    expect(retries.join('\n')).toMatch(/Retrying in/);
    expect((await sh(`diff -r ${job.data} ${job.repoDir}${job.data} 2>&1 || true`)).trim()).toBe('');
    // What rsync already had on the server (the partial files) is not sent again.
    expect(report.uploadedRatio, `uploaded ${report.uploadedBytes} B for ${job.dataBytes} B`).toBeLessThanOrEqual(1.1);
    expect(report.leakedAtEnd).toBe(0);
  });
});
