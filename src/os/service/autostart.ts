/**
 * The tray starts at login for every user and connects to the system agent's socket:
 * Linux — an XDG autostart entry in /etc/xdg/autostart (the freedesktop Desktop Application
 * Autostart spec: every desktop session reads it); macOS — the LaunchAgent in launchd-plist.ts;
 * Windows — the tray registers itself in HKCU\…\Run at first start (Electron's
 * app.setLoginItemSettings in src/main/main.ts) and the NSIS installer adds a Start-menu shortcut.
 */

export const XDG_AUTOSTART_PATH = '/etc/xdg/autostart/backhaul-tray.desktop';
/** Where electron-builder's deb/rpm put the tray (`/opt/${productName}/${executableName}`). */
export const LINUX_TRAY_EXECUTABLE = '/opt/Backhaul/backhaul-tray';

export function renderXdgAutostart(executable: string = LINUX_TRAY_EXECUTABLE): string {
  if (/[\s"'\\$`%]/.test(executable)) throw new Error(`the tray path ${JSON.stringify(executable)} needs quoting the Exec key does not allow here`);
  return `[Desktop Entry]
Type=Application
Name=Backhaul
Comment=Backup status and controls; talks to the Backhaul agent
Exec=${executable} --hidden
Icon=backhaul
Terminal=false
X-GNOME-Autostart-enabled=true
NoDisplay=true
`;
}
