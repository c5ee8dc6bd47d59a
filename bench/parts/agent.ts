/**
 * `npm run bench -- agent`: the agent under client load. 50 clients hold the event stream open
 * while a real backup streams progress, and status requests arrive at 200 per second for 10 s.
 * Reports errors, status latency (p50/p99/max) and the agent's resident memory, next to a baseline
 * of the same request load with no event clients, in one run (ratios, not absolute numbers).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentClient } from '../../src/api/client.js';
import { socketTransport } from '../../src/api/node-transport.js';
import type { BenchPart } from '../lib/part.js';

const root = join(import.meta.dirname, '..', '..');

interface Options {
  clients: number;
  ratePerSecond: number;
  seconds: number;
}

function parse(args: readonly string[]): Options {
  const value = (name: string, fallback: number) => {
    const i = args.indexOf(`--${name}`);
    const raw = i >= 0 ? Number(args[i + 1]) : fallback;
    if (!Number.isFinite(raw) || raw <= 0) throw new Error(`--${name} must be a positive number`);
    return raw;
  };
  return { clients: value('clients', 50), ratePerSecond: value('rate', 200), seconds: value('seconds', 10) };
}

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Status requests at a fixed rate for a fixed time (bounded: rate × seconds requests). */
async function statusLoad(client: AgentClient, options: Options): Promise<{ latencies: number[]; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const total = Math.round(options.ratePerSecond * options.seconds);
  const interval = 1000 / options.ratePerSecond;
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const t0 = performance.now();
    pending.push(
      client.status().then(
        () => { latencies.push(performance.now() - t0); },
        () => { errors++; },
      ),
    );
  }
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  return { latencies, errors };
}

async function run(args: readonly string[]): Promise<void> {
  const options = parse(args);
  const home = await mkdtemp(join(tmpdir(), 'backhaul-bench-agent-'));
  const data = join(home, 'data');
  await writeFile(join(home, 'pw'), `bench-${randomBytes(8).toString('hex')}`, { mode: 0o600 });
  await import('node:fs/promises').then((fs) => fs.mkdir(data));
  await writeFile(join(data, 'big.bin'), randomBytes(64 * 1024 * 1024));
  await writeFile(
    join(home, 'config.yaml'),
    ['jobs:', '  bench:', `    sources: [${data}]`, `    repository: ${join(home, 'repo')}`, `    password: file:${join(home, 'pw')}`, '    bandwidthLimit: 4 MiB/s', ''].join('\n'),
  );
  const bin = existsSync(join(root, 'dist', 'cli', 'bin.js')) ? [join(root, 'dist', 'cli', 'bin.js')] : ['--import', 'tsx', join(root, 'src', 'cli', 'bin.ts')];
  const env = { ...process.env, BACKHAUL_HOME: home };
  const init = spawn(process.execPath, [...bin, 'init', 'bench'], { env, stdio: 'ignore' });
  await new Promise((resolve) => init.on('exit', resolve));
  const agent = spawn(process.execPath, [...bin, 'agent'], { env, stdio: 'ignore' });
  const client = new AgentClient(socketTransport(join(home, 'run', 'agent.sock')));
  for (let i = 0; i < 300 && !(await client.status().then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
  const pid = agent.pid ?? 0;

  try {
    // Baseline: the request load alone.
    const rssIdle = await rssKiB(pid);
    const baseline = await statusLoad(client, options);

    // Under load: N event streams and a backup producing progress events.
    const controllers = Array.from({ length: options.clients }, () => new AbortController());
    const received = new Array<number>(options.clients).fill(0);
    let streamErrors = 0;
    const streams = controllers.map((c, i) =>
      client.events(() => { received[i] = (received[i] ?? 0) + 1; }, c.signal).catch(() => { streamErrors++; }),
    );
    await client.startRun('bench');
    let rssPeak = 0;
    const sampler = setInterval(() => { void rssKiB(pid).then((kib) => { rssPeak = Math.max(rssPeak, kib); }); }, 250);
    const loaded = await statusLoad(client, options);
    clearInterval(sampler);
    for (const c of controllers) c.abort();
    await Promise.all(streams);
    const sortedReceived = [...received].sort((a, b) => a - b);

    const row = (name: string, r: { latencies: number[]; errors: number }, ratio: string) =>
      `| ${name.padEnd(34)} | ${String(r.latencies.length + r.errors).padStart(8)} | ${String(r.errors).padStart(6)} | ${percentile(r.latencies, 50).toFixed(2).padStart(8)} | ${percentile(r.latencies, 99).toFixed(2).padStart(8)} | ${(r.latencies.at(-1) ?? 0).toFixed(2).padStart(8)} | ${ratio.padStart(9)} |`;
    console.log(`status requests at ${options.ratePerSecond}/s for ${options.seconds} s; latency in ms`);
    console.log('| load                               | requests | errors |      p50 |      p99 |      max | p50 ratio |');
    console.log('|------------------------------------|---------:|-------:|---------:|---------:|---------:|----------:|');
    console.log(row('requests only', baseline, '1.00'));
    console.log(row(`+ ${options.clients} event streams + a backup`, loaded, (percentile(loaded.latencies, 50) / Math.max(0.001, percentile(baseline.latencies, 50))).toFixed(2)));
    console.log('');
    console.log(`event streams: ${options.clients}, stream errors: ${streamErrors}, events per stream min/median/max: ${sortedReceived[0] ?? 0}/${percentile(sortedReceived, 50)}/${sortedReceived.at(-1) ?? 0}`);
    console.log(`agent RSS: ${(rssIdle / 1024).toFixed(1)} MiB idle, ${(rssPeak / 1024).toFixed(1)} MiB peak under load`);
  } finally {
    agent.kill('SIGTERM');
    await new Promise((resolve) => agent.on('exit', resolve));
    await rm(home, { recursive: true, force: true });
  }
}

export const part: BenchPart = {
  name: 'agent',
  summary: 'Local API under load: 50 SSE clients + 200 status req/s for 10 s; latency p50/p99 and agent RSS',
  usage: '--clients N (50)   --rate REQ_PER_S (200)   --seconds S (10)',
  run,
};
