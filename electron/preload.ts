/**
 * The window's preload (sandboxed, context-isolated): exposes exactly one typed API,
 * `window.backhaul` (src/api/bridge.ts), built by src/main/preload-bridge.ts over the IPC
 * contract. The page never gets ipcRenderer. Bundled to dist/electron/preload.cjs by esbuild
 * (`npm run build:electron`): sandboxed preloads can only require 'electron'.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { BRIDGE_GLOBAL } from '../src/api/bridge.js';
import { createPreloadBridge, type IpcRendererLike } from '../src/main/preload-bridge.js';

contextBridge.exposeInMainWorld(BRIDGE_GLOBAL, createPreloadBridge(ipcRenderer as unknown as IpcRendererLike));
