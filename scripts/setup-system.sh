#!/usr/bin/env bash
# Installs the system packages Backhaul needs, where this machine allows it.
#
#   scripts/setup-system.sh            restic (what `npm start` needs)
#   scripts/setup-system.sh --test     + rclone, rsync, openssh (client and server: the rsync suite starts
#                                      its own sshd), nftables and ping (the WAN model's test), gnome-keyring
#                                      and dbus (a real Secret Service for the keychain tests), and a
#                                      pinned restic 0.18.0 for the test matrix
#
# Fast when everything is present: nothing is fetched, no package list is updated.
# On a machine where we can't install (not Debian/Ubuntu, or not root) it prints the exact command.
set -euo pipefail

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

# The pinned restic 0.18.0 for tests lives outside the repository (see docs/development.md).
CACHE_DIR=${BACKHAUL_CACHE_DIR:-/var/tmp/backhaul-cache}
RESTIC18_DEB=restic_0.18.0-1+b4_amd64.deb
RESTIC18_SHA256=4888fb20b272a28b84ac39171b7d7f0d9a58c2aeae51ec28e54684648d66e12c
RESTIC18_BIN=$CACHE_DIR/restic-0.18.0/restic

need=()
command -v restic >/dev/null || need+=(restic)
if [ $want_test = 1 ]; then
  command -v rclone >/dev/null || need+=(rclone)
  command -v rsync >/dev/null || need+=(rsync)
  command -v runuser >/dev/null || need+=(util-linux)
  command -v ssh >/dev/null || need+=(openssh-client)
  [ -x /usr/sbin/sshd ] || need+=(openssh-server)
  command -v nft >/dev/null || [ -x /usr/sbin/nft ] || need+=(nftables)
  command -v ping >/dev/null || need+=(iputils-ping)
  [ -x /usr/bin/chromium ] || need+=(chromium)   # the UI's end-to-end tests (playwright-core)
  # keychain tests: gnome-keyring on a private session bus (dbus-x11 brings dbus-daemon and dbus-send)
  command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
  { command -v dbus-daemon && command -v dbus-send; } >/dev/null || need+=(dbus-x11)
fi

can_apt=0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then can_apt=1; fi

if [ ${#need[@]} -gt 0 ]; then
  if [ $can_apt = 1 ]; then
    echo "setup: installing ${need[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "setup: missing ${need[*]}. Install it with:" >&2
    case "$(uname -s)" in
      Linux)  echo "  sudo apt-get install -y ${need[*]}    # Debian/Ubuntu" >&2
              echo "  sudo dnf install -y ${need[*]}        # Fedora/RHEL" >&2 ;;
      Darwin) echo "  brew install ${need[*]}" >&2 ;;
      *)      echo "  winget install restic.restic   (or: scoop install restic)" >&2 ;;
    esac
    exit 1
  fi
fi

fetch_restic18() {
  [ -x "$RESTIC18_BIN" ] && return 0
  if [ $can_apt = 0 ] || [ "$(dpkg --print-architecture 2>/dev/null)" != amd64 ]; then
    echo "setup: restic 0.18.0 is not cached at $RESTIC18_BIN; its tests will be skipped" >&2
    return 0
  fi
  # Debian trixie ships restic 0.18.0 as a static binary; fetch the .deb from the machine's own
  # mirror into a private apt state, without touching the machine's apt configuration.
  local tmp mirror
  tmp=$(mktemp -d); mkdir -p "$tmp/lists/partial"
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  echo "deb $mirror trixie main" > "$tmp/trixie.list"
  local opts=(-o APT::Sandbox::User=root -o Dir::Etc::sourcelist="$tmp/trixie.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$tmp/lists")
  apt-get "${opts[@]}" update -qq >/dev/null
  (cd "$tmp" && apt-get "${opts[@]}" download restic=0.18.0-1+b4 >/dev/null)
  echo "$RESTIC18_SHA256  $tmp/$RESTIC18_DEB" | sha256sum -c --quiet
  dpkg-deb -x "$tmp/$RESTIC18_DEB" "$tmp/x"
  mkdir -p "$(dirname "$RESTIC18_BIN")"
  install -m 0755 "$tmp/x/usr/bin/restic" "$RESTIC18_BIN"
  rm -rf "$tmp"
  echo "setup: cached restic 0.18.0 at $RESTIC18_BIN" >&2
}

[ $want_test = 1 ] && fetch_restic18
exit 0
