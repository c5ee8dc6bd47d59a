/**
 * Boots the UI: one AgentClient over whichever transport this page has — the preload bridge in
 * the Electron window, fetch + SSE in a browser served by the agent — and one event stream that
 * keeps the state live, reconnecting with backoff.
 */
import { render } from 'preact';
import type { BackhaulBridge } from '../api/bridge.js';
import { browserTransport } from '../api/browser-transport.js';
import { AgentClient } from '../api/client.js';
import { preloadTransport } from '../api/preload-transport.js';
import { App } from './app.js';
import { UiStore } from './model/ui-store.js';
import { connectEvents } from './model/store.js';

const bridge = (globalThis as { backhaul?: BackhaulBridge }).backhaul;
const client = new AgentClient(bridge === undefined ? browserTransport() : preloadTransport(bridge));
const store = new UiStore();
const stop = new AbortController();
addEventListener('pagehide', () => { stop.abort(); });
void connectEvents(client, store.dispatch, stop.signal);

const root = document.getElementById('app');
if (root !== null) render(<App app={{ client, store }} />, root);
