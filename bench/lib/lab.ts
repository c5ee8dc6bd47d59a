/**
 * Benchmark plumbing shared by parts: random data sets, a CommandRunner that runs every command
 * inside a network namespace, `rclone serve restic` in a namespace, and waiting for a TCP port
 * there. Benchmarks may spawn directly (only src/ must go through the CommandRunner).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CommandRunner } from '../../src/os/command.js';
import { stopChild } from '../../test/helpers/sshd-lab.js';
import type { WanModel } from './wan-model.js';

/**
 * Writes `files` files of random (incompressible, undeduplicable) bytes totalling about
 * `totalBytes` into `dir`, unless it already holds exactly them. Returns the total.
 */
export async function randomDataSet(dir: string, files: number, totalBytes: number): Promise<number> {
  const each = Math.max(1, Math.floor(totalBytes / files));
  await mkdir(dir, { recursive: true });
  const existing: string[] = await readdir(dir).catch(() => []);
  for (let i = 0; i < files; i++) {
    const name = path.join(dir, `f${String(i).padStart(3, '0')}.bin`);
    if (existing.includes(path.basename(name)) && (await stat(name)).size === each) continue;
    const chunks: Buffer[] = [];
    for (let left = each; left > 0; left -= 1 << 24) chunks.push(randomBytes(Math.min(left, 1 << 24)));
    await writeFile(name, Buffer.concat(chunks));
  }
  return each * files;
}

/** Total size of the regular files under `dir`. */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** Runs every command of `inner` inside namespace `ns` (`ip netns exec` execs it: same pid, same group). */
export function namespacedRunner(inner: CommandRunner, ns: string, env: Readonly<Record<string, string>> = {}): CommandRunner {
  return {
    run: (spec) => inner.run({ ...spec, argv: ['ip', 'netns', 'exec', ns, ...spec.argv], env: { ...spec.env, ...env } }),
  };
}

/** Waits (bounded, ~10 s) until something listens on host:port inside `ns`. */
export async function waitForTcp(ns: string, host: string, port: number, child?: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child !== undefined && child.exitCode !== null) break;
    // stdin must not be a socket (node's default pipe is one): bash would source ~/.bashrc.
    const r = spawnSync('ip', ['netns', 'exec', ns, 'timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/${host}/${port}`], { stdio: 'ignore' });
    if (r.status === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on ${host}:${port} in ${ns}`);
}

export interface NamespacedRclone {
  readonly dir: string;
  repo(name: string): string;
  stop(): Promise<void>;
}

/** `rclone serve restic --addr HOST:8000 DIR` inside namespace `ns`. */
export async function startRcloneIn(model: WanModel, ns: string, host: string, dir: string): Promise<NamespacedRclone> {
  await mkdir(dir, { recursive: true });
  const child = model.spawnIn(ns, ['rclone', 'serve', 'restic', '--addr', `${host}:8000`, dir]);
  await waitForTcp(ns, host, 8000, child);
  return { dir, repo: (name) => `rest:http://${host}:8000/${name}`, stop: () => stopChild(child) };
}

/** The first of `paths` that exists. */
export function firstExisting(paths: readonly string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

/** One reading of an interface's received-bytes counter. */
export interface RxSample {
  readonly t: number;
  readonly bytes: number;
}

/**
 * Samples the received bytes of interface `dev` in the network namespace of process `pid`
 * (`/proc/PID/net/dev` shows that process's namespace) every `intervalMs`, until stopped. Cheap
 * enough to run beside a transfer: one small file read per sample, no process spawned.
 */
export function sampleRxBytes(pid: number, dev: string, intervalMs = 50): { stop(): RxSample[] } {
  const samples: RxSample[] = [];
  const read = (): void => {
    const text = readFileSync(`/proc/${pid}/net/dev`, 'utf8');
    const line = text.split('\n').find((l) => l.trimStart().startsWith(`${dev}:`));
    const bytes = Number(line?.split(':')[1]?.trim().split(/\s+/)[0] ?? Number.NaN);
    if (Number.isFinite(bytes)) samples.push({ t: performance.now(), bytes });
  };
  read();
  const timer = setInterval(read, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      read();
      return samples;
    },
  };
}

/**
 * The bulk rate of a transfer in bytes per second: the bytes between the moments 10 % and 90 %
 * of all bytes had arrived, over the time between them. Leaves out connection set-up, slow start
 * and the tail (file list, directory pass, index upload), which don't depend on the stream count.
 */
export function bulkRate(samples: readonly RxSample[]): number {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first === undefined || last === undefined) return Number.NaN;
  const total = last.bytes - first.bytes;
  if (total <= 0) return Number.NaN;
  const at = (fraction: number): number => {
    const target = first.bytes + fraction * total;
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1];
      const b = samples[i];
      if (a === undefined || b === undefined || b.bytes < target) continue;
      const span = b.bytes - a.bytes;
      return span <= 0 ? b.t : a.t + ((target - a.bytes) / span) * (b.t - a.t);
    }
    return last.t;
  };
  const seconds = (at(0.9) - at(0.1)) / 1000;
  return seconds > 0 ? (0.8 * total) / seconds : Number.NaN;
}
