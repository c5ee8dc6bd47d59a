/**
 * The one typed contract between the window (through the preload) and the main process, after
 * GitHub Desktop's ipc-shared.ts: every channel, its arguments and its answer. Nothing that is
 * not in these maps can be sent — the preload only calls these, and main registers handlers only
 * for these, each with a runtime check of its arguments (a compromised renderer is untyped).
 */
import type { BridgeRequest, BridgeResponse } from '../api/bridge.js';

/** renderer → main, answered (ipcRenderer.invoke / ipcMain.handle). */
export interface InvokeChannels {
  /** One Local API request, forwarded to the agent's socket. */
  'api:request': (request: BridgeRequest) => Promise<BridgeResponse>;
  /** Opens the event stream under an id the renderer chose (so no chunk can arrive before it knows the id). */
  'api:open-stream': (id: number, path: string, headers: Readonly<Record<string, string>>) => Promise<void>;
}

/** renderer → main, fire and forget (ipcRenderer.send / ipcMain.on). */
export interface SendChannels {
  'api:close-stream': (id: number) => void;
}

/** main → renderer (webContents.send / ipcRenderer.on). */
export interface RendererChannels {
  'api:stream-chunk': (id: number, text: string) => void;
  'api:stream-end': (id: number, error?: string) => void;
}

export const invokeChannels = ['api:request', 'api:open-stream'] as const satisfies readonly (keyof InvokeChannels)[];
export const sendChannels = ['api:close-stream'] as const satisfies readonly (keyof SendChannels)[];
export const rendererChannels = ['api:stream-chunk', 'api:stream-end'] as const satisfies readonly (keyof RendererChannels)[];

const MAX_BODY = 16 * 1024;

/** Thrown for arguments that don't fit the contract: the call fails, nothing reaches the agent. */
export class IpcContractError extends Error {
  override readonly name = 'IpcContractError';
}

function isRecordOfStrings(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

/**
 * The API paths a window may reach: the Local API's `/v1/…` routes only (no /metrics, no
 * /login), no dot segments, bounded length.
 */
export function allowedApiPath(path: unknown): path is string {
  return typeof path === 'string' && path.length <= 2048 && /^\/v1\/[A-Za-z0-9._~%/?&=+-]*$/.test(path) && !path.split(/[/?]/).includes('..');
}

/** Runtime checks of each channel's arguments; returns them typed or throws IpcContractError. */
export const validators: {
  readonly [C in keyof InvokeChannels]: (args: readonly unknown[]) => Parameters<InvokeChannels[C]>;
} & {
  readonly [C in keyof SendChannels]: (args: readonly unknown[]) => Parameters<SendChannels[C]>;
} = {
  'api:request': ([request]) => {
    const r = request as Partial<BridgeRequest> | undefined;
    if (typeof r !== 'object' || (r.method !== 'GET' && r.method !== 'POST' && r.method !== 'PATCH' && r.method !== 'DELETE')) throw new IpcContractError('api:request: method must be GET, POST, PATCH or DELETE');
    if (!allowedApiPath(r.path)) throw new IpcContractError('api:request: path must be a /v1/ route');
    if (r.body !== undefined && (typeof r.body !== 'string' || r.body.length > MAX_BODY)) throw new IpcContractError('api:request: body must be a JSON string of at most 16 KiB');
    return [{ method: r.method, path: r.path, ...(r.body === undefined ? {} : { body: r.body }) }];
  },
  'api:open-stream': ([id, path, headers]) => {
    if (!Number.isSafeInteger(id)) throw new IpcContractError('api:open-stream: id must be an integer');
    if (path !== '/v1/events') throw new IpcContractError('api:open-stream: only /v1/events streams');
    if (!isRecordOfStrings(headers)) throw new IpcContractError('api:open-stream: headers must be strings');
    const lastEventId = headers['last-event-id'];
    return [id as number, path, lastEventId === undefined ? {} : { 'last-event-id': lastEventId.slice(0, 64) }];
  },
  'api:close-stream': ([id]) => {
    if (!Number.isSafeInteger(id)) throw new IpcContractError('api:close-stream: id must be an integer');
    return [id as number];
  },
};
