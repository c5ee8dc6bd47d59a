/**
 * Windows stores an entry's L2TP pre-shared key but never shows it back, so ensureProfile can't
 * compare it. Rewriting it every time would make ensureProfile change the entry on every run; not
 * writing it would keep a rotated key's predecessor for ever. So the driver remembers a salted
 * scrypt hash of the key it last wrote (never the key) and rewrites only when that differs.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface PskMemory {
  /** Whether `psk` is the key last written to the entry `name`. */
  matches(name: string, psk: string): Promise<boolean>;
  remember(name: string, psk: string): Promise<void>;
}

type Hashes = Record<string, { readonly salt: string; readonly hash: string }>;

function hashPsk(psk: string, salt: Buffer): Buffer {
  return scryptSync(psk, salt, 32);
}

function matchesIn(hashes: Hashes, name: string, psk: string): boolean {
  const known = hashes[name];
  if (known === undefined) return false;
  const expected = Buffer.from(known.hash, 'hex');
  const actual = hashPsk(psk, Buffer.from(known.salt, 'hex'));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function entryFor(psk: string): { salt: string; hash: string } {
  const salt = randomBytes(16);
  return { salt: salt.toString('hex'), hash: hashPsk(psk, salt).toString('hex') };
}

/** Kept in `<dir>/windows-psk.json` (mode 0600), written atomically. */
export function filePskMemory(dir: string): PskMemory {
  const file = join(dir, 'windows-psk.json');
  const load = async (): Promise<Hashes> => {
    try {
      const data: unknown = JSON.parse(await readFile(file, 'utf8'));
      return typeof data === 'object' && data !== null ? (data as Hashes) : {};
    } catch {
      return {};
    }
  };
  return {
    matches: async (name, psk) => matchesIn(await load(), name, psk),
    remember: async (name, psk) => {
      const hashes = { ...(await load()), [name]: entryFor(psk) };
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFile(`${file}.tmp`, JSON.stringify(hashes), { mode: 0o600 });
      await rename(`${file}.tmp`, file);
    },
  };
}

/** For tests and for callers without a state directory. */
export function memoryPskMemory(): PskMemory {
  const hashes: Hashes = {};
  return {
    matches: (name, psk) => Promise.resolve(matchesIn(hashes, name, psk)),
    remember: (name, psk) => {
      hashes[name] = entryFor(psk);
      return Promise.resolve();
    },
  };
}
