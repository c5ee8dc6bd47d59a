/**
 * The Electron main process: a thin shell that wires tested modules to Electron. It can't run on
 * the development machines (no Electron runtime there), so everything it decides lives elsewhere:
 * tray-state.ts (what the tray shows), tray-service.ts (applying it), ipc-main.ts + api-bridge.ts
 * (the window's only way to the agent), window.ts (lock-down), notifications.ts, linux-tray.ts.
 */
import { app, BrowserWindow, ipcMain, Menu, nativeImage, Notification, powerMonitor, protocol, session, shell, Tray, type MenuItemConstructorOptions } from 'electron';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UI_CSP } from '../api/csp.js';
import { AgentClient, AgentUnreachableError } from '../api/client.js';
import { socketTransport } from '../api/node-transport.js';
import type { StatusResponse } from '../api/types.js';
import { createCommandRunner } from '../os/command.js';
import { currentHost } from '../os/paths.js';
import { preferredAgentSocket } from '../os/service/agent-socket.js';
import { EtaEstimator } from '../renderer/model/eta.js';
import { registerApiBridge } from './api-bridge.js';
import { IpcRouter, trustedSender } from './ipc-main.js';
import { hasStatusNotifierHost, startHidden } from './linux-tray.js';
import { Notifier } from './notifications.js';
import { TrayService } from './tray-service.js';
import { trayState, type TrayAction, type TrayMenuItem } from './tray-state.js';
import { denyAllPermissions, hardenContents, secureWebPreferences } from './window.js';
import { pauseEnd } from './pause-end.js';

const APP_ORIGIN = 'app://backhaul';
const here = dirname(fileURLToPath(import.meta.url));
/** dist/ui (the renderer bundle) and dist/electron/preload.cjs, next to dist/main. */
const uiRoot = join(here, '..', 'ui');
const preloadPath = join(here, '..', 'electron', 'preload.cjs');
const iconsDir = join(here, '..', '..', 'resources', 'icons');

protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: false } }]);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  void app.whenReady().then(start);
}

