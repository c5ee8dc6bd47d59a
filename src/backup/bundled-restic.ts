/**
 * The restic Backhaul bundles is pinned: resources/restic.json names the version and, per
 * `<platform>-<arch>`, the binary's SHA-256. scripts/bundle-restic.mjs checks it when the binary is
 * copied into resources/bin at build time; the agent checks it again before it first runs the
 * bundled binary, so a damaged or swapped file is refused with a clear error instead of being run
 * as root. Only the bundled path is checked: a configured settings.resticPath or a restic on PATH is
 * the admin's choice (and tests rely on Debian's /usr/bin/restic, see docs/development.md).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface ResticManifest {
  readonly version: string;
  readonly binaries: Readonly<Record<string, { readonly sha256: string; readonly from?: string }>>;
}

export type BundleCheck = { readonly ok: true } | { readonly ok: false; readonly problem: string; readonly fix: string };

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readManifest(resourcesDir: string): Promise<ResticManifest | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path.join(resourcesDir, 'restic.json'), 'utf8')) as Partial<ResticManifest>;
    return typeof parsed.version === 'string' && typeof parsed.binaries === 'object' ? (parsed as ResticManifest) : undefined;
  } catch {
    return undefined;
  }
}

/** Compares the bundled binary with its pin in `<resourcesDir>/restic.json`. */
export async function checkBundledRestic(file: string, resourcesDir: string, key: string): Promise<BundleCheck> {
  const reinstall = 'Reinstall Backhaul from a trusted package, or set settings.resticPath to a restic binary you trust.';
  const manifest = await readManifest(resourcesDir);
  const pin = manifest?.binaries[key];
  if (manifest === undefined || pin === undefined) {
    return { ok: false, problem: `the bundled restic at ${file} has no pinned SHA-256 for ${key} in ${path.join(resourcesDir, 'restic.json')}, so it is not run.`, fix: reinstall };
  }
  const actual = await sha256File(file);
  if (actual !== pin.sha256.toLowerCase()) {
    return { ok: false, problem: `the bundled restic at ${file} does not match its pinned SHA-256 (restic ${manifest.version}: expected ${pin.sha256}, got ${actual}); the installation is damaged or was changed, so it is not run.`, fix: reinstall };
  }
  return { ok: true };
}
