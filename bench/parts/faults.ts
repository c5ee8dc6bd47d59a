/**
 * `npm run bench -- faults`: what a tunnel drop costs a running backup. Runs the soak's drops
 * (test/faults/soak-run.ts: the host fault lab, real strongSwan and restic 0.14/0.18, each kind of
 * drop in turn at random points) and prints, per drop and as medians, the time from the drop to
 * the session noticing, to the tunnel re-verified, to bytes flowing again (as the session saw it,
 * and as the repository server's counter saw it), and the fraction sent again over the data set.
 * Needs root and the lab's tools; about 45 s per drop.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { labRestics } from '../../test/helpers/restic-lab.js';
import { SWAN_HOST_LAB_NEEDS, swanHostLab, swanHostLabAvailable } from '../../test/helpers/swan-host-lab.js';
import { DROP_KINDS, DROP_TABLE_HEADER, dropRow } from '../../test/faults/drop-run.js';
import { leakCounterUp, writeFaultData } from '../../test/faults/fault-job.js';
import { median, runSoakDrop, soakPlans, type SoakResult } from '../../test/faults/soak-run.js';
import type { BenchPart } from '../lib/part.js';
import { markdownTable } from '../lib/stats.js';

const seconds = (ms: number | undefined): string => (ms === undefined ? '–' : (ms / 1000).toFixed(1));

export const part: BenchPart = {
  name: 'faults',
  summary: 'tunnel drops under a running restic backup: drop → detected → tunnel back → bytes flowing, and the re-sent fraction (host fault lab, root)',
  usage: '--drops N (default 20)  --seed S (default random; printed)',
  async run(args): Promise<void> {
    const { values } = parseArgs({ args: [...args], options: { drops: { type: 'string', default: '20' }, seed: { type: 'string' } } });
    if (!swanHostLabAvailable) {
      console.log(`faults: skipped, the host fault lab needs ${SWAN_HOST_LAB_NEEDS}`);
      return;
    }
    const drops = Number(values.drops);
    const seed = values.seed === undefined ? Math.floor(Math.random() * 1e9) : Number(values.seed);
    if (!Number.isInteger(drops) || drops < 1 || drops > 200) throw new Error(`--drops must be 1–200, got ${values.drops}`);
    const restics = labRestics().filter((r) => r.skipReason === undefined);
    const plans = soakPlans(drops, seed, restics);
    const tag = 'bh12';
    const lab = swanHostLab(tag);
    const results: SoakResult[] = [];
    try {
      await lab.start();
      await leakCounterUp(lab, tag);
      const data = writeFaultData(join(lab.dir, 'data'));
      for (const plan of plans) {
        const result = await runSoakDrop(lab, plan, data, tag);
        results.push(result);
        console.log(`drop ${plan.index + 1}/${drops}: ${plan.kind} at ${Math.round(plan.at * 100)} % → ${result.record?.end ?? 'no record'}, detect ${seconds(result.detectMs)} s, back ${seconds(result.verifiedMs)} s, re-sent ${((result.uploadedRatio - 1) * 100).toFixed(1)} %`);
      }
    } finally {
      await lab.blockEsp(false).catch(() => undefined);
      await lab.close();
    }

    console.log(`\nseed ${seed}; 16 MiB of random data at 1 MiB/s per drop, keepalive 5 s, stall after 2 intervals\n`);
    console.log(markdownTable(DROP_TABLE_HEADER, results.map((r) => dropRow(r.index, r.resticLabel, r))));
    const groups: [string, SoakResult[]][] = [['all', results], ...DROP_KINDS.map((kind): [string, SoakResult[]] => [kind, results.filter((r) => r.plan.kind === kind)])];
    console.log('\nmedians\n');
    console.log(markdownTable(
      ['drops', 'n', 'done', 'detect s', 'tunnel back s', 'flowing (session) s', 'flowing (server) s', 're-sent'],
      groups.map(([name, group]) => [
        name,
        String(group.length),
        String(group.filter((r) => r.record?.end === 'done').length),
        seconds(median(group.map((r) => r.detectMs))),
        seconds(median(group.map((r) => r.verifiedMs))),
        seconds(median(group.map((r) => r.flowingMs))),
        seconds(median(group.map((r) => r.serverFlowingMs))),
        `${((median(group.map((r) => r.uploadedRatio - 1)) ?? 0) * 100).toFixed(1)} %`,
      ]),
    ));
  },
};
