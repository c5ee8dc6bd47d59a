import { appendFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SlotStore } from '../../../src/agent/schedule/slot-store.js';

const t = (iso: string) => Date.parse(iso);

describe('SlotStore', () => {
  it('a slot is claimed once, also by a second store over the same dir (an agent restart)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backhaul-slots-'));
    const store = await SlotStore.open(dir);
    expect(await store.claim('nightly', t('2026-11-21T01:00:00Z'), t('2026-11-21T01:00:01Z'))).toBe(true);
    expect(await store.claim('nightly', t('2026-11-21T01:00:00Z'), t('2026-11-21T01:00:02Z'))).toBe(false);
    const reopened = await SlotStore.open(dir);
    expect(await reopened.claim('nightly', t('2026-11-21T01:00:00Z'), t('2026-11-21T01:05:00Z'))).toBe(false);
    // An earlier slot (a clock set back) is decided too: it is below the watermark.
    expect(await reopened.claim('nightly', t('2026-11-20T01:00:00Z'), t('2026-11-21T01:05:00Z'))).toBe(false);
    expect(await reopened.claim('other', t('2026-11-21T01:00:00Z'), t('2026-11-21T01:05:00Z'))).toBe(true);
  });

  it('two claims of one slot at the same moment: exactly one wins', async () => {
    const store = await SlotStore.open(await mkdtemp(join(tmpdir(), 'backhaul-slots-')));
    const results = await Promise.all([1, 2, 3].map(() => store.claim('nightly', t('2026-11-21T01:00:00Z'), t('2026-11-21T01:00:00Z'))));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('ignores a torn last line (a crash mid-write) and anything that is not a record', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backhaul-slots-'));
    const store = await SlotStore.open(dir);
    await store.claim('nightly', t('2026-11-21T01:00:00Z'), t('2026-11-21T01:00:00Z'));
    await appendFile(join(dir, 'slots.jsonl'), '{"job":"nightly","slot":"2026-11-22T01:00:00.000Z","sta\n["x"]\n{"job":"nightly","slot":"not a date","state":"claimed","at":"x"}\n');
    const reopened = await SlotStore.open(dir);
    expect(reopened.watermark('nightly')).toBe(t('2026-11-21T01:00:00Z'));
    expect(await reopened.claim('nightly', t('2026-11-22T01:00:00Z'), t('2026-11-22T01:00:00Z'))).toBe(true);
  });

  it('compacts a long file to what the watermarks need', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backhaul-slots-'));
    const lines = Array.from({ length: 1200 }, (_, i) => JSON.stringify({ job: i % 2 === 0 ? 'a' : 'b', slot: new Date(t('2026-01-01T00:00:00Z') + i * 60_000).toISOString(), state: 'claimed', at: new Date(t('2026-01-01T00:00:00Z') + i * 60_000).toISOString() }));
    await writeFile(join(dir, 'slots.jsonl'), `${lines.join('\n')}\n`);
    const store = await SlotStore.open(dir);
    const kept = (await readFile(join(dir, 'slots.jsonl'), 'utf8')).trim().split('\n');
    expect(kept.length).toBeLessThanOrEqual(4);
    const reopened = await SlotStore.open(dir);
    for (const job of ['a', 'b']) {
      expect(reopened.watermark(job)).toBe(store.watermark(job));
      expect(reopened.trackedSince(job)).toBe(store.trackedSince(job));
    }
    expect(reopened.watermark('b')).toBe(t('2026-01-01T00:00:00Z') + 1199 * 60_000);
  });
});
