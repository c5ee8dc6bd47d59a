import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'plist';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TunnelError, type TunnelProfile } from '../../src/connect/driver.js';
import { createMacosDriver, l2tpCipherVerdict, profilePath } from '../../src/connect/macos.js';
import { generateProfile } from '../../src/connect/macos-profile.js';
import { ReplayingCommandRunner, type Expectation } from '../helpers/replaying-runner.js';
import { recordingJournal } from './linux-fakes.js';
import { ikev2Profile, l2tpProfile, listWith, mac, PASSWORD, PROFILE_KEY, PSK } from './macos-fakes.js';

const signal = new AbortController().signal;
const pacing = { pollMs: 0, connectPolls: 4, stopPolls: 2 };
const NAME = generateProfile(l2tpProfile, PROFILE_KEY).serviceName;
const LIST = ['scutil', '--nc', 'list'];
const STATUS = ['scutil', '--nc', 'status', NAME];
const START = ['scutil', '--nc', 'start', NAME];
const STOP = ['scutil', '--nc', 'stop', NAME];
const ROUTE_ADD = ['route', '-n', 'add', '-net', '10.99.0.0/24', '-interface', 'ppp0'];
const ROUTE_DELETE = ['route', '-n', 'delete', '-net', '10.99.0.0/24', '-interface', 'ppp0'];
const SERVICE = `macos-service ${NAME}`;
const ROUTE = 'macos-route 10.99.0.0/24 ppp0';

let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'bh-macos-'));
});
afterEach(() => {
  rmSync(stateDir, { recursive: true, force: true });
});

function setup(expectations: Expectation[]) {
  const runner = new ReplayingCommandRunner(expectations);
  const lines: string[] = [];
  const driver = createMacosDriver({ runner, stateDir, profileKey: PROFILE_KEY, pacing, log: (level, message) => lines.push(`${level} ${message}`) });
  return { runner, driver, lines, journal: recordingJournal() };
}

/** The TunnelError a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<TunnelError> {
  const error: unknown = await promise.then(() => undefined, (reason: unknown) => reason);
  if (!(error instanceof TunnelError)) throw new Error(`expected a TunnelError, got ${String(error)}`);
  return error;
}

/** No secret in any argv or environment. */
function noSecrets(runner: ReplayingCommandRunner): void {
  const visible = runner.calls.map((call) => [...call.argv, ...Object.values(call.env ?? {})].join(' ')).join('\n');
  for (const secret of [PSK, PASSWORD]) expect(visible).not.toContain(secret);
}

const up: Expectation[] = [
  { argv: STATUS, reply: mac('scutil-nc-status-disconnected.txt') },
  { argv: START, reply: mac('scutil-nc-start-accepted.txt') },
  { argv: STATUS, reply: mac('scutil-nc-status-connecting.txt') },
  { argv: STATUS, reply: mac('scutil-nc-status-l2tp-connected.txt') },
];

