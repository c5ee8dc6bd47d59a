#!/bin/bash
# The lab, inside the QEMU guest (root): real Backhaul sessions through real L2TP/IPsec and IKEv2
# tunnels (client = root netns with NetworkManager ↔ nat ↔ cloud), then the failure cases, then
# the secrets audit. Ends with "N passed, N failed, N skipped".
#   bash /project/test/lab/guest/lab.sh quick   # CI: one 20 MB session per driver × type + failures
#   bash /project/test/lab/guest/lab.sh full    # the whole matrix, DATA_MB (200) per session, bench
set -u
TIER=${1:-quick}
# test/lab/run.sh unpacks the project (dist, production node_modules, these scripts) to /tmp/bh and
# runs this copy; run straight from a live /project, copy first (bash reads scripts as it goes).
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -z "${LAB_COPY:-}" ]; then
  rm -rf /tmp/lab-guest && cp -r "$HERE" /tmp/lab-guest && LAB_COPY=1 exec bash /tmp/lab-guest/lab.sh "$@"
fi
. "$HERE/lib.sh"
case $TIER in
  quick) DATA_MB=${DATA_MB:-20} ;;
  full|bench) DATA_MB=${DATA_MB:-200} ;;
  *) echo "unknown tier $TIER"; exit 2 ;;
