import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TunnelError, type TunnelProfile } from '../../src/connect/driver.js';
import { createWindowsDriver, ENTRY_RESOURCE, planEntry, RASDIAL_PASSWORD_PROMPT, stateOf } from '../../src/connect/windows.js';
import { diagnoseRas, rasErrorTable } from '../../src/connect/windows-errors.js';
import { parseNattQuery } from '../../src/connect/windows-natt.js';
import { parsePsOutput, psLiteral, psScript } from '../../src/connect/windows-ps.js';
import { memoryPskMemory } from '../../src/connect/windows-psk.js';
import { entryFromJson } from '../../src/connect/windows-vpn.js';
import { ikev2Cert, l2tpPsk, PASSWORD, PSK, recordingJournal } from './linux-fakes.js';
import { evalPsLiteral, FakeWindows, loadFixture, type FakeEntry } from './windows-fake.js';

const signal = new AbortController().signal;
const NAME = 'backhaul-office';
const POWERSHELL = ['powershell.exe', '-NoProfile', '-NonInteractive', '-Command', '-'];
const REG = ['reg', 'query', 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent', '/v', 'AssumeUDPEncapsulationContextOnSendRule'];

/** The read script, spelled out once: Get-VpnConnection, a missing entry (VPN 623) as found = false, fields as strings. */
const READ_OFFICE = psScript([
  "try { $c = Get-VpnConnection -Name 'backhaul-office' -AllUserConnection } catch { if ([string]$_.FullyQualifiedErrorId -like 'VPN 623,*') { $c = $null } else { throw } }",
  "if ($null -eq $c) { $o['found'] = $false } else { $o['found'] = $true; $o['name'] = [string]$c.Name; $o['serverAddress'] = [string]$c.ServerAddress; " +
    "$o['tunnelType'] = [string]$c.TunnelType; $o['authenticationMethod'] = @($c.AuthenticationMethod | ForEach-Object { [string]$_ }); " +
    "$o['encryptionLevel'] = [string]$c.EncryptionLevel; $o['l2tpIPsecAuth'] = [string]$c.L2tpIPsecAuth; $o['splitTunneling'] = [bool]$c.SplitTunneling; " +
    "$o['connectionStatus'] = [string]$c.ConnectionStatus; $o['routes'] = @($c.Routes | ForEach-Object { [string]$_.DestinationPrefix }); " +
    "$p = $c.IPsecCustomPolicy; if ($null -ne $p) { $o['ipsec'] = @{ AuthenticationTransformConstants = [string]$p.AuthenticationTransformConstants; " +
    'CipherTransformConstants = [string]$p.CipherTransformConstants; EncryptionMethod = [string]$p.EncryptionMethod; ' +
    'IntegrityCheckMethod = [string]$p.IntegrityCheckMethod; DHGroup = [string]$p.DHGroup; PfsGroup = [string]$p.PfsGroup } } }',
]);

const ADD_OFFICE = `Add-VpnConnection -Name 'backhaul-office' -ServerAddress '203.0.113.2' -TunnelType L2tp -L2tpPsk '${PSK}' -AuthenticationMethod MSChapv2 -EncryptionLevel Required -SplitTunneling -AllUserConnection -Force`;
const IPSEC_OFFICE = "Set-VpnConnectionIPsecConfiguration -ConnectionName 'backhaul-office' -AuthenticationTransformConstants SHA256128 -CipherTransformConstants AES256 " +
  '-EncryptionMethod AES256 -IntegrityCheckMethod SHA256 -DHGroup Group14 -PfsGroup None -AllUserConnection -Force';
const ROUTE_OFFICE = "Add-VpnConnectionRoute -ConnectionName 'backhaul-office' -DestinationPrefix '10.99.0.0/24' -AllUserConnection";
const DIAL = ['rasdial', NAME, 'vpnuser', '*'];

/** An entry exactly as ensureProfile(l2tpPsk) leaves it. */
function officeEntry(status: FakeEntry['status'] = 'Disconnected'): FakeEntry {
  return {
    name: NAME, allUsers: true, serverAddress: '203.0.113.2', tunnelType: 'L2tp', authenticationMethod: ['MSChapv2'], encryptionLevel: 'Required',
    psk: PSK, splitTunneling: true, routes: ['10.99.0.0/24'], status,
    ipsec: { AuthenticationTransformConstants: 'SHA256128', CipherTransformConstants: 'AES256', EncryptionMethod: 'AES256', IntegrityCheckMethod: 'SHA256', DHGroup: 'Group14', PfsGroup: 'None' },
  };
}

function setUp(options: { entry?: FakeEntry; knownPsk?: boolean } = {}) {
  const fake = new FakeWindows();
  fake.password = PASSWORD;
  if (options.entry !== undefined) fake.entries.set(`all|${options.entry.name}`, options.entry);
  const pskMemory = memoryPskMemory();
  const logs: string[] = [];
  const driver = createWindowsDriver({ runner: fake, pskMemory, log: (_level, line) => logs.push(line) });
  return { fake, driver, pskMemory, logs, ready: options.knownPsk === true ? pskMemory.remember(NAME, PSK) : Promise.resolve() };
}

/** Every command: argv plus the script on stdin, the way the tests compare them. */
function issued(fake: FakeWindows): { argv: readonly string[]; stdin?: string; pty?: true }[] {
  return fake.calls.map((call) => ({ argv: call.argv, ...(call.stdin === null ? {} : { stdin: call.stdin }), ...(call.pty ? { pty: true as const } : {}) }));
}

/** No secret in any argv or environment, and the fake knew every command. */
function finish(fake: FakeWindows): void {
  fake.assertDone();
  for (const call of fake.calls) {
    const visible = [...call.argv, ...Object.values(call.env ?? {})].join(' ');
    expect(visible).not.toContain(PSK);
    expect(visible).not.toContain(PASSWORD);
  }
}

describe('windows ensureProfile', () => {
  it('creates the entry in the all-users phone book: PSK only inside the script on stdin, IPsec policy and split route in the same script', async () => {
    const { fake, driver } = setUp();
    const journal = recordingJournal();
    expect(await driver.ensureProfile(l2tpPsk, signal, journal)).toBe('created');
    expect(issued(fake)).toEqual([
      { argv: REG },
      { argv: POWERSHELL, stdin: READ_OFFICE },
      { argv: POWERSHELL, stdin: psScript([ADD_OFFICE, IPSEC_OFFICE, ROUTE_OFFICE]) },
    ]);
    expect(fake.entry(NAME)).toEqual(officeEntry());
    expect(journal.events).toEqual([`acquire ${ENTRY_RESOURCE} ${NAME}`, `release ${ENTRY_RESOURCE} ${NAME}`]);
    finish(fake);
  });

  it('an unchanged profile issues no Set-*: only the reads', async () => {
    const { fake, driver, ready } = setUp({ entry: officeEntry(), knownPsk: true });
    await ready;
    expect(await driver.ensureProfile(l2tpPsk, signal, recordingJournal())).toBe('unchanged');
    expect(issued(fake)).toEqual([{ argv: REG }, { argv: POWERSHELL, stdin: READ_OFFICE }]);
    finish(fake);
  });

  it('a changed cipher policy issues exactly Set-VpnConnectionIPsecConfiguration', async () => {
    const { fake, driver, ready } = setUp({ entry: officeEntry(), knownPsk: true });
    await ready;
    const profile = { ...l2tpPsk, ikeProposals: ['aes128gcm16-prfsha256-ecp256'], espProposals: ['aes128gcm16-ecp256'] };
    expect(await driver.ensureProfile(profile, signal, recordingJournal())).toBe('updated');
    expect(issued(fake).slice(2)).toEqual([{
      argv: POWERSHELL,
      stdin: psScript(["Set-VpnConnectionIPsecConfiguration -ConnectionName 'backhaul-office' -AuthenticationTransformConstants GCMAES128 -CipherTransformConstants GCMAES128 " +
        '-EncryptionMethod GCMAES128 -IntegrityCheckMethod SHA256 -DHGroup ECP256 -PfsGroup ECP256 -AllUserConnection -Force']),
    }]);
    finish(fake);
  });

  it('a rotated PSK (Windows never shows it back) is rewritten once, then remembered', async () => {
    const { fake, driver, ready } = setUp({ entry: officeEntry(), knownPsk: true });
    await ready;
    const rotated = { ...l2tpPsk, auth: { ...l2tpPsk.auth, psk: 'new-CANARY-psk' } } as TunnelProfile;
    expect(await driver.ensureProfile(rotated, signal, recordingJournal())).toBe('updated');
    expect(fake.calls[2]?.stdin).toBe(psScript(["Set-VpnConnection -Name 'backhaul-office' -L2tpPsk 'new-CANARY-psk' -AllUserConnection -Force"]));
    expect(fake.entry(NAME)?.psk).toBe('new-CANARY-psk');
    expect(await driver.ensureProfile(rotated, signal, recordingJournal())).toBe('unchanged');
    for (const call of fake.calls) expect(call.argv.join(' ')).not.toContain('new-CANARY-psk');
    finish(fake);
  });

  it('changed settings and routes: one Set-VpnConnection, the new route added and the old one removed', async () => {
    const { fake, driver, ready } = setUp({ entry: { ...officeEntry(), serverAddress: '198.51.100.7', routes: ['10.98.0.0/24'] }, knownPsk: true });
    await ready;
    expect(await driver.ensureProfile(l2tpPsk, signal, recordingJournal())).toBe('updated');
    expect(fake.calls[2]?.stdin).toBe(psScript([
      "Set-VpnConnection -Name 'backhaul-office' -ServerAddress '203.0.113.2' -TunnelType L2tp -AuthenticationMethod MSChapv2 -EncryptionLevel Required -SplitTunneling $true -AllUserConnection -Force",
      ROUTE_OFFICE,
      "Remove-VpnConnectionRoute -ConnectionName 'backhaul-office' -DestinationPrefix '10.98.0.0/24' -AllUserConnection",
    ]));
    expect(fake.entry(NAME)).toEqual(officeEntry());
    finish(fake);
  });

  it('NAT-T registry value missing: explained in the log with the command an administrator runs, never written', async () => {
    const { fake, driver, logs } = setUp();
    fake.natt = undefined;
    await driver.ensureProfile(l2tpPsk, signal, recordingJournal());
    expect(logs).toEqual([expect.stringContaining('AssumeUDPEncapsulationContextOnSendRule is not set')]);
    expect(logs[0]).toContain('REG ADD HKLM\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent /v AssumeUDPEncapsulationContextOnSendRule /t REG_DWORD /d 0x2 /f');
    expect(fake.calls.filter((call) => call.argv[0] === 'reg').map((call) => call.argv[1])).toEqual(['query']);
    finish(fake);
  });

  it('a refused Add-VpnConnection removes the half-made entry and says what PowerShell said', async () => {
    const { fake, driver } = setUp();
    const journal = recordingJournal();
    const original = fake.run.bind(fake);
    fake.run = (spec) => {
      if (spec.stdin?.includes('Add-VpnConnection ') === true) fake.scriptFailure = 'ps-failed.json';
      return original(spec);
    };
    await expect(driver.ensureProfile(l2tpPsk, signal, journal)).rejects.toMatchObject({
      code: 'tunnel.windows-profile',
      message: 'profile office: Windows did not create the VPN entry: Access is denied. (WIN32 5,Add-VpnConnection)',
    });
    expect(fake.calls.at(-1)?.stdin).toBe(psScript(["try { Remove-VpnConnection -Name 'backhaul-office' -AllUserConnection -Force } catch { if (-not ([string]$_.FullyQualifiedErrorId -like 'VPN 623,*')) { throw } }"]));
    expect(journal.held()).toEqual([]);
    finish(fake);
  });

  it('IKEv2 with a machine certificate: no NAT-T query, no PSK, MachineCertificate', async () => {
    const { fake, driver } = setUp();
    expect(await driver.ensureProfile(ikev2Cert, signal, recordingJournal())).toBe('created');
    expect(fake.calls.map((call) => call.argv[0])).toEqual(['powershell.exe', 'powershell.exe']);
    expect(fake.calls[1]?.stdin).toContain("Add-VpnConnection -Name 'backhaul-cloud' -ServerAddress '203.0.113.2' -TunnelType Ikev2 -AuthenticationMethod MachineCertificate -EncryptionLevel Required -SplitTunneling -AllUserConnection -Force");
    expect(fake.calls[1]?.stdin).toContain('-AuthenticationTransformConstants GCMAES256 -CipherTransformConstants GCMAES256 -EncryptionMethod GCMAES256 -IntegrityCheckMethod SHA256 -DHGroup ECP256 -PfsGroup None');
    finish(fake);
  });

  it('in user mode the per-user phone book: no -AllUserConnection anywhere', async () => {
    const fake = new FakeWindows();
    const driver = createWindowsDriver({ runner: fake, phoneBook: 'per-user' });
    await driver.ensureProfile(l2tpPsk, signal, recordingJournal());
    expect(fake.entry(NAME, false)).toBeDefined();
    for (const call of fake.calls) expect(call.stdin ?? '').not.toContain('AllUserConnection');
    finish(fake);
  });

  it('refuses what Windows cannot hold before running anything', () => {
    expect(() => planEntry({ ...ikev2Cert, auth: { method: 'psk', psk: PSK } })).toThrow(expect.objectContaining({ code: 'tunnel.windows-ikev2-auth' }) as Error);
    expect(() => planEntry({ ...l2tpPsk, espProposals: ['aes256-sha512'] })).toThrow(expect.objectContaining({ code: 'tunnel.cipher-unsupported' }) as Error);
    expect(() => planEntry({ ...l2tpPsk, ikeProposals: ['3des-sha1-modp1024'] })).toThrow(expect.objectContaining({ code: 'tunnel.weak-cipher' }) as Error);
  });
});

describe('windows connect, status, disconnect', () => {
  it('dials with rasdial in a pty, the password typed at its prompt, sets the MTU, reads the status back', async () => {
    const { fake, driver } = setUp({ entry: officeEntry() });
    const outcome = await driver.connect(l2tpPsk, signal, recordingJournal());
    expect(outcome).toEqual({ broughtUp: true, status: { state: 'up', interfaceName: NAME, mtu: 1400 } });
    expect(issued(fake)).toEqual([
      { argv: POWERSHELL, stdin: READ_OFFICE },
      { argv: DIAL, pty: true },
      { argv: ['netsh', 'interface', 'ipv4', 'set', 'subinterface', NAME, 'mtu=1400', 'store=active'] },
      { argv: POWERSHELL, stdin: READ_OFFICE },
    ]);
    expect(fake.calls[1]?.answers).toEqual([PASSWORD]);
    expect(fake.mtu.get(NAME)).toBe(1400);
    finish(fake);
  });

  it('a tunnel already connected is used and left alone', async () => {
    const { fake, driver } = setUp({ entry: officeEntry('Connected') });
    expect((await driver.connect(l2tpPsk, signal, recordingJournal())).broughtUp).toBe(false);
    expect(issued(fake)).toEqual([{ argv: POWERSHELL, stdin: READ_OFFICE }]);
    finish(fake);
  });

  const failures: [string, string][] = [
    ['rasdial-691.txt', 'tunnel.wrong-password'],
    ['rasdial-720.txt', 'tunnel.ppp-negotiation'],
    ['rasdial-789.txt', 'tunnel.ipsec-negotiation'],
    ['rasdial-797.txt', 'tunnel.device-unavailable'],
    ['rasdial-800.txt', 'tunnel.vpn-tunnels-failed'],
    ['rasdial-809.txt', 'tunnel.gateway-unreachable'],
    ['rasdial-812.txt', 'tunnel.auth-method-mismatch'],
    ['rasdial-868.txt', 'tunnel.gateway-dns'],
    ['rasdial-13801.txt', 'tunnel.gateway-untrusted'],
    ['rasdial-13806.txt', 'tunnel.no-machine-certificate'],
    ['rasdial-13868.txt', 'tunnel.proposal-mismatch'],
  ];
  for (const [fixture, code] of failures) {
    it(`${fixture}: ${code}, nothing else run`, async () => {
      const { fake, driver } = setUp({ entry: officeEntry() });
      fake.dialFailure = fixture;
      await expect(driver.connect(l2tpPsk, signal, recordingJournal())).rejects.toMatchObject({ code });
      expect(issued(fake)).toEqual([{ argv: POWERSHELL, stdin: READ_OFFICE }, { argv: DIAL, pty: true }]);
      expect(fake.entry(NAME)?.status).toBe('Disconnected');
      finish(fake);
    });
  }

  it('809 after the NAT-T value was found missing: the hint says how to set it', async () => {
    const { fake, driver } = setUp({ entry: officeEntry() });
    fake.natt = 0;
    await driver.ensureProfile(l2tpPsk, signal, recordingJournal());
    fake.dialFailure = 'rasdial-809.txt';
    const error = await driver.connect(l2tpPsk, signal, recordingJournal()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TunnelError);
    expect((error as TunnelError).hint).toContain('AssumeUDPEncapsulationContextOnSendRule is 0');
    finish(fake);
  });

  it('an unknown RAS code is a typed unknown that keeps rasdial\'s words', async () => {
    const { fake, driver } = setUp({ entry: officeEntry() });
    fake.dialFailure = 'rasdial-734.txt';
    await expect(driver.connect(l2tpPsk, signal, recordingJournal())).rejects.toMatchObject({
      code: 'tunnel.ras-unknown',
      message: 'profile office: Windows could not connect the VPN (Remote Access error 734) (likely cause: The PPP link control protocol was terminated.)',
    });
    finish(fake);
  });

  it('disconnects with rasdial /disconnect and reads the status back', async () => {
    const { fake, driver } = setUp({ entry: officeEntry() });
    const journal = recordingJournal();
    await driver.connect(l2tpPsk, signal, journal);
    fake.calls.length = 0;
    await driver.disconnect(l2tpPsk, signal, journal);
    expect(issued(fake)).toEqual([{ argv: ['rasdial', NAME, '/disconnect'] }, { argv: POWERSHELL, stdin: READ_OFFICE }]);
    expect(await driver.status(l2tpPsk, signal)).toEqual({ state: 'down' });
    expect(journal.held()).toEqual([]);
    finish(fake);
  });

  it('teardown after a crash: hangs up, then removes the half-made entry the journal recorded; again is harmless', async () => {
    const { fake, driver } = setUp({ entry: officeEntry('Connected') });
    const leftovers = { profile: 'office', tunnelUp: true, resources: [{ kind: ENTRY_RESOURCE, id: NAME }] };
    await driver.cleanUp?.(leftovers, signal);
    await driver.cleanUp?.(leftovers, signal);
    const remove = psScript(["try { Remove-VpnConnection -Name 'backhaul-office' -AllUserConnection -Force } catch { if (-not ([string]$_.FullyQualifiedErrorId -like 'VPN 623,*')) { throw } }"]);
    expect(issued(fake)).toEqual([
      { argv: ['rasdial', NAME, '/disconnect'] }, { argv: POWERSHELL, stdin: remove },
      { argv: ['rasdial', NAME, '/disconnect'] }, { argv: POWERSHELL, stdin: remove },
    ]);
    expect(fake.entries.size).toBe(0);
    finish(fake);
  });
});

describe('PowerShell quoting (property)', () => {
  const special = fc.constantFrom("'", "''", '$', '$(calc)', '`', '`n', ';', '; Remove-Item C:\\ -Recurse', '"', '\n', '\r', '\t', '\0', '\u2018', '\u2019', '\u201a', '\u201b', 'é', 'Ω', '😀', '\ud800', '{', '}', '#', '|', '&', '@(', ' ');
  const text = fc.array(fc.oneof(special, fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 12 }).map((parts) => parts.join(''));

  it('any string reaches PowerShell as data: the literal is ASCII, reads back exactly, and has nothing outside quotes but + and [char]', () => {
    fc.assert(fc.property(text, (value) => {
      const literal = psLiteral(value);
      expect(/^[\x20-\x7e]*$/.test(literal)).toBe(true);
      expect(evalPsLiteral(literal)).toBe(value);
      const outside = literal.replace(/'(?:[^']|'')*'/g, '');
      expect(outside).toMatch(/^(\(|\)|\+|\[char\]0x[0-9A-F]{4})*$/);
    }), { numRuns: 500 });
  });

  const name = text.filter((value) => value !== '' && !/[\0\r\n]/.test(value));

  it('profile and user names with quotes, $, backticks, semicolons and non-ASCII reach the cmdlets and rasdial unchanged; no secret in argv', async () => {
    await fc.assert(fc.asyncProperty(name, name, async (profileName, username) => {
      const fake = new FakeWindows();
      const driver = createWindowsDriver({ runner: fake });
      const profile = { ...l2tpPsk, name: profileName, auth: { ...l2tpPsk.auth, username } } as TunnelProfile;
      await driver.ensureProfile(profile, signal, recordingJournal());
      await driver.connect(profile, signal, recordingJournal());
      const entry = fake.entry(`backhaul-${profileName}`);
      expect(entry?.psk).toBe(PSK);
      expect(entry?.status).toBe('Connected');
      expect(fake.calls.find((call) => call.argv[0] === 'rasdial')?.argv).toEqual(['rasdial', `backhaul-${profileName}`, username, '*']);
      finish(fake);
    }), { numRuns: 60 });
  });

  it('refuses NUL and line breaks in names with an error naming the field', () => {
    expect(() => planEntry({ ...l2tpPsk, name: 'off\nice' })).toThrow(/profile name contains a line break/);
    expect(() => planEntry({ ...l2tpPsk, auth: { ...l2tpPsk.auth, username: 'vpn\0user' } } as TunnelProfile)).toThrow(/auth\.username contains a NUL character/);
    expect(() => planEntry({ ...l2tpPsk, auth: { ...l2tpPsk.auth, psk: 'a\r\nb' } } as TunnelProfile)).toThrow(/^auth\.psk contains a line break/);
  });
});

