# Sourced by lab.sh after the sessions (guest, root): `backhaul doctor` against the lab's real
# L2TP/IPsec — NetworkManager's l2tp plugin on the client, strongSwan (IKEv1) + xl2tpd in "cloud",
# the repository behind the tunnel. The same checklist the host fault lab runs against userspace
# IKEv2 (test/faults/tier/doctor.test.ts), here with the kernel's ESP, pppd and the product's main
# tunnel type. First every item passes; then each is broken on purpose — UDP 4500 dropped at the
# NAT, a weak proposal, a 1280-byte client link with fragments dropped at the NAT, an expired client
# certificate, a wrong repository password — and must fail with its fix. Every report is checked
# against doctor's JSON schema, and no run may leave a tunnel behind. Case name: doctor.

DOC_CASE=doctor
DOC_PROFILE=p-doctor

# run_doctor LABEL → $OUT/doctor/LABEL.{json,err,tsv}, DOC_RC, DOC_TSV (id <TAB> "status: evidence | fix: …")
run_doctor() {
  local label=$1 d=$OUT/doctor; mkdir -p "$d"
  local ts; ts=$(date +%s%N)
  timeout -k 10 900 env BACKHAUL_HOME="$BHOME" node "$BH/dist/cli/bin.js" --home "$BHOME" --config "$BHOME/$DOC_CASE.yaml" \
    doctor "$DOC_CASE" --json --max-credential-age 365 > "$d/$label.json" 2> "$d/$label.err"
  DOC_RC=$?
  timing "doctor_${label}_s" "$(el "$ts")"
  DOC_TSV=$d/$label.tsv
  # Validated with the schema the CLI exports (src/agent/doctor/report-schema.ts), from the same dist.
  if BH=$BH node --input-type=module -e '
    const { readFileSync } = await import("node:fs");
    const { DoctorReportSchema } = await import(`${process.env.BH}/dist/agent/doctor/report-schema.js`);
    const parsed = DoctorReportSchema.safeParse(JSON.parse(readFileSync(process.argv[1], "utf8")));
    if (!parsed.success) { console.error(parsed.error.message); process.exit(1); }
    const one = (s) => String(s ?? "").replace(/[\t\n]/g, " ");
    for (const c of parsed.data.reports.flatMap((r) => r.checks)) {
      console.log(`${c.id}\t${c.status}: ${one(c.evidence)}${c.fix === undefined ? "" : ` | fix: ${one(c.fix)}`}`);
    }
  ' "$d/$label.json" > "$DOC_TSV" 2> "$d/$label.schema-err"; then
    ok "doctor $label: --json output matches doctor's schema (exit $DOC_RC)"
  else
    bad "doctor $label: --json output does not match the schema: $(head -c 300 "$d/$label.schema-err") / stderr: $(head -c 300 "$d/$label.err")"
  fi
  settle_client
  local left; left=$(leftovers)
  if [ -z "$left" ]; then ok "doctor $label: took its tunnel down, nothing left"; else bad "doctor $label: left:$left"; fi
}

# the item's "status: evidence | fix: …" line of the last run, or "missing"
doc_item() { awk -F'\t' -v id="$1" '$1 == id { print $2; found = 1 } END { if (!found) print "missing" }' "$DOC_TSV"; }
# expect_item ID ERE [what]: the item of the last run matches the (bash) regular expression
expect_item() {
  local got; got=$(doc_item "$1")
  if [[ $got =~ $2 ]]; then ok "doctor $DOC_LABEL: $1 ${3:-matches} — $got"; else bad "doctor $DOC_LABEL: $1 expected /$2/, got: $got"; fi
}
expect_exit() { if [ "$DOC_RC" = "$1" ]; then ok "doctor $DOC_LABEL: exit code $1"; else bad "doctor $DOC_LABEL: exit code $DOC_RC, expected $1 ($(head -c 300 "$OUT/doctor/$DOC_LABEL.err"))"; fi; }

doctor_config() { # [cert key] — the doctor job's config, the client certificate by default
  local cert=${1:-/etc/backhaul-lab/client-400d.pem} key=${2:-/etc/backhaul-lab/client.key}
  # PFS on (an ESP proposal with a DH group; the gateway's l2tp conns offer aes256-sha256-modp2048).
  profile_yaml "$DOC_PROFILE" l2tp linux-nm cert 'espProposals: [aes256-sha256-modp2048]' \
    | sed -e "s|/etc/backhaul-lab/client.pem|$cert|" -e "s|file:/etc/backhaul-lab/client.key|file:$key|" \
    | write_config "$DOC_CASE" d1 "rest:http://$REPO_HOST:8000/$DOC_CASE" "$DOC_PROFILE"
  # restic 0.18 when run.sh bundled it (the host's pinned copy): Debian 12's 0.14 is "older than 0.16".
  if [ -x "$BH/restic-0.18.0" ]; then printf 'settings:\n  resticPath: %s\n' "$BH/restic-0.18.0" >> "$BHOME/$DOC_CASE.yaml"; fi
}

