/** The UI's state container, DOM-free; components read it through `useUiState` (context.tsx). */
import { initialState, type UiState } from './store.js';

/** `dispatch` applies an update, subscribers re-render. */
export class UiStore {
  #state: UiState = initialState;
  readonly #listeners = new Set<() => void>();
  get state(): UiState {
    return this.#state;
  }
  dispatch = (update: (state: UiState) => UiState): void => {
    this.#state = update(this.#state);
    for (const listener of this.#listeners) listener();
  };
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * Subscribes `onState` to the store and hands it the state as it is now. Effects run after the
 * first paint, so an event that arrived between a component's render and its subscription (the
 * agent's snapshot, typically: it comes at once) would otherwise never reach it — the page stayed
 * on "Connecting to the agent…" until the next event, which an idle agent may never send.
 */
export function subscribeInSync(store: UiStore, onState: (state: UiState) => void): () => void {
  const unsubscribe = store.subscribe(() => { onState(store.state); });
  onState(store.state);
  return unsubscribe;
}
