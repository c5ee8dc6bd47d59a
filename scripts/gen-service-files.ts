/**
 * Writes the service definitions the installers ship, from the same functions `backhaul service
 * install` uses (src/os/service), so the two can't drift:
 *   packaging/linux/backhaul.service          systemd unit of the .deb/.rpm (ExecStart=/usr/bin/backhaul)
 *   packaging/linux/desktop/backhaul.service  the same unit for the desktop deb/rpm (agent in Electron's Node mode)
 *   packaging/linux/backhaul-tray.desktop     XDG autostart entry for the tray
 *   packaging/macos/pkg-scripts/com.backhaul.agent.plist  LaunchDaemon of the pkg
 *   packaging/macos/pkg-scripts/com.backhaul.tray.plist   LaunchAgent of the pkg (tray at login)
 *
 *     npx tsx scripts/gen-service-files.ts
 *
 * test/os/service/packaging-files.test.ts fails while the committed files differ from what this writes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { packagingFiles } from '../src/os/service/packaging-files.js';

const root = join(import.meta.dirname, '..');
for (const [path, text] of Object.entries(packagingFiles())) {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), text);
  process.stdout.write(`wrote ${path}\n`);
}
