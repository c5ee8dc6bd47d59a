/**
 * The one API the Electron preload exposes to the renderer (`window.backhaul`, via contextBridge):
 * the Local API carried over IPC, nothing else. Types only: shared by electron/preload.ts,
 * src/main and the renderer.
 */

/** What a renderer may ask the main process to send to the agent. */
export interface BridgeRequest {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly path: string;
  /** JSON text. */
  readonly body?: string;
}

export interface BridgeResponse {
  readonly status: number;
  readonly body: string;
}

export interface BackhaulBridge {
  request(request: BridgeRequest): Promise<BridgeResponse>;
  /**
   * Opens the event stream; `onChunk` gets its text as it arrives, `onEnd` once when it ends (with a
   * message when it failed). Returns an id for `closeStream`.
   */
  openStream(path: string, headers: Readonly<Record<string, string>>, onChunk: (text: string) => void, onEnd: (error?: string) => void): Promise<number>;
  closeStream(id: number): void;
}

/** The global name the preload exposes the bridge under. */
export const BRIDGE_GLOBAL = 'backhaul';
