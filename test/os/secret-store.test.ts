/**
 * The secret store: choosing the backend (a table), and the file backend on the real filesystem —
 * permissions, atomic replace, names, and the same "not found" error as the keychain.
 */
import fc from 'fast-check';
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSecretRef } from '../../src/config/schema.js';
import { createFileSecretStore } from '../../src/os/secret-store-file.js';
import { createKeychainStore, probeSecretService } from '../../src/os/secret-store-keychain.js';
import {
  checkSecretName,
  chooseSecretBackend,
  fileStoreDir,
  openSecretStore,
  SECRET_NAME,
  type SecretBackendInput,
} from '../../src/os/secret-store.js';
import { resolveSecret, SecretError } from '../../src/os/secrets.js';

const CANARY = 'canary-5c2a77-FileStore-S3cret';

// This file's keychain cases need no session bus, even when the test runner has one (the keyring
// library reads the variable on first use; test/os/keychain.test.ts runs in its own process).
delete process.env.DBUS_SESSION_BUS_ADDRESS;
const posix = process.platform !== 'win32';
let root: string;
let counter = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'backhaul-secret-store-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh state dir for each test. */
async function stateDir(): Promise<string> {
  counter += 1;
  const dir = join(root, `state-${counter}`);
  await mkdir(dir);
  return dir;
}

describe('chooseSecretBackend', () => {
  const answers = { ok: true } as const;
  const silent = { ok: false, reason: 'DBus error: no bus' } as const;
  const rows: [string, Omit<SecretBackendInput, 'probe'>, 'answers' | 'silent' | 'not asked', unknown][] = [
    ['file is file', { setting: 'file', platform: 'linux', mode: 'user' }, 'not asked', { backend: 'file' }],
    ['keychain is forced without asking', { setting: 'keychain', platform: 'linux', mode: 'system' }, 'not asked', { backend: 'keychain' }],
    ['macOS always has its Keychain', { setting: 'auto', platform: 'darwin', mode: 'system' }, 'not asked', { backend: 'keychain' }],
    ['Windows always has Credential Manager', { setting: 'auto', platform: 'win32', mode: 'user' }, 'not asked', { backend: 'keychain' }],
    ['a Linux system service uses files', { setting: 'auto', platform: 'linux', mode: 'system' }, 'not asked', { backend: 'file', fallback: expect.stringContaining('system service') as unknown }],
    ['a Linux user with a Secret Service', { setting: 'auto', platform: 'linux', mode: 'user' }, 'answers', { backend: 'keychain' }],
    ['a headless Linux user', { setting: 'auto', platform: 'linux', mode: 'user' }, 'silent', { backend: 'file', fallback: 'no Secret Service answered (DBus error: no bus)' }],
    ['FreeBSD follows Linux', { setting: 'auto', platform: 'freebsd', mode: 'user' }, 'silent', { backend: 'file', fallback: expect.stringContaining('no Secret Service') as unknown }],
  ];
  it.each(rows)('%s', async (_name, input, probe, expected) => {
    let asked = 0;
    const choice = await chooseSecretBackend({
      ...input,
      probe: () => {
        asked++;
        return Promise.resolve(probe === 'answers' ? answers : silent);
      },
    });
    expect(choice).toEqual(expected);
    expect(asked).toBe(probe === 'not asked' ? 0 : 1);
  });
});

