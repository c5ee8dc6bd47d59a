/** The service files the installers ship, by repository path (scripts/gen-service-files.ts writes them). */
import { LINUX_TRAY_EXECUTABLE, renderXdgAutostart } from './autostart.js';
import { MACOS_PKG_AGENT_ARGV, MACOS_PKG_AGENT_ENV, renderLaunchDaemon, renderTrayLaunchAgent } from './launchd-plist.js';
import { renderSystemdUnit } from './systemd-unit.js';

/** The packaged CLI: scripts/build-deb.sh installs this launcher. */
export const LINUX_PACKAGE_CLI = '/usr/bin/backhaul';
/**
 * The desktop deb/rpm (electron-builder): the agent runs in the app's own Electron in Node mode,
 * from the app's asar (electron-builder puts the app in /opt/${productName}).
 */
export const LINUX_DESKTOP_AGENT_ARGV = [LINUX_TRAY_EXECUTABLE, '/opt/Backhaul/resources/app.asar/dist/cli/bin.js', '--system', 'agent'] as const;

export function packagingFiles(): Record<string, string> {
  return {
    'packaging/linux/backhaul.service': renderSystemdUnit({ execStart: [LINUX_PACKAGE_CLI, '--system', 'agent'] }),
    'packaging/linux/desktop/backhaul.service': renderSystemdUnit({ execStart: LINUX_DESKTOP_AGENT_ARGV, environment: { ELECTRON_RUN_AS_NODE: '1' } }),
    'packaging/linux/backhaul-tray.desktop': renderXdgAutostart(),
    // In the pkg's scripts directory: postinstall copies them to /Library/Launch{Daemons,Agents}.
    'packaging/macos/pkg-scripts/com.backhaul.agent.plist': renderLaunchDaemon(MACOS_PKG_AGENT_ARGV, MACOS_PKG_AGENT_ENV),
    'packaging/macos/pkg-scripts/com.backhaul.tray.plist': renderTrayLaunchAgent(),
  };
}
