import type { HealthItem } from '../api/types.js';

/** The agent's open health items, by code. Changes are published so the tray badge follows. */
export class HealthRegistry {
  readonly #items = new Map<string, HealthItem>();

  constructor(private readonly onChange: (items: readonly HealthItem[]) => void = () => undefined) {}

  set(item: HealthItem): void {
    this.#items.set(item.code, item);
    this.onChange(this.list());
  }

  clear(code: string): void {
    if (this.#items.delete(code)) this.onChange(this.list());
  }

  list(): HealthItem[] {
    return [...this.#items.values()];
  }
}
