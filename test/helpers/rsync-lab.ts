/**
 * Test-only helpers for the rsync integration suite: a source tree with the awkward cases (names
 * rsync escapes, a symlink, an empty directory, big and small files), a byte-for-byte tree
 * comparison, and finding processes by their command line (to kill one worker, or to wait until
 * the server side of a stopped transfer is gone).
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Writes the tree under `root`; returns the relative paths of its regular files. */
export async function writeAwkwardTree(root: string, bigFiles: number, bigSize: number): Promise<string[]> {
  const files: Record<string, Buffer> = {
    'docs/readme.txt': Buffer.from('hello\n'),
    'docs/sub/deeper/note.txt': Buffer.from('note\n'),
    'docs/new\nline.txt': Buffer.from('newline in the name\n'),
    'docs/ü-utf8 and space.txt': Buffer.from('unicode\n'),
    'docs/back\\#012x': Buffer.from('looks like an rsync escape\n'),
    'docs/empty-file': Buffer.alloc(0),
  };
  for (let i = 0; i < 20; i++) files[`small/s${String(i).padStart(2, '0')}.bin`] = randomBytes(4096);
  for (let i = 0; i < bigFiles; i++) files[`big/b${i}.bin`] = randomBytes(bigSize);
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
  await mkdir(path.join(root, 'docs', 'empty-dir'), { recursive: true });
  await symlink('readme.txt', path.join(root, 'docs', 'link-to-readme'));
  return Object.keys(files);
}

/** Every entry under `root` (relative path → kind and content/target/mode), for comparing trees. */
async function snapshot(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    const rel = path.relative(root, full);
    if (rel.split(path.sep).includes('.rsync-partial')) continue;
    const st = await lstat(full);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out.set(rel, `link ${await readlink(full)}`);
    else if (st.isDirectory()) out.set(rel, `dir ${mode} ${Math.floor(st.mtimeMs / 1000)}`);
    else if (st.isFile()) out.set(rel, `file ${mode} ${Math.floor(st.mtimeMs / 1000)} ${(await readFile(full)).toString('base64')}`);
    else out.set(rel, 'other');
  }
  return out;
}

/** The differences between two trees (empty when byte-identical, with the same links, modes and times). */
export async function treeDifferences(expected: string, actual: string): Promise<string[]> {
  const a = await snapshot(expected);
  const b = await snapshot(actual);
  const problems: string[] = [];
  for (const [rel, value] of a) {
    const got = b.get(rel);
    if (got === undefined) problems.push(`missing: ${JSON.stringify(rel)}`);
    else if (got !== value) problems.push(`differs: ${JSON.stringify(rel)} (${value.slice(0, 40)} vs ${got.slice(0, 40)})`);
  }
  for (const rel of b.keys()) if (!a.has(rel)) problems.push(`extra: ${JSON.stringify(rel)}`);
  return problems;
}

/** Pids of this host's processes whose argv matches (read from /proc; vanished ones skipped). */
export function findProcesses(match: (argv: readonly string[]) => boolean): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      if (argv.length > 0 && match(argv)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Waits until `check()` is true, polling every 50 ms, at most `ms`. True when it became true. */
export async function until(check: () => boolean | Promise<boolean>, ms = 30_000): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 50) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}
