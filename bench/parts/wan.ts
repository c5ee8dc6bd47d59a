/**
 * Does parallelism pay on a long link? Both engines, real servers, a packet-level WAN model:
 * engine (rsync over a real sshd, restic to a real `rclone serve restic`) × streams (1, 2, 4, 8)
 * × path (unshaped; 100 Mbit/s with 50 ms RTT; the same with 0.1 % and 1 % random loss) × the
 * sender's congestion control (cubic, bbr), three repetitions each, min / median / max MB/s and
 * the median's ratio to one stream. What the model models and what not: docs/benchmarks.md.
 *
 * The client runs in namespace A, both servers in B, every packet crosses router R (bench/lib/
 * wan-model.ts). Each path is checked before it is measured: ping gives the RTT, the nftables
 * counters give the loss actually applied during each run (and the TUN devices' own drops, which
 * would be loss we did not ask for).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { drainRun, type BackupRequest } from '../../src/backup/engine.js';
import { parseResticVersion, type ResticVersion } from '../../src/backup/restic-binary.js';
import { createResticEngine } from '../../src/backup/restic.js';
import { createRsyncEngine } from '../../src/backup/rsync.js';
import { createCommandRunner } from '../../src/os/command.js';
import { RESTIC_014_PATH, RESTIC_018_PATH } from '../../test/helpers/restic-lab.js';
import { startSshd, stopChild, type SshServer } from '../../test/helpers/sshd-lab.js';
import {
  bulkRate,
  firstExisting,
  namespacedRunner,
  randomDataSet,
  sampleRxBytes,
  startRcloneIn,
  treeBytes,
  waitForTcp,
  type NamespacedRclone,
  type RxSample,
} from '../lib/lab.js';
import type { BenchPart } from '../lib/part.js';
import { fixed, formatSpread, markdownTable, numberList, spread } from '../lib/stats.js';
import { ADDR_B, createWanModel, sweepStaleWanModels, wanModelSkipReason, type LossCounters, type WanModel, type WanPath } from '../lib/wan-model.js';

/** The paths of the issue, by the name used on the command line. */
const PATHS: Readonly<Record<string, WanPath & { readonly defaultMiB: number }>> = {
  // Sizes keep a full run (192 backups) near 30 min on this 2-vCPU machine with another VM running
  // (docs/benchmarks.md, "Running time"); --mib / --scale for more.
  unshaped: { name: 'unshaped', delayMs: 0, defaultMiB: 64 },
  wan: { name: '100M 50ms', delayMs: 25, rateMbit: 100, defaultMiB: 24 },
  'loss0.1': { name: '100M 50ms 0.1%', delayMs: 25, rateMbit: 100, lossPerMille: 1, defaultMiB: 24 },
  loss1: { name: '100M 50ms 1%', delayMs: 25, rateMbit: 100, lossPerMille: 10, defaultMiB: 6 },
};

const USAGE = `options:
  --reps N            repetitions per cell (default 3)
  --streams LIST      stream counts (default 1,2,4,8)
  --engines LIST      rsync,restic (default both); tcp adds plain TCP (iperf3 -P N) as the ceiling
  --cc LIST           sender congestion controls (default cubic,bbr)
  --paths LIST        ${Object.keys(PATHS).join(',')} (default all)
  --mib P=N,...       data size per path in MiB (defaults: ${Object.entries(PATHS)
    .map(([k, p]) => `${k}=${p.defaultMiB}`)
    .join(',')})
  --scale X           multiply every data size (e.g. 0.25 for a quick look)
  --files N           files per data set (default 32: every stream count gets equal parts)
  --cap SECONDS       stop a run that takes longer, and record it as capped: no run MB/s, the bulk
                      rate of what arrived still counts (default 120)
  --tcp-seconds N     length of one iperf3 run (default 8)
  --out DIR           where the JSON and markdown results go (default /var/tmp/bh6-bench/results)
  --restic PATH       restic binary (default the cached 0.18.0, else /usr/bin/restic)`;

