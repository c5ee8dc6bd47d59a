/**
 * Does restic's `--read-concurrency` (0.15+) pay? A backup of a local data set into a local
 * repository (no network: reading, chunking, hashing and encrypting are the whole job) with 1, 2,
 * 4 and 8 files read in parallel, min / median / max MB/s of the repetitions and the ratio to
 * restic's default of 2. `--cold` drops the page cache before each run (host-wide: it slows other
 * work on the machine for a moment), so files come from the disk instead of memory.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { drainRun } from '../../src/backup/engine.js';
import { parseResticVersion } from '../../src/backup/restic-binary.js';
import { createResticEngine } from '../../src/backup/restic.js';
import { createCommandRunner } from '../../src/os/command.js';
import { RESTIC_014_PATH, RESTIC_018_PATH } from '../../test/helpers/restic-lab.js';
import { firstExisting, randomDataSet } from '../lib/lab.js';
import type { BenchPart } from '../lib/part.js';
import { fixed, formatSpread, markdownTable, numberList, spread } from '../lib/stats.js';

export const part: BenchPart = {
  name: 'restic-read',
  summary: 'restic --read-concurrency 1,2,4,8: local backup MB/s (to choose its default)',
  usage: `options:
  --reps N          repetitions (default 3)
  --levels LIST     read concurrency values (default 1,2,4,8)
  --mib N           data size (default 512)
  --files N         files in the data set (default 64)
  --cold            drop the page cache before each run (host-wide)
  --restic PATH     restic 0.15 or newer (default the cached 0.18.0)`,
  async run(args) {
    const { values } = parseArgs({
      args: [...args],
      options: {
        reps: { type: 'string', default: '3' },
        levels: { type: 'string', default: '1,2,4,8' },
        mib: { type: 'string', default: '512' },
        files: { type: 'string', default: '64' },
        cold: { type: 'boolean', default: false },
        restic: { type: 'string' },
      },
    });
    const resticPath = values.restic ?? firstExisting([RESTIC_018_PATH, RESTIC_014_PATH]) ?? 'restic';
    const version = parseResticVersion(spawnSync(resticPath, ['version'], { encoding: 'utf8' }).stdout)?.version;
    if (version === undefined || (version.major === 0 && version.minor < 15)) {
      console.log(`restic-read: skipped: needs restic 0.15 or newer (${resticPath})`);
      return;
    }
    const reps = Math.max(1, Number(values.reps));
    const levels = numberList(values.levels);
    const work = `/var/tmp/bh6-bench/${process.pid}-read`;
    await rm(work, { recursive: true, force: true });
    const scratch = path.join(work, 'scratch');
    await mkdir(scratch, { recursive: true, mode: 0o700 });
    const runner = createCommandRunner();
    const engine = (readConcurrency: number) => createResticEngine({ runner, binary: { path: resticPath, version }, readConcurrency });
    const loadBefore = loadavg();
    const results = new Map<number, number[]>();
    try {
      const data = path.join(work, 'data');
      const bytes = await randomDataSet(data, Math.max(1, Number(values.files)), Number(values.mib) * 1024 * 1024);
      process.env.RESTIC_CACHE_DIR = path.join(work, 'cache');
      let n = 0;
      for (let rep = 1; rep <= reps; rep++) {
        const order = rep % 2 === 1 ? levels : [...levels].reverse();
        for (const level of order) {
          const repository = path.join(work, `repo-${++n}`);
          const request = { jobName: 'bench', repository, password: 'bench', sources: [data], excludes: [], streams: 2, scratchDir: scratch };
          const init = await engine(level).init(request);
          if (!init.ok) throw new Error(`restic init failed: ${init.failure.message}`);
          if (values.cold) await writeFile('/proc/sys/vm/drop_caches', '3\n');
          const t0 = performance.now();
          const result = await drainRun(engine(level).run(request, new AbortController().signal));
          const seconds = (performance.now() - t0) / 1000;
          await rm(repository, { recursive: true, force: true });
          const mbps = result.outcome === 'success' ? bytes / 1e6 / seconds : Number.NaN;
          results.set(level, [...(results.get(level) ?? []), mbps]);
          console.log(`  read-concurrency ${level} rep ${rep}: ${fixed(mbps)} MB/s (${result.outcome}), load ${fixed(loadavg()[0] ?? 0, 2)}`);
        }
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    const base = spread(results.get(2) ?? []).median;
    const rows = levels.map((level) => {
      const s = spread(results.get(level) ?? []);
      return [String(level), formatSpread(s), fixed(s.median / base, 2)];
    });
    console.log(
      `\nrestic ${version.major}.${version.minor}.${version.patch}, ${values.mib} MiB in ${values.files} files, ${values.cold ? 'cold' : 'warm'} page cache, ` +
        `${cpus().length} CPUs, load before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadavg().map((l) => l.toFixed(2)).join(' ')}. ` +
        `Command: npm run bench -- restic-read ${args.join(' ')}`.trim(),
    );
    console.log(`\n${markdownTable(['--read-concurrency', 'MB/s min / median / max', '× default (2)'], rows)}`);
  },
};
