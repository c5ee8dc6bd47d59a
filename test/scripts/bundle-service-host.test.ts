/**
 * scripts/bundle-service-host.mjs stages the Windows service host (WinSW 1.17 from node-windows)
 * for the NSIS build only when both files match resources/service-host.json. The real pinned files
 * from node_modules are used for the good case; a changed byte or a missing .exe.config must fail
 * before anything is copied.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

interface Staged { readonly name: string; readonly version: string; readonly files: readonly { file: string; sha256: string }[] }
interface BundleModule {
  DEFAULT_FROM: string;
  PIN_FILE: string;
  stageServiceHost(options?: { from?: string; out?: string; pinFile?: string }): Promise<Staged>;
}

const root = join(import.meta.dirname, '..', '..');
const script = join(root, 'scripts', 'bundle-service-host.mjs');
const bundle = await import(script) as BundleModule;
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bh-service-host-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => { await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true }))); });

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('scripts/bundle-service-host.mjs', () => {
  it('pins WinSW 1.17.0.0 as node-windows ships it, and stages it under the Backhaul names', async () => {
    const pin = JSON.parse(await readFile(bundle.PIN_FILE, 'utf8')) as { version: string; files: Record<string, { sha256: string; to: string }> };
    expect(pin.version).toBe('1.17.0.0');
    expect(pin.files['winsw.exe']).toEqual({ sha256: '5859b114d96800a2b98ef9d19eaa573a786a422dad324547ef25be181389df01', to: 'backhaul-service.exe' });
    expect(pin.files['winsw.exe.config']?.to).toBe('backhaul-service.exe.config');
    const out = await tempDir();
    const staged = await bundle.stageServiceHost({ out });
    expect(staged.files.map((f) => f.file)).toEqual([join(out, 'backhaul-service.exe'), join(out, 'backhaul-service.exe.config')]);
    expect(sha256(await readFile(join(out, 'backhaul-service.exe')))).toBe(pin.files['winsw.exe']?.sha256);
    // The config is what lets the .NET 2.0 build run where only .NET 4 is installed.
    expect(await readFile(join(out, 'backhaul-service.exe.config'), 'utf8')).toContain('<supportedRuntime version="v4.0" />');
  });

  it('a host that differs by one byte fails the build before anything is staged', async () => {
    const from = await tempDir();
    await cp(bundle.DEFAULT_FROM, from, { recursive: true });
    const exe = await readFile(join(from, 'winsw.exe'));
    exe[exe.length - 1] = (exe[exe.length - 1] ?? 0) ^ 0xff;
    await writeFile(join(from, 'winsw.exe'), exe);
    const out = await tempDir();
    await writeFile(join(out, 'backhaul-service.exe'), 'an earlier good copy');
    await expect(bundle.stageServiceHost({ from, out })).rejects.toThrow(/winsw\.exe is not the pinned WinSW 1\.17\.0\.0 \(sha256 [0-9a-f]{64}, pinned 5859b114/);
    expect(existsSync(join(out, 'backhaul-service.exe'))).toBe(true); // untouched: every file is checked before the folder is replaced
    const run = spawnSync(process.execPath, [script, '--from', from, '--out', out], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/is not the pinned WinSW/);
  });

  it('a missing .exe.config fails with what to do', async () => {
    const from = await tempDir();
    await cp(join(bundle.DEFAULT_FROM, 'winsw.exe'), join(from, 'winsw.exe'));
    await expect(bundle.stageServiceHost({ from, out: await tempDir() })).rejects.toThrow(/can't read .*winsw\.exe\.config \(ENOENT\): run npm install/);
  });
});
