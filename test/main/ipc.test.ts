/**
 * The IPC layer without Electron: a fake ipcMain/ipcRenderer pair wired in memory carries calls
 * between the preload's bridge and main's router. Proves that main checks the sender of every
 * message, that nothing outside the channel map can be called, that arguments are checked before
 * anything reaches the agent, and that one AgentClient works over the bridge.
 */
import { describe, expect, it } from 'vitest';
import { AgentClient, type ApiTransport } from '../../src/api/client.js';
import { preloadTransport } from '../../src/api/preload-transport.js';
import type { AgentEvent } from '../../src/api/types.js';
import { registerApiBridge } from '../../src/main/api-bridge.js';
import { allowedApiPath, IpcContractError } from '../../src/main/ipc-contract.js';
import { IpcRouter, trustedSender, type IpcMainLike, type IpcSenderEvent } from '../../src/main/ipc-main.js';
import { createPreloadBridge, type IpcRendererLike } from '../../src/main/preload-bridge.js';

const APP = 'app://backhaul';
const WINDOW_ID = 7;

type Handler = (event: IpcSenderEvent, ...args: unknown[]) => unknown;

/** ipcMain as Electron behaves: invoking a channel nobody handles rejects. */
class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, Handler>();
  readonly listeners = new Map<string, Handler[]>();
  handle(channel: string, listener: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }
  on(channel: string, listener: Handler): void {
    this.listeners.set(channel, [...(this.listeners.get(channel) ?? []), listener]);
  }
  invoke(channel: string, event: IpcSenderEvent, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (handler === undefined) return Promise.reject(new Error(`No handler registered for '${channel}'`));
    return Promise.resolve().then(() => handler(event, ...args));
  }
  emit(channel: string, event: IpcSenderEvent, ...args: unknown[]): void {
    for (const listener of this.listeners.get(channel) ?? []) listener(event, ...args);
  }
}

const windowEvent = (overrides: Partial<{ id: number; url: string | null }> = {}): IpcSenderEvent => ({
  sender: { id: overrides.id ?? WINDOW_ID },
  senderFrame: overrides.url === null ? null : { url: overrides.url ?? `${APP}/index.html#/status` },
});

