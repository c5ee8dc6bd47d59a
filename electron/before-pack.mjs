// electron-builder `beforePack` hook: stages the pinned restic for the platform and architecture
// being packed into build/restic/ (copied into the app as Resources/restic by `extraResources`,
// outside the asar so it can run), through scripts/bundle-restic.mjs — the same check the agent
// .deb's build uses. A binary whose SHA-256 differs from resources/restic.json, or a platform
// without a pin, fails the build here instead of shipping an unchecked restic; the agent checks
// the same pin again (src/backup/bundled-restic.ts). Plain JavaScript because electron-builder
// imports hooks itself; tested in test/main/before-pack.test.ts.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resticSource, stageRestic as stage } from '../scripts/bundle-restic.mjs';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
// builder-util's Arch enum (ia32 = 0, x64 = 1, armv7l = 2, arm64 = 3, universal = 4) → Node's names.
const ARCH_NAMES = ['ia32', 'x64', 'arm', 'arm64', 'universal'];

/** electron-builder's (platform, arch) as resources/restic.json's key: linux-x64, darwin-arm64, win32-x64. */
export function resticKey(electronPlatformName, arch) {
  const archName = typeof arch === 'number' ? ARCH_NAMES[arch] : arch;
  if (archName === undefined) throw new Error(`beforePack: unknown architecture ${String(arch)}`);
  return `${electronPlatformName}-${archName}`;
}

/** scripts/bundle-restic.mjs's stageRestic, its errors marked as this build step's. */
export const stageRestic = (options) => stage({ who: 'beforePack', ...options });

export default async function beforePack(context) {
  const key = resticKey(context.electronPlatformName, context.arch);
  const staged = await stageRestic({ key, source: resticSource(key), stagingDir: path.join(ROOT, 'build', 'restic') });
  console.log(`  • bundled restic ${staged.version} for ${key}, sha256 ${staged.sha256}`);
}
