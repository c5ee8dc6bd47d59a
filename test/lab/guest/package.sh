# Sourced by lab.sh (guest, root, systemd as PID 1). The agent .deb (scripts/build-deb.sh, packed into
# the bundle by run.sh): install with dpkg, the hardened unit runs, a real backup through the agent,
# the CLI over the system socket as root, as a user outside the `backhaul` group (the exact fix in
# the error) and inside it; then `dpkg -r` leaves only the config and the history, `dpkg --purge`
# nothing. Case name: deb-package (ONLY=deb-package npm run test:lab).

# The image copies the host's node to /usr/local/bin instead of installing a nodejs package; this
# empty package stands in for NodeSource's `nodejs` (the package the .deb depends on), with the
# version of the node that is really there.
nodejs_stand_in() {
  local d; d=$(mktemp -d)
  mkdir -p "$d/DEBIAN"
  printf 'Package: nodejs\nVersion: %s-lab\nArchitecture: all\nMaintainer: lab <lab@localhost>\nDescription: lab stand-in for the nodejs package (node is /usr/local/bin/node)\n' \
    "$(node --version | tr -d v)" > "$d/DEBIAN/control"
  dpkg-deb --root-owner-group --build "$d" /tmp/nodejs-lab.deb >/dev/null && dpkg -i /tmp/nodejs-lab.deb >/dev/null
  local rc=$?; rm -rf "$d"; return $rc
}

# Everything outside the lab's own dirs whose name says backhaul (dpkg's own records excluded).
backhaul_files() {
  find /etc /usr /lib /var /run /opt -name '*backhaul*' 2>/dev/null \
    | grep -v -E '^/var/lib/backhaul-lab|^/etc/backhaul-lab|^/var/lib/dpkg/|^/var/cache/apt/' | sort
}

wait_for_socket() { local i; for i in $(seq 1 120); do [ -S /run/backhaul/agent.sock ] && return 0; sleep 0.5; done; return 1; }

