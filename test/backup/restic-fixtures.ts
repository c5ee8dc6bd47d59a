/**
 * Recorded restic output for the backup tests: the host lab's 0.14.0 files in
 * shared/reference/recorded/restic/ and this repo's 0.14.0/0.18.0 files in test/fixtures/restic/
 * (recorded by test/fixtures/restic/record.sh; see its README).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadRecording, parseRecording, type Recording } from '../helpers/recorded.js';

export const fixturesDir = fileURLToPath(new URL('../fixtures/restic/', import.meta.url));

/** A recording from test/fixtures/restic/<dir>/<name>, e.g. fixture('0.18.0', 'backup-locked.txt'). */
export function fixture(version: '0.14.0' | '0.18.0', name: string): Recording {
  const rel = `restic-${version}/${name}`;
  return parseRecording(readFileSync(`${fixturesDir}${rel}`, 'utf8'), `test/fixtures/restic/${rel}`);
}

/** A recording from shared/reference/recorded/restic/<name> (restic 0.14.0 through the host lab's tunnel). */
export function shared(name: string): Recording {
  return loadRecording(`recorded/restic/${name}`);
}

/** Lines of a stream, without the trailing empty one. */
export function lines(text: string): string[] {
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  return all;
}