describe('macos ensureProfile', () => {
  it('first time: looks for the service, writes the profile (0600, in a 0700 dir) and says what a person must do', async () => {
    const { runner, driver, lines, journal } = setup([{ argv: LIST, reply: mac('scutil-nc-list-ikev2-only.txt') }]);
    const error = await rejection(driver.ensureProfile(l2tpProfile, signal, journal));
    expect(error.code).toBe('tunnel.macos-profile-install');
    const path = profilePath(stateDir, generateProfile(l2tpProfile, PROFILE_KEY));
    expect(error.message).toContain(path);
    expect(error.message).toContain(NAME);
    expect(error.hint).toMatch(/System Settings → Privacy & Security → Profiles/);
    expect(error.hint).toMatch(/Device Management/);
    expect(error.hint).toMatch(/MDM/);
    expect(error.hint).toMatch(/holds the VPN's credentials/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(stateDir, 'macos')).mode & 0o777).toBe(0o700);
    const written = parse(readFileSync(path, 'utf8')) as { PayloadContent: { UserDefinedName: string }[] };
    expect(written.PayloadContent[0]?.UserDefinedName).toBe(NAME);
    expect(lines.some((line) => /^warn .*L2TP\/IPsec profile has no cipher settings.*legacy/.test(line))).toBe(true);
    expect(journal.events).toEqual([]);
    runner.assertDone();
    noSecrets(runner);
  });

  it('once the person installed it: created, and the file with the secrets is deleted', async () => {
    const first = setup([{ argv: LIST, reply: mac('scutil-nc-list-ikev2-only.txt') }]);
    await expect(first.driver.ensureProfile(l2tpProfile, signal, first.journal)).rejects.toMatchObject({ code: 'tunnel.macos-profile-install' });
    const { runner, driver, journal } = setup([{ argv: LIST, reply: listWith('My VPN', NAME) }]);
    expect(await driver.ensureProfile(l2tpProfile, signal, journal)).toBe('created');
    expect(existsSync(profilePath(stateDir, generateProfile(l2tpProfile, PROFILE_KEY)))).toBe(false);
    runner.assertDone();
  });

  it('without an injected key, one per-machine key (0600) is created once and reused, so the name is stable across restarts', async () => {
    const names: string[] = [];
    for (let run = 0; run < 2; run++) {
      const runner = new ReplayingCommandRunner([{ argv: LIST, reply: mac('scutil-nc-list-ikev2-only.txt') }]);
      const error = await rejection(createMacosDriver({ runner, stateDir, pacing }).ensureProfile(l2tpProfile, signal, recordingJournal()));
      names.push(/no VPN (Backhaul office \([0-9a-f]{8}\))/.exec(error.message)?.[1] ?? '');
    }
    expect(names[0]).toMatch(/^Backhaul office/);
    expect(names[1]).toBe(names[0]);
    expect(names[0]).not.toBe(NAME);
    expect(statSync(join(stateDir, 'macos', 'profile-key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(stateDir, 'macos', 'profile-key')).size).toBe(32);
  });

  it('unchanged profile: one list, no file, no change', async () => {
    const { runner, driver, journal } = setup([{ argv: LIST, reply: listWith('My VPN', NAME) }]);
    expect(await driver.ensureProfile(l2tpProfile, signal, journal)).toBe('unchanged');
    expect(existsSync(join(stateDir, 'macos', 'org.backhaul.vpn.office.mobileconfig'))).toBe(false);
    runner.assertDone();
  });

  it('changed cipher policy: a new profile version replacing the installed one, then updated once installed', async () => {
    const oldName = generateProfile(ikev2Profile, PROFILE_KEY).serviceName;
    const changed: TunnelProfile = { ...ikev2Profile, ikeProposals: ['aes256-sha384-ecp384'], espProposals: ['aes256gcm16-ecp384'] };
    const next = generateProfile(changed, PROFILE_KEY);
    const first = setup([{ argv: LIST, reply: listWith(oldName) }]);
    const error = await rejection(first.driver.ensureProfile(changed, signal, first.journal));
    expect(error.code).toBe('tunnel.macos-profile-update');
    expect(error.message).toContain(oldName);
    expect(error.message).toContain(next.serviceName);
    expect(error.hint).toMatch(/replaces the old version/);
    const ikev2 = (parse(readFileSync(profilePath(stateDir, next), 'utf8')) as { PayloadContent: { IKEv2: Record<string, unknown> }[] }).PayloadContent[0]?.IKEv2;
    expect(ikev2?.['IKESecurityAssociationParameters']).toMatchObject({ EncryptionAlgorithm: 'AES-256', IntegrityAlgorithm: 'SHA2-384', DiffieHellmanGroup: 20 });
    expect(ikev2?.['ChildSecurityAssociationParameters']).toMatchObject({ EncryptionAlgorithm: 'AES-256-GCM', DiffieHellmanGroup: 20 });
    expect(ikev2?.['EnablePFS']).toBe(1);
    first.runner.assertDone();

    const { runner, driver, journal } = setup([{ argv: LIST, reply: listWith(next.serviceName) }]);
    expect(await driver.ensureProfile(changed, signal, journal)).toBe('updated');
    runner.assertDone();
  });

  it('L2TP under cipherPolicy strict is refused before anything runs: macOS\'s L2TP payload has no cipher keys', async () => {
    const { runner, driver, journal } = setup([]);
    const error = await rejection(driver.ensureProfile({ ...l2tpProfile, cipherPolicy: 'strict' }, signal, journal));
    expect(error.code).toBe('tunnel.macos-l2tp-cipher-policy');
    expect(error.hint).toMatch(/IKEv2/);
    expect(l2tpCipherVerdict({ ...l2tpProfile, cipherPolicy: 'legacy' }).allowed).toBe(true);
    expect(l2tpCipherVerdict({ ...l2tpProfile, cipherPolicy: 'strict' }).allowed).toBe(false);
    runner.assertDone();
  });

  it('a weak proposal is refused before anything runs', async () => {
    const { runner, driver, journal } = setup([]);
    await expect(driver.ensureProfile({ ...ikev2Profile, ikeProposals: ['3des-sha1-modp1024'] }, signal, journal)).rejects.toMatchObject({ code: 'tunnel.weak-cipher' });
    runner.assertDone();
  });

  it('IKEv2 missing from the list: the guidance says macOS may hide IKEv2 services from scutil', async () => {
    const { driver, journal } = setup([{ argv: LIST, reply: mac('scutil-nc-list-ikev2-only.txt') }]);
    const error = await rejection(driver.ensureProfile(ikev2Profile, signal, journal));
    expect(error.code).toBe('tunnel.macos-profile-install');
    expect(error.hint).toMatch(/not showing it to scutil/);
  });
});

describe('macos connect', () => {
  it('starts the service without secrets, waits for Connected, keeps the MTU PPP negotiated and adds the split route', async () => {
    const { runner, driver, lines, journal } = setup([...up, { argv: ROUTE_ADD, reply: mac('route-add-ok.txt') }]);
    const outcome = await driver.connect(l2tpProfile, signal, journal);
    expect(outcome).toEqual({ broughtUp: true, status: { state: 'up', interfaceName: 'ppp0', mtu: 1280, localAddress: '130.235.16.35' } });
    expect(journal.events).toEqual([`acquire ${SERVICE}`, `acquire ${ROUTE}`]);
    expect(lines).toContain('info MTU 1280 negotiated by PPP on ppp0 kept (computed 1402)');
    runner.assertDone();
    noSecrets(runner);
  });

  it('sets a smaller MTU with ifconfig when the profile asks for less than PPP negotiated', async () => {
    const { runner, driver, journal } = setup([...up, { argv: ['ifconfig', 'ppp0', 'mtu', '1200'], reply: mac('ifconfig-mtu-ok.txt') }, { argv: ROUTE_ADD, reply: mac('route-add-ok.txt') }]);
    await driver.connect({ ...l2tpProfile, mtu: 1200 }, signal, journal);
    runner.assertDone();
  });

  it('an MTU ifconfig refuses fails typed, and the tunnel it brought up is stopped again', async () => {
    const { runner, driver, journal } = setup([
      ...up,
      { argv: ['ifconfig', 'ppp0', 'mtu', '1200'], reply: { exitCode: 1, stderr: 'ifconfig: ioctl (SIOCSIFMTU): Invalid argument\n', source: 'synthetic: BSD ifconfig wording, not recorded on macOS' } },
      { argv: STOP, reply: mac('scutil-nc-stop-ok.txt') },
      { argv: STATUS, reply: mac('scutil-nc-status-disconnected.txt') },
    ]);
    const error = await rejection(driver.connect({ ...l2tpProfile, mtu: 1200 }, signal, journal));
    expect(error.code).toBe('tunnel.macos-mtu');
    expect(error.hint).toContain('profiles.office.mtu');
    expect(journal.held()).toEqual([]);
    runner.assertDone();
  });

  it('a VPN the user already connected is used and left alone', async () => {
    const { runner, driver, journal } = setup([{ argv: STATUS, reply: mac('scutil-nc-status-l2tp-connected.txt') }]);
    expect((await driver.connect(l2tpProfile, signal, journal)).broughtUp).toBe(false);
    expect(journal.events).toEqual([]);
    runner.assertDone();
  });

  const failures: { name: string; script: Expectation[]; code: string; message?: RegExp; events?: string[] }[] = [
    { name: 'no such service (profile not installed)', script: [{ argv: STATUS, reply: mac('scutil-nc-status-no-service.txt') }], code: 'tunnel.macos-no-service', message: /No service/, events: [] },
    { name: 'several services with the name', script: [{ argv: STATUS, reply: mac('scutil-nc-status-multiple.txt') }], code: 'tunnel.macos-duplicate-service', events: [] },
    {
      name: 'start refused',
      script: [{ argv: STATUS, reply: mac('scutil-nc-status-disconnected.txt') }, { argv: START, reply: mac('scutil-nc-start-refused.txt') }],
      code: 'tunnel.macos-start-refused', message: /Could not start connection: SCError placeholder/,
    },
    {
      name: 'start says No service',
      script: [{ argv: STATUS, reply: mac('scutil-nc-status-disconnected.txt') }, { argv: START, reply: mac('scutil-nc-start-no-service.txt') }],
      code: 'tunnel.macos-no-service',
    },
    { name: 'back to Disconnected', script: [...up.slice(0, 3), { argv: STATUS, reply: mac('scutil-nc-status-disconnected.txt') }], code: 'tunnel.macos-connect-failed' },
    {
      name: 'Disconnected with a LastCause (kept as printed, not interpreted)',
      script: [...up.slice(0, 3), { argv: STATUS, reply: mac('scutil-nc-status-disconnected-lastcause.txt') }],
      code: 'tunnel.macos-connect-failed', message: /LastCause 19 \(no documented meaning; kept as printed\)/,
    },
    { name: 'Invalid', script: [...up.slice(0, 2), { argv: STATUS, reply: mac('scutil-nc-status-invalid.txt') }], code: 'tunnel.macos-service-invalid', message: /Invalid : SCError placeholder/ },
    { name: 'a status word nc.c does not document', script: [...up.slice(0, 2), { argv: STATUS, reply: mac('scutil-nc-status-unknown.txt') }], code: 'tunnel.macos-unknown', message: /scutil --nc status: Unknown/ },
    {
      name: 'still Connecting when the wait ends (stopped, so macOS does not keep trying)',
      script: [...up.slice(0, 2), ...Array.from({ length: 4 }, () => ({ argv: STATUS, reply: mac('scutil-nc-status-connecting.txt') })), { argv: STOP, reply: mac('scutil-nc-stop-ok.txt') }],
      code: 'tunnel.macos-connect-timeout',
    },
    {
      name: 'Connected without an interface',
      script: [...up.slice(0, 2), { argv: STATUS, reply: mac('scutil-nc-status-ikev2-connected.txt') }, { argv: STOP, reply: mac('scutil-nc-stop-ok.txt') }, { argv: STATUS, reply: mac('scutil-nc-status-disconnected.txt') }],
      code: 'tunnel.macos-no-interface',
    },
    {
      name: 'the split route is refused (route removed nothing, tunnel stopped)',
      script: [...up, { argv: ROUTE_ADD, reply: mac('route-add-exists.txt') }, { argv: STOP, reply: mac('scutil-nc-stop-ok.txt') }, { argv: STATUS, reply: mac('scutil-nc-status-disconnected.txt') }],
      code: 'tunnel.macos-route', message: /File exists/,
      events: [`acquire ${SERVICE}`, `acquire ${ROUTE}`, `release ${ROUTE}`, `release ${SERVICE}`],
    },
  ];

  for (const failure of failures) {
    it(`fails typed, with what to do: ${failure.name}`, async () => {
      const { runner, driver, journal } = setup(failure.script);
      const error = await rejection(driver.connect(l2tpProfile, signal, journal));
      expect(error.code).toBe(failure.code);
      expect(error.hint).toMatch(/\S/);
      if (failure.message !== undefined) expect(error.message).toMatch(failure.message);
      // Whatever happened, nothing stays held: a failed connect is never torn down by the session.
      expect(journal.held()).toEqual([]);
      if (failure.events !== undefined) expect(journal.events).toEqual(failure.events);
      runner.assertDone();
      noSecrets(runner);
    });
  }
});

describe('macos status, disconnect and crash clean-up', () => {
  it('status maps the status word', async () => {
    const { runner, driver } = setup([
      { argv: STATUS, reply: mac('scutil-nc-status-l2tp-connected.txt') },
      { argv: STATUS, reply: mac('scutil-nc-status-connecting.txt') },
      { argv: STATUS, reply: mac('scutil-nc-status-disconnected.txt') },
      { argv: STATUS, reply: mac('scutil-nc-status-unknown.txt') },
      { argv: STATUS, reply: mac('scutil-nc-status-no-service.txt') },
    ]);
    const states = [];
    for (let i = 0; i < 5; i++) states.push((await driver.status(l2tpProfile, signal)).state);
    expect(states).toEqual(['up', 'connecting', 'down', 'unknown', 'unknown']);
    runner.assertDone();
  });

  it('disconnect removes the route, stops the service and waits for Disconnected; nothing stays held', async () => {
    const { runner, driver, journal } = setup([
      ...up,
      { argv: ROUTE_ADD, reply: mac('route-add-ok.txt') },
      { argv: ROUTE_DELETE, reply: mac('route-delete-ok.txt') },
      { argv: STOP, reply: mac('scutil-nc-stop-ok.txt') },
      { argv: STATUS, reply: mac('scutil-nc-status-disconnected.txt') },
    ]);
    await driver.connect(l2tpProfile, signal, journal);
    await driver.disconnect(l2tpProfile, signal, journal);
    expect(journal.events).toEqual([`acquire ${SERVICE}`, `acquire ${ROUTE}`, `release ${ROUTE}`, `release ${SERVICE}`]);
    runner.assertDone();
  });

  it('disconnect reports a refused stop with macOS\'s reason', async () => {
    const { runner, driver, journal } = setup([{ argv: STOP, reply: mac('scutil-nc-stop-refused.txt') }, { argv: STATUS, reply: mac('scutil-nc-status-l2tp-connected.txt') }]);
    const error = await rejection(driver.disconnect(l2tpProfile, signal, journal));
    expect(error.code).toBe('tunnel.macos-stop-refused');
    expect(error.message).toMatch(/Could not stop connection/);
    runner.assertDone();
  });

  it('disconnect after the tunnel dropped by itself: a refused stop of a Disconnected service is fine', async () => {
    const { runner, driver, journal } = setup([
      { argv: STOP, reply: mac('scutil-nc-stop-refused.txt') },
      { argv: STATUS, reply: mac('scutil-nc-status-disconnected.txt') },
    ]);
    await driver.disconnect(l2tpProfile, signal, journal);
    runner.assertDone();
  });

  it('after a crash, cleanUp removes the journaled route, then stops the journaled service', async () => {
    const { runner, driver } = setup([
      { argv: ROUTE_DELETE, reply: mac('route-delete-ok.txt') },
      { argv: STOP, reply: mac('scutil-nc-stop-ok.txt') },
    ]);
    await driver.cleanUp?.({ profile: 'office', tunnelUp: true, resources: [{ kind: 'macos-service', id: NAME }, { kind: 'macos-route', id: '10.99.0.0/24 ppp0' }] }, signal);
    runner.assertDone();
  });

  it('cleanUp tolerates what is already gone (route with its interface, service removed)', async () => {
    const { runner, driver } = setup([
      { argv: ROUTE_DELETE, reply: { exitCode: 1, stderr: 'route: writing to routing socket: not in table\n', source: 'synthetic' } },
      { argv: STOP, reply: mac('scutil-nc-start-no-service.txt') },
    ]);
    await driver.cleanUp?.({ profile: 'office', tunnelUp: true, resources: [{ kind: 'macos-route', id: '10.99.0.0/24 ppp0' }, { kind: 'macos-service', id: NAME }] }, signal);
    runner.assertDone();
  });
});
