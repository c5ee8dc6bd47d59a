/**
 * The size-balanced partition the rsync workers run over, property-tested: every file lands in
 * exactly one part, and any two parts differ by at most the largest file's size.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { partitionBySize } from '../../src/backup/partition.js';

interface File {
  readonly id: number;
  readonly size: number;
}

const sizes = fc.oneof(
  fc.integer({ min: 0, max: 0 }),
  fc.integer({ min: 0, max: 4096 }),
  fc.integer({ min: 0, max: 2 ** 40 }),
);
const files = fc.array(sizes, { maxLength: 300 }).map((list) => list.map((size, id): File => ({ id, size })));
const partCounts = fc.integer({ min: 1, max: 32 });

describe('partitionBySize', () => {
  it('puts every file in exactly one part, and returns exactly N parts', () => {
    fc.assert(
      fc.property(files, partCounts, (list, n) => {
        const parts = partitionBySize(list, n);
        expect(parts).toHaveLength(n);
        const seen = parts.flatMap((p) => p.items.map((f) => f.id)).sort((a, b) => a - b);
        expect(seen).toEqual(list.map((f) => f.id));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps every two parts within the largest file size of each other', () => {
    fc.assert(
      fc.property(files, partCounts, (list, n) => {
        const parts = partitionBySize(list, n);
        const loads = parts.map((p) => p.bytes);
        const largest = Math.max(0, ...list.map((f) => f.size));
        expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(largest);
        for (const part of parts) expect(part.bytes).toBe(part.items.reduce((sum, f) => sum + f.size, 0));
      }),
      { numRuns: 500 },
    );
  });

  it('spreads equal-size files evenly by count (empty files included)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 1 << 20 }), partCounts, (count, size, n) => {
        const list = Array.from({ length: count }, (_, id) => ({ id, size }));
        const counts = partitionBySize(list, n).map((p) => p.items.length);
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the largest files to different parts first', () => {
    const list = [1, 100, 5, 90, 80, 2].map((size, id) => ({ id, size }));
    const parts = partitionBySize(list, 3);
    expect(parts.map((p) => p.items.map((f) => f.size))).toEqual([[100], [90], [80, 5, 2, 1]]);
    expect(parts.map((p) => p.bytes)).toEqual([100, 90, 88]);
  });

  it('treats a part count below 1 as one part and bad sizes as 0', () => {
    const list = [{ id: 0, size: Number.NaN }, { id: 1, size: -5 }, { id: 2, size: 7 }];
    const parts = partitionBySize(list, 0);
    expect(parts).toHaveLength(1);
    expect(parts[0]?.bytes).toBe(7);
    expect(parts[0]?.items).toHaveLength(3);
  });
});
