// electron-builder `beforePack` hook: stages the pinned restic for the platform and architecture
// being packed into build/restic/ (copied into the app as Resources/restic by `extraResources`,
// outside the asar so it can run). A binary whose SHA-256 differs from resources/restic.json, or a
// platform without a pin, fails the build here instead of shipping an unchecked restic; the agent
// checks the same pin again before it runs the binary (src/backup/bundled-restic.ts).
//
// Where the binaries come from: BACKHAUL_RESTIC_DIR/<platform>-<arch>/restic[.exe] (restic's
// signed release, unpacked), and for linux-x64 by default the Debian trixie 0.18.0 binary that
// scripts/setup-system.sh --test caches. Plain JavaScript because electron-builder imports hooks
// itself; the logic is tested in test/main/before-pack.test.ts.
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
// builder-util's Arch enum (ia32 = 0, x64 = 1, armv7l = 2, arm64 = 3, universal = 4) → Node's names.
const ARCH_NAMES = ['ia32', 'x64', 'arm', 'arm64', 'universal'];

/** electron-builder's (platform, arch) as resources/restic.json's key: linux-x64, darwin-arm64, win32-x64. */
export function resticKey(electronPlatformName, arch) {
  const archName = typeof arch === 'number' ? ARCH_NAMES[arch] : arch;
  if (archName === undefined) throw new Error(`beforePack: unknown architecture ${String(arch)}`);
  return `${electronPlatformName}-${archName}`;
}

/** Where the restic binary to bundle for `key` is read from. */
export function resticSource(key, env = process.env) {
  const exe = key.startsWith('win32-') ? 'restic.exe' : 'restic';
  if (env.BACKHAUL_RESTIC_DIR) return path.join(env.BACKHAUL_RESTIC_DIR, key, exe);
  if (key === 'linux-x64') {
    return env.BACKHAUL_TEST_RESTIC_018 ?? path.join(env.BACKHAUL_CACHE_DIR ?? '/var/tmp/backhaul-cache', 'restic-0.18.0', 'restic');
  }
  return undefined;
}

/**
 * Checks the binary against its pin and writes `<stagingDir>/restic.json` + `bin/<key>/restic[.exe]`.
 * Throws with what to do when there is no pin, no binary, or a binary that does not match.
 */
export async function stageRestic({ key, source, manifestFile = path.join(ROOT, 'resources', 'restic.json'), stagingDir }) {
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
  const pin = manifest.binaries?.[key];
  if (pin === undefined) {
    throw new Error(`beforePack: ${manifestFile} pins no restic for ${key}. Add "${key}": { "sha256": … } from restic ${manifest.version}'s signed SHA256SUMS (docs/install.md, "The bundled restic").`);
  }
  if (source === undefined) {
    throw new Error(`beforePack: no restic binary for ${key}: set BACKHAUL_RESTIC_DIR to a directory with ${key}/${key.startsWith('win32-') ? 'restic.exe' : 'restic'} (restic ${manifest.version}).`);
  }
  let bytes;
  try {
    bytes = await readFile(source);
  } catch (error) {
    throw new Error(`beforePack: can't read the restic for ${key} at ${source} (${error.code ?? error.message}): set BACKHAUL_RESTIC_DIR, or run scripts/setup-system.sh --test for linux-x64.`);
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== pin.sha256.toLowerCase()) {
    throw new Error(`beforePack: ${source} is not the pinned restic ${manifest.version} for ${key} (sha256 ${actual}, pinned ${pin.sha256}).`);
  }
  const exe = key.startsWith('win32-') ? 'restic.exe' : 'restic';
  // A fresh staging dir per pack: a multi-arch build must never ship the previous arch's binary.
  await rm(stagingDir, { recursive: true, force: true });
  await mkdir(path.join(stagingDir, 'bin', key), { recursive: true });
  await copyFile(source, path.join(stagingDir, 'bin', key, exe));
  await chmod(path.join(stagingDir, 'bin', key, exe), 0o755);
  await writeFile(path.join(stagingDir, 'restic.json'), `${JSON.stringify({ version: manifest.version, binaries: { [key]: pin } }, null, 2)}\n`);
  return { key, file: path.join(stagingDir, 'bin', key, exe), sha256: actual, version: manifest.version };
}

export default async function beforePack(context) {
  const key = resticKey(context.electronPlatformName, context.arch);
  const staged = await stageRestic({ key, source: resticSource(key), stagingDir: path.join(ROOT, 'build', 'restic') });
  console.log(`  • bundled restic ${staged.version} for ${key}, sha256 ${staged.sha256}`);
}
