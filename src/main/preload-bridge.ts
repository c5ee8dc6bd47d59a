/**
 * The renderer-side half of the bridge, run in the preload (electron/preload.ts) and exposed with
 * contextBridge: only the functions of BackhaulBridge, each calling one channel of the contract.
 * The window never sees ipcRenderer itself.
 */
import type { BackhaulBridge } from '../api/bridge.js';
import type { InvokeChannels, RendererChannels, SendChannels } from './ipc-contract.js';

/** The part of Electron's ipcRenderer the bridge uses, typed by the contract. */
export interface IpcRendererLike {
  invoke<C extends keyof InvokeChannels>(channel: C, ...args: Parameters<InvokeChannels[C]>): ReturnType<InvokeChannels[C]>;
  send<C extends keyof SendChannels>(channel: C, ...args: Parameters<SendChannels[C]>): void;
  on<C extends keyof RendererChannels>(channel: C, listener: (event: unknown, ...args: Parameters<RendererChannels[C]>) => void): void;
}

export function createPreloadBridge(ipc: IpcRendererLike): BackhaulBridge {
  const streams = new Map<number, { onChunk: (text: string) => void; onEnd: (error?: string) => void }>();
  let nextId = 1;
  ipc.on('api:stream-chunk', (_event, id, text) => { streams.get(id)?.onChunk(text); });
  ipc.on('api:stream-end', (_event, id, error) => {
    const stream = streams.get(id);
    streams.delete(id);
    stream?.onEnd(error);
  });
  return {
    request: (request) => ipc.invoke('api:request', request),
    async openStream(path, headers, onChunk, onEnd) {
      const id = nextId++;
      streams.set(id, { onChunk, onEnd });
      try {
        await ipc.invoke('api:open-stream', id, path, { ...headers });
      } catch (error) {
        streams.delete(id);
        throw error;
      }
      return id;
    },
    closeStream(id) {
      ipc.send('api:close-stream', id);
    },
  };
}