/** A transport that records calls and answers like the agent; streams emit two chunks then wait. */
class FakeTransport implements ApiTransport {
  readonly calls: string[] = [];
  aborted = 0;
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
    this.calls.push(`${method} ${path}${body === undefined ? '' : ` ${JSON.stringify(body)}`}`);
    return Promise.resolve({ status: 200, body: JSON.stringify({ ok: true, path }) });
  }
  async stream(path: string, onChunk: (text: string) => void, signal: AbortSignal): Promise<void> {
    this.calls.push(`STREAM ${path}`);
    const snapshot: AgentEvent = { type: 'snapshot', status: { agent: { pid: 1, version: 'x', mode: 'user', startedAt: '', configFile: '', socket: '' }, sessions: [], jobs: [], health: [] } };
    onChunk(`id: 1\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
    onChunk(': keepalive\n\n');
    await new Promise<void>((resolve) => { signal.addEventListener('abort', () => { this.aborted++; resolve(); }, { once: true }); });
  }
}

function wire(options: { event?: IpcSenderEvent } = {}) {
  const ipcMain = new FakeIpcMain();
  const refused: string[] = [];
  const router = new IpcRouter(ipcMain, trustedSender(() => [WINDOW_ID], APP), (channel, reason) => refused.push(`${channel}: ${reason}`));
  const transport = new FakeTransport();
  const rendererListeners = new Map<string, ((event: unknown, ...args: unknown[]) => void)[]>();
  const sentToRenderer: unknown[][] = [];
  const bridge = registerApiBridge(router, transport, (_event, channel, ...args) => {
    sentToRenderer.push([channel, ...args]);
    for (const listener of rendererListeners.get(channel) ?? []) listener({}, ...args);
  });
  const event = options.event ?? windowEvent();
  const ipcRenderer: IpcRendererLike = {
    invoke: ((channel: string, ...args: unknown[]) => ipcMain.invoke(channel, event, ...args)) as IpcRendererLike['invoke'],
    send: ((channel: string, ...args: unknown[]) => { ipcMain.emit(channel, event, ...args); }),
    on: ((channel: string, listener: (event: unknown, ...args: unknown[]) => void) => {
      rendererListeners.set(channel, [...(rendererListeners.get(channel) ?? []), listener]);
    }) as IpcRendererLike['on'],
  };
  return { ipcMain, router, transport, refused, bridge, sentToRenderer, preload: createPreloadBridge(ipcRenderer) };
}

describe('sender checks', () => {
  it('serves a request from our window showing our UI', async () => {
    const { preload, transport } = wire();
    await expect(preload.request({ method: 'GET', path: '/v1/status' })).resolves.toEqual({ status: 200, body: '{"ok":true,"path":"/v1/status"}' });
    expect(transport.calls).toEqual(['GET /v1/status']);
  });

  it.each([
    ['another webContents', windowEvent({ id: 99 })],
    ['our window after navigating elsewhere', windowEvent({ url: 'https://evil.example/' })],
    ['a frame with a look-alike origin', windowEvent({ url: 'app://backhaul.evil/index.html' })],
    ['a message with no frame', windowEvent({ url: null })],
    ['a file:// page', windowEvent({ url: 'file:///etc/passwd' })],
  ])('refuses %s, and nothing reaches the agent', async (_name, event) => {
    const { preload, transport, refused } = wire({ event });
    await expect(preload.request({ method: 'POST', path: '/v1/runs', body: '{"job":"x"}' })).rejects.toThrow(/not a Backhaul window/);
    expect(transport.calls).toEqual([]);
    expect(refused).toEqual([expect.stringContaining('api:request: untrusted sender')]);
  });

  it('drops a send from an untrusted sender (close-stream)', () => {
    const { ipcMain, refused } = wire();
    ipcMain.emit('api:close-stream', windowEvent({ id: 99 }), 1);
    expect(refused).toEqual(['api:close-stream: untrusted sender app://backhaul/index.html#/status']);
  });
});

describe('the channel map', () => {
  it('registers handlers for exactly the contract\'s channels', () => {
    const { ipcMain } = wire();
    expect([...ipcMain.handlers.keys()].sort()).toEqual(['api:open-stream', 'api:request']);
    expect([...ipcMain.listeners.keys()]).toEqual(['api:close-stream']);
  });

  it('a renderer cannot call a channel that is not in it', async () => {
    const { ipcMain } = wire();
    for (const channel of ['fs:read', 'shell:open', 'api:requests', '__proto__', 'ELECTRON_BROWSER_REQUIRE']) {
      await expect(ipcMain.invoke(channel, windowEvent(), '/etc/passwd')).rejects.toThrow(/No handler registered/);
    }
  });

  it('main cannot register a handler outside the contract', () => {
    const { router } = wire();
    expect(() => { router.handle('fs:read' as never, (() => Promise.resolve()) as never); }).toThrow(IpcContractError);
    expect(() => { router.on('shell:open' as never, () => undefined); }).toThrow(IpcContractError);
  });

  it.each([
    ['a method outside GET/POST/PATCH/DELETE', { method: 'PUT', path: '/v1/status' }],
    ['a path outside /v1', { method: 'GET', path: '/metrics' }],
    ['the login route', { method: 'GET', path: '/login?token=x' }],
    ['a dot segment', { method: 'GET', path: '/v1/../metrics' }],
    ['a body that is not a string', { method: 'POST', path: '/v1/runs', body: { job: 'x' } }],
    ['a body over 16 KiB', { method: 'POST', path: '/v1/runs', body: 'x'.repeat(17 * 1024) }],
    ['no request at all', undefined],
  ])('checks arguments before the agent sees them: %s', async (_name, request) => {
    const { ipcMain, transport, refused } = wire();
    await expect(ipcMain.invoke('api:request', windowEvent(), request)).rejects.toThrow(IpcContractError);
    expect(transport.calls).toEqual([]);
    expect(refused).toHaveLength(1);
  });

  it('streams only the event stream', async () => {
    const { ipcMain, transport } = wire();
    await expect(ipcMain.invoke('api:open-stream', windowEvent(), 1, '/v1/status', {})).rejects.toThrow(/only \/v1\/events/);
    await expect(ipcMain.invoke('api:open-stream', windowEvent(), 'x', '/v1/events', {})).rejects.toThrow(/id must be an integer/);
    expect(transport.calls).toEqual([]);
  });

  it('allowedApiPath', () => {
    expect(allowedApiPath('/v1/jobs/demo/snapshots/abcd1234/tree?path=%2Fdata')).toBe(true);
    expect(allowedApiPath('/v1/history?job=a&limit=5')).toBe(true);
    expect(allowedApiPath('/v2/x')).toBe(false);
    expect(allowedApiPath('/v1/x y')).toBe(false);
    expect(allowedApiPath(42)).toBe(false);
  });
});

describe('the bridge', () => {
  it('exposes only the bridge functions, never ipcRenderer', () => {
    const { preload } = wire();
    expect(Object.keys(preload).sort()).toEqual(['closeStream', 'openStream', 'request']);
  });

  it('relays the event stream to the window that opened it, and stops it on close', async () => {
    const { preload, transport, sentToRenderer, bridge } = wire();
    const chunks: string[] = [];
    let ended = false;
    const id = await preload.openStream('/v1/events', {}, (text) => chunks.push(text), () => { ended = true; });
    await Promise.resolve();
    expect(chunks.join('')).toContain('event: snapshot');
    preload.closeStream(id);
    await new Promise((resolve) => setImmediate(resolve));
    expect(transport.aborted).toBe(1);
    expect(ended).toBe(true);
    expect(sentToRenderer.map((m) => m[0])).toEqual(['api:stream-chunk', 'api:stream-chunk', 'api:stream-end']);
    bridge.closeAll();
  });

  it('carries the one AgentClient: requests and the event stream', async () => {
    const { preload, transport } = wire();
    const client = new AgentClient(preloadTransport(preload));
    await expect(client.startRun('nightly')).resolves.toEqual({ ok: true, path: '/v1/runs' });
    // The Jobs page's form edits a job with PATCH.
    await expect(client.editJob('nightly', { streams: 8 })).resolves.toEqual({ ok: true, path: '/v1/jobs/nightly' });
    expect(transport.calls).toEqual(['POST /v1/runs {"job":"nightly"}', 'PATCH /v1/jobs/nightly {"streams":8}']);
    const controller = new AbortController();
    const events: AgentEvent[] = [];
    await client.events((event) => {
      events.push(event);
      controller.abort();
    }, controller.signal);
    expect(events.map((e) => e.type)).toEqual(['snapshot']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(transport.aborted).toBe(1);
  });
});
