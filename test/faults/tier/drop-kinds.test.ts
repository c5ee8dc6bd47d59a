/**
 * The fault tier (`npm run test:faults`, in .ci/run): one drop of each kind during a real restic
 * backup through the host lab's IKEv2 tunnel (test/helpers/swan-host-lab.ts, following
 * shared/reference/host-lab.md §tunnel loss). Each must be repaired underneath the running restic
 * with the exact state sequence of ARCHITECTURE.md, end `done`, check clean with --read-data,
 * restore byte for byte, upload no more than 5 % over the data set, and leak nothing on the WAN.
 * The restic versions alternate over the kinds (0.14 from Debian, the pinned 0.18 when cached).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopAgent, type AgentUnderTest } from '../../helpers/agent-process.js';
import { labRestics } from '../../helpers/restic-lab.js';
import { swanHostLab, swanHostLabAvailable, swanHostLabSkipReason } from '../../helpers/swan-host-lab.js';
import { checkReadData, DROP_KINDS, restoreDiff, runWithDrop, type DropKind } from '../drop-run.js';
import { leakCounterUp, prepareFaultJob, writeFaultData } from '../fault-job.js';
import { startLabAgent } from '../lab-agent.js';

const TAG = 'bh9';
const lab = swanHostLab(TAG);
const skipReason = swanHostLabSkipReason;
const restics = labRestics().filter((r) => r.skipReason === undefined);

/** How each kind is noticed: a missing SA or charon is "down"; dropped ESP under an SA that is still installed only shows as a stall whose probe fails. */
const EXPECTED_CAUSE: Record<DropKind, readonly string[]> = {
  'kill-charon': ['down', 'status-failed'],
  'terminate-sa': ['down'],
  'drop-esp': ['stall'],
};

let agent: AgentUnderTest | undefined;
let data: { dir: string; bytes: number };
let attempt = 0;

describe.skipIf(!swanHostLabAvailable)(`each kind of tunnel drop during a real restic backup${skipReason}`, () => {
  beforeAll(async () => {
    await lab.start();
    await leakCounterUp(lab, TAG);
    data = writeFaultData(join(lab.dir, 'data'));
  }, 120_000);

  afterAll(async () => {
    await stopAgent(agent);
    await lab.blockEsp(false).catch(() => undefined);
    await lab.close();
  }, 60_000);

  for (const [index, kind] of DROP_KINDS.entries()) {
    const restic = restics[index % restics.length] ?? { label: 'system', path: 'restic' };
    // One retry, as in one-drop.test.ts: a repaired tunnel has rarely been seen down once more
    // (issue 7's open question); the retry uses a fresh repository and agent.
    it(`${kind} at 40 % of the upload (restic ${restic.label}): repaired underneath restic, done, --read-data clean, restored byte for byte, ≤ 5 % re-sent, nothing leaked`, { retry: 1, timeout: 300_000 }, async () => {
      await stopAgent(agent);
      attempt += 1;
      const job = await prepareFaultJob(lab, `${kind}-${attempt}`, {}, { resticPath: restic.path, data });
      agent = await startLabAgent(lab, job.home);
      const report = await runWithDrop(lab, agent, job, { kind, at: 0.4, outageMs: 20_000 }, TAG, 240_000);
      const record = report.record;

      expect(report.dropped).toBe(true);
      expect(record, agent.output()).toBeDefined();
      expect(record?.failure, JSON.stringify(record?.tunnelLosses)).toBeUndefined();
      // The exact sequence, with the repair's steps (connecting, verifying, waiting-for-bytes)
      // journaled inside `reconnecting`, not as states of their own.
      expect(record?.states.map((s) => s.state), JSON.stringify(record?.tunnelLosses)).toEqual([
        'preflight', 'connecting', 'verifying', 'backing-up', 'reconnecting', 'backing-up', 'tearing-down', 'done',
      ]);
      expect(report.liveStates).toEqual(['queued', 'preflight', 'connecting', 'verifying', 'backing-up', 'reconnecting', 'backing-up', 'tearing-down', 'done']);
      // Each attempt journaled as connecting → verifying inside `reconnecting`, the last one verified
      // and then waiting for bytes (the record itself keeps only states and timings).
      const attempts = record?.tunnelLosses?.[0]?.attempts ?? 0;
      expect(report.reconnectSteps.at(-1)).toBe('reconnecting:waiting-for-bytes');
      expect(report.reconnectSteps.slice(-3)).toEqual(['reconnecting:connecting', 'reconnecting:verifying', 'reconnecting:waiting-for-bytes']);
      expect(report.reconnectSteps.filter((step) => step === 'reconnecting:connecting')).toHaveLength(attempts);
      expect(record?.result).toBe('success');
      expect(record?.tunnelLosses).toHaveLength(1);
      expect(EXPECTED_CAUSE[kind]).toContain(record?.tunnelLosses?.[0]?.cause);
      expect(record?.tunnelLosses?.[0]?.verifiedAt).toBeDefined();

      // What reached the server: the data set once, plus restic's and HTTP's overhead.
      expect(report.uploadedRatio, `uploaded ${report.uploadedBytes} B for ${job.dataBytes} B`).toBeLessThanOrEqual(1.05);
      expect(await checkReadData(job, restic.path)).toContain('no errors were found');
      expect(await restoreDiff(job, restic.path, lab.dir)).toBe('');
      expect(report.leakedBeforeDrop).toBe(0);
      expect(report.leakedAtEnd).toBe(0);
    });
  }
});
