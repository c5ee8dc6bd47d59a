# Sourced by lab.sh inside the QEMU guest (root). The lab's building blocks: checks and counters,
# the namespaces (client = root netns ↔ nat ↔ cloud), the lab CA, the servers in "cloud"
# (strongSwan: L2TP/IPsec PSK + certificate conns and an IKEv2 responder; xl2tpd + pppd; rclone
# serve restic on the private subnet), Backhaul sessions, the canary sampler and leftover checks.
# Lab-only secrets; the canaries are never exported, never in an argv (printf is a builtin).

LABV=/var/lib/lab                 # server side state (repos, logs)
CLOUD_RUN=$LABV/cloud-run         # private /run of the server daemons
SEC=/var/lib/lab-secrets          # the user's secret files that Backhaul configs reference (0600)
BH=/tmp/bh                        # the built project (dist, package.json, production node_modules)
BHOME=/var/lib/backhaul-lab       # BACKHAUL_HOME: config, state, logs
OUT=${OUT:-/labio}
GW=203.0.113.2
UNREACH=203.0.113.99
SPLIT=10.99.0.0/24
REPO_HOST=10.99.0.1

PSK_CANARY=lab-psk-CANARY-7q3Zx
PASS_CANARY=vpnpass-CANARY-9x2Wk
VUSER=vpnuser
WRONG_PSK=wrong-psk-CANARY-4k8Rt
WRONG_PASS=wrong-pass-CANARY-2m5Qp
REPO_PW=lab-repo-password

PASS=0; FAIL=0; SKIP=0
T0=$(date +%s%N)
el() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b-a)/1e9}'; }
step() { echo "[$(el "$T0")s] == $*"; }
ok() { PASS=$((PASS+1)); echo "  PASS: $*"; }
bad() { FAIL=$((FAIL+1)); echo "  FAIL: $*"; }
skip() { SKIP=$((SKIP+1)); echo "  SKIP: $*"; }
check() { local d="$1"; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else bad "$d"; fi; }
timing() { echo "TIMING $1=$2"; echo "$1=$2" >> "$OUT/timings.txt"; }
cloud() { ip netns exec cloud "$@"; }
# a command in the cloud netns that also sees the server's private /run
cloud_run() { ip netns exec cloud bash -c "mount --bind $CLOUD_RUN /run && $*"; }

# --------------------------------------------------------------------------------------- setup
modules_and_warmup() {
  step "kernel modules and ESP transform warm-up"
  modprobe -a l2tp_ppp l2tp_netlink pppox ppp_generic ppp_async ppp_synctty esp4 xfrm_user xfrm_algo \
    xfrm4_tunnel tunnel4 authenc echainiv seqiv cbc hmac sha1_generic sha256_generic sha512_generic \
    aesni_intel sha1_ssse3 sha256_ssse3 des3_ede_x86_64 des_generic gcm ctr ghash_generic \
    veth dummy tun nf_tables nft_masq nft_nat nft_chain_nat nf_nat nf_conntrack 2>/dev/null || true
  # Instantiate the kernel ESP transforms once, so the first real SA does not pay for it inside
  # NetworkManager's plugin timeout (shared/reference/lab.md pitfall 2).
  ip netns add warm 2>/dev/null
  local k
  for k in "hmac(sha256) 0x$(printf '%064d' 0) 128" "hmac(sha1) 0x$(printf '%040d' 0) 96"; do
    set -- $k
    ip -n warm xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100 mode transport \
      enc 'cbc(aes)' 0x$(printf '%064d' 0) auth-trunc "$1" "$2" "$3" 2>/dev/null || true
    ip -n warm xfrm state add src 192.0.2.1 dst 192.0.2.3 proto esp spi 0x101 mode tunnel \
      aead 'rfc4106(gcm(aes))' 0x$(printf '%072d' 0) 128 2>/dev/null || true
    ip -n warm xfrm state flush
  done
  ip netns del warm
}

