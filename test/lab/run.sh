#!/usr/bin/env bash
# The lab tiers (npm run test:lab / test:lab:full): builds the cached guest image when missing,
# builds the project, boots the guest once and runs test/lab/guest/lab.sh in it. The last line is
# "N passed, N failed, N skipped" (what .ci/run folds into its total). Needs root, QEMU and the
# Debian mirror (build-image.sh installs what is missing).
#   test/lab/run.sh quick|full
# Env: LAB_OUT (where the guest's results, journal and logs are kept), TIMEOUT (VM seconds).
set -uo pipefail
TIER=${1:-quick}
cd "$(dirname "$0")/../.."
mkdir -p /var/tmp/backhaul-lab-out
OUT=${LAB_OUT:-$(mktemp -d "/var/tmp/backhaul-lab-out/$TIER.XXXXXX")}
summary() { echo "$1 passed, $2 failed, $3 skipped"; }
if [ "$(id -u)" != 0 ]; then echo "test:lab needs root (QEMU, debootstrap, namespaces)"; summary 0 0 1; exit 0; fi
T0=$(date +%s)
echo "::: lab: guest image"
if ! bash test/lab/build-image.sh; then echo "lab: the guest image could not be built"; summary 0 1 0; exit 1; fi
T1=$(date +%s)
echo "::: lab: build the project for the guest"
# tsc still writes dist/ when it reports type errors (the CI build step counts those); the lab
# only needs the JavaScript.
npx tsc -p tsconfig.build.json > /tmp/lab-build.$$ 2>&1 || { echo "lab: tsc reported errors (the lab goes on with what it emitted):"; head -5 /tmp/lab-build.$$; }
rm -f /tmp/lab-build.$$
if [ ! -s dist/cli/bin.js ]; then echo "lab: the build produced no dist/cli/bin.js"; summary 0 1 0; exit 1; fi
# One tarball with what the guest needs (dist, production node_modules, the guest scripts): Node
# loading hundreds of small files over 9p under emulation takes minutes, one file takes seconds.
BUNDLE=$(mktemp -d /var/tmp/backhaul-lab-bundle.XXXXXX)
trap 'rm -rf "$BUNDLE"' EXIT
mkdir -p "$BUNDLE/pkg/test/lab"
cp -r dist package.json "$BUNDLE/pkg/"
cp -r test/lab/guest "$BUNDLE/pkg/test/lab/"
npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2 | while read -r dep; do
  rel=${dep#"$PWD"/}; mkdir -p "$BUNDLE/pkg/$(dirname "$rel")"; [ -e "$BUNDLE/pkg/$rel" ] || cp -r "$dep" "$BUNDLE/pkg/$rel"
done
# restic 0.18 for the doctor case (Debian 12's own is 0.14): the pinned copy setup-system.sh caches.
R018=${BACKHAUL_TEST_RESTIC_018:-/var/tmp/backhaul-cache/restic-0.18.0/restic}
[ -x "$R018" ] && cp "$R018" "$BUNDLE/pkg/restic-0.18.0"
# The agent .deb for the deb-package case (test/lab/guest/package.sh), from the dist just built.
BACKHAUL_DEB_NO_BUILD=1 bash scripts/build-deb.sh "$BUNDLE/pkg" >/dev/null || echo "lab: scripts/build-deb.sh failed (the deb-package case will fail)"
tar -C "$BUNDLE/pkg" -czf "$BUNDLE/bundle.tgz" . && rm -rf "$BUNDLE/pkg"
case $TIER in quick) limit=${TIMEOUT:-2400} ;; *) limit=${TIMEOUT:-7200} ;; esac
rm -rf "$OUT"; mkdir -p "$OUT"
echo "::: lab: guest run ($TIER, limit ${limit}s, results in $OUT)"
log=$(mktemp)
TIMEOUT=$limit OUT_DIR=$OUT PROJECT=$BUNDLE bash test/lab/run-vm.sh \
  "mkdir -p /tmp/bh && tar -xzf /project/bundle.tgz -C /tmp/bh && ONLY=${ONLY:-} LAB_COPY=1 bash /tmp/bh/test/lab/guest/lab.sh $TIER" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
T2=$(date +%s)
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -1)
rm -f "$log"
read -r p _ f _ s _ <<<"${line//,/}"
p=${p:-0}; f=${f:-0}; s=${s:-0}
if [ "$rc" != 0 ] && [ "$f" = 0 ]; then echo "lab: the guest run ended with rc=$rc"; f=1; fi
echo "lab: image $((T1 - T0)) s, guest run $((T2 - T1)) s, total $((T2 - T0)) s"
summary "$p" "$f" "$s"
[ "$f" = 0 ]
