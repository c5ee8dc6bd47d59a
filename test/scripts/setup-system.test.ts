/**
 * scripts/setup-system.sh is what `npm start` and `npm test` call to get restic (and, for tests,
 * rclone and the pinned restic 0.18). Where it can't install — not root — it must say the exact
 * command instead of failing obscurely; where everything is present it must do nothing.
 */
import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, '..', '..', 'scripts', 'setup-system.sh');

/** A PATH holding only the tools the script uses, without restic. */
async function pathWithoutRestic(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'backhaul-path-'));
  await chmod(dir, 0o755);
  for (const tool of ['bash', 'id', 'uname', 'awk', 'dpkg', 'sha256sum', 'mkdir', 'install', 'rm', 'mktemp', 'dirname']) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found !== '') await symlink(found, join(dir, tool));
  }
  return dir;
}

describe('scripts/setup-system.sh', () => {
  it('does nothing and succeeds when restic is present', () => {
    const run = spawnSync('bash', [script], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
  });

  it('prints the exact install command when it may not install (not root)', async () => {
    const path = await pathWithoutRestic();
    // A copy under /tmp: the checkout may sit where an unprivileged user can't read it.
    const copy = join(path, 'setup-system.sh');
    await copyFile(script, copy);
    await chmod(copy, 0o755);
    const isRoot = process.getuid?.() === 0;
    // As root the script would really install restic; run it as an unprivileged user instead.
    const argv = isRoot ? ['runuser', '-u', 'nobody', '--', 'env', `PATH=${path}`, 'bash', copy] : ['env', `PATH=${path}`, 'bash', copy];
    const run = spawnSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('setup: missing restic. Install it with:');
    expect(run.stderr).toContain('sudo apt-get install -y restic');
  });

  it('--test also asks for a Secret Service (gnome-keyring, dbus-x11) for the keychain tests', async () => {
    const path = await pathWithoutRestic();
    const copy = join(path, 'setup-system.sh');
    await copyFile(script, copy);
    await chmod(copy, 0o755);
    const isRoot = process.getuid?.() === 0;
    const argv = isRoot ? ['runuser', '-u', 'nobody', '--', 'env', `PATH=${path}`, 'bash', copy, '--test'] : ['env', `PATH=${path}`, 'bash', copy, '--test'];
    const run = spawnSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/sudo apt-get install -y .*\bgnome-keyring dbus-x11\b/);
  });
});
