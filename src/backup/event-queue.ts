/**
 * A small push/pull queue that turns an engine's line callbacks (restic, rsync workers) into an
 * async iterable, so the engine can yield events while its processes run. Once a backlog builds up
 * (a consumer reading slower than the tool prints), consecutive progress snapshots are coalesced:
 * memory stays bounded, the consumer gets the latest progress, and no other event is lost.
 */
export class EventQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  readonly #backlog: number;
  #closed = false;
  #wake: (() => void) | undefined;

  /** @param backlog queue length from which `supersedes` applies (default 64). */
  constructor(backlog = 64) {
    this.#backlog = backlog;
  }

  /**
   * Adds an item. With a backlog, when `supersedes(last, item)` is true for the last queued (not
   * yet read) item, that item is replaced instead of growing the queue. Pushes after close() are dropped.
   */
  push(item: T, supersedes?: (last: T, next: T) => boolean): void {
    if (this.#closed) return;
    const lastIndex = this.#items.length - 1;
    const last = this.#items[lastIndex];
    const backlogged = this.#items.length >= this.#backlog;
    if (backlogged && supersedes !== undefined && last !== undefined && supersedes(last, item)) {
      this.#items[lastIndex] = item;
    } else this.#items.push(item);
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