topology() {
  step "namespaces: client (root) <-> nat <-> cloud"
  ip netns add nat; ip netns add cloud
  ip link add c0 type veth peer name n0 netns nat
  ip -n nat link add n1 type veth peer name s0 netns cloud
  ip -n nat addr add 10.77.1.1/24 dev n0
  ip -n nat addr add 203.0.113.1/24 dev n1
  for l in lo n0 n1; do ip -n nat link set "$l" up; done
  ip netns exec nat sysctl -qw net.ipv4.ip_forward=1
  ip netns exec nat nft -f - <<'NFT'
table ip lab {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "n1" masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    udp dport 500 counter name ike500
    udp dport 4500 counter name ike4500
  }
  counter ike500 { }
  counter ike4500 { }
}
NFT
  ip -n cloud addr add 203.0.113.2/24 dev s0
  ip -n cloud link add d0 type dummy
  ip -n cloud addr add 10.99.0.1/24 dev d0
  for l in lo s0 d0; do ip -n cloud link set "$l" up; done
  systemctl is-active -q NetworkManager || systemctl start NetworkManager
  nmcli -w 10 general status >/dev/null 2>&1 || true
  nmcli device set c0 managed yes 2>/dev/null || true
  nmcli connection add type ethernet con-name lan ifname c0 ipv4.method manual ipv4.addresses 10.77.1.2/24 \
    ipv4.gateway 10.77.1.1 ipv6.method disabled >/dev/null
  nmcli -w 30 connection up lan >/dev/null
  check "client reaches the gateway through the NAT" ping -c1 -W3 "$GW"
}

# nft counters at the NAT: IKE packets that left the client (UDP 500 / 4500)
ike_packets() { ip netns exec nat nft list counter ip lab "$1" 2>/dev/null | awk '/packets/{print $2; exit}'; }
block_4500() { ip netns exec nat nft insert rule ip lab forward udp dport 4500 drop comment '"bh-block-4500"'; }
unblock_4500() {
  local h; h=$(ip netns exec nat nft -a list chain ip lab forward | awk '/bh-block-4500/{print $NF}')
  [ -n "$h" ] && ip netns exec nat nft delete rule ip lab forward handle "$h"
}

