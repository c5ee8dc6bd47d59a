#!/usr/bin/env bash
# Builds (or reuses) the cached Debian bookworm guest for the QEMU lab: kernel + initrd from the
# host's Debian kernel package, an ext4 root image with NetworkManager (+ l2tp, l2tp-gnome and
# strongswan plugins), strongSwan (charon, swanctl, pki, charon-nm), xl2tpd, pppd, restic, rclone
# and the host's Node.js. Packages come from the host's own apt mirror.
#
#   sudo test/lab/build-image.sh          # no-op when the cached image matches this script
#   FORCE=1 test/lab/build-image.sh       # rebuild
# Env: BACKHAUL_LAB_DIR (default /var/tmp/backhaul-lab-image), KVER, IMG_SIZE.
# Output: $BACKHAUL_LAB_DIR/{vmlinuz,initrd.img,rootfs.ext4,image.stamp}
set -euo pipefail
LAB=${BACKHAUL_LAB_DIR:-/var/tmp/backhaul-lab-image}
KVER=${KVER:-6.1.0-56-amd64}
IMG_SIZE=${IMG_SIZE:-5G}
SELF=$(readlink -f "$0")
T0=$(date +%s)
log() { echo "[build-image +$(( $(date +%s) - T0 ))s] $*" >&2; }

[ "$(id -u)" = 0 ] || { echo "build-image: needs root (debootstrap, chroot)" >&2; exit 2; }
# Two lab runs on one machine share the cache: one builds, the other waits (up to 30 min).
mkdir -p "$(dirname "$LAB")"
exec 9>"$LAB.lock"
flock -w 1800 9 || { echo "build-image: $LAB.lock is held by another build" >&2; exit 1; }
# The image is current while this script's code (comments aside), the kernel and Node are the same.
STAMP="$(grep -v -E '^[[:space:]]*#' "$SELF" | sha256sum | cut -d' ' -f1) kver=$KVER node=$(node --version 2>/dev/null || echo none)"
if [ -z "${FORCE:-}" ] && [ -s "$LAB/rootfs.ext4" ] && [ -s "$LAB/vmlinuz" ] && [ -s "$LAB/initrd.img" ] \
   && [ "$(cat "$LAB/image.stamp" 2>/dev/null)" = "$STAMP" ]; then
  log "cached image is current: $LAB"
  exit 0
fi