describe('openSecretStore', () => {
  it('falls back to files with one warning, chosen once on first use', async () => {
    const state = await stateDir();
    const warnings: string[] = [];
    let probes = 0;
    const store = openSecretStore({
      setting: 'auto', mode: 'user', stateDir: state, platform: 'linux',
      probe: () => { probes++; return Promise.resolve({ ok: false, reason: 'no bus' }); },
      onFallback: (w) => warnings.push(w),
    });
    expect(probes).toBe(0); // nothing is asked until a secret is used
    await store.set('repo', CANARY);
    expect(await store.get('repo')).toBe(CANARY);
    expect(await store.list()).toEqual(['repo']);
    expect(await store.describe()).toEqual({ kind: 'file', location: fileStoreDir(state), mode: 'user' });
    expect(probes).toBe(1);
    expect(warnings).toEqual([
      `keychain: secrets are kept in files in ${join(state, 'secrets')} (mode 0600, readable by this account and root), not in an OS keychain: no Secret Service answered (no bus). ` +
        'Run a Secret Service (gnome-keyring, KeePassXC) in the session to use it, or set settings.secretStore: file to make this choice explicit.',
    ]);
  });

  it('says nothing when the file store is chosen explicitly', async () => {
    const warnings: string[] = [];
    const store = openSecretStore({ setting: 'file', mode: 'system', stateDir: await stateDir(), onFallback: (w) => warnings.push(w) });
    await store.set('psk', CANARY);
    expect(await store.get('psk')).toBe(CANARY);
    expect(warnings).toEqual([]);
  });
});

describe('file secret store', () => {
  it('creates the folder 0700 and each secret 0600, even with a permissive umask', async () => {
    const dir = fileStoreDir(await stateDir());
    const store = createFileSecretStore({ dir, mode: 'user' });
    const previous = process.umask(0);
    try {
      await store.set('office-psk', CANARY);
    } finally {
      process.umask(previous);
    }
    expect(await readFile(join(dir, 'office-psk'), 'utf8')).toBe(CANARY);
    if (posix) {
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      expect((await stat(join(dir, 'office-psk'))).mode & 0o777).toBe(0o600);
    }
  });

  it.runIf(posix)('tightens a folder someone left open', async () => {
    const dir = fileStoreDir(await stateDir());
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    await createFileSecretStore({ dir, mode: 'user' }).set('x1', CANARY);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it('replaces atomically: a new file renamed over the old, no temp file left', async () => {
    const dir = fileStoreDir(await stateDir());
    const store = createFileSecretStore({ dir, mode: 'user' });
    await store.set('repo', `${CANARY}-old`);
    const before = await stat(join(dir, 'repo'));
    // A reader that opened the old secret keeps reading it whole, not a mix of old and new.
    const reader = await open(join(dir, 'repo'), 'r');
    try {
      await store.set('repo', `${CANARY}-new`);
      expect(await reader.readFile('utf8')).toBe(`${CANARY}-old`);
    } finally {
      await reader.close();
    }
    const after = await stat(join(dir, 'repo'));
    expect(after.ino).not.toBe(before.ino);
    expect(await store.get('repo')).toBe(`${CANARY}-new`);
    expect(await readdir(dir)).toEqual(['repo']);
  });

  it('ignores what an interrupted write leaves behind', async () => {
    const dir = fileStoreDir(await stateDir());
    const store = createFileSecretStore({ dir, mode: 'user' });
    await store.set('repo', CANARY);
    await writeFile(join(dir, '.repo.0123456789ab.tmp'), 'half', { mode: 0o600 });
    expect(await store.list()).toEqual(['repo']);
    expect(await store.get('repo')).toBe(CANARY);
  });

  it('keeps values byte-exact and lists names only, sorted', async () => {
    const store = createFileSecretStore({ dir: fileStoreDir(await stateDir()), mode: 'user' });
    expect(await store.list()).toEqual([]);
    await store.set('b', `${CANARY}\n`);
    await store.set('a@office.example', ` ${CANARY} `);
    expect(await store.get('b')).toBe(`${CANARY}\n`);
    expect(await store.get('a@office.example')).toBe(` ${CANARY} `);
    expect(await store.list()).toEqual(['a@office.example', 'b']);
  });

  it('deletes, and says whether there was something to delete', async () => {
    const store = createFileSecretStore({ dir: fileStoreDir(await stateDir()), mode: 'user' });
    expect(await store.delete('repo')).toBe(false);
    await store.set('repo', CANARY);
    expect(await store.delete('repo')).toBe(true);
    expect(await store.get('repo')).toBeUndefined();
    expect(await store.delete('repo')).toBe(false);
  });

  it('a missing secret gives the same error as the keychain: the reference, the folder and the fix', async () => {
    const dir = fileStoreDir(await stateDir());
    const error = await resolveSecret({ kind: 'keychain', name: 'office-user' }, { store: createFileSecretStore({ dir, mode: 'system' }) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretError);
    expect(error).toMatchObject({ code: 'secret.not-found', message: `keychain:office-user not found in ${dir}`, hint: 'store it with: backhaul --system secret set office-user' });
  });

  it.runIf(posix)('refuses a secret file someone made readable by others, without showing it', async () => {
    const dir = fileStoreDir(await stateDir());
    const store = createFileSecretStore({ dir, mode: 'user' });
    await store.set('repo', CANARY);
    await chmod(join(dir, 'repo'), 0o644);
    const error = await store.get('repo').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'secret.permissions' });
    expect(JSON.stringify(error) + String(error)).not.toContain(CANARY);
  });

  it('refuses an empty value', async () => {
    const store = createFileSecretStore({ dir: fileStoreDir(await stateDir()), mode: 'user' });
    await expect(store.set('repo', '')).rejects.toMatchObject({ code: 'secret.empty' });
  });

  it('refuses every name outside the rule before touching the disk (fuzzed)', async () => {
    const dir = fileStoreDir(await stateDir());
    const store = createFileSecretStore({ dir, mode: 'user' });
    for (const name of ['', '.', '..', '../escape', 'a/b', 'a\\b', '.hidden', '-x', 'x'.repeat(129)]) {
      await expect(store.set(name, CANARY)).rejects.toMatchObject({ code: 'secret.invalid-reference' });
    }
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 140 }).filter((name) => !SECRET_NAME.test(name)), async (name) => {
        await expect(store.set(name, CANARY)).rejects.toMatchObject({ code: 'secret.invalid-reference' });
        await expect(store.get(name)).rejects.toMatchObject({ code: 'secret.invalid-reference' });
      }),
      { numRuns: 200 },
    );
    await expect(readdir(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('secret names', () => {
  it('follow exactly the rule of keychain:NAME in the config', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 140 }), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,130}$/)), (name) => {
        const inConfig = parseSecretRef(`keychain:${name}`).ok;
        let accepted = true;
        try {
          checkSecretName(name);
        } catch {
          accepted = false;
        }
        expect(accepted).toBe(inConfig);
      }),
      { numRuns: 500 },
    );
  });
});

