import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diagnoseMacos, macosTable, type MacosEvidence } from '../../src/connect/macos-errors.js';
import { parseNcList, parseNcStatus } from '../../src/connect/macos-scutil.js';
import { mac } from './macos-fakes.js';

describe('test/fixtures/macos', () => {
  const files = readdirSync(fileURLToPath(new URL('../fixtures/macos/', import.meta.url))).filter((file) => file.endsWith('.txt'));

  it('every fixture cites macos.md and says whether it is a real capture or synthetic, with its exit code', () => {
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const fixture = mac(file);
      expect(fixture.header, file).toMatch(/shared\/reference\/macos\.md/);
      expect(fixture.header, file).toMatch(/§\d|"M\d"/);
      expect(fixture.header, file).toMatch(/\| (REAL|SYNTHETIC)\b/);
      expect(fixture.exitCode, file).not.toBeNull();
    }
  });

  it('a synthetic fixture says what macOS output it stands in for ([unconfirmed] or not recorded)', () => {
    for (const file of files.filter((name) => mac(name).header.includes('SYNTHETIC'))) {
      expect(mac(file).header, file).toMatch(/\[unconfirmed\]/);
    }
  });
});

describe('scutil --nc list', () => {
  it('reads the L2TP line of a current capture (M3)', () => {
    expect(parseNcList(mac('scutil-nc-list-l2tp.txt').stdout)).toEqual([
      { enabled: true, status: 'Disconnected', serviceId: 'E3A8F336-CCEB-4A29-B50A-FBAD41D84A71', interfaceLabel: 'PPP --> L2TP', name: 'My VPN', type: 'PPP:L2TP' },
    ]);
  });

  it('tolerates older padding and redacted IDs (M1), and reads a Cisco IPSec line (M2)', () => {
    expect(parseNcList(mac('scutil-nc-list-pptp.txt').stdout)).toMatchObject([{ status: 'Disconnected', serviceId: 'A2......CC', name: 'myVPName', type: 'PPP:PPTP' }]);
    expect(parseNcList(mac('scutil-nc-list-cisco-connected.txt').stdout)).toMatchObject([{ status: 'Connected', name: 'VPN (Cisco IPSec)', type: 'IPSec', interfaceLabel: 'IPSec' }]);
  });

  it('an IKEv2-only Mac lists nothing (M3)', () => {
    expect(parseNcList(mac('scutil-nc-list-ikev2-only.txt').stdout)).toEqual([]);
  });
});

describe('scutil --nc status', () => {
  it('reads the connected L2TP capture (M2): interface, address, LCP MTU', () => {
    const status = parseNcStatus(mac('scutil-nc-status-l2tp-connected.txt').stdout);
    expect(status).toMatchObject({ status: 'Connected', interfaceName: 'ppp0', localAddress: '130.235.16.35', lcpMtu: 1280 });
    expect(status.extended['Status']).toBe('2');
    expect(status.extended['IPv4']).toMatchObject({ DestAddresses: ['130.235.16.20'], Router: '130.235.16.20' });
  });

  it('reads the connected PPTP capture (M1) with OverridePrimary', () => {
    const status = parseNcStatus(mac('scutil-nc-status-pptp-connected.txt').stdout);
    expect(status).toMatchObject({ status: 'Connected', interfaceName: 'ppp0', lcpMtu: 1396 });
    expect(status.extended['IPv4']).toMatchObject({ OverridePrimary: '1' });
  });

  it('reads the synthetic shapes: Connecting, Disconnected, LastCause, Invalid with its reason, Unknown', () => {
    expect(parseNcStatus(mac('scutil-nc-status-connecting.txt').stdout).status).toBe('Connecting');
    expect(parseNcStatus(mac('scutil-nc-status-disconnected.txt').stdout)).toMatchObject({ status: 'Disconnected', extended: {} });
    expect(parseNcStatus(mac('scutil-nc-status-disconnected-lastcause.txt').stdout)).toMatchObject({ status: 'Disconnected', lastCause: '19' });
    expect(parseNcStatus(mac('scutil-nc-status-invalid.txt').stdout)).toMatchObject({ status: 'Invalid', detail: 'SCError placeholder (not recorded)' });
    expect(parseNcStatus(mac('scutil-nc-status-unknown.txt').stdout)).toMatchObject({ status: 'unknown', firstLine: 'Unknown' });
  });

  it('property: no text makes the parsers or the error table throw; what is not understood comes back as unknown with the text', () => {
    const piece = fc.constantFrom('Connected', 'Connecting', 'Disconnected', 'Invalid', 'Unknown', 'Extended Status <dictionary> {', '}', '  IPv4 : <dictionary> {', '    InterfaceName : ppp0', '  Addresses : <array> {', '0 : 1.2.3.4', 'LastCause : 7', ' : ', '\n', '* (Connected) ', '"', '[PPP:L2TP]');
    const text = fc.oneof(fc.string({ maxLength: 200 }), fc.array(piece, { maxLength: 30 }).map((parts) => parts.join('\n')));
    fc.assert(fc.property(text, fc.boolean(), (output, timedOut) => {
      const status = parseNcStatus(output);
      parseNcList(output);
      const diagnosis = diagnoseMacos({ kind: 'attempt', status, timedOut, type: 'l2tp' });
      expect(diagnosis.raw).toContain(status.firstLine);
      if (status.status === 'unknown') expect(diagnosis.code).toBe('tunnel.macos-unknown');
      expect(diagnoseMacos({ kind: 'command', verb: 'start', exitCode: 1, output }).raw).toContain(output.trim());
    }), { numRuns: 300 });
  });

  it('never throws on text it does not know', () => {
    for (const text of ['', 'garbage', 'Connected\nExtended Status <dictionary> {\n  IPv4 : <dictionary> {\n', '}}}\n', 'Extended Status <dictionary> {']) {
      expect(() => parseNcStatus(text)).not.toThrow();
    }
    expect(parseNcStatus('Connected\nExtended Status <dictionary> {\n  IPv4 : <dictionary> {\n').status).toBe('Connected');
  });
});