esac
SAMPLER=""
finish() {
  [ -n "$SAMPLER" ] && stop_sampler
  mkdir -p "$OUT/diag"
  journalctl -b -o short-precise --no-pager > "$OUT/diag/journal.txt" 2>&1
  cp "$LABV"/*.log "$OUT/diag/" 2>/dev/null
  cp -r "$BHOME/logs" "$OUT/diag/backhaul-logs" 2>/dev/null
  timing lab_total_s "$(el "$T0")"
  echo "$PASS passed, $FAIL failed, $SKIP skipped"
  [ "$FAIL" = 0 ] || exit 1
}
trap finish EXIT

step "guest: $(uname -r), tier $TIER, $(nproc) CPUs, uptime $(cut -d' ' -f1 /proc/uptime)s"
# The agent package first: it needs none of the lab's network, and its agent is gone (purged)
# before the sessions start.
. "$HERE/package.sh"
package_case deb-package
if [ "${ONLY:-}" = deb-package ]; then exit 0; fi
modules_and_warmup
topology
pki
servers
backhaul_setup
canary_patterns
start_sampler

xfrm_bytes() { ip -s xfrm state 2>/dev/null | awk '/lifetime current:/{getline; s+=$1} END{print s+0}'; }

# A full session: connect → verify → backup → teardown, then the server-side check and leftovers.
# ONLY=case,case (passed by run.sh): run just those cases, for chasing one failure
wanted() { [ -z "${ONLY:-}" ] || [[ ",$ONLY," == *",$1,"* ]]; }
success_case() { # CASE TYPE DRIVER AUTH MB [profile yaml lines…]
  wanted "$1" || return 0
  local case=$1 type=$2 driver=$3 auth=$4 mb=$5; shift 5
  step "session $case: $driver, $type, $auth, $mb MB${*:+, $*}"
  make_data "d$mb" "$mb"
  server_init "$case"
  profile_yaml "p-$case" "$type" "$driver" "$auth" "$@" | write_config "$case" "d$mb" "rest:http://$REPO_HOST:8000/$case" "p-$case"
  run_session "$case"
  if [ "$RC" = 0 ] && [ "$END" = done ]; then
    ok "$case: session done (connect → verify → backup → teardown)"
    timing "${case}_connect_verify_s" "$CONNECT_S"
    [ -n "$DURATION_S" ] && timing "${case}_backup_MBps" "$(awk -v b="$BYTES" -v s="$DURATION_S" 'BEGIN{ if (s > 0) printf "%.2f", b/s/1e6; else print "?" }')"
    check "$case: restic check on the server is clean" server_check "$case"
    check "$case: the snapshot holds all $mb MB" test "${BYTES:-0}" -ge $(( mb * 1024 * 1024 ))
    # the session log has every command with its exit code (BACKHAUL_LOG_LEVEL=debug)
    local probe; probe=$(grep -h -o -E '"argv":\["ping","-n","-q","-M","do",[^]]*\],"durationMs":[0-9]+,"exitCode":0' $BHOME/logs/backhaul-*.log | head -1)
    if [ -n "$probe" ]; then ok "$case: MTU confirmed by a don't-fragment probe: $probe"; else bad "$case: no passing don't-fragment probe in the session log"; fi
    check "$case: verify asked the kernel how $REPO_HOST is routed (ip route get)" \
      grep -q "\"argv\":\[\"ip\",\"-j\",\"route\",\"get\",\"$REPO_HOST\"\]" $BHOME/logs/backhaul-*.log
    if [ "${1:-}" = "mssClamp: true" ]; then
      check "$case: TCP MSS clamp table loaded (nft -f -) and deleted at teardown" sh -c \
        "grep -q -E '\"argv\":\[\"nft\",\"-f\",\"-\"\],\"durationMs\":[0-9]+,\"exitCode\":0' $BHOME/logs/backhaul-*.log && grep -q '\"nft\",\"delete\",\"table\",\"inet\",\"backhaul_p_${case//-/_}\"' $BHOME/logs/backhaul-*.log"
    fi
  else
    bad "$case: session rc=$RC end=$END $CODE $MESSAGE"
    skip "$case: server check, snapshot size, MTU probe, route check (the session failed)"
  fi
  settle_client
  local left; left=$(leftovers)
  if [ -z "$left" ]; then ok "$case: teardown left no connection, route, interface, SA, config dir or daemon"; else bad "$case: teardown left:$left"; fi
  check "$case: the repository is unreachable again without the tunnel" bash -c "! timeout 5 bash -c 'exec 3<>/dev/tcp/$REPO_HOST/8000' 2>/dev/null"
  for f in $BHOME/logs/backhaul-*.log; do mv "$f" "$f.$case"; done
}

# A failing session: the exact code and message, nothing left behind.
failure_case() { # CASE TYPE DRIVER AUTH CODE MESSAGE [profile yaml extra…]
  wanted "$1" || return 0
  local case=$1 type=$2 driver=$3 auth=$4 code=$5 message=$6; shift 6
  step "failure $case: expect $code"
  make_data d1 1
  server_init "$case"
  profile_yaml "p-$case" "$type" "$driver" "$auth" "$@" | write_config "$case" d1 "rest:http://$REPO_HOST:8000/$case" "p-$case"
  run_session "$case"
  timing "${case}_fail_s" "$SESSION_S"
  if [ "$END" = failed ] && [ "$CODE" = "$code" ]; then ok "$case: fails with $code"; else bad "$case: expected $code, got end=$END code=$CODE"; fi
  if [ "$MESSAGE" = "$message" ]; then ok "$case: exact message"; else bad "$case: message was: $MESSAGE"; fi
  settle_client
  local left; left=$(leftovers)
  if [ -z "$left" ]; then ok "$case: nothing left behind"; else bad "$case: left:$left"; fi
  for f in $BHOME/logs/backhaul-*.log; do mv "$f" "$f.$case"; done 2>/dev/null
}

P=p-   # profile names are p-<case>
msg() { printf 'profile %s%s: %s (likely cause: %s)' "$P" "$1" "$2" "$3"; }

# wrong PSK, wrong password, unreachable gateway for one driver's L2TP (case names PREFIX-…)
l2tp_failures() { # DRIVER PREFIX
  PSK_FILE=$SEC/wrong-psk failure_case "$2-wrong-psk" l2tp "$1" psk tunnel.wrong-psk \
    "$(msg "$2-wrong-psk" 'the gateway rejected the IPsec pre-shared key' "the pre-shared key does not match the gateway's, IKE phase 1 could not be decrypted")"
  PASS_FILE=$SEC/wrong-password failure_case "$2-wrong-password" l2tp "$1" psk tunnel.wrong-password \
    "$(msg "$2-wrong-password" 'the L2TP server rejected the user name or password' 'auth.username or the password in auth.password is wrong, or the account is locked')"
  GATEWAY=$UNREACH failure_case "$2-unreachable" l2tp "$1" psk tunnel.gateway-unreachable \
    "$(msg "$2-unreachable" 'the gateway did not answer' 'the gateway is down or unreachable, or UDP 500 is blocked on the way')"
}

# UDP 4500 dropped at the NAT: IKE starts on 500, NAT-T never answers
natt_blocked_case() { # CASE TYPE DRIVER AUTH
  block_4500
  failure_case "$1" "$2" "$3" "$4" tunnel.natt-blocked \
    "$(msg "$1" 'IKE got through, then the gateway stopped answering on UDP 4500' 'this machine is behind NAT and UDP port 4500, which NAT traversal needs, is blocked on the way to the gateway')"
  unblock_4500
}

if [ "$TIER" != bench ]; then
# ------------------------------------------------------------------------- sessions that succeed
success_case nm-l2tp-psk l2tp linux-nm psk "$DATA_MB"
success_case nm-ikev2-cert ikev2 linux-nm cert "$DATA_MB"
success_case swan-l2tp-psk l2tp linux-swan psk "$DATA_MB"
success_case swan-ikev2-cert ikev2 linux-swan cert "$DATA_MB"
success_case swan-l2tp-cert l2tp linux-swan cert "$([ "$TIER" = quick ] && echo 5 || echo "$DATA_MB")" 'mssClamp: true'
success_case nm-l2tp-cert l2tp linux-nm cert "$([ "$TIER" = quick ] && echo 5 || echo "$DATA_MB")"

# ------------------------------------------------------------------------- a drop under restic
. "$HERE/drop.sh"
drop_case nm-l2tp-drop psk

# ------------------------------------------------------------------------- the user's own tunnel
step "a tunnel the user already had up is used, and left up"
nmcli connection add type vpn con-name user-vpn vpn-type l2tp vpn.data "gateway=$GW, user=$VUSER, password-flags=0, ipsec-enabled=yes, ipsec-psk-flags=0, ipsec-ike=aes256-sha256-modp2048!, ipsec-esp=aes256-sha256!" \
  ipv4.never-default yes ipv4.routes "$SPLIT" ipv6.method ignore connection.autoconnect no >/dev/null
# the user's secrets, stored by NetworkManager (through nmcli edit's stdin, never an argv)
# (nmcli's editor keeps a history file under HOME: a throw-away one)
uhome=$(mktemp -d)
printf 'set vpn.secrets password=%s,ipsec-psk=%s\nsave persistent\nquit\n' "$PASS_CANARY" "$PSK_CANARY" | HOME=$uhome nmcli connection edit id user-vpn >/dev/null
rm -rf "$uhome"
for attempt in 1 2 3 4 5 6; do nmcli -w 90 connection up id user-vpn >/dev/null 2>&1 && break; nmcli connection down id user-vpn >/dev/null 2>&1; settle_client; done
if nmcli -t -f NAME connection show --active | grep -qx user-vpn; then
  ok "user-vpn: the user's own L2TP tunnel is up (attempt $attempt)"
  make_data d5 5
  server_init adopt
  profile_yaml p-adopt l2tp linux-nm psk | write_config adopt d5 "rest:http://$REPO_HOST:8000/adopt" p-adopt
  run_session adopt
  if [ "$END" = done ]; then ok "adopt: session done through the user's tunnel"; else bad "adopt: session end=$END $CODE $MESSAGE"; fi
  check "adopt: the user's tunnel is still up after the session" sh -c "nmcli -t -f NAME connection show --active | grep -qx user-vpn"
  check "adopt: its route is still there" sh -c "ip route show $SPLIT | grep -q ppp"
  check "adopt: Backhaul did not activate its own connection" sh -c "! nmcli -t -f NAME connection show --active | grep -qx backhaul-p-adopt"
  check "adopt: restic check on the server is clean" server_check adopt
else
  bad "user-vpn: the user's tunnel did not come up in 6 attempts"
fi
nmcli -w 30 connection down id user-vpn >/dev/null 2>&1; nmcli connection delete id user-vpn >/dev/null 2>&1
settle_client
for f in $BHOME/logs/backhaul-*.log; do mv "$f" "$f.adopt"; done 2>/dev/null

# ------------------------------------------------------------------------- failures, bounded
l2tp_failures linux-nm nm
natt_blocked_case nm-4500-blocked l2tp linux-nm psk
before=$(( $(ike_packets ike500) + $(ike_packets ike4500) ))
failure_case weak-proposal l2tp linux-nm psk tunnel.weak-cipher \
  'profiles.p-weak-proposal: refused before contacting the gateway: "3des-sha1-modp1024" (IKE) uses 3des: 3DES has a 64-bit block (Sweet32); sha1: SHA-1 is deprecated for IPsec integrity (RFC 8221, RFC 8247); modp1024: DH group 2 (1024-bit) is below group 14' \
  'ikeProposals: [3des-sha1-modp1024]'
after=$(( $(ike_packets ike500) + $(ike_packets ike4500) ))
if [ "$before" = "$after" ]; then ok "weak-proposal: not one IKE packet left the client ($before before and after)"; else bad "weak-proposal: IKE packets went out ($before -> $after)"; fi

# ------------------------------------------------------------------------- backhaul doctor
. "$HERE/doctor.sh"
doctor_cases

fi  # TIER != bench

if [ "$TIER" = full ]; then
  l2tp_failures linux-swan swan
  natt_blocked_case swan-4500-blocked ikev2 linux-swan cert
  for d in swan nm; do
    failure_case "$d-rogue-cert" ikev2 "linux-$d" rogue tunnel.auth-rejected \
      "$(msg "$d-rogue-cert" "the gateway rejected this machine's credentials" 'the gateway does not accept this certificate or pre-shared key: an unknown CA, a revoked certificate or a wrong identity')"
  done
fi

if [ "$TIER" != quick ]; then . "$HERE/bench.sh"; fi

# ------------------------------------------------------------------------- the secrets audit
step "secrets: canary PSK and password in argv, environments, files, journal, logs"
stop_sampler; SAMPLER=""
samples=$(cat /dev/shm/bh-samples 2>/dev/null || echo 0)
if [ "$samples" -ge 20 ] && [ ! -s "$OUT/canary-argv.txt" ]; then ok "no canary in any process argv or environment ($samples samples of /proc/*/cmdline and environ)"
else bad "canary seen in argv/environ ($samples samples): $(head -3 "$OUT/canary-argv.txt" 2>/dev/null)"; fi
files=$(canary_files)
if [ -z "$files" ]; then ok "no canary (plain, base64, hex) in files after teardown"; else bad "canary in files: $files"; fi
if journalctl -b --no-pager 2>/dev/null | grep -q -F -f /dev/shm/bh-canaries; then bad "canary in the systemd journal"; else ok "no canary in the systemd journal"; fi
