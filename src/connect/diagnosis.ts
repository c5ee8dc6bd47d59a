/**
 * One table that turns what the Linux VPN stack says — nmcli exit codes, NetworkManager's VPN
 * state reasons, pppd exit status, charon / charon-nm / xl2tpd / pppd log lines — into "what
 * happened, likely cause, what to do". Log lines win over exit codes and reasons: nmcli prints the
 * same text for a wrong PSK and an unreachable gateway, only charon tells them apart
 * (`../shared/reference/lab.md`, recorded/linux/journalctl_*).
 */
import { TunnelError } from './driver.js';

export type EvidenceSource = 'nmcli-exit' | 'nm-reason' | 'pppd-exit' | 'log';

/** What a failed connect left behind for diagnosis. */
export interface Evidence {
  readonly nmcliExit?: number;
  /** The text after "Connection activation failed: " (NetworkManager's state reason). */
  readonly nmReason?: string;
  /** pppd's exit status (from xl2tpd's "pppd exited … with code N"), when known. */
  readonly pppdExit?: number;
  /** charon, charon-nm, xl2tpd, pppd and NetworkManager lines, oldest first. */
  readonly logLines: readonly string[];
}

export interface DiagnosisRule {
  /** Stable code (UI text, docs and tests key off it). */
  readonly code: string;
  readonly source: EvidenceSource;
  /** A log line / reason pattern, an exit code, or a check over all log lines. */
  readonly match: RegExp | number | ((lines: readonly string[]) => boolean);
  readonly what: string;
  readonly cause: string;
  readonly action: string;
}

export interface Diagnosis {
  readonly code: string;
  readonly what: string;
  readonly cause: string;
  readonly action: string;
  /** The line or value that decided it, for the log. */
  readonly evidence: string;
}

const natDetected = (lines: readonly string[]): boolean => lines.some((line) => /local host is behind NAT/.test(line));
const sentFrom4500 = (lines: readonly string[]): boolean => lines.some((line) => /sending packet: from \S+\[4500\]/.test(line));
const receivedOn4500 = (lines: readonly string[]): boolean => lines.some((line) => /received packet: from \S+\[4500\]/.test(line));
const receivedAny = (lines: readonly string[]): boolean => lines.some((line) => /received packet: from/.test(line));
const retransmitted = (lines: readonly string[]): boolean => lines.some((line) => /sending retransmit|retransmit \d+ of request|giving up after \d+ retransmits|peer not responding/.test(line));
const established = (lines: readonly string[]): boolean => lines.some((line) => /IKE_SA \S+ established|CHILD_SA \S+ established/.test(line));

const CHECK_PSK = 'Check that the profile\'s auth.psk file holds exactly the gateway\'s pre-shared key (no extra spaces).';
const CHECK_REACH = 'Check the gateway address, that the gateway is running, and that UDP ports 500 and 4500 are open on the way to it (firewall, router).';

/**
 * The table, most specific first: the first rule whose evidence is present decides. Log rules come
 * before NetworkManager reasons, which come before bare exit codes.
 */
