/**
 * One table for Windows' Remote Access (RAS) and IKE error codes, as `rasdial` prints them
 * (`Remote Access error 809 - <text>`, `../shared/reference/windows.md` §5, W1–W3) → "what
 * happened, likely cause, what to do", in the shape of the Linux table (diagnosis.ts). Where a
 * code means what a Linux diagnosis means, it shares that stable code (wrong password, proposal
 * mismatch, gateway unreachable), so hints and the UI treat both alike. Texts: windows.md §6.
 */
import type { Diagnosis } from './diagnosis.js';

export interface RasErrorRule {
  readonly ras: number;
  /** raserror.h / winerror.h symbol, where windows.md names one. */
  readonly symbol?: string;
  readonly code: string;
  readonly what: string;
  readonly cause: string;
  readonly action: string;
  /** False when retrying can't help or does harm (691: account lockout). */
  readonly retry: boolean;
}

/** A diagnosis of a failed dial: the table's row, or a typed unknown keeping rasdial's own text. */
export interface RasDiagnosis extends Diagnosis {
  /** The RAS code, when one was found in the output or the exit status. */
  readonly ras?: number;
  readonly known: boolean;
  readonly retry: boolean;
}

const NATT_RULE = 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent\\AssumeUDPEncapsulationContextOnSendRule';
const CHECK_PSK = 'Check that auth.psk holds exactly the gateway\'s pre-shared key.';

