# Sourced by lab.sh (guest, root): a drop under a running backup through NetworkManager's L2TP/IPsec
# (linux-nm, the product's main path). The gateway's pppd is killed when the server has 5 MB of the
# upload; NetworkManager sees the VPN go, the supervisor repairs it in place (linux-nm reconnect():
# the plugin settled, `nmcli connection up` again) while restic waits, and the backup finishes. An
# nft counter at the NAT counts packets for the private subnet arriving in clear: the kill switch
# (an unreachable route pinned for the whole session) must keep it at 0, through the repair too.
# Case name: nm-l2tp-drop (ONLY=nm-l2tp-drop npm run test:lab).

# pids of the gateway's pppd processes (network namespaces don't hide pids: the client's pppd is
# in the same pid space, so select by netns)
cloud_pppd() { local p; for p in $(ip netns pids cloud); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = pppd ] && echo "$p"; done; }

drop_case() { # CASE AUTH
  wanted "$1" || return 0
  local case=$1 auth=$2 mark=/tmp/drop-$1
  step "drop $case: linux-nm L2TP/$auth, the gateway's pppd killed mid-upload; repaired under restic, the kill switch held"
  make_data d20 20
  server_init "$case"
  profile_yaml "p-$case" l2tp linux-nm "$auth" 'keepaliveSeconds: 5' | write_config "$case" d20 "rest:http://$REPO_HOST:8000/$case" "p-$case"
  ip netns exec nat nft -f - <<NFT
table ip bhleak {
  counter clear { }
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    ip daddr $SPLIT counter name clear
  }
}
NFT
  rm -f "$mark"
  # The drop, from the server's side of the upload: bounded wait for 5 MB in the repository.
  (
    for _ in $(seq 1 1200); do
      if [ "$(du -sb "$LABV/repos/$case/data" 2>/dev/null | cut -f1)" -ge $((5 * 1024 * 1024)) ] 2>/dev/null; then
        pids=$(cloud_pppd)
        [ -n "$pids" ] && kill $pids && echo "killed pppd $pids at $(du -sb "$LABV/repos/$case/data" | cut -f1) bytes" > "$mark"
        break
      fi
      sleep 0.5
    done
  ) &
  local watcher=$!
  run_session "$case"
  wait "$watcher"
  if [ -s "$mark" ]; then ok "$case: the gateway's pppd was killed mid-upload ($(cat "$mark"))"; else bad "$case: the drop never happened (upload under 5 MB or no pppd in cloud)"; fi
  # restic's own retries may carry the upload to its end while the repaired tunnel is still being
  # verified: then reconnecting goes straight to teardown (src/agent/session/states.ts allows it).
  if [[ " $STATES " =~ \ backing-up\ (reconnecting\ backing-up\ )*reconnecting\ (backing-up\ )?tearing-down\ done\  ]]; then ok "$case: states: $STATES"
  else bad "$case: states were: $STATES"; fi
  if [[ "$LOSSES" =~ ^[a-z-]+:[1-9][0-9]*:repaired(,[a-z-]+:[1-9][0-9]*:repaired)*$ ]]; then ok "$case: the session recorded the loss and its repair ($LOSSES)"
  else bad "$case: tunnel losses recorded: ${LOSSES:-none}"; fi
  if [ "$RC" = 0 ] && [ "$END" = done ]; then ok "$case: the backup finished after the repair"
    check "$case: restic check on the server is clean" server_check "$case"
    check "$case: the snapshot holds all 20 MB" test "${BYTES:-0}" -ge $(( 20 * 1024 * 1024 ))
  else bad "$case: session rc=$RC end=$END $CODE $MESSAGE"; fi
  # every command is in the session log with its argv (BACKHAUL_LOG_LEVEL=debug)
  local ups dels
  ups=$(cat $BHOME/logs/backhaul-*.log | grep -c -F "\"argv\":[\"nmcli\",\"-w\",\"90\",\"connection\",\"up\",\"id\",\"backhaul-p-$case\"")
  dels=$(cat $BHOME/logs/backhaul-*.log | grep -c -F "\"argv\":[\"ip\",\"route\",\"del\",\"unreachable\",\"$SPLIT\"")
  if [ "$ups" -ge 2 ]; then ok "$case: the repair brought the connection up again through nmcli ($ups nmcli connection up)"; else bad "$case: $ups nmcli connection up in the log"; fi
  if [ "$dels" = 1 ]; then ok "$case: the kill switch's pin was removed once, at teardown — never during the repair"; else bad "$case: the pin was removed $dels times"; fi
  local clear; clear=$(ip netns exec nat nft list counter ip bhleak clear | awk '/packets/{print $2; exit}')
  if [ "$clear" = 0 ]; then ok "$case: not one packet for $SPLIT reached the NAT in clear (kill switch)"; else bad "$case: $clear packets for $SPLIT reached the NAT in clear"; fi
  ip netns exec nat nft delete table ip bhleak
  settle_client
  local left; left=$(leftovers)
  if [ -z "$left" ]; then ok "$case: teardown left nothing"; else bad "$case: teardown left:$left"; fi
  for f in $BHOME/logs/backhaul-*.log; do mv "$f" "$f.$case"; done 2>/dev/null
}
