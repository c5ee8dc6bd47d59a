/**
 * End to end: a restic job whose repository password is `keychain:repo-pw` is initialised and
 * backed up by the real CLI (`init`, `run --foreground`) with real restic — once with the secret in
 * the file store, once in a real Secret Service (gnome-keyring on a private bus, started here) — and
 * a reference to a missing secret fails the run naming the reference and the fix. The password is
 * never in a log line or in the CLI's output.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretSetCommand, type SecretInput } from '../../src/cli/commands/secret.js';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';
import { labRestics, writeRandomFiles } from '../helpers/restic-lab.js';
import { secretServiceUnavailable, startSecretService, type SecretService } from '../helpers/secret-service.js';

const restic = labRestics()[0];
const unavailable = restic?.skipReason ?? secretServiceUnavailable();
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'backhaul-keychain-restic-'));
  process.env.RESTIC_CACHE_DIR = join(work, 'cache');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A home with one restic job whose password is keychain:repo-pw (or `passwordName`). */
async function prepareHome(name: string, settings: string, passwordName = 'repo-pw'): Promise<string> {
  const home = join(work, name);
  const data = join(home, 'data');
  await mkdir(data, { recursive: true });
  await writeRandomFiles(data, 3, 16 * 1024);
  await writeFile(
    join(home, 'config.yaml'),
    `${settings}jobs:\n  nightly:\n    sources: [${data}]\n    repository: ${join(home, 'repo')}\n    password: keychain:${passwordName}\n`,
  );
  return home;
}

const piped = (value: string): SecretInput => ({
  isTTY: false,
  promptHidden: () => Promise.reject(new Error('not a terminal')),
  readAll: () => Promise.resolve(Buffer.from(`${value}\n`)),
});

/** init, run --foreground, snapshots through the CLI; everything they print and log. */
async function initAndBackUp(home: string): Promise<string> {
  const printed: string[] = [];
  for (const args of [['init', 'nightly'], ['run', 'nightly', '--foreground'], ['snapshots', 'nightly', '--json']]) {
    const { io, out, err } = captureIo();
    const code = await main(['--home', home, ...args], io);
    printed.push(out.text(), err.text());
    expect(code, `${args.join(' ')}: ${err.text()}`).toBe(0);
    if (args[0] === 'snapshots') expect(JSON.parse(out.text())).toHaveLength(1);
  }
  const logDir = join(home, 'logs');
  const logs = await Promise.all((await readdir(logDir).catch(() => [])).map((file) => readFile(join(logDir, file), 'utf8')));
  return [...printed, ...logs].join('\n');
}

describe.skipIf(restic?.skipReason !== undefined)(`keychain: repository password, file store${restic?.skipReason === undefined ? '' : ` (skipped: ${restic.skipReason})`}`, () => {
  it('a job with password keychain:repo-pw backs up, the secret in 0600 files', async () => {
    const password = `canary-${randomBytes(12).toString('hex')}`;
    const home = await prepareHome('file-store', 'settings:\n  secretStore: file\n');
    expect(await secretSetCommand('repo-pw', { home }, captureIo().io, piped(password))).toBe(0);
    expect(await readdir(join(home, 'state', 'secrets'))).toEqual(['repo-pw']);
    expect(await initAndBackUp(home)).not.toContain(password);
  });
});

describe.skipIf(unavailable !== undefined)(`keychain: repository password, Secret Service${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`, () => {
  let service: SecretService | undefined;
  let previousBus: string | undefined;
  beforeAll(async () => {
    const started = await startSecretService();
    service = started;
    // Before this process's first keyring call (the library keeps its first connection).
    previousBus = process.env.DBUS_SESSION_BUS_ADDRESS;
    process.env.DBUS_SESSION_BUS_ADDRESS = started.address;
  });
  afterAll(async () => {
    if (previousBus === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
    else process.env.DBUS_SESSION_BUS_ADDRESS = previousBus;
    await service?.stop();
  });

  it('auto finds the Secret Service; the job backs up with the password from it, nothing on disk', async () => {
    const password = `canary-${randomBytes(12).toString('hex')}`;
    const home = await prepareHome('secret-service', '');
    const set = captureIo();
    expect(await secretSetCommand('repo-pw', { home }, set.io, piped(password))).toBe(0);
    expect(set.out.text()).toBe('Stored keychain:repo-pw in the Secret Service (service backhaul).\n');
    expect(set.err.text()).toBe('');
    expect(await initAndBackUp(home)).not.toContain(password);
    await expect(readdir(join(home, 'state', 'secrets'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a missing secret fails the run, naming the reference, the store and the fix', async () => {
    const home = await prepareHome('missing', '', 'never-stored');
    const { io, err } = captureIo();
    expect(await main(['--home', home, 'run', 'nightly', '--foreground'], io)).toBe(1);
    expect(err.text()).toContain('keychain:never-stored not found in the Secret Service (service backhaul)');
    expect(err.text()).toContain('store it with: backhaul secret set never-stored');
  });
});
