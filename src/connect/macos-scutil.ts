/**
 * Reading `scutil --nc` output (formats from configd's scutil.tproj/nc.c and real captures,
 * `../shared/reference/macos.md` §3 and M1–M3). Parsers are tolerant of spacing (older macOS pads
 * the list differently) and never throw: what they can't read is returned as such, with the text.
 */

/** One service line of `scutil --nc list`. */
export interface NcService {
  readonly enabled: boolean;
  /** The status word in parentheses (`Disconnected`, `Connected`, `Invalid` for disabled ones). */
  readonly status: string;
  readonly serviceId: string;
  /** `PPP --> L2TP`, `IPSec`. */
  readonly interfaceLabel: string;
  readonly name: string;
  /** `PPP:L2TP`, `IPSec`. */
  readonly type: string;
}

const LIST_LINE = /^([* ]) \((\w+)\)\s+([0-9A-Fa-f.-]+)\s+(.*?)\s+"(.*)"\s+\[(.*)\]\s*$/;

/** The services of `scutil --nc list`; the header and unreadable lines are skipped. */
export function parseNcList(stdout: string): NcService[] {
  const services: NcService[] = [];
  for (const line of stdout.split('\n')) {
    const match = LIST_LINE.exec(line);
    if (match === null) continue;
    services.push({
      enabled: match[1] === '*',
      status: match[2] ?? '',
      serviceId: match[3] ?? '',
      interfaceLabel: match[4] ?? '',
      name: match[5] ?? '',
      type: match[6] ?? '',
    });
  }
  return services;
}

/** CoreFoundation's description of a dictionary: nested dictionaries, arrays as lists, leaves as text. */
export type CfValue = string | readonly CfValue[] | { readonly [key: string]: CfValue };

/** The first-line status words nc.c prints (`nc_status_string`); anything else is kept as `unknown`. */
export type NcStatusWord = 'Invalid' | 'Disconnected' | 'Connecting' | 'Connected' | 'Disconnecting';
const STATUS_WORDS: ReadonlySet<string> = new Set(['Invalid', 'Disconnected', 'Connecting', 'Connected', 'Disconnecting']);

export interface NcStatus {
  /** The status word, or `unknown` for a first line nc.c is not known to print (its text is in `firstLine`). */
  readonly status: NcStatusWord | 'unknown';
  readonly firstLine: string;
  /** For `Invalid: <SCError string>`: the text after the colon. */
  readonly detail?: string;
  /** The `Extended Status` dictionary; empty when absent or unreadable. */
  readonly extended: { readonly [key: string]: CfValue };
  /** `IPv4.InterfaceName` (ppp0, …) — never assumed (macos.md §5). */
  readonly interfaceName?: string;
  /** `IPv4.Addresses[0]`: this end's tunnel address. */
  readonly localAddress?: string;
  /** `PPP.LCPMTU`, when reported. */
  readonly lcpMtu?: number;
  /** Any `LastCause` in the extended status (PPP or top level), as printed. No table of its values is documented. */
  readonly lastCause?: string;
}

/** Parses `scutil --nc status NAME` (exit 0 whatever the status, so the text is all there is). */
export function parseNcStatus(stdout: string): NcStatus {
  const lines = stdout.split('\n');
  const firstLine = (lines[0] ?? '').trim();
  const word = /^(\w+)\s*(?::\s*(.*))?$/.exec(firstLine);
  const status = word !== null && STATUS_WORDS.has(word[1] ?? '') ? (word[1] as NcStatusWord) : 'unknown';
  const detail = word?.[2]?.trim();
  const start = lines.findIndex((line) => /^Extended Status <dictionary> \{\s*$/.test(line));
  const extended = start < 0 ? {} : parseDictionary(lines, start + 1).value;
  const ipv4 = asDict(extended['IPv4']);
  const ppp = asDict(extended['PPP']);
  const interfaceName = asText(ipv4?.['InterfaceName']);
  const addresses = ipv4?.['Addresses'];
  const localAddress = Array.isArray(addresses) ? asText(addresses[0] as CfValue | undefined) : undefined;
  const lcpMtu = Number(asText(ppp?.['LCPMTU']) ?? Number.NaN);
  const lastCause = asText(ppp?.['LastCause']) ?? asText(extended['LastCause']);
  return {
    status,
    firstLine,
    ...(status === 'Invalid' && detail !== undefined && detail !== '' ? { detail } : {}),
    extended,
    ...(interfaceName === undefined ? {} : { interfaceName }),
    ...(localAddress === undefined ? {} : { localAddress }),
    ...(Number.isInteger(lcpMtu) ? { lcpMtu } : {}),
    ...(lastCause === undefined ? {} : { lastCause }),
  };
}

function asDict(value: CfValue | undefined): { readonly [key: string]: CfValue } | undefined {
  return value !== undefined && typeof value === 'object' && !Array.isArray(value) ? (value as { readonly [key: string]: CfValue }) : undefined;
}

function asText(value: CfValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Reads `key : value` lines until the closing `}` (two-space indentation in the captures, but
 * only the braces are relied on). `<array>` bodies become lists in index order.
 */
function parseDictionary(lines: readonly string[], from: number): { value: { [key: string]: CfValue }; next: number } {
  const value: { [key: string]: CfValue } = {};
  let i = from;
  while (i < lines.length) {
    const line = (lines[i] ?? '').trim();
    i++;
    if (line === '}') return { value, next: i };
    const entry = /^(.+?) : (?:<(dictionary|array)> \{|(.*))$/.exec(line);
    if (entry === null) continue;
    const key = entry[1] ?? '';
    if (entry[2] === undefined) {
      value[key] = entry[3] ?? '';
      continue;
    }
    const nested = parseDictionary(lines, i);
    i = nested.next;
    value[key] = entry[2] === 'array'
      ? Object.entries(nested.value).sort(([a], [b]) => Number(a) - Number(b)).map(([, item]) => item)
      : nested.value;
  }
  return { value, next: i };
}
