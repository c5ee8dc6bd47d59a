/**
 * The Linux agent + CLI package, really built with dpkg-deb by scripts/build-deb.sh, then read
 * back with dpkg-deb: control fields, the files it installs, maintainer scripts that parse, and the
 * packed CLI running from an extracted copy (so dist/ and the production node_modules are all
 * there and nothing is fetched at install time). Installing it and starting the unit under a real
 * systemd happens in the QEMU lab (test/lab/guest/package.sh, `ONLY=deb-package npm run test:lab`).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
let tmp: string;
let deb: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'backhaul-deb-'));
  // dist/ is built by the CI's build step (and by the developer); packing only keeps this test short.
  const env = { ...process.env, BACKHAUL_DEB_NO_BUILD: '1' };
  const { stdout } = await run('bash', [join(root, 'scripts', 'build-deb.sh'), join(tmp, 'out')], { env, maxBuffer: 16 * 1024 * 1024 });
  deb = stdout.trim().split('\n').at(-1) ?? '';
  await run('dpkg-deb', ['-x', deb, join(tmp, 'x')]);
}, 300_000);
afterAll(async () => { await rm(tmp, { recursive: true, force: true }); });

describe('the agent .deb', () => {
  it('has the control fields apt needs: name, version, arch, the Node it runs on', async () => {
    const field = async (name: string) => (await run('dpkg-deb', ['-f', deb, name])).stdout.trim();
    const version = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    expect(await field('Package')).toBe('backhaul');
    expect(await field('Version')).toBe(version);
    expect(await field('Architecture')).toBe((await run('dpkg', ['--print-architecture'])).stdout.trim());
    // restic is bundled (below), so Debian's restic is not a dependency.
    expect(await field('Depends')).toBe('nodejs (>= 20.11), passwd, systemd');
  });

  it('bundles the pinned restic where the packed agent looks for it, and the agent accepts it', async () => {
    const resources = join(tmp, 'x', 'usr', 'lib', 'backhaul', 'resources');
    const manifest = JSON.parse(await readFile(join(root, 'resources', 'restic.json'), 'utf8')) as { version: string; binaries: Record<string, { sha256: string }> };
    const shipped = JSON.parse(await readFile(join(resources, 'restic.json'), 'utf8')) as typeof manifest;
    expect(shipped.binaries['linux-x64']).toEqual(manifest.binaries['linux-x64']);
    const bin = join(resources, 'bin', 'linux-x64', 'restic');
    expect((await run('sha256sum', [bin])).stdout.split(' ')[0]).toBe(manifest.binaries['linux-x64']?.sha256);
    // The packed agent's own lookup (resourcesDirFor from dist/agent) lands on this folder, and the pin check passes.
    const script = `const { resourcesDirFor } = await import(${JSON.stringify(join(tmp, 'x', 'usr', 'lib', 'backhaul', 'dist', 'agent', 'run-job.js'))});
      const { checkBundledRestic } = await import(${JSON.stringify(join(tmp, 'x', 'usr', 'lib', 'backhaul', 'dist', 'backup', 'bundled-restic.js'))});
      const dir = resourcesDirFor(${JSON.stringify(join(tmp, 'x', 'usr', 'lib', 'backhaul', 'dist', 'agent'))});
      console.log(JSON.stringify({ dir, check: await checkBundledRestic(dir + '/bin/linux-x64/restic', dir, 'linux-x64') }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: tmp });
    expect(JSON.parse(stdout)).toEqual({ dir: resources, check: { ok: true } });
    expect((await run(bin, ['version'])).stdout).toMatch(/^restic 0\.18\.0 /);
  });

  it('installs the launcher, the code with its production dependencies, the unit and the docs — no Electron app', async () => {
    const { stdout } = await run('dpkg-deb', ['--contents', deb], { maxBuffer: 16 * 1024 * 1024 });
    const paths = stdout.split('\n').map((line) => line.split(/\s+/).at(5) ?? '');
    for (const expected of ['./usr/bin/backhaul', './usr/lib/backhaul/dist/cli/bin.js', './usr/lib/backhaul/node_modules/commander/package.json', './usr/lib/backhaul/node_modules/zod/package.json', './lib/systemd/system/backhaul.service', './usr/share/doc/backhaul/install.md']) {
      expect(paths).toContain(expected);
    }
    expect(paths.filter((p) => p.startsWith('./usr/lib/backhaul/dist/main/') || p.includes('/node_modules/electron/') || p.includes('/node_modules/vitest/'))).toEqual([]);
    expect(stdout).toMatch(/-rwxr-xr-x root\/root .* \.\/usr\/bin\/backhaul\n/);
  });

  it('ships the generated, verified unit byte for byte', async () => {
    expect(await readFile(join(tmp, 'x', 'lib', 'systemd', 'system', 'backhaul.service'), 'utf8')).toBe(await readFile(join(root, 'packaging', 'linux', 'backhaul.service'), 'utf8'));
  });

  it('runs the packed CLI from the extracted tree with only its own node_modules', async () => {
    const { stdout } = await run(process.execPath, [join(tmp, 'x', 'usr', 'lib', 'backhaul', 'dist', 'cli', 'bin.js'), '--help'], { cwd: tmp, env: { ...process.env, NODE_PATH: '' } });
    expect(stdout).toMatch(/Usage: backhaul/);
    expect(stdout).toMatch(/\bagent\b/);
  });

  it('has maintainer scripts that parse and do what the docs say', async () => {
    for (const script of ['postinst', 'prerm', 'postrm']) {
      // sh -n: the script parses (dpkg runs it with /bin/sh)
      const { stdout } = await run('sh', ['-c', `dpkg-deb --ctrl-tarfile "$1" | tar -xOf - ./${script} > "$2/${script}" && sh -n "$2/${script}" && cat "$2/${script}"`, 'sh', deb, tmp]);
      expect(stdout.length).toBeGreaterThan(0);
      if (script === 'postinst') expect(stdout).toMatch(/groupadd --system backhaul[\s\S]*systemctl enable backhaul\.service/);
      if (script === 'prerm') expect(stdout).toMatch(/systemctl stop backhaul\.service/);
      if (script === 'postrm') expect(stdout).toMatch(/purge\)?[\s\S]*rm -rf \/etc\/backhaul \/var\/lib\/backhaul/);
    }
  });
});