describe('the macOS error table', () => {
  const status = (file: string) => parseNcStatus(mac(file).stdout);
  const command = (verb: 'start' | 'status' | 'stop', file: string): MacosEvidence => {
    const fixture = mac(file);
    return { kind: 'command', verb, exitCode: fixture.exitCode, output: fixture.stderr };
  };
  const cases: [MacosEvidence, string][] = [
    [command('status', 'scutil-nc-status-no-service.txt'), 'tunnel.macos-no-service'],
    [command('start', 'scutil-nc-start-no-service.txt'), 'tunnel.macos-no-service'],
    [command('status', 'scutil-nc-status-multiple.txt'), 'tunnel.macos-duplicate-service'],
    [command('start', 'scutil-nc-start-refused.txt'), 'tunnel.macos-start-refused'],
    [command('stop', 'scutil-nc-stop-refused.txt'), 'tunnel.macos-stop-refused'],
    [{ kind: 'attempt', status: status('scutil-nc-status-invalid.txt'), timedOut: false, type: 'l2tp' }, 'tunnel.macos-service-invalid'],
    [{ kind: 'no-interface', status: status('scutil-nc-status-ikev2-connected.txt') }, 'tunnel.macos-no-interface'],
    [{ kind: 'attempt', status: status('scutil-nc-status-connecting.txt'), timedOut: true, type: 'l2tp' }, 'tunnel.macos-connect-timeout'],
    [{ kind: 'attempt', status: status('scutil-nc-status-disconnected.txt'), timedOut: false, type: 'l2tp' }, 'tunnel.macos-connect-failed'],
  ];

  it('has a test case for every row', () => {
    expect(new Set(cases.map(([, code]) => code))).toEqual(new Set(macosTable.map((row) => row.code)));
  });

  for (const [evidence, code] of cases) {
    it(`${code}: what happened, likely cause, what to do, and the raw text`, () => {
      const diagnosis = diagnoseMacos(evidence);
      expect(diagnosis).toMatchObject({ code, known: true });
      for (const text of [diagnosis.what, diagnosis.cause, diagnosis.action, diagnosis.raw]) expect(text).toMatch(/\S/);
    });
  }

  it('anything else is a typed unknown that keeps the raw text', () => {
    const unknownStatus = diagnoseMacos({ kind: 'attempt', status: status('scutil-nc-status-unknown.txt'), timedOut: false, type: 'l2tp' });
    expect(unknownStatus).toMatchObject({ code: 'tunnel.macos-unknown', known: false, raw: 'scutil --nc status: Unknown' });
    const odd = diagnoseMacos({ kind: 'command', verb: 'start', exitCode: 70, output: 'something new from a future macOS\n' });
    expect(odd).toMatchObject({ code: 'tunnel.macos-unknown', raw: 'scutil --nc start (exit 70): something new from a future macOS' });
  });

  it('a LastCause is reported as printed, never given a meaning', () => {
    const diagnosis = diagnoseMacos({ kind: 'attempt', status: status('scutil-nc-status-disconnected-lastcause.txt'), timedOut: false, type: 'l2tp' });
    expect(diagnosis.code).toBe('tunnel.macos-connect-failed');
    expect(diagnosis.raw).toBe('scutil --nc status: Disconnected; LastCause 19 (no documented meaning; kept as printed)');
  });
});