export const rasErrorTable: readonly RasErrorRule[] = [
  {
    ras: 87, symbol: 'ERROR_INVALID_PARAMETER', code: 'tunnel.wan-miniport', retry: false,
    what: 'Windows refused the IKEv2 connection with "The parameter is incorrect"', cause: 'the WAN Miniport network adapters are broken',
    action: 'In Device Manager, uninstall the "WAN Miniport (IKEv2)" and "(IP)" adapters and scan for hardware changes (or reboot), then try again.',
  },
  {
    ras: 619, symbol: 'ERROR_PORT_DISCONNECTED', code: 'tunnel.ipsec-not-established', retry: true,
    what: 'the connection was closed before IPsec came up', cause: 'UDP 500/4500/1701 is blocked, the pre-shared key is wrong, or NAT traversal is off for a gateway behind NAT',
    action: `${CHECK_PSK} Open UDP 500, 4500 and 1701 on the way to the gateway; behind NAT see ${NATT_RULE}.`,
  },
  {
    ras: 623, code: 'tunnel.profile-missing', retry: false,
    what: 'Windows has no VPN entry of that name', cause: 'the entry was deleted, or it is in the other phone book (all-users vs. per-user)',
    action: 'Run the job again: Backhaul recreates its entry. A per-user entry is only found when the agent runs as that user.',
  },
  {
    ras: 628, code: 'tunnel.profile-mismatch', retry: false,
    what: 'the gateway ended the connection before it was complete', cause: 'the entry\'s tunnel type or authentication does not match the gateway',
    action: 'Check the profile\'s type (l2tp / ikev2) and auth against the gateway\'s settings.',
  },
  {
    ras: 691, symbol: 'ERROR_AUTHENTICATION_FAILURE', code: 'tunnel.wrong-password', retry: false,
    what: 'the VPN server rejected the user name or password', cause: 'auth.username or the password is wrong, or the server does not allow MS-CHAPv2',
    action: 'Check auth.username and the password file auth.password points to; Backhaul does not retry (the account could be locked).',
  },
  {
    ras: 720, symbol: 'ERROR_PPP_NO_PROTOCOLS_CONFIGURED', code: 'tunnel.ppp-negotiation', retry: false,
    what: 'the PPP link inside the tunnel could not be set up', cause: 'the server has no free addresses for VPN clients, or IP settings do not match',
    action: 'Ask the gateway\'s administrator to check its client address pool; on this machine, resetting the WAN Miniport adapters can help.',
  },
  {
    ras: 766, code: 'tunnel.certificate-missing', retry: false,
    what: 'Windows found no machine certificate for L2TP/IPsec', cause: 'the entry has no pre-shared key, so Windows wants a computer certificate',
    action: 'Give the profile auth.psk, or import this machine\'s certificate into the Local Computer\'s Personal store.',
  },
  {
    ras: 787, symbol: 'ERROR_OAKLEY_AUTH_FAIL', code: 'tunnel.ipsec-auth-failed', retry: false,
    what: 'IPsec could not authenticate the gateway', cause: 'the pre-shared key does not match, or the gateway\'s certificate is not trusted',
    action: `${CHECK_PSK} With certificates, trust the CA that issued the gateway's certificate.`,
  },
  {
    ras: 788, symbol: 'ERROR_OAKLEY_ATTRIB_FAIL', code: 'tunnel.proposal-mismatch', retry: false,
    what: 'the gateway accepted none of the offered cipher proposals', cause: 'the profile\'s IKE/ESP proposals and the gateway\'s do not overlap',
    action: 'Set profiles.<name>.ikeProposals / espProposals to proposals the gateway supports and Windows can express (see docs/cipher-policy.md).',
  },
  {
    ras: 789, symbol: 'ERROR_OAKLEY_GENERAL_PROCESSING', code: 'tunnel.ipsec-negotiation', retry: false,
    what: 'IPsec negotiation with the gateway failed', cause: 'usually a pre-shared key or proposal mismatch; behind NAT, the missing NAT-T registry value',
    action: `${CHECK_PSK} Check the proposals; behind NAT see ${NATT_RULE}.`,
  },
  {
    ras: 792, symbol: 'ERROR_OAKLEY_TIMED_OUT', code: 'tunnel.ike-timeout', retry: true,
    what: 'IPsec negotiation timed out', cause: 'IKE packets are lost on the way: a firewall or NAT drops UDP 500/4500',
    action: 'Open UDP 500 and 4500 to the gateway.',
  },
  {
    ras: 797, code: 'tunnel.device-unavailable', retry: true,
    what: 'Windows could not use its VPN device', cause: 'the WAN Miniport for this tunnel type is busy or missing',
    action: 'Disconnect other VPN connections, or reset the WAN Miniport adapters in Device Manager.',
  },
  {
    ras: 800, symbol: 'ERROR_AUTOMATIC_VPN_FAILED', code: 'tunnel.vpn-tunnels-failed', retry: true,
    what: 'no VPN tunnel to the gateway could be set up', cause: 'the gateway is unreachable, or the IPsec settings are not what the gateway expects',
    action: 'Check the gateway address and that it is running; then the PSK or certificate and the proposals.',
  },
  {
    ras: 809, symbol: 'ERROR_VPN_TIMEOUT', code: 'tunnel.gateway-unreachable', retry: true,
    what: 'the gateway did not answer', cause: `UDP 500/4500 is blocked, or the gateway (or this machine) is behind NAT and ${NATT_RULE} is not 2`,
    action: `Open UDP 500 and 4500; behind NAT an administrator sets ${NATT_RULE} to 2 (REG_DWORD) and reboots — Backhaul never changes it.`,
  },
  {
    ras: 812, symbol: 'ERROR_SERVER_POLICY', code: 'tunnel.auth-method-mismatch', retry: false,
    what: 'the VPN server\'s policy refused the connection', cause: 'the server verifies passwords with another method than the entry offers (MS-CHAPv2)',
    action: 'Ask the gateway\'s administrator which authentication method it requires.',
  },
  {
    ras: 817, symbol: 'ERROR_CANNOT_DELETE', code: 'tunnel.still-connected', retry: true,
    what: 'the VPN entry could not be removed while connected', cause: 'the tunnel is still up',
    action: 'Disconnect it first (rasdial NAME /disconnect).',
  },
  {
    ras: 827, symbol: 'ERROR_IPSEC_SERVICE_STOPPED', code: 'tunnel.ipsec-service-stopped', retry: false,
    what: 'Windows\' IPsec services are not running', cause: 'the "IKE and AuthIP IPsec Keying Modules" (IKEEXT) or "Base Filtering Engine" (BFE) service is stopped or disabled',
    action: 'Start both services (services.msc) and set them to Automatic.',
  },
  {
    ras: 868, symbol: 'ERROR_DNSNAME_NOT_RESOLVABLE', code: 'tunnel.gateway-dns', retry: true,
    what: 'the gateway\'s name did not resolve', cause: 'DNS is not reachable or the name in gateways is wrong',
    action: 'Check the name in profiles.<name>.gateways and this machine\'s DNS, or use the gateway\'s IP address.',
  },
  {
    ras: 13801, symbol: 'ERROR_IPSEC_IKE_AUTH_FAIL', code: 'tunnel.gateway-untrusted', retry: false,
    what: 'the gateway\'s IKE credentials were not accepted', cause: 'the gateway address differs from the name in its certificate, or its CA is not trusted by this machine',
    action: 'Use exactly the name in the gateway\'s certificate as the gateway, and import its CA into the Local Computer\'s Trusted Root store.',
  },
  {
    ras: 13806, symbol: 'ERROR_IPSEC_IKE_NO_CERT', code: 'tunnel.no-machine-certificate', retry: false,
    what: 'IKE found no valid machine certificate', cause: 'this machine\'s certificate is not in the Local Computer\'s Personal store, or has no private key',
    action: 'Import the client certificate with its key (a .p12) into Local Computer > Personal.',
  },
  {
    ras: 13868, symbol: 'ERROR_IPSEC_IKE_POLICY_MATCH', code: 'tunnel.proposal-mismatch', retry: false,
    what: 'the gateway accepted none of the offered cipher proposals ("Policy match error")', cause: 'the proposals Windows offers (set from the profile) and the gateway\'s do not overlap',
    action: 'Set profiles.<name>.ikeProposals / espProposals to proposals the gateway supports and Windows can express (see docs/cipher-policy.md).',
  },
];

