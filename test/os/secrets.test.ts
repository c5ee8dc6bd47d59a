import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPrivateDir,
  generatePassword,
  MAX_SECRET_BYTES,
  resolveSecret,
  SecretError,
  writeSecretFile,
  type SecretErrorCode,
} from '../../src/os/secrets.js';

const CANARY = 'canary-7d1f0c9e-Sup3rS3cret';
const posix = process.platform !== 'win32';
const isRoot = process.getuid?.() === 0;

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backhaul-secrets-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function secretFile(content: string | Buffer, mode = 0o600): Promise<string> {
  counter += 1;
  const path = join(dir, `secret-${counter}`);
  await writeFile(path, content, { mode });
  await chmod(path, mode);
  return path;
}

/** Resolve and expect a SecretError with `code`; checks the canary is nowhere in it. */
async function failure(path: string, code: SecretErrorCode): Promise<SecretError> {
  const added: string[] = [];
  let thrown: unknown;
  try {
    await resolveSecret({ kind: 'file', path }, { redactor: { add: (s) => added.push(s) } });
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(SecretError);
  const error = thrown as SecretError;
  expect(error.code).toBe(code);
  for (const text of [error.message, error.hint, String(error), error.stack ?? '', JSON.stringify(error)]) {
    expect(text).not.toContain(CANARY);
  }
  expect(added).toEqual([]);
  return error;
}

describe('resolveSecret(file:)', () => {
  it('reads the secret and strips one trailing newline', async () => {
    expect(await resolveSecret({ kind: 'file', path: await secretFile(`${CANARY}\n`) })).toBe(CANARY);
    expect(await resolveSecret({ kind: 'file', path: await secretFile(`${CANARY}\r\n`) })).toBe(CANARY);
    expect(await resolveSecret({ kind: 'file', path: await secretFile(CANARY) })).toBe(CANARY);
    expect(await resolveSecret({ kind: 'file', path: await secretFile(`${CANARY}\n\n`) })).toBe(`${CANARY}\n`);
    expect(await resolveSecret({ kind: 'file', path: await secretFile(` ${CANARY} \n`) })).toBe(` ${CANARY} `);
  });

  it('registers the value with the redactor', async () => {
    const added: string[] = [];
    const value = await resolveSecret({ kind: 'file', path: await secretFile(`${CANARY}\n`) }, { redactor: { add: (s) => added.push(s) } });
    expect(value).toBe(CANARY);
    expect(added).toEqual([CANARY]);
  });

  it('accepts read-only (0400) files', async () => {
    expect(await resolveSecret({ kind: 'file', path: await secretFile(CANARY, 0o400) })).toBe(CANARY);
  });

  it('follows a symlink to a private file', async () => {
    const target = await secretFile(CANARY);
    const link = join(dir, 'link-to-secret');
    await symlink(target, link);
    expect(await resolveSecret({ kind: 'file', path: link })).toBe(CANARY);
  });

  it.skipIf(!posix).each([0o644, 0o640, 0o604, 0o660, 0o601, 0o620, 0o777].map((m) => [m.toString(8), m] as const))(
    'refuses mode %s with the chmod to run',
    async (_label, mode) => {
    const path = await secretFile(CANARY, mode);
    const error = await failure(path, 'secret.permissions');
    const shown = mode.toString(8).padStart(4, '0');
    expect(error.message).toBe(`${path}: permissions ${shown} are too open; run: chmod 600 ${path}`);
    expect(error.hint).toBe(`run: chmod 600 ${path}`);
    },
  );

  it.skipIf(!posix)('accepts 0700 (no group or other bits)', async () => {
    expect(await resolveSecret({ kind: 'file', path: await secretFile(CANARY, 0o700) })).toBe(CANARY);
  });

  it.skipIf(!posix)('quotes odd paths in the suggested command', async () => {
    await mkdir(join(dir, 'with space'));
    const path = join(dir, 'with space', "it's.pw");
    await writeFile(path, CANARY, { mode: 0o644 });
    await chmod(path, 0o644);
    const error = await failure(path, 'secret.permissions');
    expect(error.hint).toBe(`run: chmod 600 '${join(dir, 'with space')}/it'\\''s.pw'`);
  });

  it.skipIf(!posix || !isRoot)('refuses a file owned by another user', async () => {
    const path = await secretFile(CANARY);
    await chown(path, 65534, 65534);
    const error = await failure(path, 'secret.owner');
    expect(error.message).toBe(`${path}: owned by uid 65534, but Backhaul runs as uid 0; a secret file must belong to the user that reads it`);
    expect(error.hint).toBe(`run: chown 0 ${path}`);
  });

  it('refuses an empty file, or one with only a newline', async () => {
    expect((await failure(await secretFile(''), 'secret.empty')).message).toMatch(/: the file is empty$/);
    await failure(await secretFile('\n'), 'secret.empty');
    await failure(await secretFile('\r\n'), 'secret.empty');
  });

  it('refuses files over 64 KiB and accepts exactly 64 KiB', async () => {
    await failure(await secretFile(CANARY + 'x'.repeat(MAX_SECRET_BYTES)), 'secret.too-large');
    const exact = 'y'.repeat(MAX_SECRET_BYTES);
    expect(await resolveSecret({ kind: 'file', path: await secretFile(exact) })).toBe(exact);
  });

  it('refuses binary that is not UTF-8', async () => {
    await failure(await secretFile(Buffer.concat([Buffer.from(CANARY), Buffer.from([0xff, 0xfe, 0xc3])])), 'secret.not-text');
  });

  it('says when the file is missing', async () => {
    const path = join(dir, 'nope.pw');
    const error = await failure(path, 'secret.not-found');
    expect(error.message).toBe(`${path}: secret file not found`);
    expect(error.hint).toMatch(/install -m 600 \/dev\/null /);
  });

  it('refuses a directory', async () => {
    const sub = join(dir, 'a-directory');
    await mkdir(sub, { mode: 0o700 });
    await failure(sub, 'secret.not-a-file');
  });

  it.skipIf(!posix)('refuses a FIFO without blocking on it', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    await failure(fifo, 'secret.not-a-file');
  });

  it('refuses a relative path', async () => {
    await failure('relative/office.pw', 'secret.invalid-reference');
  });
});

