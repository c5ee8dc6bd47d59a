import type { AgentEvent } from '../api/types.js';

/** An event with its sequence number: the SSE `id:` a reconnecting client sends back. */
export interface NumberedEvent {
  readonly id: number;
  readonly event: AgentEvent;
}

/**
 * Fan-out of agent events to subscribers (SSE clients, the log, metrics). Publishing never blocks
 * on a slow subscriber: each subscriber gets a callback and is responsible for its own buffering.
 */
export class EventBus {
  #seq = 0;
  readonly #subscribers = new Set<(event: NumberedEvent) => void>();

  publish(event: AgentEvent): NumberedEvent {
    const numbered = { id: ++this.#seq, event };
    for (const subscriber of [...this.#subscribers]) {
      try {
        subscriber(numbered);
      } catch {
        // One broken subscriber must not stop the others (or the session publishing).
      }
    }
    return numbered;
  }

  /** The id of the last published event: a snapshot taken now reflects everything up to it. */
  get lastId(): number {
    return this.#seq;
  }

  subscribe(subscriber: (event: NumberedEvent) => void): () => void {
    this.#subscribers.add(subscriber);
    return () => {
      this.#subscribers.delete(subscriber);
    };
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }
}