describe('windows parsers are defensive', () => {
  it('PowerShell output without JSON is a typed unknown with the raw text (W5, an uncaught not-found error)', () => {
    const w5 = loadFixture('get-vpnconnection-not-found.txt');
    const outcome = parsePsOutput(w5.stdout, w5.stderr);
    expect(outcome).toMatchObject({ kind: 'unknown' });
    expect(outcome.kind === 'unknown' ? outcome.raw : '').toContain('FullyQualifiedErrorId : VPN 623,Get-VpnConnection');
    expect(parsePsOutput('{not json')).toEqual({ kind: 'unknown', raw: '{not json' });
    expect(parsePsOutput('[1]')).toEqual({ kind: 'unknown', raw: '[1]' });
  });

  it('reads the documented entry, a one-element array unrolled to a string, missing properties and a status the docs never show', () => {
    const connected = parsePsOutput(loadFixture('ps-entry-connected.json').stdout);
    expect(connected.kind === 'ok' ? stateOf(entryFromJson(connected.data)) : undefined).toBe('up');
    const odd = parsePsOutput(loadFixture('ps-entry-odd.json').stdout);
    const lookup = odd.kind === 'ok' ? entryFromJson(odd.data) : undefined;
    expect(lookup).toMatchObject({ kind: 'found', entry: { authenticationMethod: ['MSChapv2'] } });
    expect(lookup?.kind === 'found' ? lookup.entry.routes : 'x').toBeUndefined();
    expect(lookup === undefined ? undefined : stateOf(lookup)).toBe('unknown');
    expect(parsePsOutput(loadFixture('ps-failed.json').stdout)).toEqual({ kind: 'failed', error: 'Access is denied.', errorId: 'WIN32 5,Add-VpnConnection' });
  });

  it('reads the NAT-T value; anything else is "not set"', () => {
    expect(parseNattQuery(loadFixture('reg-query-natt-2.txt').stdout)).toBe(2);
    expect(parseNattQuery(loadFixture('reg-query-natt-missing.txt').stderr)).toBeUndefined();
    expect(parseNattQuery('garbage')).toBeUndefined();
  });

  it('diagnoses by the error line, else the exit status, else keeps the raw text', () => {
    expect(diagnoseRas(loadFixture('rasdial-800.txt').stdout, null)).toMatchObject({ ras: 800, known: true, evidence: expect.stringMatching(/^Remote Access error 800 - The remote connection/) as string });
    expect(diagnoseRas('', 691)).toMatchObject({ code: 'tunnel.wrong-password', retry: false, evidence: 'rasdial exit 691' });
    expect(diagnoseRas('something odd\n', 1)).toMatchObject({ code: 'tunnel.ras-unknown', ras: 1, known: false });
    expect(diagnoseRas('something odd\n', null)).toMatchObject({ code: 'tunnel.ras-unknown', known: false, evidence: 'something odd' });
  });

  it('the table covers every code windows.md documents, each with what happened, a cause and what to do', () => {
    const codes = rasErrorTable.map((rule) => rule.ras).sort((a, b) => a - b);
    expect(codes).toEqual([87, 619, 623, 628, 691, 720, 766, 787, 788, 789, 792, 797, 800, 809, 812, 817, 827, 868, 13801, 13806, 13868]);
    for (const rule of rasErrorTable) for (const text of [rule.what, rule.cause, rule.action]) expect(text.length).toBeGreaterThan(10);
  });

  it('every fixture cites its source in windows.md and says whether it is real or synthetic (with the shape it follows)', () => {
    const dir = fileURLToPath(new URL('../fixtures/windows/', import.meta.url));
    for (const file of readdirSync(dir)) {
      const { header } = loadFixture(file);
      expect(header['source'], file).toMatch(/shared\/reference\/windows\.md/);
      expect(header['kind'], file).toMatch(/^real \(|^synthetic \(shape: /);
      expect(readFileSync(`${dir}${file}`, 'utf8'), file).toMatch(/^# source: /);
    }
  });
});

describe('windows verify and the password prompt', () => {
  it('verify: connected, with every split route on the entry; a missing route is named', async () => {
    const { fake, driver } = setUp({ entry: officeEntry() });
    await driver.connect(l2tpPsk, signal, recordingJournal());
    await driver.verify?.(l2tpPsk, '10.99.0.1', signal, recordingJournal());
    const entry = fake.entry(NAME);
    if (entry !== undefined) entry.routes = [];
    await expect(driver.verify?.(l2tpPsk, '10.99.0.1', signal, recordingJournal())).rejects.toMatchObject({ code: 'verify.routes', message: 'verify (routes): the VPN entry backhaul-office lacks the split route 10.99.0.0/24' });
    if (entry !== undefined) entry.status = 'Disconnected';
    await expect(driver.verify?.(l2tpPsk, '10.99.0.1', signal, recordingJournal())).rejects.toMatchObject({ code: 'verify.interface' });
    finish(fake);
  });

  it('the password is typed at a prompt ending in a colon, never at the "Verifying username and password..." progress line', () => {
    expect(RASDIAL_PASSWORD_PROMPT.test('Connecting to backhaul-office...\nVerifying username and password...\n')).toBe(false);
    // synthetic: the prompt's words are unconfirmed (windows.md §9 item 3)
    expect(RASDIAL_PASSWORD_PROMPT.test("Enter a password for vpnuser to connect to 'backhaul-office': ")).toBe(true);
  });
});