describe('resolveSecret(keychain:)', () => {
  // Found and missing secrets: test/os/keychain.test.ts (Secret Service), test/os/secret-store.test.ts (files).
  it('without a store (a caller not wired to one) fails clearly instead of guessing a store', async () => {
    const error = await resolveSecret({ kind: 'keychain', name: 'office-user' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretError);
    expect(error).toMatchObject({
      code: 'secret.unsupported',
      message: 'keychain:office-user: no secret store is available here',
    });
  });
});

describe('writeSecretFile', () => {
  it('creates a 0600 file even with a permissive umask', async () => {
    const target = await mkdtemp(join(dir, 'write-'));
    const previous = process.umask(0);
    let path: string;
    try {
      path = await writeSecretFile(target, 'repo.pw', CANARY);
    } finally {
      process.umask(previous);
    }
    expect(path).toBe(join(target, 'repo.pw'));
    expect(await readFile(path, 'utf8')).toBe(CANARY);
    if (posix) expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await resolveSecret({ kind: 'file', path })).toBe(CANARY);
  });

  it('never overwrites an existing file or follows a symlink', async () => {
    const target = await mkdtemp(join(dir, 'write-'));
    await writeSecretFile(target, 'a.pw', 'first');
    const error = await writeSecretFile(target, 'a.pw', CANARY).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'secret.exists' });
    expect(String(error)).not.toContain(CANARY);
    expect(await readFile(join(target, 'a.pw'), 'utf8')).toBe('first');

    const elsewhere = join(target, 'elsewhere');
    await symlink(elsewhere, join(target, 'b.pw'));
    await expect(writeSecretFile(target, 'b.pw', CANARY)).rejects.toMatchObject({ code: 'secret.exists' });
    await expect(stat(elsewhere)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.each(['', '.', '..', 'a/b', '../x', 'a\\b'])('refuses the file name %j', async (name) => {
    await expect(writeSecretFile(dir, name, CANARY)).rejects.toMatchObject({ code: 'secret.invalid-reference' });
  });
});

describe('createPrivateDir', () => {
  it('creates a fresh 0700 directory with the prefix', async () => {
    const previous = process.umask(0);
    let a: string;
    let b: string;
    try {
      a = await createPrivateDir(dir, 'vpn-');
      b = await createPrivateDir(dir, 'vpn-');
    } finally {
      process.umask(previous);
    }
    expect(a).not.toBe(b);
    expect(a.startsWith(join(dir, 'vpn-'))).toBe(true);
    const info = await stat(a);
    expect(info.isDirectory()).toBe(true);
    if (posix) expect(info.mode & 0o777).toBe(0o700);
  });
});

describe('generatePassword', () => {
  it('makes 32 random bytes as base64url', () => {
    const passwords = new Set(Array.from({ length: 100 }, () => generatePassword()));
    expect(passwords.size).toBe(100);
    for (const password of passwords) {
      expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(password, 'base64url')).toHaveLength(32);
    }
  });
});