interface Row {
  readonly engine: string;
  readonly cc: string;
  readonly path: string;
  readonly streams: number;
  readonly rep: number;
  readonly bytes: number;
  readonly seconds: number;
  /** Data bytes over the whole run's wall time, 10^6 bytes per second. */
  readonly mbps: number;
  /** Wire bytes into B between 10 % and 90 % of the transfer, 10^6 bytes per second (bench/lib/lab.ts bulkRate). */
  readonly bulk: number;
  readonly outcome: string;
  readonly loss: LossCounters;
  /** Average ping RTT A→B while the run transferred (queueing at tbf, a starved relay show here). */
  readonly rttLoadMs: number;
  readonly load: number;
}

/** 100 Mbit/s in MB/s: the link rate the % column compares against. */
const LINK_MBPS = 100 / 8;

export const part: BenchPart = {
  name: 'wan',
  summary: 'rsync and restic × streams × WAN paths (delay, loss, rate) × cubic/bbr, against real sshd and rclone',
  usage: USAGE,
  async run(args) {
    const { values } = parseArgs({
      args: [...args],
      options: {
        reps: { type: 'string', default: '3' },
        streams: { type: 'string', default: '1,2,4,8' },
        engines: { type: 'string', default: 'rsync,restic' },
        cc: { type: 'string', default: 'cubic,bbr' },
        paths: { type: 'string', default: Object.keys(PATHS).join(',') },
        mib: { type: 'string', default: '' },
        scale: { type: 'string', default: '1' },
        files: { type: 'string', default: '32' },
        cap: { type: 'string', default: '120' },
        'tcp-seconds': { type: 'string', default: '8' },
        out: { type: 'string', default: '/var/tmp/bh6-bench/results' },
        restic: { type: 'string' },
      },
    });
    const skip = await wanModelSkipReason();
    if (skip !== undefined) {
      console.log(`wan: skipped: ${skip}`);
      return;
    }
    const reps = Math.max(1, Number(values.reps));
    const streamsList = numberList(values.streams);
    const engines = values.engines.split(',').filter((e) => e === 'rsync' || e === 'restic' || e === 'tcp');
    const tcpSeconds = Math.max(2, Number(values['tcp-seconds']));
    const ccs = values.cc.split(',').filter((c) => c !== '');
    const pathKeys = values.paths.split(',').filter((p) => p in PATHS);
    const sizes = new Map(values.mib.split(',').filter((x) => x.includes('=')).map((x) => x.split('=') as [string, string]));
    const scale = Number(values.scale) > 0 ? Number(values.scale) : 1;
    const files = Math.max(1, Number(values.files));
    const capMs = Math.max(10, Number(values.cap)) * 1000;
    const resticPath = values.restic ?? firstExisting([RESTIC_018_PATH, RESTIC_014_PATH]) ?? 'restic';
    const resticVersion = parseResticVersion(spawnSync(resticPath, ['version'], { encoding: 'utf8' }).stdout)?.version;
    if (engines.includes('restic') && resticVersion === undefined) throw new Error(`${resticPath} is not restic`);

    const work = `/var/tmp/bh6-bench/${process.pid}`;
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    const swept = await sweepStaleWanModels();
    if (swept.length > 0) console.log(`removed stale namespaces of a dead bench: ${swept.join(', ')}`);

    const model = await createWanModel();
    let sshd: SshServer | undefined;
    let rclone: NamespacedRclone | undefined;
    let iperf: ChildProcess | undefined;
    const onSignal = (): void => {
      void cleanup().finally(() => process.exit(130));
    };
    async function cleanup(): Promise<void> {
      await sshd?.stop().catch(() => undefined);
      await rclone?.stop().catch(() => undefined);
      if (iperf !== undefined) await stopChild(iperf);
      await model.destroy();
      await rm(work, { recursive: true, force: true });
    }
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const rows: Row[] = [];
    const rtts = new Map<string, number>();
    const started = new Date();
    const loadBefore = loadavg();
    try {
      sshd = await startSshd({ dir: path.join(work, 'sshd'), host: ADDR_B, netns: model.b });
      rclone = await startRcloneIn(model, model.b, ADDR_B, path.join(work, 'rclone'));
      if (engines.includes('tcp')) {
        iperf = model.spawnIn(model.b, ['iperf3', '-s', '-B', ADDR_B]);
        await waitForTcp(model.b, ADDR_B, 5201, iperf);
      }
      const runner = createCommandRunner();
      const clientRunner = namespacedRunner(runner, model.a, {
        // Small packs so that a data set of tens of MiB still gives 8 connections packs to upload
        // at once (0.18's default is 16 MiB; with real backups packs are plentiful either way).
        RESTIC_PACK_SIZE: '4',
        RESTIC_CACHE_DIR: path.join(work, 'restic-cache'),
      });
      const scratch = path.join(work, 'scratch');
      await mkdir(scratch, { recursive: true, mode: 0o700 });
      console.log(
        `wan: ${cpus().length} CPUs, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}; restic ${resticPath}; ` +
          `${reps} reps × streams ${streamsList.join(',')} × ${pathKeys.join(',')} × ${ccs.join(',')} × ${engines.join(',')}`,
      );

      let counter = 0;
      /** What the sampler saw during the last run (A→B bytes arriving in B). */
      let lastSamples: RxSample[] = [];
      for (const cc of ccs) {
        const senderCc = await model.setCongestionControl(model.a, cc);
        const serverCc = await model.congestionControl(model.b);
        for (const key of pathKeys) {
          const wan = PATHS[key];
          if (wan === undefined) continue;
          const mib = Number(sizes.get(key) ?? wan.defaultMiB) * scale;
          const data = path.join(work, `data-${key}`);
          const bytes = await randomDataSet(data, files, Math.round(mib * 1024 * 1024));
          await model.shape(wan);
          const ping = await model.ping(20);
          rtts.set(key, ping.avgMs);
          console.log(`  ${cc} (server ${serverCc}) ${wan.name}: ${fixed(bytes / 1e6)} MB in ${files} files, ping ${fixed(ping.minMs, 2)}/${fixed(ping.avgMs, 2)}/${fixed(ping.maxMs, 2)} ms, ${ping.received}/${ping.sent} back`);
          for (let rep = 1; rep <= reps; rep++) {
            // Alternate the order so a drift in machine load does not favour one stream count.
            const order = rep % 2 === 1 ? streamsList : [...streamsList].reverse();
            for (const engine of engines) {
              for (const streams of order) {
                counter++;
                const before = await model.lossCounters();
                const pinger = pingDuring(model);
                const t0 = performance.now();
                let tcpBytes = Number.NaN;
                const outcome = await (engine === 'rsync'
                  ? runRsync(counter, streams, data, bytes)
                  : engine === 'restic'
                    ? runRestic(counter, streams, data)
                    : runTcp(streams).then((received) => {
                        tcpBytes = received;
                        return 'success';
                      }));
                const seconds = (performance.now() - t0) / 1000;
                const rttLoadMs = await pinger.stop();
                const after = await model.lossCounters();
                const bulk = bulkRate(lastSamples) / 1e6;
                const moved = engine === 'tcp' ? tcpBytes : bytes;
                const row: Row = {
                  engine,
                  cc: senderCc,
                  path: key,
                  streams,
                  rep,
                  bytes: moved,
                  seconds,
                  mbps: outcome === 'success' ? moved / 1e6 / (engine === 'tcp' ? tcpSeconds : seconds) : Number.NaN,
                  bulk: outcome === 'success' || outcome === 'capped' ? bulk : Number.NaN,
                  outcome,
                  loss: diff(after, before),
                  rttLoadMs,
                  load: loadavg()[0] ?? 0,
                };
                rows.push(row);
                console.log(
                  `    ${engine} ${cc} ${key} n=${streams} rep ${rep}: ${fixed(row.mbps)} MB/s, bulk ${fixed(row.bulk)} MB/s (${fixed(seconds)} s, ${outcome}) ` +
                    `loss A→B ${pct(row.loss.aToB.dropped, row.loss.aToB.packets)} of ${row.loss.aToB.packets} pkts, tun drops ${row.loss.tunDropped}, ` +
                    `RTT under load ${fixed(rttLoadMs)} ms, load ${fixed(row.load, 2)}`,
                );
              }
            }
          }
        }
      }

      async function runRsync(n: number, streams: number, data: string, bytes: number): Promise<string> {
        const dest = path.join(work, 'rsync-dst', String(n));
        await mkdir(dest, { recursive: true });
        const engine = createRsyncEngine({
          runner: clientRunner,
          binary: { path: 'rsync' },
          target: { host: ADDR_B, port: 22, user: 'root', identityFile: sshd?.userKey ?? '', knownHostsFile: sshd?.knownHosts ?? '' },
          retryDelaysMs: [],
        });
        const sampler = sampleRxBytes(sshd?.pid ?? 0, 'vb');
        const result = await drainRun(engine.run(request(dest, data, streams), AbortSignal.timeout(capMs)));
        lastSamples = sampler.stop();
        const copied = result.outcome === 'success' ? await treeBytes(dest) : 0;
        await rm(dest, { recursive: true, force: true });
        if (result.outcome === 'cancelled') return 'capped';
        if (result.outcome !== 'success') return `${result.outcome}: ${result.failure.message}`;
        return copied === bytes ? 'success' : `incomplete: ${copied} of ${bytes} bytes`;
      }

      async function runRestic(n: number, streams: number, data: string): Promise<string> {
        const repoName = `r-${n}`;
        const engine = createResticEngine({
          runner: clientRunner,
          binary: { path: resticPath, version: resticVersion ?? ({ major: 0, minor: 14, patch: 0 } satisfies ResticVersion) },
        });
        const req = request(rclone?.repo(repoName) ?? '', data, streams);
        const init = await engine.init(req);
        if (!init.ok) return `init failed: ${init.failure.message}`;
        const sampler = sampleRxBytes(sshd?.pid ?? 0, 'vb');
        const result = await drainRun(engine.run(req, AbortSignal.timeout(capMs)));
        lastSamples = sampler.stop();
        await rm(path.join(rclone?.dir ?? work, repoName), { recursive: true, force: true });
        if (result.outcome === 'cancelled') return 'capped';
        return result.outcome === 'success' ? 'success' : `${result.outcome}: ${result.failure.message}`;
      }

      /** Plain TCP, `iperf3 -c B -P N -t T` from A: what the path gives N streams without any engine. Returns bytes received. */
      async function runTcp(streams: number): Promise<number> {
        const sampler = sampleRxBytes(sshd?.pid ?? 0, 'vb');
        const json = await model.execIn(model.a, ['iperf3', '-c', ADDR_B, '-P', String(streams), '-t', String(tcpSeconds), '-J']);
        lastSamples = sampler.stop();
        const report = JSON.parse(json) as { end?: { sum_received?: { bytes?: number } } };
        return report.end?.sum_received?.bytes ?? Number.NaN;
      }

      function request(repository: string, data: string, streams: number): BackupRequest {
        return { jobName: 'bench', repository, password: 'bench-password', sources: [data], excludes: [], streams, scratchDir: scratch };
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await cleanup();
    }

    const finished = new Date();
    const table = render(rows, rtts, engines, ccs, pathKeys, streamsList);
    const context =
      `Run ${started.toISOString()} – ${finished.toISOString()} (${fixed((finished.getTime() - started.getTime()) / 60_000)} min), ` +
      `${cpus().length} CPUs, load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadavg().map((l) => l.toFixed(2)).join(' ')}. ` +
      `Command: npm run bench -- wan ${args.join(' ')}`.trim();
    console.log(`\n${context}\n\n${table}`);
    await mkdir(values.out, { recursive: true });
    const stamp = started.toISOString().replace(/[:.]/g, '-');
    await writeFile(path.join(values.out, `wan-${stamp}.json`), JSON.stringify({ context, rows, rtts: Object.fromEntries(rtts) }, null, 1));
    await writeFile(path.join(values.out, `wan-${stamp}.md`), `${context}\n\n${table}\n`);
    console.log(`\nresults: ${path.join(values.out, `wan-${stamp}.{json,md}`)}`);
  },
};

/** A ping from A to B every 200 ms while a run transfers; stop() gives the average RTT in ms. */
function pingDuring(model: WanModel): { stop(): Promise<number> } {
  const child = spawn('ip', ['netns', 'exec', model.a, 'ping', '-n', '-q', '-i', '0.2', ADDR_B], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    resolve();
  }));
  return {
    async stop() {
      child.kill('SIGINT');
      await exited;
      return Number(/= [\d.]+\/([\d.]+)\//.exec(out)?.[1] ?? Number.NaN);
    },
  };
}

