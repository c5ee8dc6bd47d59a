/**
 * The main-process half of the window's API bridge: each `api:request` goes to the agent's socket
 * through the same ApiTransport the CLI uses, each event stream is relayed chunk by chunk to the
 * window that opened it, and closes when the window asks or goes away.
 */
import type { ApiTransport } from '../api/client.js';
import type { IpcRouter, IpcSenderEvent } from './ipc-main.js';
import type { RendererChannels } from './ipc-contract.js';

/** Sends to the renderer that owns a stream (webContents.send, checked to still exist). */
export type SendToRenderer = <C extends keyof RendererChannels>(event: IpcSenderEvent, channel: C, ...args: Parameters<RendererChannels[C]>) => void;

export function registerApiBridge(router: IpcRouter, transport: ApiTransport, send: SendToRenderer): { closeAll(): void } {
  const streams = new Map<string, AbortController>();
  const key = (event: IpcSenderEvent, id: number) => `${event.sender.id}:${id}`;

  router.handle('api:request', async (_event, request) => {
    const result = await transport.request(request.method, request.path, request.body === undefined ? undefined : (JSON.parse(request.body) as unknown));
    return { status: result.status, body: result.body };
  });

  router.handle('api:open-stream', async (event, id, path, headers) => {
    const k = key(event, id);
    streams.get(k)?.abort();
    const controller = new AbortController();
    streams.set(k, controller);
    void transport
      .stream(path, (text) => { send(event, 'api:stream-chunk', id, text); }, controller.signal, headers)
      .then(
        () => { send(event, 'api:stream-end', id); },
        (error: unknown) => { send(event, 'api:stream-end', id, error instanceof Error ? error.message : String(error)); },
      )
      .finally(() => { if (streams.get(k) === controller) streams.delete(k); });
    await Promise.resolve();
  });

  router.on('api:close-stream', (event, id) => {
    streams.get(key(event, id))?.abort();
  });

  return {
    closeAll() {
      for (const controller of streams.values()) controller.abort();
      streams.clear();
    },
  };
}
