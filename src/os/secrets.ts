/**
 * Secrets: resolving the references a config holds (`file:/path`, `keychain:NAME`) into values,
 * and writing secrets to disk safely for tools that read them from files. Errors never contain the
 * secret; a resolved value is registered with the caller's redactor before anyone else sees it.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdtemp, open } from 'node:fs/promises';
import { basename, isAbsolute, join } from 'node:path';
import type { SecretStore } from './secret-store.js';

/** A reference to a secret, as parsed from the config (`file:/abs/path` or `keychain:name`). */
export type SecretReference =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'keychain'; readonly name: string };

/** Anything that can hide a secret from logs (the agent passes its SecretRedactor). */
export interface SecretSink {
  add(secret: string): unknown;
}

/** Secret files larger than this are refused: a password or key is a few bytes, not a file dump. */
export const MAX_SECRET_BYTES = 64 * 1024;

export type SecretErrorCode =
  | 'secret.not-found'
  | 'secret.not-a-file'
  | 'secret.permissions'
  | 'secret.owner'
  | 'secret.unreadable'
  | 'secret.empty'
  | 'secret.too-large'
  | 'secret.not-text'
  | 'secret.invalid-reference'
  | 'secret.unsupported'
  | 'secret.exists'
  | 'secret.store-unavailable';

/** A secret could not be resolved or written. The message and hint never contain the secret. */
export class SecretError extends Error {
  override readonly name = 'SecretError';
  constructor(
    readonly code: SecretErrorCode,
    message: string,
    /** What to do about it. */
    readonly hint: string,
  ) {
    super(message);
  }
}

/** Quote a path for a copy-pasteable shell command. */
function shellQuote(path: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}

function errnoCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'UNKNOWN';
}

export interface ResolveSecretOptions {
  /** Registered with every resolved value before anyone else sees it. */
  readonly redactor?: SecretSink;
  /** Where `keychain:` names are looked up (src/os/secret-store.ts). */
  readonly store?: SecretStore | undefined;
}

/**
 * Resolve a secret reference to its value.
 *
 * `file:` — the file must be a regular file of at most 64 KiB of UTF-8 text; on POSIX it must be
 * owned by this process's user and have no group/other permission bits (like ssh's private keys).
 * One trailing newline (`\n` or `\r\n`) is removed, since editors add one. Windows ACLs are not
 * checked yet.
 *
 * `keychain:` — looked up by name in `store`; a missing secret names the reference, the store and
 * the command that adds it.
 *
 * @throws SecretError
 */
export async function resolveSecret(ref: SecretReference, opts: ResolveSecretOptions = {}): Promise<string> {
  const value = ref.kind === 'keychain' ? await readKeychainSecret(ref.name, opts.store) : await readSecretFile(ref.path);
  opts.redactor?.add(value);
  return value;
}

async function readKeychainSecret(name: string, store: SecretStore | undefined): Promise<string> {
  if (store === undefined) {
    // A caller that resolves config secrets without passing the process's store: a wiring bug.
    throw new SecretError('secret.unsupported', `keychain:${name}: no secret store is available here`, 'this is a bug in Backhaul; use file:/path/to/file for now');
  }
  const value = await store.get(name);
  if (value !== undefined) return value;
  const where = await store.describe();
  const command = `backhaul${where.mode === 'system' ? ' --system' : ''} secret set ${name}`;
  throw new SecretError('secret.not-found', `keychain:${name} not found in ${where.location}`, `store it with: ${command}`);
}

/**
 * Reads a secret file with the checks described at {@link resolveSecret}. `trimNewline: false`
 * returns the bytes exactly (the file store writes them itself, so an editor's newline can't be there).
 * @throws SecretError
 */