export const diagnosisTable: readonly DiagnosisRule[] = [
  // --- charon (IKE) -------------------------------------------------------------------------
  {
    code: 'tunnel.wrong-psk', source: 'log', match: /invalid HASH_V1 payload length, decryption failed\?|could not decrypt payloads/,
    what: 'the gateway rejected the IPsec pre-shared key', cause: 'the pre-shared key does not match the gateway\'s, IKE phase 1 could not be decrypted', action: CHECK_PSK,
  },
  {
    code: 'tunnel.wrong-psk', source: 'log', match: /tried \d+ shared keys? for .* but MAC mismatched/,
    what: 'the gateway rejected the IPsec pre-shared key', cause: 'the pre-shared key does not match the gateway\'s', action: CHECK_PSK,
  },
  {
    code: 'tunnel.proposal-mismatch', source: 'log', match: /NO_PROPOSAL_CHOSEN|no (acceptable|matching) proposal found|received proposals? .* inacceptable/,
    what: 'the gateway accepted none of the offered cipher proposals', cause: 'the profile\'s IKE/ESP proposals and the gateway\'s do not overlap',
    action: 'Set profiles.<name>.ikeProposals / espProposals to proposals the gateway supports (ask its administrator); Backhaul refuses weak ones unless cipherPolicy is legacy.',
  },
  {
    code: 'tunnel.gateway-untrusted', source: 'log', match: /no trusted \S+ public key found for|is not trusted|no issuer certificate found|certificate .* (has expired|not valid)/,
    what: 'the gateway\'s certificate was not trusted', cause: 'auth.ca is not the CA that issued the gateway\'s certificate, or the gateway\'s identity differs from its address',
    action: 'Point auth.ca at the CA certificate that issued the gateway\'s certificate; if the certificate names the gateway differently, set auth.remoteId.',
  },
  {
    code: 'tunnel.auth-rejected', source: 'log', match: /received AUTHENTICATION_FAILED notify|AUTH_FAILED\)? ?\]? *$|authentication of .* failed/,
    what: 'the gateway rejected this machine\'s credentials', cause: 'the gateway does not accept this certificate or pre-shared key: an unknown CA, a revoked certificate or a wrong identity',
    action: 'Check that auth.certificate was issued by a CA the gateway trusts (or that auth.psk matches), and that the gateway has a connection for this identity.',
  },
  {
    code: 'tunnel.certificate-file', source: 'log', match: /Loading (gateway|peer) certificate failed|Loading private key failed|Certificate is missing|opening '[^']+' failed: No such file|building CRED_(CERTIFICATE|PRIVATE_KEY) .* failed/,
    what: 'a certificate or key file could not be loaded', cause: 'a path in auth — certificate, key or ca — is wrong or unreadable, or the key is encrypted',
    action: 'Check the auth.certificate, auth.key and auth.ca paths; the key must be an unencrypted PEM file readable by root (mode 0600).',
  },
  {
    code: 'tunnel.natt-blocked', source: 'log',
    match: (lines) => natDetected(lines) && sentFrom4500(lines) && !receivedOn4500(lines) && retransmitted(lines),
    what: 'IKE got through, then the gateway stopped answering on UDP 4500', cause: 'this machine is behind NAT and UDP port 4500, which NAT traversal needs, is blocked on the way to the gateway',
    action: 'Open UDP 4500 to the gateway in the local firewall/router (NAT traversal needs UDP 500 and 4500), or ask the network administrator to allow IPsec NAT-T.',
  },
  {
    code: 'tunnel.peer-timeout', source: 'log', match: (lines) => established(lines) && lines.some((line) => /giving up after \d+ retransmits|DPD.*(timeout|failed)|peer not responding/.test(line)),
    what: 'the gateway stopped answering after the tunnel was up', cause: 'the connection to the gateway dropped, e.g. a network change or a gateway restart, and dead-peer detection gave up',
    action: 'Check this machine\'s internet connection and the gateway; Backhaul reconnects on the next run.',
  },
  {
    code: 'tunnel.gateway-unreachable', source: 'log', match: (lines) => retransmitted(lines) && !receivedAny(lines),
    what: 'the gateway did not answer', cause: 'the gateway is down or unreachable, or UDP 500 is blocked on the way', action: CHECK_REACH,
  },
  {
    code: 'tunnel.ike-port-busy', source: 'log', match: /unable to bind socket|could not open socket|charon already running|unable to create socket/,
    what: 'the IPsec daemon could not start', cause: 'another IKE daemon, the system\'s strongSwan or libreswan, already uses UDP 500/4500',
    action: 'Stop the other IPsec service (systemctl stop strongswan-starter ipsec) or use a profile with driver: linux-nm.',
  },
  // --- pppd / xl2tpd (L2TP) --------------------------------------------------------------------
  {
    code: 'tunnel.wrong-password', source: 'log', match: /(MS-)?CHAP authentication failed|PAP authentication failed|EAP: peer reports authentication failure|authentication failed: Access denied/,
    what: 'the L2TP server rejected the user name or password', cause: 'auth.username or the password in auth.password is wrong, or the account is locked',
    action: 'Check auth.username and the password file auth.password points to.',
  },
  {
    code: 'tunnel.no-kernel-l2tp', source: 'log', match: /L2TP kernel support not detected|Couldn't open the \/dev\/ppp device|This system lacks kernel support for PPP/,
    what: 'the kernel cannot carry L2TP/PPP', cause: 'the l2tp_ppp / ppp_generic kernel modules are missing or blacklisted',
    action: 'Load them (sudo modprobe -a l2tp_ppp ppp_generic) and remove any blacklist entry for l2tp; containers need them on the host.',
  },
  {
    code: 'tunnel.l2tp-no-answer', source: 'log', match: /Maximum retries exceeded for tunnel|maximum retries exceeded|Unable to deliver closing message/,
    what: 'the IPsec tunnel came up but the L2TP server did not answer', cause: 'the gateway has no L2TP service on UDP 1701, or its firewall drops L2TP inside IPsec',
    action: 'Check that the gateway runs an L2TP server (xl2tpd, Windows RRAS, router L2TP) for IPsec clients.',
  },
  {
    code: 'tunnel.secrets-not-accepted', source: 'log', match: /final secrets request failed|failed to request VPN secrets|No agents were available for this request/,
    what: 'NetworkManager did not get the VPN secrets', cause: 'nmcli could not hand the secrets to the VPN plugin; for L2TP with a PSK it needs network-manager-l2tp-gnome, which lists the secrets nmcli fills in',
    action: 'Install network-manager-l2tp-gnome (sudo apt-get install -y network-manager-l2tp-gnome), or run backhaul doctor.',
  },
  {
    code: 'tunnel.nm-plugin-timeout', source: 'log', match: /failed to connect: 'Timeout was reached'/,
    what: 'NetworkManager gave up waiting for its VPN plugin', cause: 'the plugin needed more than the 10 s NetworkManager gives it to start IPsec: a busy machine, or a gateway that does not answer',
    action: 'Try again; if it keeps happening, check that the gateway answers (UDP 500/4500).',
  },
  // --- pppd exit status (pppd(8)) ----------------------------------------------------------------
  {
    code: 'tunnel.wrong-password', source: 'pppd-exit', match: 19,
    what: 'the L2TP server rejected the user name or password', cause: 'pppd could not authenticate to the peer, exit 19', action: 'Check auth.username and the password file auth.password points to.',
  },
  {
    code: 'tunnel.ppp-auth', source: 'pppd-exit', match: 11,
    what: 'PPP authentication failed', cause: 'the peer refused to authenticate itself, pppd exit 11', action: 'Check the L2TP server\'s PPP settings (it must authenticate with CHAP/MS-CHAPv2).',
  },
  {
    code: 'tunnel.ppp-negotiation', source: 'pppd-exit', match: 10,
    what: 'PPP negotiation failed', cause: 'pppd and the L2TP server agreed on no link options, pppd exit 10', action: 'Check MTU/MRU and authentication settings; the pppd log in the session log has details.',
  },
  {
    code: 'tunnel.peer-timeout', source: 'pppd-exit', match: 15,
    what: 'the L2TP server stopped answering', cause: 'PPP keepalive, LCP echo, got no answers: pppd exit 15', action: 'Check the connection to the gateway; Backhaul reconnects on the next run.',
  },
  {
    code: 'tunnel.no-kernel-l2tp', source: 'pppd-exit', match: 4,
    what: 'the kernel has no PPP support', cause: 'pppd exit 4: ppp_generic is missing', action: 'Load it: sudo modprobe -a ppp_generic l2tp_ppp.',
  },
  {
    code: 'tunnel.l2tp-hangup', source: 'pppd-exit', match: 16,
    what: 'the L2TP session was closed', cause: 'the L2TP tunnel below PPP went down, pppd exit 16', action: 'Check the gateway\'s L2TP server log; try again.',
  },
  // --- NetworkManager VPN state reasons (nm-vpn-dbus-interface.h) -------------------------------
  {
    code: 'tunnel.secrets-not-accepted', source: 'nm-reason', match: /^No valid secrets$/,
    what: 'NetworkManager did not get the VPN secrets', cause: 'nmcli could not hand the secrets to the VPN plugin', action: 'Install network-manager-l2tp-gnome, or run backhaul doctor.',
  },
  {
    code: 'tunnel.auth-failed', source: 'nm-reason', match: /^Invalid secrets$/,
    what: 'the gateway rejected the credentials', cause: 'a wrong password, pre-shared key or certificate', action: 'Check the profile\'s auth settings.',
  },
  {
    code: 'tunnel.connect-timeout', source: 'nm-reason', match: /^The connection attempt timed out$|^The VPN service did not start in time$/,
    what: 'the VPN did not come up in time', cause: 'the gateway did not answer in time, or the machine was too busy', action: CHECK_REACH,
  },
  {
    code: 'tunnel.vpn-failed', source: 'nm-reason', match: /^The VPN service failed to start$|^Unknown reason$|^The VPN service stopped unexpectedly$/,
    what: 'NetworkManager could not bring the VPN up', cause: 'the gateway refused or did not answer; the system journal has the reason',
    action: 'Run: journalctl -b -t charon -t charon-nm -t pppd -t NetworkManager | tail -50',
  },
  {
    code: 'tunnel.vpn-config', source: 'nm-reason', match: /^The VPN service returned invalid configuration$/,
    what: 'the gateway sent an unusable IP configuration', cause: 'no address was assigned: the address pool is exhausted or misconfigured', action: 'Check the gateway\'s address pool for VPN clients.',
  },
  {
    code: 'tunnel.base-network-down', source: 'nm-reason', match: /^The base network connection was interrupted$/,
    what: 'the network below the VPN went down', cause: 'Wi-Fi/Ethernet disconnected while connecting', action: 'Reconnect to the network and run the job again.',
  },
  // --- nmcli exit codes (nmcli(1)) -------------------------------------------------------------
  {
    code: 'tunnel.connect-timeout', source: 'nmcli-exit', match: 3,
    what: 'the VPN did not come up in time', cause: 'nmcli\'s --wait limit passed before NetworkManager reported success', action: CHECK_REACH,
  },
  {
    code: 'tunnel.nm-not-running', source: 'nmcli-exit', match: 8,
    what: 'NetworkManager is not running', cause: 'the NetworkManager service is stopped', action: 'Start it (sudo systemctl start NetworkManager) or use driver: linux-swan.',
  },
  {
    code: 'tunnel.profile-missing', source: 'nmcli-exit', match: 10,
    what: 'NetworkManager does not know the connection', cause: 'the VPN connection was deleted while Backhaul used it', action: 'Run the job again: Backhaul recreates it.',
  },
  {
    code: 'tunnel.bad-arguments', source: 'nmcli-exit', match: 2,
    what: 'nmcli refused the request', cause: 'an invalid value in the profile, or a bug in Backhaul', action: 'Run backhaul config validate; if the profile is valid, report the log.',
  },
  {
    code: 'tunnel.vpn-failed', source: 'nmcli-exit', match: 4,
    what: 'NetworkManager could not bring the VPN up', cause: 'the gateway refused or did not answer', action: 'Run: journalctl -b -t charon -t charon-nm -t pppd -t NetworkManager | tail -50',
  },
];

