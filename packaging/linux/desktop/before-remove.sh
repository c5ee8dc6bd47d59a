#!/bin/sh
# Backhaul desktop deb/rpm before remove (fpm --before-remove): stop the agent before its files go.
# rpm passes 0 on the last erase and 1 on upgrade; deb passes "remove"/"upgrade".
if [ -d /run/systemd/system ]; then systemctl stop backhaul.service || true; fi
case "$1" in
  0|remove) systemctl disable backhaul.service >/dev/null 2>&1 || true ;;
esac
exit 0
