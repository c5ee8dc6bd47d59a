import { describe, expect, it } from 'vitest';
import { checkCidr, isAbsolutePathAnyOs, isHostOrIp, parseRateKiBps } from '../../src/config/validators.js';

describe('isAbsolutePathAnyOs', () => {
  it.each([
    ['/home/me/docs', true],
    ['/', true],
    ['C:\\Users\\me', true],
    ['c:/Users/me', true],
    ['\\\\nas\\share\\photos', true],
    ['\\\\nas\\share', true],
    ['docs', false],
    ['./docs', false],
    ['~/docs', false],
    ['C:relative', false],
    ['\\\\nas', false],
    ['', false],
    ['/with\0nul', false],
  ])('%j → %s', (path, expected) => {
    expect(isAbsolutePathAnyOs(path)).toBe(expected);
  });
});

describe('isHostOrIp', () => {
  it.each([
    ['vpn.example.com', true],
    ['vpn.example.com.', true],
    ['gateway', true],
    ['10.0.0.1', true],
    ['2001:db8::1', true],
    ['xn--bcher-kva.example', true],
    ['999.1.1.1', false],
    ['bad host', false],
    ['vpn.example.com:500', false],
    ['https://vpn.example.com', false],
    ['-leading.example', false],
    ['fe80::1%eth0', false],
    ['', false],
    [`${'a'.repeat(64)}.example`, false],
  ])('%j → %s', (host, expected) => {
    expect(isHostOrIp(host)).toBe(expected);
  });
});

describe('checkCidr', () => {
  it.each(['10.99.0.0/24', '0.0.0.0/0', '192.168.1.7/32', 'fd00:99::/64', '::/0', '2001:db8::1/128', '::ffff:10.0.0.0/104'])(
    'accepts %s',
    (cidr) => {
      expect(checkCidr(cidr)).toEqual({ ok: true });
    },
  );

  it.each([
    ['10.99.0.1/24', '10.99.0.1/24 has host bits set; did you mean 10.99.0.0/24?'],
    ['fd00:99::1/64', 'fd00:99::1/64 has host bits set; did you mean fd00:99::/64?'],
    ['2001:db8:0:0:1:0:0:1/80', '2001:db8:0:0:1:0:0:1/80 has host bits set; did you mean 2001:db8:0:0:1::/80?'],
    ['10.0.0.0/33', 'prefix length must be 0–32 for IPv4, got "10.0.0.0/33"'],
    ['fd00::/129', 'prefix length must be 0–128 for IPv6, got "fd00::/129"'],
    ['10.0.0.1', 'must be a CIDR; for a single host write 10.0.0.1/32'],
    ['fd00::1', 'must be a CIDR; for a single host write fd00::1/128'],
    ['office-lan', 'must be an IPv4 or IPv6 CIDR such as 10.99.0.0/24 or fd00:99::/64, got "office-lan"'],
    ['10.0.0.256/24', 'must be an IPv4 or IPv6 CIDR such as 10.99.0.0/24 or fd00:99::/64, got "10.0.0.256/24"'],
  ])('rejects %s', (cidr, reason) => {
    expect(checkCidr(cidr)).toEqual({ ok: false, reason });
  });
});

describe('parseRateKiBps', () => {
  it.each<[number | string, number]>([
    ['10 MiB/s', 10240],
    ['10MiB/s', 10240],
    ['10 mib/s', 10240],
    ['500 KiB/s', 500],
    ['1 GiB/s', 1048576],
    ['1.5 MiB/s', 1536],
    ['1000 KB/s', 977],
    ['1 MB/s', 977],
    ['1 GB/s', 976563],
    ['8 Mbit/s', 977],
    ['8 mbit/s', 977],
    ['64 kbit/s', 8],
    ['1 Gbit/s', 122070],
    ['2048', 2048],
    [2048, 2048],
  ])('%j → %d KiB/s', (input, kibps) => {
    expect(parseRateKiBps(input)).toEqual({ ok: true, kibps });
  });

  it.each<[number | string, string]>([
    [0, 'must be at least 1 KiB/s; leave bandwidthLimit out for no limit'],
    ['0 MiB/s', 'must be at least 1 KiB/s; leave bandwidthLimit out for no limit'],
    ['1 kbit/s', 'must be at least 1 KiB/s; leave bandwidthLimit out for no limit'],
    ['10 furlongs/s', 'unknown unit; use KiB/s, MiB/s, GiB/s, KB/s, MB/s, GB/s, kbit/s, Mbit/s or Gbit/s'],
    ['fast', 'expected a rate like "10 MiB/s", "500 KiB/s" or "20 Mbit/s", or a whole number of KiB/s'],
    ['-5 MiB/s', 'expected a rate like "10 MiB/s", "500 KiB/s" or "20 Mbit/s", or a whole number of KiB/s'],
    [1.5, 'expected a rate like "10 MiB/s", "500 KiB/s" or "20 Mbit/s", or a whole number of KiB/s'],
    [Number.POSITIVE_INFINITY, 'expected a rate like "10 MiB/s", "500 KiB/s" or "20 Mbit/s", or a whole number of KiB/s'],
  ])('%j is refused', (input, reason) => {
    expect(parseRateKiBps(input)).toEqual({ ok: false, reason });
  });
});