function diff(after: LossCounters, before: LossCounters): LossCounters {
  return {
    aToB: { packets: after.aToB.packets - before.aToB.packets, dropped: after.aToB.dropped - before.aToB.dropped },
    bToA: { packets: after.bToA.packets - before.bToA.packets, dropped: after.bToA.dropped - before.bToA.dropped },
    tunDropped: after.tunDropped - before.tunDropped,
  };
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(2)} %` : '–';
}

/** One markdown table: a row per engine × cc × path × streams. */
function render(
  rows: readonly Row[],
  rtts: ReadonlyMap<string, number>,
  engines: readonly string[],
  ccs: readonly string[],
  pathKeys: readonly string[],
  streamsList: readonly number[],
): string {
  const out: string[][] = [];
  for (const engine of engines) {
    for (const cc of ccs) {
      for (const key of pathKeys) {
        const cell = (n: number): Row[] => rows.filter((r) => r.engine === engine && r.cc === cc && r.path === key && r.streams === n);
        const base = spread(cell(streamsList[0] ?? 1).map((r) => r.mbps));
        const bulkBase = spread(cell(streamsList[0] ?? 1).map((r) => r.bulk));
        const shaped = PATHS[key]?.rateMbit !== undefined;
        for (const n of streamsList) {
          const rs = cell(n);
          if (rs.length === 0) continue;
          const s = spread(rs.map((r) => r.mbps));
          const b = spread(rs.map((r) => r.bulk));
          const rttLoad = spread(rs.map((r) => r.rttLoadMs));
          const dropped = rs.reduce((sum, r) => sum + r.loss.aToB.dropped, 0);
          const packets = rs.reduce((sum, r) => sum + r.loss.aToB.packets, 0);
          const capped = rs.filter((r) => r.outcome === 'capped').length;
          const failed = rs.filter((r) => r.outcome !== 'success' && r.outcome !== 'capped').length;
          out.push([
            engine,
            rs[0]?.cc ?? cc,
            PATHS[key]?.name ?? key,
            fixed(rtts.get(key) ?? Number.NaN),
            fixed(rttLoad.median),
            shaped ? pct(dropped, packets) : '–',
            String(n),
            formatSpread(s),
            fixed(s.median / base.median, 2),
            formatSpread(b),
            fixed(b.median / bulkBase.median, 2),
            shaped ? `${fixed((100 * b.median) / LINK_MBPS, 0)} %` : '–',
            [capped > 0 ? `${capped} of ${rs.length} capped` : '', failed > 0 ? `${failed} of ${rs.length} failed` : ''].filter((x) => x !== '').join(', '),
          ]);
        }
      }
    }
  }
  return markdownTable(
    [
      'engine',
      'sender cc',
      'path',
      'RTT ms idle',
      'RTT ms in run',
      'loss A→B (measured)',
      'streams',
      'run MB/s min / med / max',
      '× 1 stream',
      'bulk MB/s min / med / max',
      '× 1 stream',
      'bulk % of 100 Mbit/s',
      'note',
    ],
    out,
  );
}
