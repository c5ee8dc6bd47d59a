/**
 * A minimal XML property-list writer for the macOS configuration profile. Apple's tools read the
 * XML form (`.mobileconfig`); we write it ourselves so the agent has no runtime dependency for
 * ~40 lines of output, and tests parse the result with an independent parser (the `plist` package).
 * Output is deterministic (keys in insertion order), so the same profile always gives the same bytes.
 */

/** The plist types a configuration profile uses: no reals or dates are needed. */
export type PlistValue = string | number | boolean | Uint8Array | readonly PlistValue[] | PlistDict;
export interface PlistDict {
  readonly [key: string]: PlistValue;
}

const HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
  + '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
  + '<plist version="1.0">\n';

/** The whole document for a top-level dictionary. */
export function buildPlist(root: PlistDict): string {
  return `${HEADER}${render(root, 0)}\n</plist>\n`;
}

/**
 * Text escaped for XML character data. `\r` (and NEL, U+2028, U+2029) are written as references because
 * XML parsers turn a literal CR into LF, so it would not survive the round trip. Characters XML 1.0 can't carry at all
 * (NUL and other C0 controls, lone surrogates) are refused rather than silently dropped: a VPN
 * name or identifier that changed on the way would no longer match what macOS shows.
 */
export function escapeXml(text: string): string {
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) throw new TypeError('text for the profile contains a lone surrogate (not valid Unicode)');
  // eslint-disable-next-line no-control-regex -- these are exactly the characters XML 1.0 forbids
  const forbidden = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.exec(text);
  if (forbidden !== null) throw new TypeError(`text for the profile contains the control character U+${forbidden[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}, which XML can't carry`);
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;')
    .replaceAll('\r', '&#13;')
    // Some parsers (xmldom, XML 1.1 rules) turn these into LF too; a reference survives everywhere.
    .replaceAll('\u0085', '&#x85;')
    .replaceAll('\u2028', '&#x2028;')
    .replaceAll('\u2029', '&#x2029;');
}

function render(value: PlistValue, depth: number): string {
  const pad = '\t'.repeat(depth);
  if (typeof value === 'string') return `${pad}<string>${escapeXml(value)}</string>`;
  if (typeof value === 'boolean') return `${pad}<${value ? 'true' : 'false'}/>`;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`profile values are integers, got ${value}`);
    return `${pad}<integer>${value}</integer>`;
  }
  if (value instanceof Uint8Array) return `${pad}<data>${Buffer.from(value).toString('base64')}</data>`;
  if (isArray(value)) {
    if (value.length === 0) return `${pad}<array/>`;
    return `${pad}<array>\n${value.map((item) => render(item, depth + 1)).join('\n')}\n${pad}</array>`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return `${pad}<dict/>`;
  const inner = entries.map(([key, item]) => `${pad}\t<key>${escapeXml(key)}</key>\n${render(item, depth + 1)}`).join('\n');
  return `${pad}<dict>\n${inner}\n${pad}</dict>`;
}

function isArray(value: PlistValue): value is readonly PlistValue[] {
  return Array.isArray(value);
}
