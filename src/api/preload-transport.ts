/**
 * The Local API inside the Electron window: the preload bridge (src/api/bridge.ts) carries each
 * request to the main process, which forwards it to the agent's socket. Same ApiTransport as the
 * socket and the browser, so one AgentClient serves all three.
 */
import type { BackhaulBridge } from './bridge.js';
import { AgentUnreachableError, type ApiTransport } from './client.js';

export function preloadTransport(bridge: BackhaulBridge): ApiTransport {
  return {
    async request(method, path, body) {
      if (method !== 'GET' && method !== 'POST' && method !== 'PATCH' && method !== 'DELETE') throw new Error(`method ${method} is not carried by the bridge`);
      return bridge.request({ method, path, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    },
    async stream(path, onChunk, signal, headers = {}) {
      if (signal.aborted) return;
      const outcome: { failure?: string } = {};
      let id: number | undefined;
      const ended = new Promise<void>((resolve) => {
        void bridge
          .openStream(path, headers, onChunk, (error) => {
            if (error !== undefined) outcome.failure = error;
            resolve();
          })
          .then((opened) => {
            id = opened;
            if (signal.aborted) bridge.closeStream(opened);
          });
        signal.addEventListener('abort', () => {
          if (id !== undefined) bridge.closeStream(id);
          resolve();
        }, { once: true });
      });
      await ended;
      // (read through a function: TypeScript keeps the narrowing from the check above)
      const aborted = (): boolean => signal.aborted;
      if (outcome.failure !== undefined && !aborted()) throw new AgentUnreachableError(outcome.failure, 'Start the Backhaul agent; the window reconnects by itself.');
    },
  };
}
