#!/bin/sh
# Backhaul desktop deb/rpm after remove: the files after-install.sh put outside the package, and
# logs, cache and runtime. The config (/etc/backhaul) and history (/var/lib/backhaul) stay.
case "$1" in
  0|remove|purge)
    rm -f /etc/systemd/system/backhaul.service /etc/xdg/autostart/backhaul-tray.desktop
    rm -rf /var/log/backhaul /var/cache/backhaul /run/backhaul /var/lib/backhaul/tmp /var/lib/backhaul/tunnels
    if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
    ;;
esac
exit 0
