#!/usr/bin/env bash
# Builds the Linux agent + CLI package (no Electron app): backhaul_<version>_<arch>.deb with
# dpkg-deb. Layout:
#   /usr/lib/backhaul/{dist,package.json,node_modules}  the compiled CLI/agent (+ the web UI bundle)
#                                                        and its production dependencies (installs
#                                                        offline: nothing is fetched at install time)
#   /usr/lib/backhaul/resources/{restic.json,bin/linux-x64/restic}  the pinned restic (bundle-restic.mjs)
#   /usr/bin/backhaul                                    launcher: node from PATH (Depends: nodejs >= 20.11)
#   /lib/systemd/system/backhaul.service                 packaging/linux/backhaul.service (hardened unit)
#   /usr/share/doc/backhaul/                             install.md, copyright
#   DEBIAN/{control,postinst,prerm,postrm}               packaging/debian/
# Native modules (@lydell/node-pty, @napi-rs/keyring) are the build machine's: the package's
# Architecture is this machine's (dpkg --print-architecture).
#   scripts/build-deb.sh [OUTDIR]      (default dist/packages); prints the .deb's path last
# Env: BACKHAUL_DEB_NO_BUILD=1 packs dist/ as it is (the caller just built it); otherwise tsc runs
# first (like the lab, it packs what tsc emitted even when it reports type errors).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-dist/packages}
VERSION=$(node -p 'require("./package.json").version')
ARCH=$(dpkg --print-architecture)
if [ -z "${BACKHAUL_DEB_NO_BUILD:-}" ]; then
  npx tsc -p tsconfig.build.json >&2 || echo "build-deb: tsc reported errors; packing what it emitted" >&2
fi
[ -s dist/cli/bin.js ] || { echo "build-deb: dist/cli/bin.js is missing (npm run build)" >&2; exit 1; }

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
ROOT=$STAGE/root
LIB=$ROOT/usr/lib/backhaul
mkdir -p "$LIB" "$ROOT/usr/bin" "$ROOT/lib/systemd/system" "$ROOT/usr/share/doc/backhaul" "$ROOT/DEBIAN"
# The tray's code (dist/main, dist/electron) and installer output are not part of the agent package.
tar -C . --exclude=dist/main --exclude=dist/electron --exclude=dist/installers --exclude=dist/packages -cf - dist package.json | tar -C "$LIB" -xf -
npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2 | while read -r dep; do
  rel=${dep#"$PWD"/}
  [ -e "$LIB/$rel" ] && continue
  mkdir -p "$LIB/$(dirname "$rel")"; cp -r "$dep" "$LIB/$rel"
done
# The pinned restic (resources/restic.json), checked by bundle-restic.mjs now and by the agent at
# start and before each run: /usr/lib/backhaul/resources/bin/linux-<arch>/restic.
case $ARCH in amd64) RESTIC_KEY=linux-x64 ;; arm64) RESTIC_KEY=linux-arm64 ;; *) RESTIC_KEY=linux-$ARCH ;; esac
node scripts/bundle-restic.mjs "$RESTIC_KEY" --out "$LIB/resources" >&2 \
  || { echo "build-deb: no pinned restic for $RESTIC_KEY (scripts/setup-system.sh --test caches the linux-x64 one)" >&2; exit 1; }
printf '#!/bin/sh\n# Backhaul CLI and agent (the unit runs: backhaul --system agent)\nexec node /usr/lib/backhaul/dist/cli/bin.js "$@"\n' > "$ROOT/usr/bin/backhaul"
chmod 755 "$ROOT/usr/bin/backhaul"
install -m 644 packaging/linux/backhaul.service "$ROOT/lib/systemd/system/backhaul.service"
install -m 644 docs/install.md "$ROOT/usr/share/doc/backhaul/install.md"
printf 'Backhaul\nLicense: Apache-2.0\n' > "$ROOT/usr/share/doc/backhaul/copyright"
install -m 755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$ROOT/DEBIAN/"
SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
cat > "$ROOT/DEBIAN/control" <<CONTROL
Package: backhaul
Version: $VERSION
Architecture: $ARCH
Maintainer: Backhaul contributors <backhaul@localhost>
Installed-Size: $SIZE
Depends: nodejs (>= 20.11), passwd, systemd
Recommends: network-manager-l2tp | strongswan-charon, rsync
Section: admin
Priority: optional
Description: Backups over the operating system's own L2TP/IPsec or IKEv2 VPN
 The Backhaul agent and CLI: runs restic or rsync backups as a systemd
 service, bringing up the system's own VPN client when a job needs it.
 Members of the backhaul group may use the agent from the tray and the CLI.
CONTROL
mkdir -p "$OUT"
DEB="$OUT/backhaul_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zgzip --build "$ROOT" "$DEB" >/dev/null
echo "$DEB"
