/**
 * The random delay's RNG: an HMAC-SHA256 of the slot id under a per-machine key, so one machine
 * always draws the same delay for the same slot (a restart does not re-roll it) while a fleet of
 * machines spreads out. The key is created once in the schedule state dir (0600).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function slotRandom(dir: string): Promise<(key: string) => number> {
  const file = join(dir, 'seed');
  let seed = await readFile(file).catch(() => undefined);
  if (seed === undefined || seed.length < 16) {
    seed = randomBytes(32);
    await writeFile(file, seed, { mode: 0o600 });
  }
  const key = seed;
  // 48 bits of the digest, as a fraction in [0, 1).
  return (slot) => createHmac('sha256', key).update(slot).digest().readUIntBE(0, 6) / 2 ** 48;
}
