/**
 * Splits a file list into N size-balanced parts, one per parallel rsync worker. Greedy LPT
 * (longest processing time first): largest file first, each onto the part with the fewest bytes so
 * far. That keeps every two parts within the largest file's size of each other, so no worker is
 * left with much more to send than the rest. Ties (equal bytes, e.g. many empty files) go to the
 * part with the fewest files, so small files spread evenly by count too. Pure.
 */

/** Anything with a size in bytes. */
export interface Sized {
  readonly size: number;
}

/** One part: its items (largest first) and their total size. */
export interface Part<T> {
  readonly items: readonly T[];
  readonly bytes: number;
}

/**
 * Exactly `parts` parts (some empty when there are fewer items than parts). Every item lands in
 * exactly one part. `parts` below 1 counts as 1; negative or non-finite sizes count as 0.
 */
export function partitionBySize<T extends Sized>(items: readonly T[], parts: number): Part<T>[] {
  const count = Math.max(1, Math.trunc(Number.isFinite(parts) ? parts : 1));
  const order = items.map((item, index) => ({ item, index, size: weight(item.size) }));
  // Largest first; equal sizes keep their input order, so the result is deterministic.
  order.sort((a, b) => b.size - a.size || a.index - b.index);
  const heap = new PartHeap(count);
  const lists: T[][] = Array.from({ length: count }, () => []);
  const bytes = new Array<number>(count).fill(0);
  for (const { item, size } of order) {
    const target = heap.popLightest();
    lists[target]?.push(item);
    bytes[target] = (bytes[target] ?? 0) + size;
    heap.push(target, bytes[target] ?? 0, lists[target]?.length ?? 0);
  }
  return lists.map((list, i) => ({ items: list, bytes: bytes[i] ?? 0 }));
}

function weight(size: number): number {
  return Number.isFinite(size) && size > 0 ? size : 0;
}

/** A binary min-heap of parts ordered by (bytes, files, index). */
class PartHeap {
  readonly #nodes: { part: number; bytes: number; files: number }[] = [];

  constructor(count: number) {
    for (let part = 0; part < count; part++) this.#nodes.push({ part, bytes: 0, files: 0 });
  }

  popLightest(): number {
    const top = this.#nodes[0];
    const last = this.#nodes.pop();
    if (top === undefined || last === undefined) throw new Error('PartHeap is empty');
    if (this.#nodes.length > 0) {
      this.#nodes[0] = last;
      this.#down(0);
    }
    return top.part;
  }

  push(part: number, bytes: number, files: number): void {
    this.#nodes.push({ part, bytes, files });
    this.#up(this.#nodes.length - 1);
  }

  #less(a: number, b: number): boolean {
    const x = this.#nodes[a];
    const y = this.#nodes[b];
    if (x === undefined || y === undefined) return false;
    return (x.bytes - y.bytes || x.files - y.files || x.part - y.part) < 0;
  }

  #swap(a: number, b: number): void {
    const x = this.#nodes[a];
    const y = this.#nodes[b];
    if (x === undefined || y === undefined) return;
    this.#nodes[a] = y;
    this.#nodes[b] = x;
  }

  #up(index: number): void {
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(index: number): void {
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < this.#nodes.length && this.#less(left, smallest)) smallest = left;
      if (right < this.#nodes.length && this.#less(right, smallest)) smallest = right;
      if (smallest === i) return;
      this.#swap(i, smallest);
      i = smallest;
    }
  }
}
