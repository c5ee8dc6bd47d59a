/**
 * The store's subscription hands a component the state it missed: the agent's snapshot can arrive
 * between a component's first render and its effect (seen in the Chromium e2e as a Status page stuck
 * on "Connecting to the agent…" with an idle agent that sent nothing after the snapshot).
 */
import { describe, expect, it } from 'vitest';
import { subscribeInSync, UiStore } from '../../src/renderer/model/ui-store.js';
import type { UiState } from '../../src/renderer/model/store.js';

describe('subscribeInSync', () => {
  it('gives a late subscriber the update that came before it subscribed, then every later one', () => {
    const store = new UiStore();
    const rendered = store.state;
    store.dispatch((state) => ({ ...state, connection: 'live' }));
    const seen: UiState[] = [];
    const unsubscribe = subscribeInSync(store, (state) => seen.push(state));
    expect(seen.map((s) => s.connection)).toEqual(['live']);
    expect(seen[0]).not.toBe(rendered);
    store.dispatch((state) => ({ ...state, connection: 'reconnecting' }));
    expect(seen.map((s) => s.connection)).toEqual(['live', 'reconnecting']);
    unsubscribe();
    store.dispatch((state) => ({ ...state, connection: 'live' }));
    expect(seen).toHaveLength(2);
  });
});