const byCode = new Map(rasErrorTable.map((rule) => [rule.ras, rule]));

/** The row for a RAS code, if the table has one. */
export function rasRule(ras: number): RasErrorRule | undefined {
  return byCode.get(ras);
}

/** `Remote Access error 809 - <text>` in rasdial's output → the code and the text after " - ". */
export function rasErrorLine(output: string): { readonly ras: number; readonly text: string; readonly line: string } | undefined {
  const match = /^Remote Access error (\d+)(?: - (.*))?$/m.exec(output);
  if (match === null) return undefined;
  return { ras: Number(match[1]), text: (match[2] ?? '').trim(), line: match[0].trim() };
}

/**
 * Diagnoses a failed rasdial from its output, else its exit status (scripts treat it as the RAS
 * code — windows.md §5, [3p]). An unknown code, or no code at all, is a typed unknown that keeps
 * rasdial's own words, so nothing is lost.
 */
export function diagnoseRas(output: string, exitCode: number | null): RasDiagnosis {
  const found = rasErrorLine(output);
  const ras = found?.ras ?? (exitCode !== null && exitCode !== 0 ? exitCode : undefined);
  const evidence = found?.line ?? (ras === undefined ? output.trim() : `rasdial exit ${ras}`);
  const rule = ras === undefined ? undefined : byCode.get(ras);
  if (rule !== undefined) return { code: rule.code, what: rule.what, cause: rule.cause, action: rule.action, evidence, ras: rule.ras, known: true, retry: rule.retry };
  return {
    code: 'tunnel.ras-unknown',
    what: ras === undefined ? 'Windows could not connect the VPN' : `Windows could not connect the VPN (Remote Access error ${ras})`,
    cause: found?.text !== undefined && found.text !== '' ? found.text : 'rasdial did not say why',
    action: 'Run backhaul doctor; the full rasdial output is in the session log.',
    evidence,
    ...(ras === undefined ? {} : { ras }),
    known: false,
    retry: false,
  };
}