const FALLBACK: Diagnosis = {
  code: 'tunnel.connect-failed',
  what: 'the VPN could not be connected',
  cause: 'the VPN client reported an error Backhaul does not recognise',
  action: 'Run backhaul doctor; the session log has the VPN client\'s own output.',
  evidence: '',
};

/** The first rule of the table the evidence satisfies; a generic diagnosis when none does. */
export function diagnose(evidence: Evidence): Diagnosis {
  for (const rule of diagnosisTable) {
    const found = matchRule(rule, evidence);
    if (found !== undefined) return { code: rule.code, what: rule.what, cause: rule.cause, action: rule.action, evidence: found };
  }
  return FALLBACK;
}

function matchRule(rule: DiagnosisRule, evidence: Evidence): string | undefined {
  switch (rule.source) {
    case 'log': {
      if (typeof rule.match === 'function') return rule.match(evidence.logLines) ? 'log lines' : undefined;
      const pattern = rule.match;
      if (typeof pattern === 'number') return undefined;
      return evidence.logLines.find((line) => pattern.test(line));
    }
    case 'nm-reason':
      return rule.match instanceof RegExp && evidence.nmReason !== undefined && rule.match.test(evidence.nmReason) ? evidence.nmReason : undefined;
    case 'pppd-exit':
      return evidence.pppdExit !== undefined && rule.match === evidence.pppdExit ? `pppd exit ${evidence.pppdExit}` : undefined;
    case 'nmcli-exit':
      return evidence.nmcliExit !== undefined && rule.match === evidence.nmcliExit ? `nmcli exit ${evidence.nmcliExit}` : undefined;
  }
}

/** The user-facing error: `profile office: the gateway rejected … (likely cause: …)`, hint = what to do. */
export function diagnosisError(profile: string, diagnosis: Diagnosis): TunnelError {
  return new TunnelError(diagnosis.code, `profile ${profile}: ${diagnosis.what} (likely cause: ${diagnosis.cause})`, diagnosis.action);
}

/** "Connection activation failed: <reason>" → the reason; pppd's exit code from xl2tpd's line. */
export function nmcliReason(stderr: string): string | undefined {
  return /Connection activation failed: (.+)$/m.exec(stderr)?.[1]?.trim();
}

export function pppdExitFrom(lines: readonly string[]): number | undefined {
  for (const line of [...lines].reverse()) {
    const code = /pppd exited for call \S+ with code (\d+)|pppd exited with (?:status|code) (\d+)/.exec(line);
    if (code !== null) return Number(code[1] ?? code[2]);
  }
  return undefined;
}