async function start(): Promise<void> {
  // The system service's socket when Backhaul runs as a service (the fleet install), else the user's agent.
  const socket = preferredAgentSocket(currentHost('user'));
  const transport = socketTransport(socket);
  const client = new AgentClient(transport);
  const windows = new Set<BrowserWindow>();

  serveUi();
  denyAllPermissions(session.defaultSession);
  const router = new IpcRouter(ipcMain, trustedSender(() => [...windows].map((w) => w.webContents.id), APP_ORIGIN), (channel, reason) => {
    console.warn(`IPC ${channel} refused: ${reason}`);
  });
  const bridge = registerApiBridge(router, transport, (event, channel, ...args) => {
    const target = [...windows].find((w) => w.webContents.id === event.sender.id);
    if (target !== undefined && !target.isDestroyed()) target.webContents.send(channel, ...args);
  });

  const openWindow = (): void => {
    const existing = [...windows][0];
    if (existing !== undefined) {
      existing.show();
      existing.focus();
      return;
    }
    const win = new BrowserWindow({ width: 1100, height: 800, show: false, title: 'Backhaul', webPreferences: secureWebPreferences(preloadPath) });
    hardenContents(win.webContents, { appOrigin: APP_ORIGIN, openExternal: (url) => { void shell.openExternal(url); } });
    windows.add(win);
    win.on('closed', () => { windows.delete(win); });
    win.once('ready-to-show', () => { win.show(); });
    void win.loadURL(`${APP_ORIGIN}/index.html`);
  };
  app.on('second-instance', openWindow);
  app.on('window-all-closed', () => { /* the tray keeps running */ });
  app.setLoginItemSettings({ openAtLogin: true, args: ['--hidden'] });

  const act = async (action: TrayAction): Promise<void> => {
    switch (action.kind) {
      case 'run': await client.startRun(action.job); return;
      case 'cancel': await client.cancelRun(action.sessionId); return;
      case 'open': openWindow(); return;
      case 'pause': await client.pauseSchedules(pauseEnd(action.until, new Date())); return;
      case 'resume': await client.pauseSchedules(null); return;
      case 'quit': bridge.closeAll(); app.quit(); return;
    }
  };
  const tray = new TrayService({
    createTray: (image) => new Tray(image as Electron.NativeImage),
    image: (icon, badge) => nativeImage.createFromPath(join(iconsDir, `${icon}${badge ? '-badge' : ''}.png`)),
    buildMenu: (items, onAction) => Menu.buildFromTemplate(menuTemplate(items, onAction)),
    onAction: (action) => {
      act(action).catch((error: unknown) => {
        const e = error as { message?: string; hint?: string };
        new Notification({ title: 'Backhaul could not do that', body: `${e.message ?? String(error)} ${e.hint ?? ''}` }).show();
      });
    },
  });

  // The tray follows the event stream; while the agent is unreachable it says so and retries.
  let status: StatusResponse | undefined;
  const etas = new Map<string, EtaEstimator>();
  const etaSeconds: Record<string, number> = {};
  const notifier = new Notifier();
  const render = () => { tray.render(trayState(status, { now: new Date(), etaSeconds })); };
  render();
  void (async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.events((event) => {
          attempt = 0;
          const note = notifier.next(event);
          if (note !== undefined) new Notification({ title: note.title, body: note.body, urgency: note.urgency }).show();
          if (event.type === 'snapshot') status = event.status;
          else if (status !== undefined && event.type === 'progress') {
            const estimator = etas.get(event.sessionId) ?? new EtaEstimator();
            etas.set(event.sessionId, estimator);
            const eta = estimator.push(event.progress).etaSeconds;
            if (eta === undefined) Reflect.deleteProperty(etaSeconds, event.sessionId);
            else etaSeconds[event.sessionId] = eta;
            status = { ...status, sessions: status.sessions.map((s) => (s.id === event.sessionId ? { ...s, progress: event.progress } : s)) };
          } else if (status !== undefined && event.type === 'session') {
            status = { ...status, sessions: [...status.sessions.filter((s) => s.id !== event.session.id), event.session] };
          } else if (event.type === 'ended' || event.type === 'health') {
            void client.status().then((s) => { status = s; render(); }, () => undefined);
          }
          render();
        }, new AbortController().signal);
      } catch (error) {
        if (!(error instanceof AgentUnreachableError)) console.warn(error);
      }
      status = undefined;
      render();
      await new Promise((resolve) => setTimeout(resolve, Math.min(15_000, 500 * 2 ** attempt)));
    }
  })();

  powerMonitor.on('suspend', () => { void client.power('suspend').catch(() => undefined); });
  powerMonitor.on('resume', () => { void client.power('resume').catch(() => undefined); });

  const trayVisible = process.platform !== 'linux' || (await hasStatusNotifierHost(createCommandRunner()));
  if (!startHidden(process.platform, trayVisible, process.argv.includes('--hidden'))) openWindow();
}

/** The renderer bundle on app://backhaul/, with the same strict CSP the web listener sends. */
function serveUi(): void {
  const base = normalize(uiRoot + sep);
  protocol.handle('app', async (request) => {
    const url = new URL(request.url);
    const file = normalize(join(base, decodeURIComponent(url.pathname)));
    if (url.host !== 'backhaul' || !file.startsWith(base)) return new Response('not found', { status: 404 });
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };
    try {
      return new Response(await readFile(file), { headers: { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'content-security-policy': UI_CSP } });
    } catch {
      return new Response('not found', { status: 404 });
    }
  });
}

function menuTemplate(items: readonly TrayMenuItem[], onAction: (action: TrayAction) => void): MenuItemConstructorOptions[] {
  return items.map((item): MenuItemConstructorOptions => {
    switch (item.type) {
      case 'separator': return { type: 'separator' };
      case 'submenu': return { label: item.label, enabled: item.enabled, submenu: menuTemplate(item.items, onAction) };
      case 'action': return { label: item.label, enabled: item.enabled, click: () => { onAction(item.action); } };
    }
  });
}
