#!/usr/bin/env bash
# Puts the pinned restic into the app's resources for one platform and checks it against
# resources/restic.json (version + SHA-256 per <platform>-<arch>); a binary that does not match is
# refused. The agent checks the same pin again before it runs the bundled binary
# (src/backup/bundled-restic.ts).
#   scripts/bundle-restic.sh PLATFORM-ARCH [--from FILE] [--out RESOURCES_DIR]
#     PLATFORM-ARCH  Node's names: linux-x64, darwin-arm64, win32-x64, …
#     --from FILE    the restic binary to bundle (obtained from restic's signed release or a distro
#                    package); default for linux-x64: the Debian trixie 0.18.0 binary that
#                    scripts/setup-system.sh --test caches
#     --out DIR      default resources/ (release builds only: a restic in resources/bin shadows
#                    Debian's for the tests, see docs/development.md — use a staging dir otherwise)
# Only platforms with a pin in resources/restic.json can be bundled; pins for the official release
# archives must come from restic's signed SHA256SUMS on a machine with internet (not this one).
set -euo pipefail
cd "$(dirname "$0")/.."
KEY=${1:?usage: scripts/bundle-restic.sh PLATFORM-ARCH [--from FILE] [--out DIR]}; shift
FROM='' OUT=resources
while [ $# -gt 0 ]; do
  case $1 in --from) FROM=$2; shift 2 ;; --out) OUT=$2; shift 2 ;; *) echo "bundle-restic: unknown option $1" >&2; exit 2 ;; esac
done
if [ -z "$FROM" ] && [ "$KEY" = linux-x64 ]; then FROM=${BACKHAUL_TEST_RESTIC_018:-${BACKHAUL_CACHE_DIR:-/var/tmp/backhaul-cache}/restic-0.18.0/restic}; fi
[ -n "$FROM" ] && [ -f "$FROM" ] || { echo "bundle-restic: no restic binary to bundle for $KEY (give --from FILE)" >&2; exit 1; }
WANT=$(node -e 'const m=require(process.argv[1]); const b=m.binaries[process.argv[2]]; if(!b){process.exit(3)} console.log(b.sha256 + " " + m.version)' "$PWD/resources/restic.json" "$KEY") \
  || { echo "bundle-restic: resources/restic.json pins no restic for $KEY" >&2; exit 1; }
read -r SHA VERSION <<<"$WANT"
GOT=$(sha256sum "$FROM" | cut -d' ' -f1)
if [ "$GOT" != "$SHA" ]; then
  echo "bundle-restic: $FROM is not the pinned restic $VERSION for $KEY (sha256 $GOT, want $SHA)" >&2; exit 1
fi
EXE=restic; case $KEY in win32-*) EXE=restic.exe ;; esac
mkdir -p "$OUT/bin/$KEY"
install -m 0755 "$FROM" "$OUT/bin/$KEY/$EXE"
[ "$OUT" = resources ] || cp resources/restic.json "$OUT/restic.json"
echo "$OUT/bin/$KEY/$EXE: restic $VERSION, sha256 $SHA"
