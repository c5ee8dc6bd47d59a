#!/bin/sh
# Backhaul desktop deb/rpm (electron-builder) after install: the backhaul group, the agent's unit
# (the app's Electron in Node mode runs the CLI), enabled and started, and the tray's autostart entry
# for every user's desktop session.
set -e
getent group backhaul >/dev/null || groupadd --system backhaul
install -m 644 /opt/Backhaul/resources/packaging/backhaul.service /etc/systemd/system/backhaul.service
install -m 644 /opt/Backhaul/resources/packaging/backhaul-tray.desktop /etc/xdg/autostart/backhaul-tray.desktop
systemctl enable backhaul.service >/dev/null 2>&1 || true
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl restart backhaul.service || echo "backhaul: the agent did not start; see: journalctl -u backhaul" >&2
fi
exit 0