APT=(apt-get -o DPkg::Lock::Timeout=900 -o Acquire::Retries=3)
MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$MIRROR" ] || MIRROR=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
log "mirror: $MIRROR"

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v rsync >/dev/null || need+=(rsync)
[ -e "/boot/vmlinuz-$KVER" ] || need+=("linux-image-$KVER")
if [ ${#need[@]} -gt 0 ]; then
  log "host packages: ${need[*]}"
  "${APT[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

BASE=(
  systemd systemd-sysv libpam-systemd dbus udev kmod iproute2 iputils-ping procps psmisc util-linux
  netbase nftables openssl ca-certificates libstdc++6
  strongswan-starter strongswan-charon strongswan-swanctl strongswan-pki libstrongswan-standard-plugins
  xl2tpd ppp network-manager network-manager-l2tp restic rclone
)
# No libcharon-extra-plugins: a desktop with network-manager-l2tp does not get them, and their
# plugins (bypass-lan, forecast, …) make every charon start slower, which under emulation pushes
# NetworkManager-l2tp past its wait for IPsec. The guest has kernel ESP: no userspace ESP needed.
# The GTK-heavy plugin parts go in with apt (real dependency resolution) after the upgrade:
# nm-l2tp-auth-dialog makes passwd-file work for the PSK, charon-nm is NM's IKEv2 backend.
EXTRA=(network-manager-l2tp-gnome network-manager-strongswan strongswan-nm)

R="$LAB/rootfs"
mkdir -p "$LAB"
rm -rf "$R" "$LAB/rootfs.ext4.tmp"
log "debootstrap bookworm minbase + ${#BASE[@]} packages"
debootstrap --variant=minbase --include="$(IFS=,; echo "${BASE[*]}")" bookworm "$R" "$MIRROR" \
  > "$LAB/debootstrap.log" 2>&1 || { tail -30 "$LAB/debootstrap.log" >&2; exit 1; }

log "apt upgrade (updates + security) and extras: ${EXTRA[*]}"
if [ -e /etc/apt/sources.list.d/debian.sources ]; then
  cp /etc/apt/sources.list.d/debian.sources "$R/etc/apt/sources.list.d/debian.sources"; rm -f "$R/etc/apt/sources.list"
else
  cp /etc/apt/sources.list "$R/etc/apt/sources.list"
fi
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"
mount -t proc proc "$R/proc"
trap 'umount "$R/proc" 2>/dev/null || true' EXIT
{
  chroot "$R" apt-get -o Acquire::Retries=3 update -qq
  DEBIAN_FRONTEND=noninteractive chroot "$R" apt-get -y -qq -o Dpkg::Options::=--force-confold upgrade
  DEBIAN_FRONTEND=noninteractive chroot "$R" apt-get -y -qq --no-install-recommends install "${EXTRA[@]}"
} > "$LAB/apt.log" 2>&1 || { tail -30 "$LAB/apt.log" >&2; exit 1; }
chroot "$R" dpkg-query -W -f '${Package} ${Version}\n' network-manager network-manager-l2tp network-manager-l2tp-gnome \
  network-manager-strongswan strongswan-nm strongswan-charon strongswan-swanctl xl2tpd ppp restic rclone > "$LAB/versions.txt"
umount "$R/proc"; trap - EXIT
rm -f "$R/usr/sbin/policy-rc.d"

log "kernel $KVER modules, node $(node --version)"
mkdir -p "$R/lib/modules"
rsync -a --delete \
  --exclude 'kernel/drivers/gpu' --exclude 'kernel/drivers/media' --exclude 'kernel/sound' \
  --exclude 'kernel/drivers/net/wireless' --exclude 'kernel/drivers/infiniband' --exclude 'kernel/drivers/staging' \
  --exclude 'kernel/drivers/bluetooth' --exclude 'kernel/drivers/scsi' --exclude 'kernel/drivers/usb' \
  --exclude 'kernel/drivers/hid' --exclude 'kernel/drivers/iio' --exclude 'kernel/drivers/input' \
  --exclude 'kernel/drivers/mtd' --exclude 'kernel/drivers/isdn' --exclude 'kernel/drivers/net/ethernet' \
  --exclude 'kernel/drivers/net/can' "/lib/modules/$KVER/" "$R/lib/modules/$KVER/"
chroot "$R" depmod -a "$KVER"
cp "/boot/vmlinuz-$KVER" "$LAB/vmlinuz.tmp"; mv "$LAB/vmlinuz.tmp" "$LAB/vmlinuz"
cp "/boot/initrd.img-$KVER" "$LAB/initrd.img.tmp"; mv "$LAB/initrd.img.tmp" "$LAB/initrd.img"
cp "$(readlink -f "$(command -v node)")" "$R/usr/local/bin/node"

echo lab > "$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 lab\n' > "$R/etc/hosts"
echo '/dev/vda / ext4 defaults,noatime 0 1' > "$R/etc/fstab"
chroot "$R" passwd -d root >/dev/null
chroot "$R" systemd-machine-id-setup >/dev/null 2>&1 || true
# Services: only what the lab needs starts at boot. strongswan-starter stays startable (NM-l2tp runs
# "ipsec start" itself); the distribution's own charon/xl2tpd never run on their own.
for u in strongswan-starter.service strongswan.service ipsec.service xl2tpd.service ssh.service \
         apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
         systemd-timesyncd.service NetworkManager-wait-online.service ModemManager.service \
         wpa_supplicant.service nftables.service serial-getty@ttyS0.service getty@tty1.service; do
  chroot "$R" systemctl disable "$u" >/dev/null 2>&1 || true
  chroot "$R" systemctl mask "$u" >/dev/null 2>&1 || true
done
chroot "$R" systemctl unmask strongswan-starter.service ipsec.service >/dev/null 2>&1 || true
chroot "$R" systemctl enable NetworkManager.service >/dev/null 2>&1 || true
mkdir -p "$R/etc/NetworkManager/conf.d"
printf '[main]\nplugins=keyfile\n[logging]\nlevel=INFO\n' > "$R/etc/NetworkManager/conf.d/lab.conf"
echo 'ENV{ID_NET_DRIVER}=="veth", ENV{NM_UNMANAGED}="0"' > "$R/etc/udev/rules.d/86-lab-veth-managed.rules"

# The runner: mounts the shares, runs /labio/cmd once, keeps its exit status, powers off.
cat > "$R/usr/local/sbin/lab-run" <<'RUN'
#!/bin/bash
mkdir -p /project /labio
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 project /project 2>/dev/null || true
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 labio /labio 2>/dev/null || { echo "lab-run: no labio share" > /dev/ttyS0; exit 0; }
[ -x /labio/cmd ] || { echo "lab-run: /labio/cmd missing" > /dev/ttyS0; exit 0; }
echo "LAB-READY uptime=$(cut -d' ' -f1 /proc/uptime)" | tee /labio/ready > /dev/ttyS0
cd /labio
/labio/cmd 2>&1 | tee /labio/output.log > /dev/ttyS0
rc=${PIPESTATUS[0]}
echo "$rc" > /labio/rc
echo "LAB-DONE rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)" > /dev/ttyS0
sync
systemctl poweroff --no-block
RUN
chmod +x "$R/usr/local/sbin/lab-run"
cat > "$R/etc/systemd/system/lab-run.service" <<'UNIT'
[Unit]
Description=Backhaul lab runner
After=NetworkManager.service dbus.service systemd-modules-load.service local-fs.target
Wants=NetworkManager.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/lab-run
TimeoutStartSec=infinity
StandardOutput=journal
[Install]
WantedBy=multi-user.target
UNIT
chroot "$R" systemctl enable lab-run.service >/dev/null
chroot "$R" apt-get clean
rm -rf "$R/var/lib/apt/lists/"* "$R/var/cache/apt/"*.bin

log "ext4 image ($IMG_SIZE sparse) from a $(du -sh "$R" | cut -f1) tree"
truncate -s 0 "$LAB/rootfs.ext4.tmp"
mkfs.ext4 -q -F -L labroot -d "$R" "$LAB/rootfs.ext4.tmp" "$IMG_SIZE"
mv "$LAB/rootfs.ext4.tmp" "$LAB/rootfs.ext4"
rm -rf "$R"
echo "$STAMP" > "$LAB/image.stamp"
log "done: $LAB ($(du -h "$LAB/rootfs.ext4" | cut -f1) used)"
