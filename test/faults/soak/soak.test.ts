/**
 * The 20-drop soak (`npm run test:soak`; not in CI: about 15 min): issue 7's acceptance with real
 * restic 0.14 and 0.18 and real strongSwan in the host lab (test/faults/soak-run.ts). Every drop's
 * job must end `done`, `restic check --read-data` must be clean, the restore must match the source
 * byte for byte, the server must have received at most 5 % more than the data set, and no clear
 * packet may leave the office WAN. The last test prints the per-drop table and the medians.
 * SOAK_DROPS (default 20) and SOAK_SEED (default: random, printed) replay a run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markdownTable } from '../../../bench/lib/stats.js';
import { labRestics } from '../../helpers/restic-lab.js';
import { swanHostLab, swanHostLabAvailable, swanHostLabSkipReason } from '../../helpers/swan-host-lab.js';
import { DROP_TABLE_HEADER, dropRow } from '../drop-run.js';
import { leakCounterUp, writeFaultData } from '../fault-job.js';
import { median, runSoakDrop, soakPlans, type SoakResult } from '../soak-run.js';

const TAG = 'bh11';
const DROPS = Number(process.env.SOAK_DROPS ?? '20');
const SEED = Number(process.env.SOAK_SEED ?? String(Math.floor(Math.random() * 1e9)));
const lab = swanHostLab(TAG);
const restics = labRestics().filter((r) => r.skipReason === undefined);
const skipReason = swanHostLabSkipReason;
const plans = soakPlans(DROPS, SEED, restics.length > 0 ? restics : [{ label: 'system', path: 'restic' }]);
const results: SoakResult[] = [];
let data: { dir: string; bytes: number };

describe.skipIf(!swanHostLabAvailable)(`soak: ${DROPS} drops at random points, restic ${restics.map((r) => r.label).join(' and ')}, seed ${SEED}${skipReason}`, () => {
  beforeAll(async () => {
    if (restics.length < 2) console.warn(`soak: only restic ${restics.map((r) => r.label).join('')} is available; ${labRestics().map((r) => r.skipReason).filter(Boolean).join('; ')}`);
    await lab.start();
    await leakCounterUp(lab, TAG);
    data = writeFaultData(join(lab.dir, 'data'));
  }, 120_000);

  afterAll(async () => {
    await lab.blockEsp(false).catch(() => undefined);
    await lab.close();
  }, 60_000);

  for (const plan of plans) {
    it(`drop ${plan.index + 1}: ${plan.kind} at ${Math.round(plan.at * 100)} % (restic ${plan.restic.label})`, { timeout: 420_000 }, async () => {
      const result = await runSoakDrop(lab, plan, data, TAG);
      results.push(result);
      expect(result.dropped).toBe(true);
      expect(result.record?.end, result.agentOutput.slice(-4000)).toBe('done');
      expect(result.check).toContain('no errors were found');
      expect(result.restoreDiff).toBe('');
      expect(result.uploadedRatio, `uploaded ${result.uploadedBytes} B for ${data.bytes} B`).toBeLessThanOrEqual(1.05);
      expect(result.leakedBeforeDrop).toBe(0);
      expect(result.leakedAtEnd).toBe(0);
    });
  }

  it('prints the per-drop table and the medians', () => {
    const rows = results.map((r) => dropRow(r.index, r.resticLabel, r));
    const s = (ms: number | undefined) => (ms === undefined ? '–' : (ms / 1000).toFixed(1));
    const extraLosses = results.filter((r) => (r.record?.tunnelLosses?.length ?? 0) > 1).length;
    const text = [
      `soak: ${results.length} drops, seed ${SEED}`,
      markdownTable(DROP_TABLE_HEADER, rows),
      '',
      `median: detect ${s(median(results.map((r) => r.detectMs)))} s, tunnel back ${s(median(results.map((r) => r.verifiedMs)))} s, ` +
        `flowing (session) ${s(median(results.map((r) => r.flowingMs)))} s, flowing (server) ${s(median(results.map((r) => r.serverFlowingMs)))} s, ` +
        `uploaded over data set ${((median(results.map((r) => r.uploadedRatio - 1)) ?? 0) * 100).toFixed(1)} %`,
      `runs with more than one loss: ${extraLosses}`,
    ].join('\n');
    console.log(text);
    writeFileSync(process.env.SOAK_OUT ?? '/tmp/backhaul-soak.md', `${text}\n`);
    expect(results).toHaveLength(plans.length);
  });
});
