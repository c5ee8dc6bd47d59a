#!/usr/bin/env node
// The Windows service host: WinSW 1.17 (MIT), taken from the npm package node-windows
// (bin/winsw/winsw.exe + winsw.exe.config, a devDependency pinned exactly), staged as
// dist/service-host/backhaul-service.exe + backhaul-service.exe.config. electron-builder's win
// target copies that folder to resources\bin (electron/electron-builder.yml, win.extraResources),
// where `backhaul service install` writes backhaul-service.xml beside it (src/os/service/winsw-xml.ts).
//
// Both files must match resources/service-host.json byte for byte (SHA-256); anything else fails
// the build before a file is copied. The .exe.config is not optional: it lets this .NET 2.0 build
// run on a Windows with only .NET 4 (supportedRuntime v4.0), and .NET reads it as <exe>.config.
//
//   node scripts/bundle-service-host.mjs [--from DIR] [--out DIR]      (npm run build runs it)
//
// Plain JavaScript so it runs before anything is compiled; tested in test/scripts/bundle-service-host.test.ts.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_FROM = path.join(ROOT, 'node_modules', 'node-windows', 'bin', 'winsw');
export const DEFAULT_OUT = path.join(ROOT, 'dist', 'service-host');
export const PIN_FILE = path.join(ROOT, 'resources', 'service-host.json');

/**
 * Checks every pinned file in `from`, then (only if all match) copies them into `out` under their
 * Backhaul names. Returns what was staged. Throws with the file, both hashes and what to do.
 */
export async function stageServiceHost({ from = DEFAULT_FROM, out = DEFAULT_OUT, pinFile = PIN_FILE } = {}) {
  const pin = JSON.parse(await readFile(pinFile, 'utf8'));
  const checked = [];
  for (const [name, file] of Object.entries(pin.files)) {
    const source = path.join(from, name);
    let bytes;
    try {
      bytes = await readFile(source);
    } catch (error) {
      throw new Error(`bundle-service-host: can't read ${source} (${error.code ?? error.message}): run npm install (it comes with ${pin.from}).`);
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== file.sha256.toLowerCase()) {
      throw new Error(`bundle-service-host: ${source} is not the pinned ${pin.name} ${pin.version} (sha256 ${sha256}, pinned ${file.sha256} in ${pinFile}). `
        + 'Restore the pinned package (npm ci), or pin a reviewed new binary there.');
    }
    checked.push({ source, file: path.join(out, file.to), sha256 });
  }
  // A fresh folder: a host that failed its check must never be left behind from an earlier run.
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  for (const c of checked) await copyFile(c.source, c.file);
  return { name: pin.name, version: pin.version, files: checked.map(({ file, sha256 }) => ({ file, sha256 })) };
}

if (process.argv[1] !== undefined && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  const args = process.argv.slice(2);
  const options = {};
  while (args.length > 0) {
    const [flag, value] = [args.shift(), args.shift()];
    if ((flag !== '--from' && flag !== '--out') || value === undefined) {
      console.error('usage: node scripts/bundle-service-host.mjs [--from DIR] [--out DIR]');
      process.exit(2);
    }
    options[flag.slice(2)] = path.resolve(value);
  }
  try {
    const staged = await stageServiceHost(options);
    for (const f of staged.files) console.log(`${path.relative(process.cwd(), f.file)}: ${staged.name} ${staged.version}, sha256 ${f.sha256}`);
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
