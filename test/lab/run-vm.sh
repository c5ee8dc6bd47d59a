#!/usr/bin/env bash
# Boots the cached lab guest (test/lab/build-image.sh) under QEMU/TCG with a throw-away snapshot,
# runs ONE command in it as root, prints its output and exits with the command's exit code
# (255: the guest wrote no exit code, e.g. TIMEOUT; 2: no image).
#   test/lab/run-vm.sh 'bash /project/test/lab/guest/lab.sh quick'
# The repository is shared read-only as /project (9p); the guest writes results to /labio.
# Env: BACKHAUL_LAB_DIR, PROJECT (default: the repository), MEM (MiB, 3072), CPUS (2),
#      TIMEOUT (s, 1800), OUT_DIR (copy /labio here), VERBOSE=1 (stream the serial console).
set -euo pipefail
LAB=${BACKHAUL_LAB_DIR:-/var/tmp/backhaul-lab-image}
HERE=$(cd "$(dirname "$0")" && pwd)
PROJECT=${PROJECT:-$(cd "$HERE/../.." && pwd)}
MEM=${MEM:-3072}; CPUS=${CPUS:-2}; TIMEOUT=${TIMEOUT:-1800}
for f in vmlinuz initrd.img rootfs.ext4; do
  [ -s "$LAB/$f" ] || { echo "run-vm: missing $LAB/$f (run test/lab/build-image.sh)" >&2; exit 2; }
done
[ $# -gt 0 ] || { echo "usage: $0 'command to run in the guest'" >&2; exit 2; }
RUN=$(mktemp -d "$LAB/run.XXXXXX")
QPID=""
stop_qemu() {
  if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
    kill "$QPID" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$QPID" 2>/dev/null || true
  fi
}
cleanup() { stop_qemu; [ -n "${KEEP_RUN:-}" ] || rm -rf "$RUN"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

printf '#!/bin/bash\n%s\n' "$*" > "$RUN/cmd"; chmod +x "$RUN/cmd"
T0=$(date +%s%N)
# TCG only: KVM does not work on this machine kind (shared/reference/lab.md).
qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp "$CPUS" -m "$MEM" \
  -machine q35 -nodefaults -no-user-config -display none -no-reboot \
  -kernel "$LAB/vmlinuz" -initrd "$LAB/initrd.img" \
  -append "root=/dev/vda rw console=ttyS0 quiet loglevel=3 systemd.show_status=0 panic=-1" \
  -drive "file=$LAB/rootfs.ext4,if=virtio,format=raw,cache=unsafe" -snapshot \
  -virtfs "local,path=$PROJECT,mount_tag=project,security_model=none,readonly=on" \
  -virtfs "local,path=$RUN,mount_tag=labio,security_model=none" \
  -nic none -device virtio-rng-pci -serial "file:$RUN/console.log" &
QPID=$!
if [ -n "${VERBOSE:-}" ]; then tail --pid="$QPID" -n +1 -F "$RUN/console.log" 2>/dev/null & fi
READY=""
while kill -0 "$QPID" 2>/dev/null; do
  now=$(date +%s%N)
  if [ -z "$READY" ] && [ -e "$RUN/ready" ]; then READY=$(( (now - T0) / 1000000 )); fi
  if [ $(( (now - T0) / 1000000000 )) -ge "$TIMEOUT" ]; then
    echo "run-vm: TIMEOUT after ${TIMEOUT}s, stopping QEMU" >&2
    stop_qemu
    break
  fi
  sleep 0.5
done
wait "$QPID" 2>/dev/null || true
QPID=""
T1=$(date +%s%N)
[ -n "${VERBOSE:-}" ] || cat "$RUN/output.log" 2>/dev/null || { echo "(no output.log; console tail:)"; tail -40 "$RUN/console.log"; }
RC=$(cat "$RUN/rc" 2>/dev/null || echo 255)
if [ -n "${OUT_DIR:-}" ]; then mkdir -p "$OUT_DIR" && cp -a "$RUN"/. "$OUT_DIR"/; fi
printf '===== run-vm: rc=%s host_to_ready=%ss total=%ss =====\n' "$RC" \
  "$( [ -n "$READY" ] && awk -v m="$READY" 'BEGIN{printf "%.1f", m/1000}' || echo '?')" \
  "$(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.1f", (b-a)/1e9}')"
exit "$RC"
