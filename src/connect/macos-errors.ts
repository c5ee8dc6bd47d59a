/**
 * One table from what macOS's `scutil --nc` says to "what happened, likely cause, what to do"
 * (formats from configd's nc.c and real captures: `../shared/reference/macos.md` §3, M2, M3).
 * `scutil --nc status` exits 0 whatever the state, so failures are read from stderr of
 * start/stop and from the status word a connect attempt ends in. macos.md documents no table of
 * `LastCause` values, so one is reported as printed, never interpreted; a status word or message
 * the table doesn't know becomes `tunnel.macos-unknown` with the raw text kept.
 */
import type { Diagnosis } from './diagnosis.js';
import { TunnelError } from './driver.js';
import type { NcStatus } from './macos-scutil.js';

/** What a failed step left for diagnosis. */
export type MacosEvidence =
  /** `scutil --nc start|status|stop` exited non-zero: its stderr (and stdout, for the few tools that print there). */
  | { readonly kind: 'command'; readonly verb: 'start' | 'status' | 'stop' | 'list'; readonly exitCode: number | null; readonly output: string }
  /** A connect attempt ended (or was given up) in this status. */
  | { readonly kind: 'attempt'; readonly status: NcStatus; readonly timedOut: boolean; readonly type: 'l2tp' | 'ikev2' }
  /** Connected, but the extended status names no interface for an L2TP (PPP) service. */
  | { readonly kind: 'no-interface'; readonly status: NcStatus };

/** A diagnosis plus the raw text it came from, kept verbatim for the log and the user. */
export interface MacosDiagnosis extends Diagnosis {
  /** False for `tunnel.macos-unknown`: the table did not recognise the evidence. */
  readonly known: boolean;
  readonly raw: string;
}

interface Row {
  readonly code: string;
  readonly match: (evidence: MacosEvidence) => string | undefined;
  readonly what: string;
  readonly cause: string;
  readonly action: string;
}

const commandLine = (verb: string, pattern: RegExp) => (evidence: MacosEvidence): string | undefined =>
  evidence.kind === 'command' && (verb === '*' || evidence.verb === verb) ? pattern.exec(evidence.output)?.[0] : undefined;

const INSTALL = 'Run the job again: Backhaul writes this VPN\'s profile to its state directory (macos/) and names the file; open it, then System Settings → Privacy & Security → Profiles (macOS 15: General → Device Management) → Install; or have IT deploy it through MDM.';
const CHECK_REACH = 'Check the gateway address, that the gateway is running, and that UDP ports 500 and 4500 (and 1701 inside IPsec for L2TP) are open on the way to it.';

