/** What every page reads: the typed client, the live state, and a clock (tests of pure parts inject their own). */
import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { AgentClient } from '../api/client.js';
import type { UiState } from './model/store.js';
import { subscribeInSync, type UiStore } from './model/ui-store.js';

export interface App {
  readonly client: AgentClient;
  readonly store: UiStore;
  /** Moves focus to the page's heading after navigation (keyboard and screen reader users). */
  readonly navigate: (page: PageId) => void;
}

export type PageId = 'status' | 'history' | 'snapshots' | 'jobs' | 'logs' | 'health';

export const AppContext = createContext<App | undefined>(undefined);

export function useApp(): App {
  const app = useContext(AppContext);
  if (app === undefined) throw new Error('useApp outside <AppContext.Provider>');
  return app;
}

/** The live state; re-renders on every change. */
export function useUiState(): UiState {
  const { store } = useApp();
  const [state, setState] = useState(store.state);
  useEffect(() => subscribeInSync(store, setState), [store]);
  return state;
}

/** The current time, ticking every `ms` (for "3 min ago" and clock times). */
export function useNow(ms = 30_000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => { setNow(new Date()); }, ms);
    return () => { clearInterval(timer); };
  }, [ms]);
  return now;
}

/** Loads something from the agent; `reloadKey` changing reloads it. Errors keep their code and hint. */
export function useLoad<T>(load: () => Promise<T>, reloadKey: unknown[]): { data?: T; error?: { message: string; hint: string }; loading: boolean } {
  const [result, setResult] = useState<{ data?: T; error?: { message: string; hint: string }; loading: boolean }>({ loading: true });
  useEffect(() => {
    let live = true;
    setResult((r) => ({ ...r, loading: true }));
    load().then(
      (data) => { if (live) setResult({ data, loading: false }); },
      (error: unknown) => { if (live) setResult({ error: problemOf(error), loading: false }); },
    );
    return () => { live = false; };
  }, reloadKey);
  return result;
}

/** Any thrown error as the `{message, hint}` the UI shows. */
export function problemOf(error: unknown): { message: string; hint: string } {
  const e = error as { message?: unknown; hint?: unknown };
  return {
    message: typeof e.message === 'string' ? e.message : String(error),
    hint: typeof e.hint === 'string' ? e.hint : '',
  };
}
