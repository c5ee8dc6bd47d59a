/**
 * Recorded rsync output for the rsync tests: the host lab's rsync 3.5.0 files in
 * shared/reference/recorded/rsync/ (through an IPsec tunnel; both streams merged under stdout) and
 * this repo's files in test/fixtures/rsync/ (rsync 3.5.0 + OpenSSH 9.2 on 127.0.0.1, recorded by
 * test/fixtures/rsync/record.sh; stdout and stderr apart).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadRecording, parseRecording, type Recording } from '../helpers/recorded.js';

const fixturesDir = fileURLToPath(new URL('../fixtures/rsync/', import.meta.url));

/** test/fixtures/rsync/<name>.txt */
export function fixture(name: string): Recording {
  return parseRecording(readFileSync(`${fixturesDir}${name}.txt`, 'utf8'), `test/fixtures/rsync/${name}.txt`);
}

/** shared/reference/recorded/rsync/<name> */
export function shared(name: string): Recording {
  return loadRecording(`recorded/rsync/${name}`);
}

/** The chunks a reader splitting at "\r" and "\n" sees (what the engine's line callbacks get). */
export function chunks(text: string): string[] {
  return text.split(/\r\n|\r|\n/).filter((l) => l !== '');
}

/** The path the recordings were made under (record.sh rewrites its work dir to this). */
export const REC = '/var/tmp/backhaul-rec-rsync';
