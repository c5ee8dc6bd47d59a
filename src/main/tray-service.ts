/**
 * Applies a TrayView (tray-state.ts) to the real tray, after Signal's SystemTrayService: the tray
 * and menu factories are injected (Electron in main.ts, fakes in tests) and nothing is redrawn
 * when nothing changed.
 */
import type { TrayAction, TrayIcon, TrayMenuItem, TrayView } from './tray-state.js';

export interface TrayLike {
  setImage(image: unknown): void;
  setToolTip(text: string): void;
  setContextMenu(menu: unknown): void;
  destroy(): void;
}

export interface TrayServiceDeps {
  /** Creates the OS tray item (Electron's `new Tray(image)`). */
  createTray(image: unknown): TrayLike;
  /** Builds the native menu (Electron's Menu.buildFromTemplate), wiring clicks to `onAction`. */
  buildMenu(items: readonly TrayMenuItem[], onAction: (action: TrayAction) => void): unknown;
  /** The image for an icon, with or without the attention badge. */
  image(icon: TrayIcon, badge: boolean): unknown;
  onAction(action: TrayAction): void;
}

export class TrayService {
  #tray: TrayLike | undefined;
  #last: { icon: string; tooltip: string; menu: string } | undefined;

  constructor(private readonly deps: TrayServiceDeps) {}

  render(view: TrayView): void {
    const icon = `${view.icon}${view.badge ? '+badge' : ''}`;
    const menu = JSON.stringify(view.menu);
    const image = this.deps.image(view.icon, view.badge);
    if (this.#tray === undefined) this.#tray = this.deps.createTray(image);
    else if (this.#last?.icon !== icon) this.#tray.setImage(image);
    if (this.#last?.tooltip !== view.tooltip) this.#tray.setToolTip(view.tooltip);
    if (this.#last?.menu !== menu) this.#tray.setContextMenu(this.deps.buildMenu(view.menu, (action) => { this.deps.onAction(action); }));
    this.#last = { icon, tooltip: view.tooltip, menu };
  }

  destroy(): void {
    this.#tray?.destroy();
    this.#tray = undefined;
    this.#last = undefined;
  }
}
