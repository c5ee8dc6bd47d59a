/**
 * The repository password as restic reads it: a file created with mode 0600 (O_EXCL, so nothing
 * pre-placed is ever followed or reused) inside the caller's private 0700 scratch directory, and
 * removed as soon as the command ends. The password never appears in argv or in the environment.
 *
 * restic trims surrounding whitespace from a password file (and so from every password Backhaul
 * gives it): consistent across init and backup because Backhaul only ever uses the file.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';

/** Writes the password to a new private file in `scratchDir`; returns its path. */
export async function writePasswordFile(scratchDir: string, password: string): Promise<string> {
  const file = path.join(scratchDir, `restic-password-${randomBytes(8).toString('hex')}`);
  const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.writeFile(password, 'utf8');
  } catch (error) {
    await handle.close();
    await rm(file, { force: true });
    throw error;
  }
  await handle.close();
  return file;
}

/** Runs `fn` with a password file that exists only for its duration. */
export async function withPasswordFile<T>(
  scratchDir: string,
  password: string,
  fn: (file: string) => Promise<T>,
): Promise<T> {
  const file = await writePasswordFile(scratchDir, password);
  try {
    return await fn(file);
  } finally {
    await rm(file, { force: true });
  }
}
