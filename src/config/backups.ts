/**
 * Copies of the config file as it was before each change the agent writes, so an edit made from
 * the UI or CLI can be undone by hand. They live in the agent's state dir (mode 0700), not next to
 * the file: the config's folder may be /etc/backhaul, which should hold only what an admin put
 * there. Named `<file name>.<UTC time>.bak`, so they sort by age; the oldest beyond `keep` are
 * removed after each new one.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

export interface BackupSettings {
  readonly dir: string;
  /** How many copies to keep (the newest). */
  readonly keep: number;
  /** The time in the name; default now. */
  readonly now?: () => Date;
}

/** The default number of copies kept. */
export const DEFAULT_BACKUPS_KEPT = 10;

/** 2026-11-25T16:45:03.120Z → 20261125T164503120Z: sortable, and valid in a file name on every OS. */
function stamp(date: Date): string {
  return date.toISOString().replace(/[-:.]/g, '');
}

/**
 * Writes `text` (the file's content before the change) as a new copy with the original's mode,
 * then removes the oldest copies beyond `keep`. The copy is complete before the config is
 * touched: it is written to a temp name and renamed. @throws when the copy can't be written.
 */
export async function keepBackup(file: string, text: string, settings: BackupSettings): Promise<string> {
  await mkdir(settings.dir, { recursive: true, mode: 0o700 });
  const mode = ((await stat(file).catch(() => undefined))?.mode ?? 0o600) & 0o777;
  const name = basename(file);
  const target = join(settings.dir, `${name}.${stamp((settings.now ?? (() => new Date()))())}.bak`);
  const tmp = join(settings.dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(tmp, text, { mode, flag: 'wx' });
  await chmod(tmp, mode); // writeFile's mode is masked by the umask
  await rename(tmp, target);
  await prune(settings.dir, name, settings.keep);
  return target;
}

/** The copies of `fileName` in `dir`, oldest first. */
export async function listBackups(dir: string, fileName: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => []);
  return names.filter((n) => n.startsWith(`${fileName}.`) && n.endsWith('.bak') && /^\d{8}T\d{9}Z$/.test(n.slice(fileName.length + 1, -'.bak'.length))).sort();
}

async function prune(dir: string, fileName: string, keep: number): Promise<void> {
  const copies = await listBackups(dir, fileName);
  for (const old of copies.slice(0, Math.max(0, copies.length - keep))) await rm(join(dir, old), { force: true });
}
