/**
 * The file backend for hosts without an OS keychain (headless Linux, a system service): one file
 * per secret, named after it, in a 0700 folder of the state dir, each file 0600 and owned by the
 * account Backhaul runs as. Weaker than a keychain (root and this account can read the files; they
 * sit in backups of the state dir), which is why choosing it automatically comes with a warning.
 * Writes are atomic: a temp file created 0600 is fsynced and renamed over the old one, so a crash
 * leaves the old secret or the new one, never half of either.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { checkSecretName, SECRET_NAME } from './secret-name.js';
import type { SecretStore } from './secret-store.js';
import { readSecretFile, SecretError } from './secrets.js';

export interface FileSecretStoreOptions {
  /** The folder, from fileStoreDir(stateDir). Created (0700) on the first write. */
  readonly dir: string;
  readonly mode: 'user' | 'system';
}

const posix = process.platform !== 'win32';

export function createFileSecretStore(options: FileSecretStoreOptions): SecretStore {
  const { dir } = options;
  return {
    async get(name) {
      checkSecretName(name);
      try {
        // The same checks as a file: reference (regular file, owner, 0600), but byte-exact.
        return await readSecretFile(join(dir, name), { trimNewline: false });
      } catch (error) {
        if (error instanceof SecretError && error.code === 'secret.not-found') return undefined;
        throw error;
      }
    },
    async set(name, value) {
      checkSecretName(name);
      if (value === '') throw new SecretError('secret.empty', `keychain:${name}: the secret is empty`, 'give a non-empty value');
      await ensurePrivateDir(dir);
      await writeAtomically(dir, name, value);
    },
    async delete(name) {
      checkSecretName(name);
      try {
        await unlink(join(dir, name));
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') return false;
        throw fileError('delete', join(dir, name), error);
      }
      await syncDir(dir);
      return true;
    },
    async list() {
      let entries: string[];
      try {
        entries = await readdir(dir);
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') return [];
        throw fileError('list', dir, error);
      }
      // Temp files start with "." and so never match the name rule.
      return entries.filter((entry) => SECRET_NAME.test(entry)).sort();
    },
    describe: () => Promise.resolve({ kind: 'file', location: dir, mode: options.mode }),
  };
}

/**
 * The folder exists, is a real directory (not a symlink someone planted) and is 0700 — tightened
 * if an older version or a person left it wider.
 */
async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  if (!info.isDirectory()) {
    throw new SecretError('secret.not-a-file', `${dir}: not a directory`, `remove it; Backhaul creates the folder for its secret files itself`);
  }
  if (posix && (info.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

async function writeAtomically(dir: string, name: string, value: string): Promise<void> {
  const temp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  // O_EXCL|O_NOFOLLOW with mode 0600: the value is never in a file anyone else could open.
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (posix ? constants.O_NOFOLLOW : 0);
  try {
    const handle = await open(temp, flags, 0o600);
    try {
      await handle.writeFile(value, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(dir, name));
  } catch (error) {
    await rm(temp, { force: true });
    throw fileError('write', join(dir, name), error);
  }
  await syncDir(dir);
}

/** Makes a rename or unlink durable (POSIX); Windows has no directory handles to sync. */
async function syncDir(dir: string): Promise<void> {
  if (!posix) return;
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function errnoCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'UNKNOWN';
}

function fileError(action: string, path: string, error: unknown): SecretError {
  return new SecretError(
    'secret.store-unavailable',
    `could not ${action} ${path} (${errnoCode(error)})`,
    'check that the state dir is writable by the account Backhaul runs as (use --system for the system service\'s secrets)',
  );
}
