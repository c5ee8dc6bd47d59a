/** IPv4 address arithmetic for split routes: the kill switch's pins and doctor's route check. */

/** Whether an IPv4 literal lies inside an IPv4 CIDR; a host name, IPv6 or a malformed value never does. */
export function ipv4InCidr(address: string, cidr: string): boolean {
  const [network = '', bits = '32'] = cidr.split('/');
  const a = parseIpv4(address);
  const n = parseIpv4(network);
  if (a === undefined || n === undefined) return false;
  const prefix = Number(bits);
  // `<< 32` does not shift in JavaScript: /0 is the empty mask, which contains everything.
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return ((a & mask) >>> 0) === ((n & mask) >>> 0);
}

/** A dotted-quad as an unsigned 32-bit number, or undefined when it is not one. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((value, part) => ((value << 8) | Number(part)) >>> 0, 0);
}
