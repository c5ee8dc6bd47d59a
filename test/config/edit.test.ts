import { lstat, mkdtemp, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { beforeEach, describe, expect, it } from 'vitest';
import { applyPatch, editJob, jobSettings, lockedFields, writeAtomically } from '../../src/config/edit.js';
import { builtinDefaults, mergeLayers, type ConfigLayer, type LayerName } from '../../src/config/layers.js';
import { parseConfigText } from '../../src/config/load.js';

/** A hand-written file: comments everywhere, uneven spacing, both list styles, a blank line. */
const ORIGINAL = [
  '# Backhaul config — written by hand',
  '#   (spacing in comments is mine)',
  '',
  'jobs:',
  '  # the laptop',
  '  nightly:',
  '    sources: [ /home/me/docs,  "/home/me/photos" ]   # flow, with my spacing',
  '    excludes:',
  '    - "*.tmp"        # editor junk',
  '    - node_modules',
  '    # what follows is the repository',
  '    repository: /srv/restic',
  '    password: file:/etc/backhaul/nightly.pw',
  '    streams: 4    # default',
  '',
  '  other:',
  '    sources:',
  '      - /srv',
  '    repository: /srv/other',
  '    password: file:/etc/backhaul/other.pw',
  '    bandwidthLimit: "10 MiB/s"  # office hours',
  '# trailing comment',
  '',
].join('\n');

const userOrigins = (text: string): ReadonlyMap<string, LayerName> => {
  const loaded = parseConfigText(text, 'test.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.origins;
};

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backhaul-edit-'));
  file = join(dir, 'config.yaml');
  await writeFile(file, ORIGINAL, { mode: 0o640 });
});

function edited(patch: Parameters<typeof applyPatch>[2], job = 'nightly'): string {
  const result = applyPatch(ORIGINAL, job, patch);
  if (!result.ok) throw new Error(result.problem.message);
  return result.text;
}

