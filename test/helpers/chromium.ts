/**
 * Debian's Chromium driven by playwright-core (no browser download), and the renderer bundle built
 * with Vite's API, for the UI's end-to-end tests and the UI benchmark. Traffic stays on 127.0.0.1:
 * background networking, component updates, sync and QUIC are off.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.BACKHAUL_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const repoRoot = join(import.meta.dirname, '..', '..');
/** Where the UI tests and bench put screenshots (gitignored). */
export const artifactsDir = join(repoRoot, 'test-artifacts');

/** Why a Chromium suite can't run here, or undefined when it can. */
export function chromiumSkipReason(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `Chromium missing at ${CHROMIUM_PATH}: apt-get install chromium (or set BACKHAUL_TEST_CHROMIUM)`;
}

/** Builds src/renderer into dist/ui (what the agent serves). Returns the output dir. */
export async function buildRenderer(): Promise<string> {
  const { build } = await import('vite');
  await build({ configFile: join(repoRoot, 'src', 'renderer', 'vite.config.ts'), logLevel: 'warn' });
  return join(repoRoot, 'dist', 'ui');
}

async function newest(dir: string): Promise<number> {
  let latest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? await newest(path) : (await stat(path)).mtimeMs);
  }
  return latest;
}

/**
 * Builds dist/ui only when it is missing or older than src/renderer, as `npm start` does: CI builds
 * it once (`npm run build`), and suites running in parallel (npm start's test serves dist/ui too)
 * don't rebuild it under each other's feet.
 */
export async function ensureRendererBuilt(): Promise<string> {
  const out = join(repoRoot, 'dist', 'ui');
  const index = join(out, 'index.html');
  const built = existsSync(index) ? (await stat(index)).mtimeMs : 0;
  if (built === 0 || (await newest(join(repoRoot, 'src', 'renderer'))) > built) return buildRenderer();
  return out;
}

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile, removed on close. */
export async function launchChromium(options: { colorScheme?: 'light' | 'dark' } = {}): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'backhaul-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    viewport: { width: 1100, height: 900 },
    colorScheme: options.colorScheme ?? 'light',
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
