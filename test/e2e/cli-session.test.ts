/**
 * End to end through the CLI and a real restic: `backhaul run JOB --foreground`, in-process, with
 * the session, journal, history and log on disk. The secret-hygiene checks use a unique canary
 * password and search everything the run left behind or printed for it and its encodings.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { logFileFor } from '../../src/os/log.js';
import { captureIo } from '../helpers/cli-io.js';
import { labRestics } from '../helpers/restic-lab.js';
import { secretForms } from '../helpers/secret-forms.js';

/** Every file under dir except the ones named, as text. */
async function allText(dir: string, skip: readonly string[]): Promise<string> {
  let text = '';
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (skip.some((s) => path.startsWith(s))) continue;
    text += await readFile(path, 'latin1');
  }
  return text;
}

const savedLevel = process.env.BACKHAUL_LOG_LEVEL;
beforeEach(() => { process.env.BACKHAUL_LOG_LEVEL = 'debug'; });
afterEach(() => {
  if (savedLevel === undefined) delete process.env.BACKHAUL_LOG_LEVEL;
  else process.env.BACKHAUL_LOG_LEVEL = savedLevel;
});

describe.each(labRestics())('backhaul run with restic $label', ({ path: restic, skipReason }) => {
  it.skipIf(skipReason !== undefined)('backs up, records history, and never shows the password anywhere', async () => {
    const home = await mkdtemp(join(tmpdir(), 'backhaul-e2e-'));
    const canary = `canary-${randomBytes(8).toString('hex')}`;
    const wrongCanary = `canary-${randomBytes(8).toString('hex')}`;
    const data = join(home, 'data');
    const repo = join(home, 'repo');
    await writeFile(join(home, 'pw'), `${canary}\n`, { mode: 0o600 });
    await writeFile(join(home, 'wrong-pw'), wrongCanary, { mode: 0o600 });
    await mkdir(data, { recursive: true });
    await writeFile(join(data, 'a.txt'), 'hello\n');
    await writeFile(join(data, 'b.bin'), randomBytes(256 * 1024));
    await writeFile(
      join(home, 'config.yaml'),
      [
        'settings:',
        `  resticPath: ${restic}`,
        'jobs:',
        '  good:',
        `    sources: [${data}]`,
        `    repository: ${repo}`,
        `    password: file:${join(home, 'pw')}`,
        '  wrong:',
        `    sources: [${data}]`,
        `    repository: ${repo}`,
        `    password: file:${join(home, 'wrong-pw')}`,
        '',
      ].join('\n'),
    );

    const init = captureIo();
    expect(await main(['--home', home, 'init', 'good'], init.io)).toBe(0);
    expect(init.out.text()).toContain('Created the repository of "good"');

    const ok = captureIo();
    expect(await main(['--home', home, 'run', 'good', '--foreground', '--json'], ok.io)).toBe(0);
    const lines = ok.out.text().trim().split('\n').map((l) => JSON.parse(l) as { type: string; state?: string; record?: { end: string; result: string; summary: { snapshotId: string } } });
    expect(lines.filter((l) => l.type === 'state').map((l) => l.state)).toEqual(['preflight', 'connecting', 'verifying', 'backing-up', 'tearing-down', 'done']);
    const end = lines.at(-1);
    expect(end?.record?.result).toBe('success');
    expect(end?.record?.summary.snapshotId).toMatch(/^[0-9a-f]{8,64}$/);

    const bad = captureIo();
    expect(await main(['--home', home, 'run', 'wrong', '--foreground'], bad.io)).toBe(1);
    expect(bad.err.text()).toContain('Backup of "wrong" failed.');
    expect(bad.err.text()).toContain('hint: The password that jobs.wrong.password points to does not open this repository');

    const history = await readFile(join(home, 'state', 'history.jsonl'), 'utf8');
    expect(history.trim().split('\n').map((l) => (JSON.parse(l) as { failure?: { code: string } }).failure?.code)).toEqual([undefined, 'backup.wrong-password']);
    expect(await readdir(join(home, 'state', 'journal'))).toEqual([]);
    expect(await readdir(join(home, 'state', 'tmp'))).toEqual([]);

    const log = await readFile(logFileFor(join(home, 'logs')), 'utf8');
    expect(log).toContain('"message":"session backing-up"');
    expect(log).toContain(`"argv":["${restic}"`);
    // Everything printed, logged or left in the state dir; the password files and repository are
    // where the secret (or its encrypted key) legitimately lives.
    const everything = [ok.out.text(), ok.err.text(), bad.out.text(), bad.err.text(), init.out.text(), await allText(home, [join(home, 'pw'), join(home, 'wrong-pw'), repo])].join('\n');
    for (const secret of [canary, wrongCanary]) for (const form of secretForms(secret)) expect(everything).not.toContain(form);
  });
});