doctor_cases() {
  wanted "$DOC_CASE" || return 0
  step "doctor: the checklist against the lab's L2TP/IPsec (linux-nm, certificates), then broken on purpose"
  make_data d1 1
  server_init "$DOC_CASE"
  # The lab's certificates live 30 days, which doctor rightly warns about: one for 400 days from
  # the same CA and key; and an expired one with a key of its own (the gateway must not find the
  # valid certificate of the same key in its cache).
  ( cd "$LABV/pki" || exit 1
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 400 -extfile client.ext -out client-400d.pem 2>/dev/null
    printf '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\norganizationName=optional\ncommonName=supplied\n[ext]\nsubjectAltName=DNS:client1.lab\nextendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n' > expired.cnf
    : > index.txt; echo 1000 > serial
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out expired.key 2>/dev/null
    openssl req -new -key expired.key -subj "/O=Backhaul Lab/CN=client1.lab" -out expired.csr 2>/dev/null
    openssl ca -batch -config expired.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
      -startdate 20240101000000Z -enddate 20240201000000Z -notext -extensions ext 2>/dev/null )
  cp "$LABV/pki/client-400d.pem" "$LABV/pki/expired.pem" /etc/backhaul-lab/
  install -m 600 "$LABV/pki/expired.key" /etc/backhaul-lab/expired.key
  check "doctor: a 400-day and an expired client certificate from the lab CA" sh -c \
    "openssl verify -CAfile $LABV/pki/ca.pem /etc/backhaul-lab/client-400d.pem && openssl x509 -in /etc/backhaul-lab/expired.pem -noout -enddate | grep -q 'Feb  1 00:00:00 2024'"
  local base; base=$(printf '%s' "$GW" | sed 's/\./\\./g')

  DOC_LABEL=healthy; doctor_config; run_doctor "$DOC_LABEL"
  local id
  for id in host.logs-metrics host.credential-age repository.restic vpn.auth vpn.ciphers vpn.keepalive network.gateway-dns \
      network.ike-500 network.ike-4500 network.nat-t network.tunnel network.routes network.mtu repository.access; do
    expect_item "$id" '^pass: ' passes
  done
  expect_item host.aes '^(pass|warn): ' 'answers (the emulated CPU decides)'
  expect_item host.full-disk-access '^skip: macOS only$'
  expect_item vpn.auth '^pass: certificate authentication; O=Backhaul Lab, CN=client1\.lab, valid until .* \((39[0-9]|400) days\)$'
  expect_item vpn.ciphers 'PFS on$'
  expect_item network.ike-500 "^pass: $base: IKE_SA_INIT response, proposal accepted$"
  # The client (10.77.1.2) is masqueraded to 203.0.113.1 by the lab's NAT; the gateway's own
  # NAT_DETECTION hash says so (its charon uses the kernel's ESP, so no forced encapsulation here).
  expect_item network.nat-t '^pass: NAT detected: this machine \(10\.77\.1\.2\) is behind a NAT; UDP 4500 answers'
  expect_item network.tunnel '^pass: up with the linux-nm driver'
  expect_item network.routes "^pass: .*10\\.99\\.0\\.1.*$(printf '%s' "$SPLIT" | sed 's/\./\\./g')"
  expect_item repository.access "^pass: rest:http://10\\.99\\.0\\.1:8000/$DOC_CASE: .*the password opens it; 0 snapshots$"
  expect_exit 0

  DOC_LABEL=udp4500-blocked; block_4500; run_doctor "$DOC_LABEL"; unblock_4500
  expect_item network.ike-500 '^pass: '
  # (an L2TP profile's gateway may be IKEv1-only, but this one answered IKEv2 on 500: a blocked port)
  expect_item network.ike-4500 "^fail: $base: no answer within 6 s \\(3 tries\\) \\(the same gateway answers IKEv2 on UDP 500, so UDP 4500 is blocked on the way\\) \\| fix: UDP 4500 carries IKE and ESP once a NAT is detected.*Allow UDP 4500 outbound"
  expect_item network.nat-t "^fail: NAT detected: .*but UDP 4500 to $base gets no IKE answer \\| fix: Behind a NAT, IKE and ESP move to UDP 4500 \\(NAT-T\\): allow UDP 4500"
  expect_item network.tunnel '^fail: '
  expect_item repository.access '^skip: the tunnel is not up'
  expect_exit 1

  DOC_LABEL=weak-proposal
  doctor_config; sed -i "s|^    espProposals:|    ikeProposals: [3des-sha1-modp1024]\n    espProposals:|" "$BHOME/$DOC_CASE.yaml"
  local before after; before=$(( $(ike_packets ike500) + $(ike_packets ike4500) ))
  run_doctor "$DOC_LABEL"
  after=$(( $(ike_packets ike500) + $(ike_packets ike4500) ))
  expect_item vpn.ciphers "^fail: IKE 3des-sha1-modp1024; .*3des: 3DES has a 64-bit block.*sha1: SHA-1 is deprecated.*modp1024: DH group 2 \\(1024-bit\\) is below group 14 \\| fix: Use strong proposals in profiles\\.$DOC_PROFILE\\.ikeProposals"
  expect_item network.tunnel '^fail: tunnel\.weak-cipher: '
  # The probe offers Backhaul's strong defaults (never the weak proposal): 3 tries at most on each
  # port; the tunnel itself sent nothing.
  expect_item network.ike-500 '^pass: '
  if [ $((after - before)) -le 6 ]; then ok "doctor weak-proposal: only the probe's IKE packets left the client ($before -> $after)"; else bad "doctor weak-proposal: $((after - before)) IKE packets left the client"; fi
  expect_exit 1

  DOC_LABEL=tiny-mtu; doctor_config
  # 1280 on the client's link, fragments dropped at the NAT: IKE and L2TP control still fit, the
  # large ESP packets of full-size tunnel packets don't.
  ip link set c0 mtu 1280
  ip netns exec nat nft -f - <<'NFT'
table ip bhfrag {
  chain pre {
    type filter hook prerouting priority -450; policy accept;
    ip frag-off & 0x3fff != 0 drop
  }
}
NFT
  run_doctor "$DOC_LABEL"
  ip link set c0 mtu 1500; ip netns exec nat nft delete table ip bhfrag
  expect_item network.tunnel '^pass: '
  expect_item network.mtu "^fail: only [0-9]+ bytes cross the tunnel to 10\\.99\\.0\\.1 with don't-fragment set, but the MTU in force is [0-9]+ .* \\| fix: Set profiles\\.$DOC_PROFILE\\.mtu: [0-9]+ and profiles\\.$DOC_PROFILE\\.mssClamp: true"
  local measured; measured=$(doc_item network.mtu | sed -n 's/^fail: only \([0-9]*\) bytes.*/\1/p')
  if [ -n "$measured" ] && [ "$measured" -lt 1280 ] && [ "$measured" -gt 1000 ]; then ok "doctor tiny-mtu: measured $measured bytes (under the 1280-byte link, above the encapsulation's cost)"; else bad "doctor tiny-mtu: measured '$measured'"; fi
  expect_exit 1

  DOC_LABEL=expired-cert; doctor_config /etc/backhaul-lab/expired.pem /etc/backhaul-lab/expired.key; run_doctor "$DOC_LABEL"
  expect_item vpn.auth '^fail: O=Backhaul Lab, CN=client1\.lab: expired on 2024-02-01T00:00:00\.000Z \| fix: Renew the certificate'
  expect_item network.tunnel '^fail: '
  expect_exit 1

  DOC_LABEL=wrong-password; doctor_config
  cp "$SEC/repo" "$SEC/repo.right"; printf 'not-the-lab-password\n' > "$SEC/repo"
  run_doctor "$DOC_LABEL"
  mv "$SEC/repo.right" "$SEC/repo"
  expect_item network.tunnel '^pass: '
  expect_item repository.access "^fail: rest:http://10\\.99\\.0\\.1:8000/$DOC_CASE: backup\\.wrong-password: restic could not open the repository with this password\\. \\| fix: Set the password the repository was created with"
  check "doctor wrong-password: the wrong password is not in doctor's output" sh -c "! grep -q not-the-lab-password $OUT/doctor/$DOC_LABEL.json $OUT/doctor/$DOC_LABEL.err"
  expect_exit 1
  for f in $BHOME/logs/backhaul-*.log; do mv "$f" "$f.doctor"; done 2>/dev/null
}