pki() {
  step "lab CA and certificates (ECDSA P-256, openssl)"
  local P=$LABV/pki; mkdir -p "$P"; chmod 700 "$P"; cd "$P" || return
  mkca() { # name cn
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
    openssl req -x509 -new -key "$1.key" -days 30 -subj "/O=Backhaul Lab/CN=$2" -out "$1.pem" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign 2>/dev/null
  }
  mkcert() { # name ca cn san eku
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
    openssl req -new -key "$1.key" -subj "/O=Backhaul Lab/CN=$3" -out "$1.csr" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=%s\nkeyUsage=digitalSignature\n' "$4" "$5" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 30 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  }
  mkca ca "Backhaul Lab CA"
  mkca rogue "Rogue Lab CA"
  mkcert server ca 203.0.113.2 "IP:203.0.113.2" "serverAuth"
  mkcert client ca client1.lab "DNS:client1.lab" "clientAuth"
  mkcert rogue-client rogue client1.lab "DNS:client1.lab" "clientAuth"
  # the user's copies, as a Backhaul config references them (key 0600 root-only)
  mkdir -p /etc/backhaul-lab; cp ca.pem client.pem rogue-client.pem /etc/backhaul-lab/
  install -m 600 client.key /etc/backhaul-lab/client.key
  install -m 600 rogue-client.key /etc/backhaul-lab/rogue-client.key
  cd / || return
  check "lab CA issued the server and client certificates" openssl verify -CAfile $P/ca.pem $P/server.pem $P/client.pem
}

servers() {
  step "cloud: L2TP/IPsec (PSK + certificate) and IKEv2 responder, xl2tpd + pppd, rclone serve restic"
  local E=/etc/netns/cloud
  rm -rf "$E" "$CLOUD_RUN"; mkdir -p "$E/ppp" "$E/xl2tpd" "$E/ipsec.d/certs" "$E/ipsec.d/private" "$E/ipsec.d/cacerts" \
    "$E/swanctl/x509" "$E/swanctl/x509ca" "$E/swanctl/private" "$CLOUD_RUN" "$LABV/repos"
  cp -a /etc/ppp/. "$E/ppp/"
  cp "$LABV/pki/server.pem" "$E/ipsec.d/certs/"; cp "$LABV/pki/server.key" "$E/ipsec.d/private/"
  cp "$LABV/pki/ca.pem" "$E/ipsec.d/cacerts/"
  cp "$LABV/pki/server.pem" "$E/swanctl/x509/"; cp "$LABV/pki/server.key" "$E/swanctl/private/"
  cp "$LABV/pki/ca.pem" "$E/swanctl/x509ca/"
  cat > "$E/ipsec.conf" <<'CONF'
config setup
  uniqueids=no

conn %default
  keyexchange=ikev1
  type=transport
  left=%any
  leftprotoport=17/1701
  right=%any
  rightprotoport=17/%any
  ike=aes256-sha256-modp2048,aes128-sha256-modp2048,aes256-sha1-modp2048,aes128-sha1-modp1024,3des-sha1-modp1024
  # modp2048: PFS for the profiles that ask for it (the doctor case)
  esp=aes256-sha256-modp2048,aes256-sha256,aes128-sha256,aes256-sha1,aes128-sha1,3des-sha1
  ikelifetime=24h
  lifetime=24h
  rekey=no
  dpdaction=clear
  dpddelay=30
  dpdtimeout=120
  auto=add

conn l2tp-psk
  authby=secret

conn l2tp-cert
  leftauth=pubkey
  rightauth=pubkey
  leftcert=server.pem
  rightca="O=Backhaul Lab, CN=Backhaul Lab CA"
CONF
  { printf '%%any %%any : PSK "%s"\n' "$PSK_CANARY"; printf ': ECDSA server.key\n'; } > "$E/ipsec.secrets"; chmod 600 "$E/ipsec.secrets"
  cat > "$E/swanctl/swanctl.conf" <<'CONF'
connections {
  ikev2-cert {
    version = 2
    local_addrs = 203.0.113.2
    pools = rw-pool
    send_cert = always
    proposals = aes256gcm16-prfsha256-ecp256,aes256-sha256-modp2048,aes128-sha256-modp2048
    local {
      auth = pubkey
      certs = server.pem
      id = 203.0.113.2
    }
    remote {
      auth = pubkey
      cacerts = ca.pem
    }
    children {
      net {
        local_ts = 10.99.0.0/24
        esp_proposals = aes256gcm16,aes256-sha256
      }
    }
  }
}
pools {
  rw-pool {
    addrs = 10.88.0.0/24
  }
}
CONF
  cat > "$E/strongswan.conf" <<CONF
charon {
  load_modular = yes
  filelog {
    cloud {
      path = $LABV/cloud-charon.log
      time_format = %T
      default = 1
      ike = 2
    }
  }
  plugins {
    include strongswan.d/charon/*.conf
  }
}
include strongswan.d/*.conf
CONF
  cat > "$E/xl2tpd/xl2tpd.conf" <<'CONF'
[global]
port = 1701

[lns default]
ip range = 192.168.42.10-192.168.42.250
local ip = 192.168.42.1
require chap = yes
refuse pap = yes
require authentication = yes
name = l2tpd
pppoptfile = /etc/ppp/options.xl2tpd
length bit = yes
CONF
  cat > "$E/ppp/options.xl2tpd" <<CONF
+mschap-v2
ipcp-accept-local
ipcp-accept-remote
noccp
auth
mtu 1400
mru 1400
proxyarp
lcp-echo-failure 4
lcp-echo-interval 30
connect-delay 5000
logfile $LABV/cloud-pppd.log
CONF
  printf '"%s" l2tpd "%s" *\n' "$VUSER" "$PASS_CANARY" > "$E/ppp/chap-secrets"; chmod 600 "$E/ppp/chap-secrets"
  local ts; ts=$(date +%s%N)
  cloud_run "ipsec start >/dev/null 2>&1; for i in \$(seq 1 60); do ipsec status >/dev/null 2>&1 && break; sleep 0.5; done; \
    mkdir -p /run/xl2tpd; xl2tpd -c /etc/xl2tpd/xl2tpd.conf -p /run/xl2tpd.pid -C /run/xl2tpd/l2tp-control -s /etc/ppp/chap-secrets"
  for _ in $(seq 1 40); do cloud_run "ipsec statusall 2>/dev/null | grep -q '^ *l2tp-cert:'" && break; sleep 0.5; done
  cloud_run "swanctl --load-all --noprompt" > "$LABV/cloud-swanctl-load.log" 2>&1
  timing server_start_s "$(el "$ts")"
  check "server: L2TP PSK and certificate conns loaded" cloud_run "ipsec statusall | grep -q '^ *l2tp-psk:' && ipsec statusall | grep -q '^ *l2tp-cert:'"
  check "server: IKEv2 responder loaded" cloud_run "swanctl --list-conns | grep -q ikev2-cert"
  check "server: xl2tpd running" test -s "$CLOUD_RUN/xl2tpd.pid"
  # the repository server: on the private subnet only (reachable through the tunnel) and, for the
  # throughput baseline, a second one on the public address (reachable through the NAT)
  ip netns exec cloud rclone serve restic --addr "$REPO_HOST:8000" "$LABV/repos" > "$LABV/rclone.log" 2>&1 &
  ip netns exec cloud rclone serve restic --addr "$GW:8001" "$LABV/repos" > "$LABV/rclone-public.log" 2>&1 &
  for _ in $(seq 1 60); do cloud bash -c "exec 3<>/dev/tcp/$REPO_HOST/8000" 2>/dev/null && break; sleep 0.5; done
  check "server: rclone serve restic answers on $REPO_HOST:8000 (cloud side)" cloud bash -c "exec 3<>/dev/tcp/$REPO_HOST/8000"
  check "the repository is NOT reachable from the client without a tunnel" bash -c "! timeout 5 bash -c 'exec 3<>/dev/tcp/$REPO_HOST/8000' 2>/dev/null"
}

# --------------------------------------------------------------------------------------- Backhaul
backhaul_setup() {
  step "Backhaul: the built project, secret files, data"
  if [ ! -e "$BH/dist/cli/bin.js" ]; then
    mkdir -p "$BH"; cp -a /project/dist "$BH/dist"; cp /project/package.json "$BH/"; ln -sfn /project/node_modules "$BH/node_modules"
  fi
  mkdir -p "$SEC" "$BHOME"; chmod 700 "$SEC"
  umask 077
  printf '%s\n' "$PSK_CANARY" > "$SEC/psk"; printf '%s\n' "$PASS_CANARY" > "$SEC/password"
  printf '%s\n' "$WRONG_PSK" > "$SEC/wrong-psk"; printf '%s\n' "$WRONG_PASS" > "$SEC/wrong-password"
  printf '%s\n' "$REPO_PW" > "$SEC/repo"
  umask 022
  check "node runs the built Backhaul" node "$BH/dist/cli/bin.js" --help
}

make_data() { # name MB
  local d=/var/tmp/labdata/$1; [ -d "$d" ] && return
  mkdir -p "$d"; head -c "$(( $2 * 1024 * 1024 ))" /dev/urandom > "$d/blob.bin"
  head -c 200000 /dev/urandom > "$d/small.bin"
}

# profile_yaml NAME TYPE DRIVER AUTH(psk|cert|rogue) [extra yaml lines…]
profile_yaml() {
  local name=$1 type=$2 driver=$3 auth=$4 gw=${GATEWAY:-$GW}; shift 4
  printf '  %s:\n    type: %s\n    driver: %s\n    gateways: [%s]\n    routes: [%s]\n' "$name" "$type" "$driver" "$gw" "$SPLIT"
  printf '    auth:\n'
  case $auth in
    psk)  printf '      method: psk\n      psk: file:%s\n' "${PSK_FILE:-$SEC/psk}" ;;
    cert) printf '      method: certificate\n      certificate: /etc/backhaul-lab/client.pem\n      key: file:/etc/backhaul-lab/client.key\n      ca: /etc/backhaul-lab/ca.pem\n' ;;
    rogue) printf '      method: certificate\n      certificate: /etc/backhaul-lab/rogue-client.pem\n      key: file:/etc/backhaul-lab/rogue-client.key\n      ca: /etc/backhaul-lab/ca.pem\n' ;;
  esac
  if [ "$type" = l2tp ]; then printf '      username: %s\n      password: file:%s\n' "$VUSER" "${PASS_FILE:-$SEC/password}"; fi
  local line; for line in "$@"; do printf '    %s\n' "$line"; done
}

# write_config CASE DATA REPO_URL PROFILE_NAME  (profile yaml on stdin)
write_config() {
  local case=$1 data=$2 repo=$3 profile=$4
  {
    printf 'version: 1\njobs:\n  %s:\n    sources: [/var/tmp/labdata/%s]\n    repository: %s\n' "$case" "$data" "$repo"
    printf '    password: file:%s\n    profile: %s\n    streams: 2\n' "$SEC/repo" "$profile"
    printf 'profiles:\n'; cat
  } > "$BHOME/$case.yaml"
}


# run_session CASE → runs `run CASE --foreground --json`, keeps its output in $OUT/sessions/CASE.jsonl,
# sets RC, END (done|failed|…), CODE (failure code), MESSAGE, CONNECT_S (connecting → backing-up)
run_session() {
  local case=$1; mkdir -p "$OUT/sessions"
  local ts cursor; ts=$(date +%s%N)
  cursor=$(journalctl -n 0 --show-cursor --no-pager 2>/dev/null | sed -n 's/^-- cursor: //p')
  timeout -k 10 "${SESSION_LIMIT:-900}" env BACKHAUL_LOG_LEVEL=debug BACKHAUL_HOME="$BHOME" node "$BH/dist/cli/bin.js" --home "$BHOME" \
    --config "$BHOME/$case.yaml" run "$case" --foreground --json > "$OUT/sessions/$case.jsonl" 2> "$OUT/sessions/$case.err"
  RC=$?
  SESSION_S=$(el "$ts")
  # what the VPN stack said during this session, for diagnosing the harness's own failures
  [ -n "$cursor" ] && journalctl --no-pager -o short-precise --after-cursor="$cursor" -t NetworkManager -t nm-l2tp-service \
    -t charon -t charon-nm -t ipsec_starter -t pppd -t xl2tpd > "$OUT/sessions/$case.journal" 2>&1
  eval "$(node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return {}; } });
    const end = lines.reverse().find((l) => l.type === "end")?.record ?? {};
    const at = (s) => Date.parse((end.states ?? []).find((x) => x.state === s)?.at ?? "");
    const q = (v) => "\x27" + String(v ?? "").replace(/\x27/g, "\x27\\\x27\x27") + "\x27";
    const connect = (at("backing-up") - at("connecting")) / 1000;
    const backup = (at("tearing-down") - at("backing-up")) / 1000;
    console.log(`END=${q(end.end)} CODE=${q(end.failure?.code)} MESSAGE=${q(end.failure?.message)} HINT=${q(end.failure?.hint)} CONNECT_S=${q(isNaN(connect) ? "" : connect.toFixed(1))} BACKUP_S=${q(isNaN(backup) ? "" : backup.toFixed(1))} BYTES=${q(end.summary?.bytesProcessed ?? "")} DURATION_S=${q(end.summary?.durationSeconds ?? "")}`);
    // the states passed, and each tunnel loss as cause:attempts:gaveUp-or-"repaired"
    console.log(`STATES=${q((end.states ?? []).map((s) => s.state).join(" "))} LOSSES=${q((end.tunnelLosses ?? []).map((l) => `${l.cause}:${l.attempts}:${l.gaveUp ?? "repaired"}`).join(","))}`);
  ' "$OUT/sessions/$case.jsonl")"
  echo "  session $case: rc=$RC end=$END code=$CODE connect+verify=${CONNECT_S}s backup=${BACKUP_S}s total=${SESSION_S}s"
  [ -z "$MESSAGE" ] || echo "  message: $MESSAGE"
}

# a repository created on the server side (the client reaches it only through the tunnel)
server_init() { rm -rf "$LABV/repos/$1"; RESTIC_PASSWORD=$REPO_PW restic --no-cache -r "$LABV/repos/$1" init >/dev/null 2>&1; }
# restic check on the server side, straight on the repository directory
server_check() { RESTIC_PASSWORD=$REPO_PW restic --no-cache -r "$LABV/repos/$1" check >/dev/null 2>&1; }

# --------------------------------------------------------------------------------------- canaries
canary_patterns() {
  local f=/dev/shm/bh-canaries s
  : > "$f"; chmod 600 "$f"
  for s in "$PSK_CANARY" "$PASS_CANARY" "$WRONG_PSK" "$WRONG_PASS"; do
    printf '%s\n' "$s"
    printf '%s' "$s" | base64 -w0; echo
    printf '%s' "$s" | od -An -tx1 | tr -d ' \n'; echo
    printf '%s' "$s" | od -An -tx1 | tr -d ' \n' | tr a-f A-F; echo
  done >> "$f"
}
# sample every process's argv and environment once a second (an nmcli up lasts seconds) until stopped
start_sampler() {
  rm -f /dev/shm/bh-stop-sampler "$OUT/canary-argv.txt"
  (
    while [ ! -e /dev/shm/bh-stop-sampler ]; do
      grep -l -a -F -f /dev/shm/bh-canaries /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | while read -r p; do
        echo "$p $(tr '\0' ' ' < "${p%/*}/cmdline" 2>/dev/null | cut -c1-200)" >> "$OUT/canary-argv.txt"
      done
      SAMPLES=$((${SAMPLES:-0}+1)); echo "$SAMPLES" > /dev/shm/bh-samples
      sleep 1
    done
  ) &
  SAMPLER=$!
}
stop_sampler() { touch /dev/shm/bh-stop-sampler; wait "$SAMPLER" 2>/dev/null; }

# files the canaries must never be left in (the user's own secret files and the server excluded)
canary_files() {
  grep -r -l -a -F -D skip -f /dev/shm/bh-canaries /run /etc /tmp /var/tmp /var/lib/NetworkManager /root "$BHOME" /var/log 2>/dev/null \
    | grep -v -E "^($SEC|/etc/netns/cloud|$CLOUD_RUN|/var/lib/lab/|$BH/test/lab/|/tmp/lab-guest/)" || true
}

# --------------------------------------------------------------------------------------- leftovers
# nothing of a session may stay: no active VPN, no ppp/ipsec interface, no split route, no SA or
# policy, no NM-l2tp run dir or secrets file, no private config dir, no nft table, no daemon
leftovers() {
  local found=""
  nmcli -t -f TYPE,STATE connection show --active 2>/dev/null | grep -q '^vpn:' && found+=" active-vpn"
  ip -o link show | grep -q -E ': (ppp|ipsec)[0-9]' && found+=" interface"
  [ -n "$(ip route show $SPLIT)" ] && found+=" route"
  [ -n "$(ip route show table 220 2>/dev/null | grep -v '^throw')" ] && found+=" table220"
  [ -n "$(ip xfrm state)" ] && found+=" xfrm-state"
  # Left out: charon-nm's bypass-lan policies (src = dst = a subnet on a local interface, e.g.
  # 10.77.1.0/24, fe80::/64): NetworkManager's strongSwan plugin keeps them for as long as it runs
  # (it stops ~3 min after the last VPN), they pass traffic in the clear to the LAN only, and they
  # are not Backhaul's to remove. A tunnel's own policy never has src = dst.
  local policies
  policies=$(ip xfrm policy | grep -v -E '^(src ::/0|src 0.0.0.0/0 dst 0.0.0.0/0)|socket (in|out)|^\s' \
    | awk '!($1 == "src" && $3 == "dst" && $2 == $4)' | tr '\n' ';')
  [ -n "$policies" ] && found+=" xfrm-policy($policies)"
  ls -d /run/nm-l2tp-* >/dev/null 2>&1 && found+=" nm-l2tp-rundir"
  [ -e /etc/ipsec.d/ipsec.nm-l2tp.secrets ] && found+=" nm-l2tp-secrets"
  [ -n "$(ls -A "$BHOME/state/tunnels" 2>/dev/null)" ] && found+=" swan-dir"
  nft list tables 2>/dev/null | grep -q backhaul_ && found+=" nft"
  pgrep -f "$BHOME/state/tunnels" >/dev/null && found+=" daemon"
  echo "${found# }"
}
# wait (bounded) until NetworkManager's plugins and charons of the client side have exited
settle_client() {
  local i
  for i in $(seq 1 60); do
    [ -z "$(leftovers)" ] && ! pgrep -x nm-l2tp-service >/dev/null && [ ! -e /run/starter.charon.pid ] && return 0
    sleep 0.5
  done
  echo "  settle: still present after 30 s: $(leftovers)"
  ipsec stop >/dev/null 2>&1 || true
  sleep 2
}