export async function readSecretFile(path: string, options: { readonly trimNewline?: boolean } = {}): Promise<string> {
  if (!isAbsolute(path)) {
    throw new SecretError('secret.invalid-reference', `file:${path}: the path must be absolute`, 'write file:/absolute/path/to/file');
  }
  const posix = process.platform !== 'win32';
  let handle;
  try {
    // O_NONBLOCK: a FIFO planted at the path must not hang the agent; fstat below rejects it.
    handle = await open(path, constants.O_RDONLY | (posix ? constants.O_NONBLOCK : 0));
  } catch (error) {
    throw openError(error, path);
  }
  try {
    // Check the opened file itself (fstat), not the path, so a swap after the check cannot matter.
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new SecretError('secret.not-a-file', `${path}: not a regular file`, `point the reference at a file that holds only the secret`);
    }
    if (posix) {
      const uid = process.getuid?.();
      if (uid !== undefined && info.uid !== uid) {
        throw new SecretError(
          'secret.owner',
          `${path}: owned by uid ${info.uid}, but Backhaul runs as uid ${uid}; a secret file must belong to the user that reads it`,
          `run: chown ${uid} ${shellQuote(path)}`,
        );
      }
      const mode = info.mode & 0o777;
      if ((mode & 0o077) !== 0) {
        const fix = `chmod 600 ${shellQuote(path)}`;
        throw new SecretError(
          'secret.permissions',
          `${path}: permissions ${mode.toString(8).padStart(4, '0')} are too open; run: ${fix}`,
          `run: ${fix}`,
        );
      }
    }
    if (info.size > MAX_SECRET_BYTES) throw tooLarge(path);
    const buffer = Buffer.alloc(MAX_SECRET_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_SECRET_BYTES) throw tooLarge(path);
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length));
    } catch {
      throw new SecretError('secret.not-text', `${path}: not UTF-8 text`, 'a secret file holds the secret as text, optionally followed by one newline');
    } finally {
      buffer.fill(0);
    }
    const trim = options.trimNewline ?? true;
    const value = !trim ? text : text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
    if (value === '') {
      throw new SecretError('secret.empty', `${path}: the file is empty`, 'write the secret into the file (one line)');
    }
    return value;
  } catch (error) {
    if (error instanceof SecretError) throw error;
    throw new SecretError('secret.unreadable', `${path}: cannot read (${errnoCode(error)})`, 'check that the file is readable by the user Backhaul runs as');
  } finally {
    await handle.close();
  }
}

function tooLarge(path: string): SecretError {
  return new SecretError(
    'secret.too-large',
    `${path}: larger than ${MAX_SECRET_BYTES / 1024} KiB; that is not a password or key file`,
    'point the reference at a file that holds only the secret',
  );
}

function openError(error: unknown, path: string): SecretError {
  const code = errnoCode(error);
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new SecretError('secret.not-found', `${path}: secret file not found`, `create it with mode 0600, e.g.: install -m 600 /dev/null ${shellQuote(path)}, then write the secret into it`);
    case 'EACCES':
    case 'EPERM':
      return new SecretError('secret.unreadable', `${path}: permission denied`, 'the file must be readable by the user Backhaul runs as (and by no one else)');
    case 'EISDIR':
      return new SecretError('secret.not-a-file', `${path}: is a directory`, 'point the reference at a file that holds only the secret');
    default:
      return new SecretError('secret.unreadable', `${path}: cannot open (${code})`, 'check the path and its permissions');
  }
}

/**
 * Create `dir/name` holding `value`, readable only by this user. The mode is set by `open` itself
 * (O_CREAT|O_EXCL, 0600), so the secret is never in a file with wider permissions, not even briefly;
 * an existing file (or symlink) at that path is an error rather than overwritten.
 * @returns the file's path
 * @throws SecretError (`secret.exists`), or the filesystem error
 */
export async function writeSecretFile(dir: string, name: string, value: string): Promise<string> {
  if (name === '' || name === '.' || name === '..' || basename(name) !== name || name.includes('/') || name.includes('\\')) {
    throw new SecretError('secret.invalid-reference', `invalid secret file name ${JSON.stringify(name)}`, 'use a plain file name without directories');
  }
  const path = join(dir, name);
  const flags =
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (process.platform === 'win32' ? 0 : constants.O_NOFOLLOW);
  let handle;
  try {
    handle = await open(path, flags, 0o600);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') {
      throw new SecretError('secret.exists', `${path}: already exists; not overwriting a secret`, 'remove the old file first if it is no longer needed');
    }
    throw error;
  }
  try {
    await handle.writeFile(value, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return path;
}

/**
 * A new private directory (mode 0700) under `parent`, named `prefix` plus random characters — for
 * config files and secrets handed to VPN tools. The caller removes it when done.
 */
export async function createPrivateDir(parent: string, prefix: string): Promise<string> {
  // mkdtemp creates the directory with mode 0700 atomically (no chmod window).
  return mkdtemp(join(parent, prefix));
}

/** A fresh random password: 32 bytes from the OS CSPRNG, base64url (43 characters, no padding). */
export function generatePassword(): string {
  return randomBytes(32).toString('base64url');
}
