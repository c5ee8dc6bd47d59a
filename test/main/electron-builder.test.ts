/**
 * The installers' config is validated the way electron-builder itself does before a build
 * (getConfig + validateConfiguration), offline: packaging can't run here (no Electron download),
 * but a wrong key or value fails this test instead of a release build. Also: the preload bundles
 * to a file that requires nothing but 'electron' (sandboxed preloads can't require anything else).
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
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

describe('the installers (NSIS per-machine, pkg, deb/rpm, AppImage)', () => {
  const sh = (file: string) => new Promise<number | null>((resolve) => { spawn('sh', ['-n', file]).on('close', resolve); });

  it('NSIS installs per machine, elevated, with the service include', async () => {
    const config = await getConfig(root, join(root, 'electron', 'electron-builder.yml'), null);
    expect(config).toMatchObject({ nsis: { perMachine: true, oneClick: false, allowElevation: true, runAfterFinish: false, include: 'packaging/windows/installer.nsh' } });
    const nsh = readFileSync(join(root, 'packaging', 'windows', 'installer.nsh'), 'utf8');
    expect(nsh).toMatch(/!macro customInstall[\s\S]*service install[\s\S]*HKLM "Software\\Microsoft\\Windows\\CurrentVersion\\Run"[\s\S]*!macroend/);
    expect(nsh).toMatch(/!macro customUnInstall[\s\S]*service uninstall[\s\S]*!macroend/);
    // The agent command goes into the service host's XML; the host is found beside the app.
    expect(nsh).not.toContain('--program');
  });

  it('the win target carries the service host that scripts/bundle-service-host.mjs stages, outside the asar', async () => {
    const config = await getConfig(root, join(root, 'electron', 'electron-builder.yml'), null) as { win: { extraResources: { from: string; to: string }[] } };
    expect(config.win.extraResources).toEqual([
      { from: 'dist/service-host/backhaul-service.exe', to: 'bin/backhaul-service.exe' },
      { from: 'dist/service-host/backhaul-service.exe.config', to: 'bin/backhaul-service.exe.config' },
    ]);
    expect(readFileSync(join(root, 'electron', 'electron-builder.yml'), 'utf8')).toContain('\n  - "!dist/service-host/**"\n'); // not into the asar too
    const { stageServiceHost } = await import(join(root, 'scripts', 'bundle-service-host.mjs')) as { stageServiceHost: (o: { out: string }) => Promise<{ files: { file: string }[] }> };
    const out = await mkdtemp(join(tmpdir(), 'backhaul-service-host-'));
    try {
      const staged = await stageServiceHost({ out });
      expect(staged.files.map((f) => f.file)).toEqual(config.win.extraResources.map((r) => join(out, basename(r.from))));
    } finally {
      await rm(out, { recursive: true, force: true });
    }
    expect(readFileSync(join(root, 'package.json'), 'utf8')).toMatch(/"build": "[^"]*npm run build:service-host"/);
  });

  it('every platform bundles the pinned restic beside the asar: the beforePack hook stages it, extraResources copies it', async () => {
    const config = await getConfig(root, join(root, 'electron', 'electron-builder.yml'), null) as { beforePack: string; extraResources: { from: string; to: string }[] };
    expect(config.extraResources).toEqual([{ from: 'build/restic', to: 'restic' }]);
    // electron-builder resolves a hook path that starts with "." against the project and imports its default export.
    const hook = await import(join(root, config.beforePack)) as { default: unknown; resticKey: (p: string, a: number) => string };
    expect(typeof hook.default).toBe('function');
    expect(hook.resticKey('darwin', 3)).toBe('darwin-arm64');
    // The agent's lookup inside the app lands on the same place the config copies to.
    const { resourcesDirFor } = await import('../../src/agent/run-job.js');
    expect(resourcesDirFor('/opt/Backhaul/resources/app.asar/dist/agent')).toBe(join('/opt/Backhaul/resources', config.extraResources[0]?.to ?? ''));
    // A macOS build fails at the hook while restic.json has no darwin pin (docs/install.md).
    await expect((hook.default as (c: object) => Promise<void>)({ electronPlatformName: 'darwin', arch: 3 })).rejects.toThrow('pins no restic for darwin-arm64');
  });

  it('the pkg carries executable pre/postinstall scripts that install the LaunchDaemon and LaunchAgent', async () => {
    const config = await getConfig(root, join(root, 'electron', 'electron-builder.yml'), null);
    expect(config).toMatchObject({ mac: { target: ['dmg', 'pkg'], notarize: true }, pkg: { scripts: '../packaging/macos/pkg-scripts', allowCurrentUserHome: false } });
    // pkg.scripts is relative to the build resources directory (electron-builder's PkgOptions)
    const scripts = join(root, 'build', '..', 'packaging', 'macos', 'pkg-scripts');
    for (const name of ['preinstall', 'postinstall']) {
      expect(statSync(join(scripts, name)).mode & 0o111, `${name} must be executable`).not.toBe(0);
      expect(await sh(join(scripts, name))).toBe(0);
    }
    const postinstall = readFileSync(join(scripts, 'postinstall'), 'utf8');
    expect(postinstall).toContain('launchctl bootstrap system /Library/LaunchDaemons/com.backhaul.agent.plist');
    expect(postinstall).toContain('dseditgroup -o create -r Backhaul backhaul');
  });

  it('deb/rpm: group + unit after install, stop before remove, files that exist; AppImage is the tray alone', async () => {
    const config = await getConfig(root, join(root, 'electron', 'electron-builder.yml'), null) as { linux: { target: string[]; extraResources: { from: string }[] }; deb: { afterInstall: string; afterRemove: string; fpm: string[] }; rpm: { afterInstall: string; fpm: string[] } };
    expect(config.linux.target).toEqual(['AppImage', 'deb', 'rpm']);
    for (const file of [config.deb.afterInstall, config.deb.afterRemove, config.rpm.afterInstall, ...config.deb.fpm.filter((a) => a.startsWith('--before-remove=')).map((a) => a.split('=')[1] ?? '')]) {
      expect(await sh(join(root, file)), file).toBe(0);
    }
    for (const resource of config.linux.extraResources) expect(statSync(join(root, resource.from)).isFile()).toBe(true);
    expect(readFileSync(join(root, config.deb.afterInstall), 'utf8')).toMatch(/groupadd --system backhaul[\s\S]*systemctl enable backhaul\.service/);
    expect(readFileSync(join(root, 'packaging', 'linux', 'desktop', 'before-remove.sh'), 'utf8')).toContain('systemctl stop backhaul.service');
  });

  it('rejects a wrong NSIS or pkg value (the schema check covers the new sections)', async () => {
    const config = await getConfig(root, join(root, 'electron', 'electron-builder.yml'), null);
    await expect(validateConfiguration({ ...config, nsis: { perMachine: 'yes' } }, new DebugLogger(false))).rejects.toThrow(/configuration\.nsis/);
    await expect(validateConfiguration({ ...config, pkg: { scriptz: 'x' } }, new DebugLogger(false))).rejects.toThrow(/configuration\.pkg/);
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
