/**
 * A small push/pull queue that turns restic's line callbacks into an async iterable, so the engine
 * can yield events while restic runs. Consecutive progress snapshots are coalesced: a consumer
 * that reads slowly gets the latest progress, never a backlog, and loses no other event.
 */
export class EventQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #closed = false;
  #wake: (() => void) | undefined;

  /**
   * Adds an item. When `supersedes(last, item)` is true for the last queued (not yet read) item,
   * that item is replaced instead of growing the queue. Items pushed after close() are dropped.
   */
  push(item: T, supersedes?: (last: T, next: T) => boolean): void {
    if (this.#closed) return;
    const lastIndex = this.#items.length - 1;
    const last = this.#items[lastIndex];
    if (supersedes !== undefined && last !== undefined && supersedes(last, item)) this.#items[lastIndex] = item;
    else this.#items.push(item);
    this.#notify();
  }

  /** No more items will come; iteration ends once the queued ones are read. */
  close(): void {
    this.#closed = true;
    this.#notify();
  }

  get size(): number {
    return this.#items.length;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = this.#items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }
}