package_case() {
  # (lab.sh's wanted() is defined after the setup this case runs before)
  [ -z "${ONLY:-}" ] || [[ ",$ONLY," == *",$1,"* ]] || return 0
  local case=$1 deb; deb=$(ls "$BH"/backhaul_*.deb 2>/dev/null | head -1)
  step "package $case: install the agent .deb, start the unit, the CLI over the system socket, uninstall"
  if [ -z "$deb" ]; then bad "$case: no .deb in the bundle (run.sh builds it with scripts/build-deb.sh)"; return; fi
  check "$case: the nodejs stand-in installs" nodejs_stand_in
  # What an admin pushes before the package: a config with one job and its repository password.
  # The data is under /srv: the unit's PrivateTmp=yes gives the agent its own /tmp and /var/tmp.
  mkdir -p /etc/backhaul /var/tmp/deb-case-repo /srv/deb-case-data
  printf 'pkg-case-password\n' > /etc/backhaul/repo-password; chmod 600 /etc/backhaul/repo-password
  printf 'version: 1\njobs:\n  docs:\n    sources: [/srv/deb-case-data]\n    repository: rest:http://127.0.0.1:8010/\n    password: file:/etc/backhaul/repo-password\n' > /etc/backhaul/config.yaml
  head -c 300000 /dev/urandom > /srv/deb-case-data/blob.bin
  rclone serve restic --addr 127.0.0.1:8010 /var/tmp/deb-case-repo > "$OUT/deb-case-rclone.log" 2>&1 &
  local rest=$!
  # rclone takes seconds to listen under emulation (run 2 raced it: "no restic repository"): wait.
  local i; for i in $(seq 1 120); do timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8010' 2>/dev/null && break; sleep 0.5; done
  check "$case: the test repository is initialised" sh -c 'RESTIC_PASSWORD=pkg-case-password restic --no-cache -r rest:http://127.0.0.1:8010/ init'

  local t0; t0=$(date +%s%N)
  if dpkg -i "$deb" > "$OUT/deb-install.log" 2>&1; then ok "$case: dpkg -i $(basename "$deb")"; else bad "$case: dpkg -i failed: $(tail -3 "$OUT/deb-install.log")"; fi
  if wait_for_socket; then ok "$case: the unit started and the agent listens on /run/backhaul/agent.sock ($(el "$t0") s)"
  else bad "$case: no agent socket after 60 s: $(systemctl status backhaul.service --no-pager 2>&1 | tail -5)"; fi
  timing deb_install_to_socket_s "$(el "$t0")"
  check "$case: systemctl is-active backhaul.service" systemctl is-active --quiet backhaul.service
  check "$case: enabled at boot" systemctl is-enabled --quiet backhaul.service
  check "$case: postinst created the backhaul group" getent group backhaul
  local perm; perm=$(stat -c '%a %U:%G' /run/backhaul/agent.sock 2>/dev/null)
  if [ "$perm" = "660 root:backhaul" ]; then ok "$case: socket is 660 root:backhaul"; else bad "$case: socket is '$perm'"; fi
  local pid; pid=$(systemctl show -p MainPID --value backhaul.service)
  # The hardening is in force: no_new_privs set and a bounding set far below root's full one.
  check "$case: the agent runs with no_new_privs" grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status"
  local bnd; bnd=$(awk '/^CapBnd/{print $2}' "/proc/$pid/status")
  if [ -n "$bnd" ] && [ "$bnd" != 000001ffffffffff ] && [ "$bnd" != 000000ffffffffff ]; then ok "$case: capability bounding set limited (CapBnd $bnd: $(capsh --decode="$bnd" 2>/dev/null | cut -d= -f2))"
  else bad "$case: CapBnd is '$bnd'"; fi
  check "$case: / is read-only for the agent (ProtectSystem=strict)" sh -c "awk '\$5 == \"/\" {print \$6}' /proc/$pid/mountinfo | grep -q '^ro'"
  systemd-analyze security backhaul.service --no-pager 2>/dev/null | tail -1 | sed 's/^/  INFO: systemd-analyze security: /'

  local st; st=$(timeout 120 backhaul --system status --json 2>"$OUT/deb-status.err")
  if [ -n "$st" ] && printf '%s' "$st" | node -e 'JSON.parse(require("fs").readFileSync(0,"utf8"))' 2>/dev/null; then ok "$case: root's CLI talks to the agent over the system socket (status --json)"
  else bad "$case: backhaul --system status: $(head -3 "$OUT/deb-status.err")"; fi
  if timeout -k 10 600 backhaul --system run docs > "$OUT/deb-run.log" 2>&1; then ok "$case: a real backup ran inside the hardened unit (backhaul --system run docs)"
  else bad "$case: backhaul --system run docs failed: $(tail -3 "$OUT/deb-run.log")"; fi
  check "$case: the snapshot is in the repository" sh -c "RESTIC_PASSWORD=pkg-case-password restic --no-cache -r rest:http://127.0.0.1:8010/ snapshots --json | grep -q deb-case-data"
  # The package bundles the pinned restic 0.18.0 (Debian 12's own, 0.14, is on PATH too): the
  # agent's log has the bundled binary's version probe, with its exit code.
  local bundled=/usr/lib/backhaul/resources/bin/linux-x64/restic
  check "$case: the backup used the bundled, pinned restic (its version probe is in the agent's log)" sh -c \
    "grep -h -q -E '\"argv\":\[\"$bundled\",\"version\"\],\"durationMs\":[0-9]+,\"exitCode\":0' /var/log/backhaul/*.log"
  # A swapped binary: the agent says so at start, and a run refuses it instead of using PATH's.
  cp -p "$bundled" /tmp/restic.saved && printf 'x' >> "$bundled"
  systemctl restart backhaul.service
  local health="" i
  for i in $(seq 1 120); do health=$(timeout 30 backhaul --system status 2>/dev/null) && break; sleep 0.5; done
  if printf '%s' "$health" | grep -q 'error: The bundled restic failed its checksum — the bundled restic at /usr/lib/backhaul/resources/bin/linux-x64/restic does not match its pinned SHA-256'; then
    ok "$case: a swapped bundled restic is on the health list after a restart"
  else bad "$case: no health item for the swapped restic: $(printf '%s' "$health" | tail -3)"; fi
  if timeout -k 10 300 backhaul --system run docs > "$OUT/deb-run-swapped.log" 2>&1; then bad "$case: a run with the swapped restic succeeded"
  elif grep -q 'does not match its pinned SHA-256' "$OUT/deb-run-swapped.log"; then ok "$case: a run refuses the swapped restic: $(grep -m1 -o 'backup\.engine-missing' "$OUT/deb-run-swapped.log" || echo 'refused')"
  else bad "$case: the run with the swapped restic failed otherwise: $(tail -3 "$OUT/deb-run-swapped.log")"; fi
  cp -p /tmp/restic.saved "$bundled" && rm -f /tmp/restic.saved
  systemctl restart backhaul.service; wait_for_socket
  for i in $(seq 1 120); do timeout 30 backhaul --system status >/dev/null 2>&1 && break; sleep 0.5; done
  local svc; svc=$(timeout 120 backhaul service status 2>&1)
  if printf '%s' "$svc" | grep -q 'running, pid'; then ok "$case: backhaul service status reads systemd: $(echo "$svc" | head -1)"; else bad "$case: backhaul service status: $svc"; fi

  id labuser >/dev/null 2>&1 || useradd -m -s /bin/sh labuser
  local denied; denied=$(timeout 120 su -s /bin/sh labuser -c 'backhaul --system status' 2>&1)
  if printf '%s' "$denied" | grep -q -F 'sudo usermod -aG backhaul $USER, then log in again'; then ok "$case: a user outside the group is told the fix"
  else bad "$case: a user outside the group got: $denied"; fi
  usermod -aG backhaul labuser
  check "$case: after usermod -aG backhaul and a new login, the user reaches the agent" timeout 120 su -s /bin/sh labuser -c 'backhaul --system status --json'

  check "$case: dpkg -r backhaul" dpkg -r backhaul
  # ([b]: the pattern must not match this sh -c's own command line)
  check "$case: the agent stopped" sh -c '! systemctl is-active --quiet backhaul.service && ! pgrep -f "node /usr/lib/[b]ackhaul/"'
  local left; left=$(backhaul_files | tr '\n' ' ')
  if [ "$left" = "/etc/backhaul /var/lib/backhaul " ]; then ok "$case: after remove only the config and the history are left: $left"
  else bad "$case: after remove: $left"; fi
  check "$case: the config survives remove" test -s /etc/backhaul/config.yaml
  check "$case: the history survives remove" test -s /var/lib/backhaul/history.jsonl
  echo "  INFO: kept in /var/lib/backhaul: $(ls /var/lib/backhaul | tr '\n' ' ')"
  check "$case: dpkg --purge backhaul" dpkg --purge backhaul
  left=$(backhaul_files | tr '\n' ' ')
  if [ -z "$left" ]; then ok "$case: after purge nothing named backhaul is left (the backhaul group stays, as documented)"; else bad "$case: after purge: $left"; fi

  kill "$rest" 2>/dev/null; wait "$rest" 2>/dev/null
  dpkg --purge nodejs >/dev/null 2>&1; userdel -r labuser >/dev/null 2>&1
  rm -rf /var/tmp/deb-case-repo /srv/deb-case-data /tmp/nodejs-lab.deb
}
