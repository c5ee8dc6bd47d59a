/**
 * A real, throwaway Secret Service for tests: a private D-Bus session bus (`dbus-daemon --session`)
 * and gnome-keyring-daemon on it, unlocked with a password on stdin, its keyrings in a temp
 * XDG_DATA_HOME (the recipe in /work/shared/reference/deps.md, "Headless keyring recipe", with the
 * bus started here instead of by dbus-run-session, since the test runner is not inside one).
 *
 * The caller sets DBUS_SESSION_BUS_ADDRESS in its own process before the first @napi-rs/keyring
 * call: the library reads it on first use and keeps a failed connection for the life of the
 * process (checked: an early call without the variable makes every later call fail).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SecretService {
  /** The session bus address to put in DBUS_SESSION_BUS_ADDRESS. */
  readonly address: string;
  stop(): Promise<void>;
}

const TOOLS = ['dbus-daemon', 'gnome-keyring-daemon', 'dbus-send'] as const;

/** Why the Secret Service tests can't run here, or undefined when they can. */
export function secretServiceUnavailable(): string | undefined {
  const missing = TOOLS.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  return missing.length === 0
    ? undefined
    : `needs ${missing.join(', ')}: apt-get install gnome-keyring dbus-x11 (scripts/setup-system.sh --test does)`;
}

/** Starts the bus and the keyring; resolves once org.freedesktop.secrets is on the bus. */
export async function startSecretService(): Promise<SecretService> {
  const home = await mkdtemp(join(tmpdir(), 'backhaul-secret-service-'));
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
    await rm(home, { recursive: true, force: true });
  };
  try {
    const bus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(bus);
    const address = await firstLine(bus, 'dbus-daemon');
    const env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: address, XDG_DATA_HOME: join(home, 'data'), XDG_RUNTIME_DIR: home };
    const keyring = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], { env, stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(keyring);
    // --unlock reads the new login keyring's password from stdin; without it the daemon would
    // try to show a prompt and every call would fail.
    keyring.stdin.end('backhaul-test-keyring');
    // It prints nothing when XDG_RUNTIME_DIR is set (which keeps its control socket out of ~/.cache),
    // so readiness is its name appearing on the bus.
    await waitForName(address, 'org.freedesktop.secrets', keyring);
    return { address, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function firstLine(child: ChildProcess, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const newline = text.indexOf('\n');
      if (newline >= 0) resolve(text.slice(0, newline).trim());
    });
    child.once('error', reject);
    child.once('exit', (code) => { reject(new Error(`${name} exited (${String(code)}) before it was ready`)); });
  });
}

/** Polls the bus until `name` has an owner (bounded by attempts, not by a clock assertion). */
async function waitForName(address: string, name: string, owner: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt++) {
    if (owner.exitCode !== null) throw new Error(`the process that should own ${name} exited (${owner.exitCode})`);
    const result = spawnSync(
      'dbus-send',
      ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', `string:${name}`],
      { env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address }, encoding: 'utf8' },
    );
    if (result.status === 0 && /boolean true/.test(result.stdout)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${name} never appeared on the test session bus`);
}
