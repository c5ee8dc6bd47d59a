/** The service files the installers ship, by repository path (scripts/gen-service-files.ts writes them). */
import { renderXdgAutostart } from './autostart.js';
import { MACOS_PKG_AGENT_ARGV, MACOS_PKG_AGENT_ENV, renderLaunchDaemon, renderTrayLaunchAgent } from './launchd-plist.js';
import { renderSystemdUnit } from './systemd-unit.js';

/** The packaged CLI: scripts/build-deb.sh installs this launcher. */
export const LINUX_PACKAGE_CLI = '/usr/bin/backhaul';

export function packagingFiles(): Record<string, string> {
  return {
    'packaging/linux/backhaul.service': renderSystemdUnit({ execStart: [LINUX_PACKAGE_CLI, '--system', 'agent'] }),
    'packaging/linux/backhaul-tray.desktop': renderXdgAutostart(),
    'packaging/macos/com.backhaul.agent.plist': renderLaunchDaemon(MACOS_PKG_AGENT_ARGV, MACOS_PKG_AGENT_ENV),
    'packaging/macos/com.backhaul.tray.plist': renderTrayLaunchAgent(),
  };
}