describe.runIf(process.platform === 'linux')('keychain store without a session bus', () => {
  const store = createKeychainStore({ service: 'backhaul-test', mode: 'user', platform: 'linux' });

  it('the probe says why there is no Secret Service', async () => {
    const probe = await probeSecretService('backhaul-test');
    expect(probe.ok).toBe(false);
    expect(probe.ok ? '' : probe.reason).toContain('DBUS_SESSION_BUS_ADDRESS');
  });

  it('forced anyway (secretStore: keychain), every call is a clear store error without the value', async () => {
    await expect(store.get('repo')).rejects.toMatchObject({
      code: 'secret.store-unavailable',
      message: expect.stringMatching(/^could not read keychain:repo in the Secret Service \(service backhaul-test\): .*DBUS_SESSION_BUS_ADDRESS/) as unknown,
      hint: expect.stringContaining('settings.secretStore: file') as unknown,
    });
    const error = await store.set('repo', CANARY).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'secret.store-unavailable' });
    expect(JSON.stringify(error) + String(error)).not.toContain(CANARY);
    await expect(store.list()).rejects.toMatchObject({ code: 'secret.store-unavailable' });
  });

  it('refuses the same names as the file store', async () => {
    await expect(store.get('../x')).rejects.toMatchObject({ code: 'secret.invalid-reference' });
    await expect(store.set('(backhaul-probe)', CANARY)).rejects.toMatchObject({ code: 'secret.invalid-reference' });
  });
});
