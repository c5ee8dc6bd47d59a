/**
 * What a user sees for a broken config file, through the real CLI: one clear error per problem,
 * naming the file, the line and the key path, with what would be valid — and never a stack trace.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';

const valid = ['jobs:', '  nightly:', '    sources: [/data]', '    repository: /srv/repo', '    password: file:/etc/backhaul/pw', ''].join('\n');
const stackFrame = /^\s+at .+:\d+:\d+\)?$/m;

const cases: { name: string; content: string | Buffer; want: RegExp }[] = [
  { name: 'wrong type', content: valid.replace('sources: [/data]', 'sources: /data'), want: /jobs\.nightly\.sources: expected a list of absolute paths, got a string/ },
  { name: 'out of range', content: `${valid}    streams: 64\n`, want: /jobs\.nightly\.streams: must be 1–32, got 64/ },
  { name: 'unknown key', content: `${valid}    strems: 4\n`, want: /jobs\.nightly\.strems: .*did you mean "streams"/ },
  { name: 'missing field', content: valid.replace('    repository: /srv/repo\n', ''), want: /jobs\.nightly\.repository: required/ },
  { name: 'bad YAML', content: 'jobs:\n  nightly:\n    sources: [/data\n  x: 1\n', want: /:\d+:\d+: / },
  { name: 'binary garbage', content: randomBytes(4096), want: /./ },
  { name: '10 MB file', content: `# ${'x'.repeat(10 * 1024 * 1024)}\n`, want: /1 MiB|too large/i },
  { name: 'a literal secret', content: valid.replace('file:/etc/backhaul/pw', 'hunter2-literal'), want: /jobs\.nightly\.password: must be a secret reference/ },
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backhaul-badcfg-'));
});

describe('bad config files', () => {
  it.each(cases)('$name: config validate names the file and the problem', async ({ name, content, want }) => {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    await writeFile(file, content);
    const { io, out, err } = captureIo();
    expect(await main(['config', 'validate', file], io)).toBe(2);
    expect(out.text()).toBe('');
    expect(err.text()).toContain(file);
    expect(err.text()).toMatch(want);
    expect(err.text()).not.toMatch(stackFrame);
    expect(err.text()).not.toContain('hunter2-literal');
    expect(err.text().length).toBeLessThan(4000);
  });

  it.each(cases)('$name: run refuses to start, exit 2, no stack trace', async ({ name, content, want }) => {
    const file = join(dir, `run-${name.replace(/\W+/g, '-')}.yaml`);
    await writeFile(file, content);
    const { io, err } = captureIo();
    expect(await main(['--home', dir, '--config', file, 'run', 'nightly', '--foreground'], io)).toBe(2);
    expect(err.text()).toContain(`error: the config file is not valid: ${file}`);
    expect(err.text()).toMatch(want);
    expect(err.text()).not.toMatch(stackFrame);
  });

  it('a single mistake gives a single error line', async () => {
    const file = join(dir, 'one.yaml');
    await writeFile(file, `${valid}    streams: 0\n`);
    const { io, err } = captureIo();
    await main(['config', 'validate', file], io);
    const problemLines = err.text().split('\n').filter((l) => l.startsWith(file) && l.includes(': jobs.'));
    expect(problemLines).toEqual([`${file}:6:14: jobs.nightly.streams: must be 1–32, got 0`]);
  });

  it('a missing config file says where it looked', async () => {
    const { io, err } = captureIo();
    expect(await main(['config', 'validate', join(dir, 'nope.yaml')], io)).toBe(2);
    expect(err.text()).toContain(join(dir, 'nope.yaml'));
    expect(err.text()).not.toMatch(stackFrame);
  });

  it('a directory instead of a file is named as such', async () => {
    const { io, err } = captureIo();
    expect(await main(['config', 'validate', dir], io)).toBe(2);
    expect(err.text()).toContain(dir);
    expect(err.text()).not.toMatch(stackFrame);
  });
});
