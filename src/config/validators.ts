/**
 * Small pure checks the config schema is built from: absolute paths on any OS, host names, CIDRs and
 * bandwidth rates. They live apart from the schema so each rule is unit-testable on its own and so
 * the schema file reads as the shape of the config.
 */
import { isIP } from 'node:net';

/**
 * True for an absolute path on POSIX (`/x`) or Windows (`C:\x`, `C:/x`, `\\server\share\x`).
 * Config files are validated on one OS but may describe another (a policy file written on a Mac for
 * Windows hosts), so both forms are accepted everywhere; the engine checks existence at run time.
 */
export function isAbsolutePathAnyOs(value: string): boolean {
  if (value.includes('\0')) return false;
  if (value.startsWith('/')) return true;
  if (/^[A-Za-z]:[\\/]/.test(value)) return true;
  return /^\\\\[^\\/]+[\\/][^\\/]+/.test(value);
}

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** True for an IPv4/IPv6 address (no zone, no brackets, no port) or a DNS host name. */
export function isHostOrIp(value: string): boolean {
  if (value.includes('%')) return false;
  if (isIP(value) !== 0) return true;
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  if (!labels.every((l) => LABEL.test(l))) return false;
  // "999.1.1.1" is neither a valid IPv4 address nor a plausible host name (numeric top-level label).
  const last = labels[labels.length - 1] ?? '';
  return !/^\d+$/.test(last);
}

/** Result of {@link checkCidr}: either fine, or a complete message for the user. */
export type CidrCheck = { ok: true } | { ok: false; reason: string };

const CIDR_EXAMPLE = 'an IPv4 or IPv6 CIDR such as 10.99.0.0/24 or fd00:99::/64';

/**
 * Validate an IPv4 or IPv6 CIDR as the OS route tools want it: an address, a prefix in range, and no
 * host bits set (`ip route add 10.99.0.1/24` fails, so we say which network was probably meant).
 */
export function checkCidr(value: string): CidrCheck {
  const shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}…` : value);
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
  if (!match) {
    const bare = isIP(value);
    return bare !== 0
      ? { ok: false, reason: `must be a CIDR; for a single host write ${value}/${bare === 4 ? '32' : '128'}` }
      : { ok: false, reason: `must be ${CIDR_EXAMPLE}, got ${shown}` };
  }
  const address = match[1] ?? '';
  const prefix = Number(match[2]);
  const family = address.includes('%') ? 0 : isIP(address);
  if (family === 0) return { ok: false, reason: `must be ${CIDR_EXAMPLE}, got ${shown}` };
  const bits = family === 4 ? 32 : 128;
  if (prefix > bits) return { ok: false, reason: `prefix length must be 0–${bits} for IPv${family}, got ${shown}` };
  const numeric = family === 4 ? ipv4ToBigInt(address) : ipv6ToBigInt(address);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((numeric & hostMask) !== 0n) {
    const network = numeric & ~hostMask;
    const suggestion = family === 4 ? bigIntToIpv4(network) : bigIntToIpv6(network);
    return { ok: false, reason: `${value} has host bits set; did you mean ${suggestion}/${prefix}?` };
  }
  return { ok: true };
}

function ipv4ToBigInt(address: string): bigint {
  return address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function bigIntToIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/** Parse an address that `net.isIP` already accepted as IPv6 (including `::` and an IPv4 tail). */
function ipv6ToBigInt(address: string): bigint {
  let text = address;
  const tail: string[] = [];
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    const v4 = ipv4ToBigInt(text.slice(lastColon + 1));
    tail.push((v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16));
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const doubleColon = text.indexOf('::');
  const head = doubleColon < 0 ? text : text.slice(0, doubleColon);
  const rest = doubleColon < 0 ? '' : text.slice(doubleColon + 2);
  const headParts = head === '' ? [] : head.split(':');
  const restParts = rest === '' ? [] : rest.split(':');
  const explicitCount = headParts.length + restParts.length + tail.length;
  const zeros = doubleColon < 0 ? [] : new Array<string>(8 - explicitCount).fill('0');
  const groups = [...headParts, ...zeros, ...restParts, ...tail];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

function bigIntToIpv6(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  // Compress the longest run of zero groups (RFC 5952 style) so the suggestion looks familiar.
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i += 1;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j += 1;
    if (j - i > bestLength && j - i > 1) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}

/** Multipliers from each accepted unit to KiB/s (1 KiB = 1024 bytes). Keys are lower-case. */
const RATE_UNITS: Readonly<Record<string, number>> = {
  'kib/s': 1,
  'mib/s': 1024,
  'gib/s': 1024 * 1024,
  'kb/s': 1000 / 1024,
  'mb/s': 1_000_000 / 1024,
  'gb/s': 1_000_000_000 / 1024,
  'kbit/s': 1000 / 8 / 1024,
  'mbit/s': 1_000_000 / 8 / 1024,
  'gbit/s': 1_000_000_000 / 8 / 1024,
};

/** Result of {@link parseRateKiBps}. */
export type RateParse = { ok: true; kibps: number } | { ok: false; reason: string };

const RATE_HINT = 'a rate like "10 MiB/s", "500 KiB/s" or "20 Mbit/s", or a whole number of KiB/s';

/**
 * Parse a bandwidth limit into whole KiB/s (what restic's `--limit-upload` takes). Units are
 * case-insensitive with an optional space; a plain number means KiB/s. Results round to the nearest
 * KiB/s and must be at least 1, because 0 would silently mean "unlimited" to restic.
 */
export function parseRateKiBps(input: number | string): RateParse {
  let amount: number;
  let factor = 1;
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || !Number.isInteger(input)) return { ok: false, reason: `expected ${RATE_HINT}` };
    amount = input;
  } else {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z/]*)\s*$/i.exec(input);
    if (!match) return { ok: false, reason: `expected ${RATE_HINT}` };
    amount = Number(match[1]);
    const unit = (match[2] ?? '').toLowerCase();
    if (unit !== '') {
      const known = RATE_UNITS[unit];
      if (known === undefined) {
        return { ok: false, reason: `unknown unit; use KiB/s, MiB/s, GiB/s, KB/s, MB/s, GB/s, kbit/s, Mbit/s or Gbit/s` };
      }
      factor = known;
    } else if (!Number.isInteger(amount)) {
      return { ok: false, reason: `expected ${RATE_HINT}` };
    }
  }
  const kibps = Math.round(amount * factor);
  if (kibps < 1) return { ok: false, reason: 'must be at least 1 KiB/s; leave bandwidthLimit out for no limit' };
  if (kibps > Number.MAX_SAFE_INTEGER) return { ok: false, reason: 'is too large' };
  return { ok: true, kibps };
}
