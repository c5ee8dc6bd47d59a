#!/bin/bash
# Ad-hoc probe of the lab (not part of the tiers): topology + servers, then whatever CMD says.
#   test/lab/run-vm.sh 'bash /project/test/lab/guest/debug.sh'
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf /tmp/lab-guest && cp -r "$HERE" /tmp/lab-guest
. /tmp/lab-guest/lib.sh
OUT=/labio
modules_and_warmup; topology; pki; servers
step "bare nmcli L2TP PSK"
nmcli connection add type vpn con-name dbg vpn-type l2tp vpn.data "gateway=$GW, user=$VUSER, password-flags=2, ipsec-enabled=yes, ipsec-psk-flags=2, ipsec-ike=aes256-sha256-modp2048!, ipsec-esp=aes256-sha256!, mtu=1400, mru=1400" \
  ipv4.never-default yes ipv4.routes "$SPLIT" ipv6.method ignore connection.autoconnect no >/dev/null
cur=$(journalctl -n0 --show-cursor | sed -n 's/^-- cursor: //p')
ts=$(date +%s%N)
nmcli -w 90 connection up id dbg passwd-file /dev/fd/3 3< <(printf 'vpn.secrets.password:%s\nvpn.secrets.ipsec-psk:%s\n' "$PASS_CANARY" "$PSK_CANARY"); echo "rc=$? in $(el "$ts")s"
journalctl --after-cursor="$cur" -o short-precise --no-pager -t NetworkManager -t nm-l2tp-service -t charon -t ipsec_starter -t pppd -t xl2tpd | cut -c1-220 | head -80
nmcli -w 30 connection down id dbg
step "swanctl L2TP conn load in a private charon"
d=/var/tmp/dbg-swan; mkdir -p "$d/run" "$d/swanctl"
printf '%s\n' "$PSK_CANARY" | node --input-type=module -e '
  import { readFileSync, writeFileSync } from "node:fs";
  const m = await import("/project/dist/connect/swan-config.js");
  const psk = readFileSync(0, "utf8").trim();
  const profile = { name: "dbg", type: "l2tp", gateways: ["203.0.113.2"], routes: [], fullTunnel: false, auth: { method: "psk", psk, username: "vpnuser" } };
  const p = m.swanPaths(process.argv[1]);
  writeFileSync(p.strongswanConf, m.strongswanConf(p, false)); writeFileSync(p.swanctlConf, m.swanctlConf(profile));' "$d"
STRONGSWAN_CONF=$d/strongswan.conf unshare --mount --propagation private -- sh -c 'mount --bind "$1" /run && exec /usr/lib/ipsec/charon' sh "$d/run" &
for _ in $(seq 1 100); do [ -S "$d/charon.vici" ] && break; sleep 0.2; done
swanctl --load-all --noprompt --uri "unix://$d/charon.vici" --file "$d/swanctl/swanctl.conf" 2>&1 | grep -v 'opening directory'
cat "$d/charon.log"
swanctl --initiate --child backhaul --ike backhaul --timeout 30 --uri "unix://$d/charon.vici" 2>&1 | tail -5
kill %1
