/**
 * On Linux a tray icon needs a StatusNotifier host (KDE, GNOME with the AppIndicator extension,
 * most panels). Without one the icon is invisible, so the app must open its window instead of
 * starting hidden. Asked once at start-up over D-Bus.
 */
import type { CommandRunner } from '../os/command.js';

export const NAME_HAS_OWNER_ARGV = [
  'dbus-send', '--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus',
  'org.freedesktop.DBus.NameHasOwner', 'string:org.kde.StatusNotifierWatcher',
] as const;

/** `dbus-send --print-reply` of NameHasOwner: "   boolean true|false". */
export function parseNameHasOwner(stdout: string): boolean | undefined {
  const match = /^\s*boolean (true|false)\s*$/m.exec(stdout);
  return match === null ? undefined : match[1] === 'true';
}

/** Whether a StatusNotifier host is running; false when there is no session bus or dbus-send. */
export async function hasStatusNotifierHost(runner: CommandRunner): Promise<boolean> {
  try {
    const result = await runner.run({ argv: NAME_HAS_OWNER_ARGV, timeoutMs: 5_000, okExitCodes: 'any' });
    return result.exitCode === 0 && parseNameHasOwner(result.stdout) === true;
  } catch {
    return false;
  }
}

/** Start hidden (tray only) where a tray can be seen; otherwise open the window. */
export function startHidden(platform: NodeJS.Platform, trayVisible: boolean, openedAtLogin: boolean): boolean {
  if (!openedAtLogin) return false;
  return platform !== 'linux' || trayVisible;
}
