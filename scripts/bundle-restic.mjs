#!/usr/bin/env node
// Stages the pinned restic for one platform: checks the binary against resources/restic.json
// (version + SHA-256 per <platform>-<arch>) and writes `<OUT>/restic.json` (that one pin) and
// `<OUT>/bin/<platform>-<arch>/restic[.exe]`; a binary that does not match, or a platform without
// a pin, is refused before anything is written. The agent checks the same pin again at start and
// before each run (src/backup/bundled-restic.ts). Used by scripts/build-deb.sh and by
// electron-builder's beforePack hook (electron/before-pack.mjs).
//
//   node scripts/bundle-restic.mjs PLATFORM-ARCH [--from FILE] --out DIR
//     PLATFORM-ARCH  Node's names: linux-x64, darwin-arm64, win32-x64, …
//     --from FILE    the binary (restic's signed release, or a distro package's); default
//                    BACKHAUL_RESTIC_DIR/<key>/restic[.exe], and for linux-x64 the Debian trixie
//                    0.18.0 binary that scripts/setup-system.sh --test caches
//     --out DIR      replaced as a whole (never resources/: a restic there would shadow Debian's
//                    for the tests, see docs/development.md)
// Pins for the official release archives must come from restic's signed SHA256SUMS on a machine
// with internet (not this one). Plain JavaScript: it runs before anything is compiled.
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const exeFor = (key) => (key.startsWith('win32-') ? 'restic.exe' : 'restic');

/** Where the restic binary to bundle for `key` is read from when none is given. */
export function resticSource(key, env = process.env) {
  if (env.BACKHAUL_RESTIC_DIR) return path.join(env.BACKHAUL_RESTIC_DIR, key, exeFor(key));
  if (key === 'linux-x64') {
    return env.BACKHAUL_TEST_RESTIC_018 ?? path.join(env.BACKHAUL_CACHE_DIR ?? '/var/tmp/backhaul-cache', 'restic-0.18.0', 'restic');
  }
  return undefined;
}

/**
 * Checks the binary against its pin and writes `<stagingDir>/restic.json` + `bin/<key>/restic[.exe]`.
 * Throws with what to do when there is no pin, no binary, or a binary that does not match; `who`
 * starts the message (the script's name, or the build step that called it).
 */
export async function stageRestic({ key, source, manifestFile = path.join(ROOT, 'resources', 'restic.json'), stagingDir, who = 'bundle-restic' }) {
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
  const pin = manifest.binaries?.[key];
  if (pin === undefined) {
    throw new Error(`${who}: ${manifestFile} pins no restic for ${key}. Add "${key}": { "sha256": … } from restic ${manifest.version}'s signed SHA256SUMS (docs/install.md, "The bundled restic").`);
  }
  if (source === undefined) {
    throw new Error(`${who}: no restic binary for ${key}: set BACKHAUL_RESTIC_DIR to a directory with ${key}/${exeFor(key)} (restic ${manifest.version}).`);
  }
  let bytes;
  try {
    bytes = await readFile(source);
  } catch (error) {
    throw new Error(`${who}: can't read the restic for ${key} at ${source} (${error.code ?? error.message}): set BACKHAUL_RESTIC_DIR, or run scripts/setup-system.sh --test for linux-x64.`);
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== pin.sha256.toLowerCase()) {
    throw new Error(`${who}: ${source} is not the pinned restic ${manifest.version} for ${key} (sha256 ${actual}, pinned ${pin.sha256}).`);
  }
  const file = path.join(stagingDir, 'bin', key, exeFor(key));
  // A fresh staging dir per pack: a multi-arch build must never ship the previous arch's binary.
  await rm(stagingDir, { recursive: true, force: true });
  await mkdir(path.dirname(file), { recursive: true });
  await copyFile(source, file);
  await chmod(file, 0o755);
  await writeFile(path.join(stagingDir, 'restic.json'), `${JSON.stringify({ version: manifest.version, binaries: { [key]: pin } }, null, 2)}\n`);
  return { key, file, sha256: actual, version: manifest.version };
}

if (process.argv[1] !== undefined && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  const usage = 'usage: node scripts/bundle-restic.mjs PLATFORM-ARCH [--from FILE] --out DIR';
  const [key, ...args] = process.argv.slice(2);
  const options = {};
  while (args.length > 0) {
    const [flag, value] = [args.shift(), args.shift()];
    if ((flag !== '--from' && flag !== '--out') || value === undefined) { console.error(usage); process.exit(2); }
    options[flag.slice(2)] = path.resolve(value);
  }
  if (key === undefined || options.out === undefined) { console.error(usage); process.exit(2); }
  try {
    const staged = await stageRestic({ key, source: options.from ?? resticSource(key), stagingDir: options.out });
    console.log(`${staged.file}: restic ${staged.version}, sha256 ${staged.sha256}`);
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
