/**
 * Test-only helpers for the restic integration suites: which restic binaries exist, an
 * `rclone serve restic` on 127.0.0.1, random data, a restic process that holds an exclusive lock,
 * and a wrapper that runs restic without root's permission to read every file. These need
 * child_process directly (signals to a process we hold, a server in the background), which is why
 * they live here and not behind the CommandRunner.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import path from 'node:path';
import { parseResticVersion, type ResticVersion } from '../../src/backup/restic-binary.js';

/** Debian 12's restic. */
export const RESTIC_014_PATH = process.env.BACKHAUL_TEST_RESTIC_014 ?? '/usr/bin/restic';
/** The pinned 0.18.0 that `scripts/setup-system.sh --test` caches. */
export const RESTIC_018_PATH = process.env.BACKHAUL_TEST_RESTIC_018 ?? '/var/tmp/backhaul-cache/restic-0.18.0/restic';

export interface LabRestic {
  /** `0.14.0`, `0.18.0` */
  readonly label: string;
  readonly path: string;
  /** Undefined when the binary is missing or does not report the expected version. */
  readonly version?: ResticVersion;
  /** Why the suite for this version is skipped; undefined when it runs. */
  readonly skipReason?: string;
}

function probeRestic(label: string, file: string, fix: string): LabRestic {
  if (!existsSync(file)) return { label, path: file, skipReason: `restic ${label} missing at ${file}; ${fix}` };
  const out = spawnSync(file, ['version'], { encoding: 'utf8', timeout: 15_000 });
  const parsed = parseResticVersion(out.stdout);
  if (parsed === undefined || `${parsed.version.major}.${parsed.version.minor}.${parsed.version.patch}` !== label) {
    return { label, path: file, skipReason: `${file} is not restic ${label} (${out.stdout.trim() || out.error?.message || 'no output'})` };
  }
  return { label, path: file, version: parsed.version };
}

/** The restic versions the integration matrix runs against, each with a skip reason when missing. */
export function labRestics(): readonly LabRestic[] {
  return [
    probeRestic('0.14.0', RESTIC_014_PATH, 'install it with `apt-get install restic`'),
    probeRestic('0.18.0', RESTIC_018_PATH, 'run `scripts/setup-system.sh --test` or set BACKHAUL_TEST_RESTIC_018'),
  ];
}

/** True when `program` is on PATH. */
export function haveProgram(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).status === 0;
}

/** A free TCP port on 127.0.0.1 (closed again; the caller binds it right away). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for a child to exit, at most `ms`; true when it did. */
function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      resolve(false);
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** A running `rclone serve restic` on 127.0.0.1. */
export interface RcloneServer {
  readonly port: number;
  /** The directory it serves: repository `rest:…/NAME` is `<dir>/NAME` on disk. */
  readonly dir: string;
  /** `rest:http://127.0.0.1:PORT/NAME` */
  repo(name: string): string;
  /** Stops it (SIGTERM, then SIGKILL) and waits for it to be gone. */
  stop(): Promise<void>;
}

/** Starts `rclone serve restic --addr 127.0.0.1:PORT DIR` on a random free port and waits until it accepts connections. */
export async function startRclone(dir: string): Promise<RcloneServer> {
  await mkdir(dir, { recursive: true });
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn('rclone', ['serve', 'restic', '--addr', `127.0.0.1:${port}`, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-4000);
    });
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      if (await canConnect(port)) {
        return {
          port,
          dir,
          repo: (name) => `rest:http://127.0.0.1:${port}/${name}`,
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGTERM');
            if (!(await exited(child, 5_000))) {
              child.kill('SIGKILL');
              await exited(child, 5_000);
            }
          },
        };
      }
      await sleep(100);
    }
    child.kill('SIGKILL');
    await exited(child, 5_000);
    if (attempt === 4) throw new Error(`rclone serve restic did not start on 127.0.0.1:${port}: ${log}`);
  }
  throw new Error('unreachable');
}

/** Writes `count` files of `size` random bytes under `dir`; returns their paths. */
export async function writeRandomFiles(dir: string, count: number, size: number, prefix = 'f'): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = path.join(dir, `${prefix}${i}.bin`);
    await writeFile(file, randomBytes(size));
    files.push(file);
  }
  return files;
}

/** A restic process holding an exclusive lock, stopped with SIGSTOP. */
export interface LockHolder {
  readonly pid: number;
  /** SIGCONT, SIGINT (restic removes its lock), SIGKILL if it doesn't exit in time. */
  release(): Promise<void>;
}

/**
 * Starts `restic check --read-data --limit-download 1` on an on-disk repository (1 KiB/s keeps it
 * busy), waits until its lock file appears in `<repoDir>/locks/`, and SIGSTOPs it: an exclusive
 * lock held by a live process on this host, which restic does not consider stale.
 */
export async function holdExclusiveLock(resticPath: string, repoDir: string, passwordFile: string): Promise<LockHolder> {
  const before = new Set(await readdir(path.join(repoDir, 'locks')));
  const child = spawn(resticPath, ['-r', repoDir, '--password-file', passwordFile, '--no-cache', 'check', '--read-data', '--limit-download', '1'], {
    stdio: 'ignore',
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${resticPath} check`);
  const release = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    child.kill('SIGINT');
    if (!(await exited(child, 10_000))) {
      child.kill('SIGKILL');
      await exited(child, 5_000);
    }
  };
  // A lock file exists before restic has written it; stopped in that window, it stays empty, and
  // restic ignores a lock it can't read. So wait for a new, non-empty file named by a 64-hex id.
  const haveLock = async (): Promise<boolean> => {
    for (const name of await readdir(path.join(repoDir, 'locks'))) {
      if (!/^[0-9a-f]{64}$/.test(name) || before.has(name)) continue;
      const size = await stat(path.join(repoDir, 'locks', name)).then((s) => s.size, () => 0);
      if (size > 0) return true;
    }
    return false;
  };
  for (let i = 0; i < 600; i++) {
    if (await haveLock()) {
      child.kill('SIGSTOP');
      // Stopped while holding it: the lock must still be there and the process still alive.
      if (child.exitCode === null && (await haveLock())) return { pid, release };
      break;
    }
    if (child.exitCode !== null) break;
    await sleep(20);
  }
  await release();
  throw new Error(`restic check did not take a lock on ${repoDir}`);
}

/**
 * A script that runs restic without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (`setpriv`), so root
 * meets file permissions like any user: a mode-000 file becomes unreadable, while root's own 0600
 * password file and the repository stay readable. Returns the script's path (use it as the binary).
 */
export async function capsDroppedRestic(dir: string, resticPath: string): Promise<string> {
  const script = path.join(dir, `restic-nocaps-${randomBytes(4).toString('hex')}`);
  await writeFile(script, `#!/bin/sh\nexec setpriv --bounding-set -dac_override,-dac_read_search -- '${resticPath}' "$@"\n`);
  await chmod(script, 0o755);
  return script;
}

/** True when this process may drop capabilities with setpriv (root with CAP_SETPCAP). */
export function canDropCaps(): boolean {
  if (process.getuid?.() !== 0 || !haveProgram('setpriv')) return false;
  return spawnSync('setpriv', ['--bounding-set', '-dac_override', '--', 'true']).status === 0;
}
