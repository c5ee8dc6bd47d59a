/**
 * How every Backhaul window is locked down (Electron's security checklist): context isolation,
 * the sandbox, no Node in the page, only our preload; no navigation away from the app, no new
 * windows, no webviews, no permissions. Written against the few Electron calls it makes, so it
 * is unit-tested with fakes; src/main/main.ts hands it the real objects.
 */

/** The webPreferences of every window. */
export function secureWebPreferences(preloadPath: string) {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    spellcheck: false,
  } as const;
}

/** The events of a webContents that hardening listens to. */
export interface ContentsLike {
  on(event: 'will-navigate' | 'will-redirect', listener: (event: { preventDefault(): void; url: string }) => void): void;
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): void;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

export interface SessionLike {
  setPermissionRequestHandler(handler: (contents: unknown, permission: string, callback: (granted: boolean) => void) => void): void;
  setPermissionCheckHandler(handler: () => boolean): void;
}

/** True when `url` is a page of the app itself (same scheme and host as `appOrigin`). */
export function isAppUrl(url: string, appOrigin: string): boolean {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}` === appOrigin;
  } catch {
    return false;
  }
}

/**
 * Keeps a window on the app: navigation and redirects elsewhere are stopped; links that open a
 * new window are denied, and http(s) ones handed to the system browser instead.
 */
export function hardenContents(contents: ContentsLike, options: { appOrigin: string; openExternal: (url: string) => void }): void {
  const stay = (event: { preventDefault(): void; url: string }) => {
    if (!isAppUrl(event.url, options.appOrigin)) event.preventDefault();
  };
  contents.on('will-navigate', stay);
  contents.on('will-redirect', stay);
  contents.on('will-attach-webview', (event) => { event.preventDefault(); });
  contents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) options.openExternal(url);
    return { action: 'deny' };
  });
}

/** The UI needs no camera, notifications-from-page, geolocation…: every permission is refused. */
export function denyAllPermissions(session: SessionLike): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => { callback(false); });
  session.setPermissionCheckHandler(() => false);
}