/** The table, most specific first: the first row that matches decides. */
export const macosTable: readonly Row[] = [
  {
    code: 'tunnel.macos-duplicate-service', match: commandLine('*', /Multiple services match/),
    what: 'macOS has more than one VPN service with this name', cause: 'the profile was installed twice, or a VPN with the same name was created by hand; scutil then treats the name as not found',
    action: 'Remove the duplicate in System Settings → VPN (or Profiles) so only Backhaul\'s service has this name.',
  },
  {
    code: 'tunnel.macos-no-service', match: commandLine('*', /No service/),
    what: 'macOS has no VPN service with this name', cause: 'Backhaul\'s profile is not installed or was removed — or, for IKEv2, macOS does not show profile-installed IKEv2 services to scutil (reported on macOS 10.11 and again in 2023)',
    action: `${INSTALL} For IKEv2, if the VPN is installed and still not found, use an L2TP profile on this Mac or connect the VPN by hand before the job runs.`,
  },
  {
    code: 'tunnel.macos-start-refused', match: commandLine('start', /Could not start connection: .*/),
    what: 'macOS refused to start the VPN', cause: 'the system\'s own reason is in the message (SCNetworkConnectionStart failed)',
    action: 'Try connecting once from System Settings → VPN to see macOS\'s explanation; reinstall the profile if it says the configuration is invalid.',
  },
  {
    code: 'tunnel.macos-stop-refused', match: commandLine('stop', /Could not stop connection: .*/),
    what: 'macOS refused to stop the VPN', cause: 'the system\'s own reason is in the message (SCNetworkConnectionStop failed)',
    action: 'Disconnect it in System Settings → VPN.',
  },
  {
    code: 'tunnel.macos-service-invalid', match: (evidence) => (evidence.kind === 'attempt' && evidence.status.status === 'Invalid' ? evidence.status.firstLine : undefined),
    what: 'macOS reports the VPN service as invalid', cause: 'its configuration is incomplete or was damaged (the text after "Invalid" is macOS\'s reason)',
    action: `Remove the VPN in System Settings and install Backhaul's profile again. ${INSTALL}`,
  },
  {
    code: 'tunnel.macos-no-interface', match: (evidence) => (evidence.kind === 'no-interface' ? evidence.status.firstLine : undefined),
    what: 'the VPN connected but macOS named no tunnel interface', cause: 'the extended status had no IPv4 InterfaceName, so routes and MTU can\'t be applied',
    action: 'Run the job again; if it repeats, report the session log (it holds scutil\'s output).',
  },
  {
    code: 'tunnel.macos-connect-timeout',
    match: (evidence) => (evidence.kind === 'attempt' && evidence.timedOut && ['Connecting', 'Disconnecting', 'Disconnected'].includes(evidence.status.status) ? evidence.status.firstLine : undefined),
    what: 'the VPN did not come up in time', cause: 'the gateway did not answer, or answered too slowly', action: CHECK_REACH,
  },
  {
    code: 'tunnel.macos-connect-failed',
    match: (evidence) => (evidence.kind === 'attempt' && ['Disconnected', 'Disconnecting'].includes(evidence.status.status) ? evidence.status.firstLine : undefined),
    what: 'the VPN went back to Disconnected', cause: 'the gateway refused the connection or did not answer; scutil reports no reason (macOS logs it in /var/log/ppp.log when PPP logging is on)',
    action: `Connect once from System Settings → VPN to see macOS's message. ${CHECK_REACH} For L2TP, a known macOS issue is a start without the shared secret ("The IPSec Shared Secret is missing"): reinstall the profile.`,
  },
];

const UNKNOWN = {
  code: 'tunnel.macos-unknown',
  what: 'macOS reported something Backhaul does not recognise',
  cause: 'unknown: the text is kept as macOS printed it',
  action: 'Run backhaul doctor; report the session log (it holds scutil\'s output) if this repeats.',
};

/** The raw text evidence carries, for the log and the unknown case. */
function rawOf(evidence: MacosEvidence): string {
  if (evidence.kind === 'command') return `scutil --nc ${evidence.verb} (exit ${evidence.exitCode ?? 'none'}): ${evidence.output.trim()}`;
  const { status } = evidence;
  const cause = status.lastCause === undefined ? '' : `; LastCause ${status.lastCause} (no documented meaning; kept as printed)`;
  return `scutil --nc status: ${status.firstLine}${cause}`;
}

/** The first row that matches; `tunnel.macos-unknown` (raw text kept) when none does. Never throws. */
export function diagnoseMacos(evidence: MacosEvidence): MacosDiagnosis {
  const raw = rawOf(evidence);
  for (const row of macosTable) {
    const found = row.match(evidence);
    if (found !== undefined) return { code: row.code, what: row.what, cause: row.cause, action: row.action, evidence: found, known: true, raw };
  }
  return { ...UNKNOWN, evidence: raw, known: false, raw };
}

/** The user-facing error; the raw text is always in the message, so nothing macOS said is lost. */
export function macosError(profile: string, diagnosis: MacosDiagnosis): TunnelError {
  return new TunnelError(diagnosis.code, `profile ${profile}: ${diagnosis.what} (likely cause: ${diagnosis.cause}) — ${diagnosis.raw}`, diagnosis.action);
}
