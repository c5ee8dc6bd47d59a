/**
 * The installers' config is validated the way electron-builder itself does before a build
 * (getConfig + validateConfiguration), offline: packaging can't run here (no Electron download),
 * but a wrong key or value fails this test instead of a release build. Also: the preload bundles
 * to a file that requires nothing but 'electron' (sandboxed preloads can't require anything else).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);

interface BuilderConfigModule {
  getConfig: (projectDir: string, configPath: string | null, configFromOptions: object | null) => Promise<Record<string, unknown>>;
  validateConfiguration: (config: Record<string, unknown>, debugLogger: unknown) => Promise<void>;
}
const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config') as BuilderConfigModule;
const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };

describe('electron-builder config', () => {
  it('is valid for electron-builder', async () => {
    const config = await getConfig(root, join(root, 'electron', 'electron-builder.yml'), null);
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    expect(config).toMatchObject({ appId: 'org.backhaul.tray', extraMetadata: { main: 'dist/main/main.js' } });
    expect(readFileSync(join(root, 'electron', 'entitlements.mac.plist'), 'utf8')).toContain('com.apple.security.cs.allow-jit');
  });

  it('rejects a config with a wrong key (the check is real)', async () => {
    const config = await getConfig(root, join(root, 'electron', 'electron-builder.yml'), null);
    await expect(validateConfiguration({ ...config, linux: { category: 'Utility', notAKey: true } }, new DebugLogger(false))).rejects.toThrow(/configuration\.linux/);
  });
});

describe('the preload bundle', () => {
  it('requires only electron', async () => {
    const { build } = await import('esbuild');
    const out = await mkdtemp(join(tmpdir(), 'backhaul-preload-'));
    try {
      await build({ entryPoints: [join(root, 'electron', 'preload.ts')], bundle: true, platform: 'node', format: 'cjs', external: ['electron'], target: 'node20', outfile: join(out, 'preload.cjs'), logLevel: 'silent' });
      const code = await readFile(join(out, 'preload.cjs'), 'utf8');
      expect([...new Set([...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]))]).toEqual(['electron']);
      expect(code).toContain('exposeInMainWorld');
      expect(code).not.toMatch(/exposeInMainWorld\([^,]+,\s*(import_electron\.)?ipcRenderer\)/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