describe('applyPatch keeps the rest of the file byte for byte', () => {
  it('changes a scalar in place, keeping its comment', () => {
    expect(edited({ streams: 8 })).toBe(ORIGINAL.replace('    streams: 4    # default', '    streams: 8    # default'));
  });

  it('replaces a flow list as a flow list', () => {
    expect(edited({ sources: ['/home/me/docs', '/home/me/music'] })).toBe(
      ORIGINAL.replace('[ /home/me/docs,  "/home/me/photos" ]', '[/home/me/docs, "/home/me/music"]'),
    );
  });

  it('replaces a block list as a block list with its indentation, keeping the comment after it', () => {
    expect(edited({ excludes: ['*.bak', 'cache'] })).toBe(
      ORIGINAL.replace('    - "*.tmp"        # editor junk\n    - node_modules\n', '    - "*.bak"\n    - cache\n'),
    );
    expect(edited({ sources: ['/srv', '/opt'] }, 'other')).toBe(ORIGINAL.replace('      - /srv\n', '      - /srv\n      - /opt\n'));
  });

  it('adds a missing key after the job\'s last line, at the job\'s indentation', () => {
    expect(edited({ bandwidthLimit: '5 MiB/s' })).toBe(
      ORIGINAL.replace('    streams: 4    # default\n', '    streams: 4    # default\n    bandwidthLimit: 5 MiB/s\n'),
    );
    expect(edited({ profile: 'direct', streams: 2 }, 'other')).toBe(
      ORIGINAL.replace('  # office hours\n', '  # office hours\n    streams: 2\n    profile: direct\n'),
    );
  });

  it('removes a key for null (back to the default), and empties a block list as []', () => {
    expect(edited({ bandwidthLimit: null }, 'other')).toBe(ORIGINAL.replace('    bandwidthLimit: "10 MiB/s"  # office hours\n', ''));
    expect(edited({ excludes: [] })).toBe(ORIGINAL.replace('    excludes:\n    - "*.tmp"        # editor junk\n    - node_modules\n', '    excludes: []\n'));
    expect(edited({ profile: null })).toBe(ORIGINAL);
  });

  it('writes any string so that it reads back as the same string', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 12 });
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 4 }), fc.array(text, { maxLength: 3 }), fc.integer({ min: -5, max: 99 }), (sources, excludes, streams) => {
        const out = edited({ sources, excludes, streams });
        const data = parse(out) as { jobs: Record<string, Record<string, unknown>> };
        expect(data.jobs['nightly']).toMatchObject({ sources, excludes, streams, repository: '/srv/restic' });
        expect(out.startsWith(ORIGINAL.slice(0, ORIGINAL.indexOf('    sources:')))).toBe(true);
        expect(out.endsWith(ORIGINAL.slice(ORIGINAL.indexOf('    repository: /srv/restic')).replace('streams: 4 ', `streams: ${streams} `))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('removes the last key and adds another in one patch', () => {
    expect(edited({ bandwidthLimit: null, streams: 3 }, 'other')).toBe(ORIGINAL.replace('    bandwidthLimit: "10 MiB/s"  # office hours\n', '    streams: 3\n'));
  });

  it('keeps the rest byte for byte over any sequence of edits', () => {
    const patch = fc.record(
      {
        streams: fc.oneof(fc.integer({ min: 1, max: 32 }), fc.constant(null)),
        sources: fc.array(fc.constantFrom('/data', '/home/me', '/srv/a b'), { minLength: 1, maxLength: 3 }),
        excludes: fc.oneof(fc.array(fc.constantFrom('*.tmp', 'cache', '#x', '- y', 'a: b'), { maxLength: 3 }), fc.constant(null)),
        bandwidthLimit: fc.constantFrom('5 MiB/s', '20 Mbit/s', null),
        profile: fc.constantFrom('direct', null),
      },
      { requiredKeys: [] },
    );
    const untouched = ['# Backhaul config — written by hand\n#   (spacing in comments is mine)\n', '    # what follows is the repository\n    repository: /srv/restic\n', '  other:\n    sources:\n      - /srv\n', '# trailing comment\n'];
    fc.assert(
      fc.property(fc.array(patch, { maxLength: 6 }), (patches) => {
        let text = ORIGINAL;
        for (const p of patches) {
          const result = applyPatch(text, 'nightly', p);
          if (!result.ok) throw new Error(result.problem.message);
          text = result.text;
          for (const part of untouched) expect(text).toContain(part);
          const job = (parse(text) as { jobs: Record<string, Record<string, unknown>> }).jobs['nightly'];
          for (const [key, value] of Object.entries(p)) expect(job?.[key]).toEqual(value ?? undefined);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps CRLF line endings, also in the lines it adds', () => {
    const crlf = ORIGINAL.replaceAll('\n', '\r\n');
    const patch = { streams: 8, excludes: ['a', 'b'], bandwidthLimit: '1 MiB/s' };
    const result = applyPatch(crlf, 'nightly', patch);
    expect(result.ok && result.text).toBe(edited(patch).replaceAll('\n', '\r\n'));
    const removed = applyPatch(crlf, 'other', { bandwidthLimit: null, sources: ['/a', '/b'] });
    expect(removed.ok && removed.text).toBe(edited({ bandwidthLimit: null, sources: ['/a', '/b'] }, 'other').replaceAll('\n', '\r\n'));
  });

  it('falls back to yaml\'s printer for a flow-style job, keeping comments', () => {
    const text = '# mine\njobs: { nightly: { sources: [/a], repository: /r, password: "file:/p" } } # end\n';
    const result = applyPatch(text, 'nightly', { streams: 3 });
    expect(result.ok && result.text).toContain('# mine');
    expect(result.ok && (parse(result.text) as { jobs: { nightly: { streams: number } } }).jobs.nightly.streams).toBe(3);
  });
});

describe('editJob', () => {
  it('validates, then writes atomically with the original mode', async () => {
    const inode = (await stat(file)).ino;
    const result = await editJob({ file, job: 'nightly', patch: { streams: 8 }, origins: userOrigins(ORIGINAL) });
    expect(result.ok).toBe(true);
    expect(result.ok && result.loaded.config.jobs['nightly']?.streams).toBe(8);
    expect(await readFile(file, 'utf8')).toBe(ORIGINAL.replace('streams: 4 ', 'streams: 8 '));
    const after = await stat(file);
    expect(after.mode & 0o777).toBe(0o640);
    expect(after.ino).not.toBe(inode); // renamed over, not rewritten in place
    expect(await readdir(dir)).toEqual(['config.yaml']); // no temp file left
  });

  it('refuses an invalid value, naming the field and the fix, and leaves the file untouched', async () => {
    const result = await editJob({ file, job: 'nightly', patch: { streams: 64 }, origins: userOrigins(ORIGINAL) });
    expect(result).toEqual({
      ok: false,
      problem: { code: 'config.invalid-value', field: 'streams', message: 'jobs.nightly.streams: must be 1–32, got 64', hint: expect.stringContaining('1 to 32') as unknown },
    });
    const bad = await editJob({ file, job: 'nightly', patch: { bandwidthLimit: 'fast' }, origins: userOrigins(ORIGINAL) });
    expect(!bad.ok && bad.problem).toMatchObject({ field: 'bandwidthLimit', message: expect.stringMatching(/^jobs\.nightly\.bandwidthLimit: .*"fast"/) as unknown });
    const profile = await editJob({ file, job: 'nightly', patch: { profile: 'office' }, origins: userOrigins(ORIGINAL) });
    expect(!profile.ok && profile.problem.message).toMatch(/unknown profile "office"; known profiles: "direct"/);
    const sources = await editJob({ file, job: 'nightly', patch: { sources: ['relative/dir'] }, origins: userOrigins(ORIGINAL) });
    expect(!sources.ok && sources.problem).toMatchObject({ field: 'sources', message: expect.stringMatching(/^jobs\.nightly\.sources\[0\]: must be an absolute path/) as unknown });
    expect(await readFile(file, 'utf8')).toBe(ORIGINAL);
    expect(await readdir(dir)).toEqual(['config.yaml']);
  });

  it('refuses secrets and other file-only fields, saying why', async () => {
    const patch = { password: 'file:/tmp/x' } as unknown as Parameters<typeof applyPatch>[2];
    const result = await editJob({ file, job: 'nightly', patch, origins: userOrigins(ORIGINAL) });
    expect(!result.ok && result.problem).toMatchObject({ code: 'config.not-editable', field: 'password', message: expect.stringContaining('secret') as unknown });
    expect(await readFile(file, 'utf8')).toBe(ORIGINAL);
  });

  it('refuses a field the managed policy sets, and only that field', async () => {
    const user: ConfigLayer = { name: 'user', data: parse(ORIGINAL) as unknown };
    const policy: ConfigLayer = { name: 'policy', data: { jobs: { nightly: { streams: 2, excludes: ['/secret'] } } } };
    const { origins } = mergeLayers(builtinDefaults(), user, policy);
    expect(lockedFields(origins, 'nightly')).toEqual({ streams: expect.stringContaining("locked by your organisation's policy") as unknown, excludes: expect.stringContaining("locked by your organisation's policy") as unknown });
    expect(lockedFields(origins, 'other')).toEqual({});
    const locked = await editJob({ file, job: 'nightly', patch: { sources: ['/a'], streams: 8 }, origins });
    expect(locked).toEqual({ ok: false, problem: { code: 'config.locked', field: 'streams', message: expect.stringMatching(/^jobs\.nightly\.streams is locked by your organisation's policy/) as unknown, hint: expect.any(String) as unknown } });
    expect(await readFile(file, 'utf8')).toBe(ORIGINAL);
    const allowed = await editJob({ file, job: 'nightly', patch: { sources: ['/a'] }, origins });
    expect(allowed.ok).toBe(true);
  });

  it('locks every field of a job only the policy defines', () => {
    const policy: ConfigLayer = { name: 'policy', data: { jobs: { corp: { sources: ['/c'], repository: '/r', password: 'file:/p' } } } };
    const { origins } = mergeLayers(builtinDefaults(), { name: 'user', data: parse(ORIGINAL) as unknown }, policy);
    expect(Object.keys(lockedFields(origins, 'corp'))).toEqual(['sources', 'excludes', 'streams', 'bandwidthLimit', 'profile']);
  });

  it('shows the limit as a person writes it, and reads it back the same', () => {
    const loaded = parseConfigText(ORIGINAL.replace('"10 MiB/s"', '"1500 KiB/s"'), 'test.yaml');
    if (!loaded.ok) throw new Error('invalid');
    const other = loaded.config.jobs['other'];
    expect(other && jobSettings(other).bandwidthLimit).toBe('1500 KiB/s');
    const again = parseConfigText(ORIGINAL, 'test.yaml');
    const job = again.ok ? again.config.jobs['other'] : undefined;
    expect(job && jobSettings(job).bandwidthLimit).toBe('10 MiB/s');
  });

  it('answers an unknown job without writing', async () => {
    const result = await editJob({ file, job: 'nope', patch: { streams: 2 }, origins: userOrigins(ORIGINAL) });
    expect(!result.ok && result.problem.code).toBe('config.unknown-job');
    expect(await readFile(file, 'utf8')).toBe(ORIGINAL);
  });

  it('does not overwrite a hand edit made while saving', async () => {
    const version = await stat(file);
    await writeFile(file, `${ORIGINAL}# added by hand meanwhile\n`);
    await expect(writeAtomically(file, 'jobs: {}\n', version)).resolves.toBe('changed');
    expect(await readFile(file, 'utf8')).toContain('# added by hand meanwhile');
    expect(await readdir(dir)).toEqual(['config.yaml']);
    await expect(writeAtomically(file, 'jobs: {}\n', await stat(file))).resolves.toBe('written');
  });

  it('edits the file a symlink points to and keeps the link', async () => {
    const link = join(dir, 'link.yaml');
    await symlink(file, link);
    const result = await editJob({ file: link, job: 'nightly', patch: { streams: 5 }, origins: userOrigins(ORIGINAL) });
    expect(result.ok).toBe(true);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(file);
    expect(await readFile(file, 'utf8')).toContain('streams: 5 ');
  });
});
