/**
 * A real OpenSSH server for the rsync integration tests and the benchmark: started by the caller
 * on 127.0.0.1 (random port) or inside a network namespace, with a freshly generated host key and
 * user key, and a known_hosts file that holds exactly that host key. Needs root (sshd's privilege
 * separation) and `openssh-server` (scripts/setup-system.sh --test installs it). Spawns directly:
 * test helpers and benchmarks may.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { freePort } from './restic-lab.js';

export const SSHD_PATH = '/usr/sbin/sshd';

/** Why an sshd can't be started here, or undefined when it can. */
export function sshdSkipReason(): string | undefined {
  if (!existsSync(SSHD_PATH)) return `${SSHD_PATH} is missing: run scripts/setup-system.sh --test (apt-get install openssh-server)`;
  if (process.getuid?.() !== 0) return 'sshd needs root here (privilege separation, root login for the test user)';
  for (const tool of ['ssh', 'ssh-keygen', 'rsync']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  return undefined;
}

/** `ssh-keygen -t ed25519` without a passphrase; returns the public key line. */
export async function generateKey(file: string, comment = 'backhaul-test'): Promise<string> {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  return (await readFile(`${file}.pub`, 'utf8')).trim();
}

/** The known_hosts line for a host key on host:port (`[host]:port` unless the port is 22). */
export function knownHostsLine(host: string, port: number, publicKey: string): string {
  const name = port === 22 ? host : `[${host}]:${port}`;
  const [type = '', key = ''] = publicKey.split(/\s+/);
  return `${name} ${type} ${key}`;
}

export interface SshServer {
  readonly host: string;
  readonly port: number;
  /** The user's private key (authorized on the server). */
  readonly userKey: string;
  /** A known_hosts file holding exactly this server's host key. */
  readonly knownHosts: string;
  /** The server's host public key line. */
  readonly hostPublicKey: string;
  readonly dir: string;
  readonly pid: number;
  /** sshd's own log (-E). */
  log(): Promise<string>;
  /** SIGTERM, then SIGKILL; waits until it is gone. */
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** Private directory for keys, config, pid and log; created. */
  readonly dir: string;
  /** Listen address. Default 127.0.0.1. */
  readonly host?: string;
  /** Default: a random free port on 127.0.0.1 (or 22 inside a namespace). */
  readonly port?: number;
  /** Run inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
}

/** Starts `sshd -D` and waits until it answers with its SSH banner. */
export async function startSshd(options: SshdOptions): Promise<SshServer> {
  const { dir } = options;
  const host = options.host ?? '127.0.0.1';
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const hostPublicKey = await generateKey(path.join(dir, 'host_ed25519'), 'backhaul-test-host');
  const userPublicKey = await generateKey(path.join(dir, 'user_ed25519'), 'backhaul-test-user');
  await writeFile(path.join(dir, 'authorized_keys'), `${userPublicKey}\n`, { mode: 0o600 });
  const attempts = options.port === undefined && options.netns === undefined ? 5 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (options.netns === undefined ? await freePort() : 22);
    const config = path.join(dir, 'sshd_config');
    await writeFile(
      config,
      [
        `Port ${port}`,
        `ListenAddress ${host}`,
        `HostKey ${path.join(dir, 'host_ed25519')}`,
        `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'UseDNS no',
        // Parallel workers open several connections at once; the default 10:30:100 drops some.
        'MaxStartups 100:30:200',
        'MaxSessions 64',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    const knownHosts = path.join(dir, 'known_hosts');
    await writeFile(knownHosts, `${knownHostsLine(host, port, hostPublicKey)}\n`);
    const logFile = path.join(dir, 'sshd.log');
    const child = spawnSshd([SSHD_PATH, '-D', '-E', logFile, '-f', config], dir, options.netns);
    const pid = child.pid;
    if (pid === undefined) throw new Error('sshd did not start');
    const server: SshServer = {
      host,
      port,
      userKey: path.join(dir, 'user_ed25519'),
      knownHosts,
      hostPublicKey,
      dir,
      pid,
      log: () => readFile(logFile, 'utf8').catch(() => ''),
      stop: () => stopChild(child),
    };
    if (await waitForBanner(host, port, options.netns, child)) return server;
    await server.stop();
    if (attempt >= attempts) throw new Error(`sshd did not start on ${host}:${port}: ${await server.log()}`);
  }
}

/**
 * Starts sshd in a private mount namespace (`unshare -m`, or the one `ip netns exec` makes) where
 * the login user's ~/.bashrc is an empty file. bash sources ~/.bashrc for commands run by sshd, and
 * a developer machine's (here: `pyenv init`, 0.8 s) would be paid on every rsync connection — a
 * cost of this machine, not of rsync. The host's file is untouched. `unshare`, `ip` and `sh` exec
 * their successor, so the child's pid is sshd's.
 */
function spawnSshd(argv: readonly string[], dir: string, netns: string | undefined): ChildProcess {
  const home = process.env.HOME ?? '/root';
  const rc = path.join(home, '.bashrc');
  const quiet = existsSync(rc) ? `mount --bind "$1" "$2" && ` : '';
  const script = `${quiet}shift 2; exec "$@"`;
  const inner = ['sh', '-c', script, 'sh', path.join(dir, 'empty-bashrc'), rc, ...argv];
  writeFileSync(path.join(dir, 'empty-bashrc'), '');
  const launcher = netns === undefined ? ['unshare', '--mount', '--propagation', 'private', ...inner] : ['ip', 'netns', 'exec', netns, ...inner];
  return spawn(launcher[0] ?? '', launcher.slice(1), { stdio: 'ignore' });
}

/** Waits (bounded, ~30 s on a loaded machine) until host:port answers `SSH-2.0-…`. */
async function waitForBanner(host: string, port: number, netns: string | undefined, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 300 && child.exitCode === null; i++) {
    if (netns === undefined ? await bannerOnLoopback(host, port) : bannerInNamespace(host, port, netns)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

function bannerOnLoopback(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => {
      done(false);
    });
    socket.once('data', (chunk: Buffer) => {
      done(chunk.toString('latin1').startsWith('SSH-'));
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

function bannerInNamespace(host: string, port: number, netns: string): boolean {
  const probe = `exec 3<>/dev/tcp/${host}/${port} && head -c 4 <&3`;
  // stdin must not be a socket: bash then thinks sshd started it and sources ~/.bashrc.
  const r = spawnSync('ip', ['netns', 'exec', netns, 'timeout', '2', 'bash', '-c', probe], { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'] });
  return r.stdout.startsWith('SSH-');
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => {
    resolve();
  }));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}
