/**
 * The three service managers issue exactly these commands, in this order, and read their answers.
 * systemctl's replies are recorded from the lab guest's real systemd 252 by test/lab (this host has
 * no systemd as PID 1); here they are synthetic in systemctl's documented `show` format
 * (systemctl(1), "show": Key=Value lines; unknown units print LoadState=not-found).
 * launchctl and sc.exe have no recordings in /work/shared/reference (macos.md, windows.md): their
 * replies are synthetic, following launchctl(1) ("print" — `state = running`, `pid = N`; exit 113
 * when the service is not in the domain) and Microsoft's sc.exe reference ("sc query"/"sc qc"
 * field layout; Win32 error codes 5/1056/1060/1061/1062/1073 as exit status). The WinSW XML is checked
 * with xmldom against what WinSW 1.17 reads (src/os/service/winsw-xml.ts names the sources).
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';
import { parse as parsePlist } from 'plist';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLaunchdService, parseLaunchctlPrint } from '../../../src/os/service/launchd.js';
import { createSystemdService, parseSystemctlShow } from '../../../src/os/service/systemd.js';
import { nodeServiceFiles, ServiceError, type ServiceFiles } from '../../../src/os/service/types.js';
import { createWindowsService, parseScFields, windowsCommandLine, winswXmlPath } from '../../../src/os/service/windows.js';
import { renderWinswXml, WinswXmlError } from '../../../src/os/service/winsw-xml.js';
import { ReplayingCommandRunner } from '../../helpers/replaying-runner.js';

let tmp: string;
beforeEach(async () => { tmp = await mkdtemp(join(tmpdir(), 'backhaul-service-')); });
afterEach(async () => { await rm(tmp, { recursive: true, force: true }); });

const SHOW = ['systemctl', 'show', 'backhaul.service', '--property=LoadState,ActiveState,SubState,UnitFileState,MainPID,FragmentPath'];
const showRunning = (path: string) => ({ stdout: `MainPID=4242\nLoadState=loaded\nActiveState=active\nSubState=running\nFragmentPath=${path}\nUnitFileState=enabled\n`, source: 'synthetic: systemctl(1) show' });
const showGone = { stdout: 'MainPID=0\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nFragmentPath=\nUnitFileState=\n', source: 'synthetic: systemctl(1) show' };

describe('systemd', () => {
  it('install: creates the backhaul group when missing, writes the unit, enables and starts it', async () => {
    const unitPath = join(tmp, 'etc', 'systemd', 'system', 'backhaul.service');
    const runner = new ReplayingCommandRunner([
      { argv: ['getent', 'group', 'backhaul'], reply: { exitCode: 2 } }, // getent(1): 2 = key not found
      { argv: ['groupadd', '--system', 'backhaul'], reply: {} },
      { argv: ['systemctl', 'daemon-reload'], reply: {} },
      { argv: ['systemctl', 'enable', '--now', 'backhaul.service'], reply: { stderr: 'Created symlink /etc/systemd/system/multi-user.target.wants/backhaul.service → /etc/systemd/system/backhaul.service.' } },
      { argv: SHOW, reply: showRunning(unitPath) },
    ]);
    const status = await createSystemdService({ runner, files: nodeServiceFiles, unitPath }).install({ argv: ['/usr/bin/node', '/usr/lib/node_modules/backhaul/dist/cli/bin.js', '--system', 'agent'] });
    runner.assertDone();
    expect(status).toEqual({ installed: true, enabled: true, running: true, pid: 4242, detail: 'active (running)', location: unitPath });
    expect(await readFile(unitPath, 'utf8')).toContain('\nExecStart=/usr/bin/node /usr/lib/node_modules/backhaul/dist/cli/bin.js --system agent\n');
    expect((await stat(unitPath)).mode & 0o777).toBe(0o644);
  });

  it('install: an existing group is left alone', async () => {
    const unitPath = join(tmp, 'backhaul.service');
    const runner = new ReplayingCommandRunner([
      { argv: ['getent', 'group', 'backhaul'], reply: { stdout: 'backhaul:x:998:alice\n' } },
      { argv: ['systemctl', 'daemon-reload'], reply: {} },
      { argv: ['systemctl', 'enable', '--now', 'backhaul.service'], reply: {} },
      { argv: SHOW, reply: showRunning(unitPath) },
    ]);
    await createSystemdService({ runner, files: nodeServiceFiles, unitPath }).install({ argv: ['/usr/bin/backhaul', '--system', 'agent'] });
    runner.assertDone();
  });

  it('a failing systemctl becomes a ServiceError naming the command', async () => {
    const unitPath = join(tmp, 'backhaul.service');
    const runner = new ReplayingCommandRunner([
      { argv: ['getent', 'group', 'backhaul'], reply: { stdout: 'backhaul:x:998:\n' } },
      { argv: ['systemctl', 'daemon-reload'], reply: { exitCode: 1, stderr: 'System has not been booted with systemd as init system (PID 1). Can\'t operate.' } },
    ]);
    const error = await createSystemdService({ runner, files: nodeServiceFiles, unitPath }).install({ argv: ['/usr/bin/backhaul', 'agent'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect(error).toMatchObject({ code: 'service.command-failed', message: expect.stringMatching(/^systemctl daemon-reload failed: System has not been booted with systemd/) as unknown });
    expect(() => { runner.assertDone(); }).not.toThrow();
  });

  it('install refuses a relative program before touching anything', async () => {
    const runner = new ReplayingCommandRunner([]);
    await expect(createSystemdService({ runner, files: nodeServiceFiles, unitPath: join(tmp, 'u') }).install({ argv: ['backhaul', 'agent'] })).rejects.toMatchObject({ code: 'service.bad-command' });
    runner.assertDone();
  });

  it('uninstall: disable --now (also when already gone), remove the unit, reload', async () => {
    const unitPath = join(tmp, 'backhaul.service');
    await nodeServiceFiles.write(unitPath, 'x', 0o644);
    const runner = new ReplayingCommandRunner([
      { argv: ['systemctl', 'disable', '--now', 'backhaul.service'], reply: { exitCode: 1, stderr: 'Failed to disable unit: Unit file backhaul.service does not exist.' } },
      { argv: ['systemctl', 'daemon-reload'], reply: {} },
      { argv: SHOW, reply: showGone },
    ]);
    const status = await createSystemdService({ runner, files: nodeServiceFiles, unitPath }).uninstall();
    runner.assertDone();
    expect(status).toMatchObject({ installed: false, running: false, enabled: false });
    expect(await nodeServiceFiles.read(unitPath)).toBeUndefined();
  });

  it('parses show output, ignoring lines without a key', () => {
    expect(parseSystemctlShow('A=1\n\nnoise\nB=x=y\n')).toEqual({ A: '1', B: 'x=y' });
  });
});

const PRINT = `system/com.backhaul.agent = {
	active count = 1
	path = /Library/LaunchDaemons/com.backhaul.agent.plist
	type = LaunchDaemon
	state = running

	program = /Applications/Backhaul.app/Contents/MacOS/Backhaul
	pid = 512
	immediate reason = semaphore
}
`; // synthetic: launchctl(1) "print" layout

describe('launchd', () => {
  it('install: group, bootout of an old copy, the plist, bootstrap into the system domain, enable', async () => {
    const plistPath = join(tmp, 'com.backhaul.agent.plist');
    const runner = new ReplayingCommandRunner([
      { argv: ['dseditgroup', '-o', 'read', 'backhaul'], reply: { exitCode: 64, stderr: 'Group not found.' } }, // synthetic: dseditgroup(8)
      { argv: ['dseditgroup', '-o', 'create', '-r', 'Backhaul', 'backhaul'], reply: {} },
      { argv: ['launchctl', 'bootout', 'system/com.backhaul.agent'], reply: { exitCode: 113, stderr: 'Boot-out failed: 113: Could not find specified service' } },
      { argv: ['launchctl', 'bootstrap', 'system', plistPath], reply: {} },
      { argv: ['launchctl', 'enable', 'system/com.backhaul.agent'], reply: {} },
      { argv: ['launchctl', 'print', 'system/com.backhaul.agent'], reply: { stdout: PRINT } },
    ]);
    const status = await createLaunchdService({ runner, files: nodeServiceFiles, plistPath }).install({ argv: ['/usr/local/bin/backhaul', '--system', 'agent'] });
    runner.assertDone();
    expect(status).toEqual({ installed: true, enabled: true, running: true, pid: 512, detail: 'state = running', location: plistPath });
    expect(parsePlist(await readFile(plistPath, 'utf8'))).toMatchObject({ Label: 'com.backhaul.agent', ProgramArguments: ['/usr/local/bin/backhaul', '--system', 'agent'], KeepAlive: true, RunAtLoad: true });
  });

  it('uninstall: bootout and remove; status then says not loaded', async () => {
    const plistPath = join(tmp, 'com.backhaul.agent.plist');
    await nodeServiceFiles.write(plistPath, 'x', 0o644);
    const runner = new ReplayingCommandRunner([
      { argv: ['launchctl', 'bootout', 'system/com.backhaul.agent'], reply: {} },
      { argv: ['launchctl', 'print', 'system/com.backhaul.agent'], reply: { exitCode: 113, stderr: 'Could not find service "com.backhaul.agent" in domain for system' } },
    ]);
    expect(await createLaunchdService({ runner, files: nodeServiceFiles, plistPath }).uninstall()).toEqual({ installed: false, enabled: false, running: false, detail: 'not loaded', location: plistPath });
    runner.assertDone();
  });

  it('reads only the state and pid lines', () => {
    expect(parseLaunchctlPrint(PRINT)).toEqual({ state: 'running', pid: 512 });
    expect(parseLaunchctlPrint('state = not running\n')).toEqual({ state: 'not running' });
  });
});

const QUERY_RUNNING = `
SERVICE_NAME: Backhaul
        TYPE               : 10  WIN32_OWN_PROCESS
        STATE              : 4  RUNNING
                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)
        WIN32_EXIT_CODE    : 0  (0x0)
        SERVICE_EXIT_CODE  : 0  (0x0)
        CHECKPOINT         : 0x0
        WAIT_HINT          : 0x0
`.replaceAll('\n', '\r\n'); // synthetic: Microsoft's "sc query" reference layout, CRLF as sc.exe prints
const queryIn = (state: string) => QUERY_RUNNING.replace('4  RUNNING', state); // synthetic, same layout
const HOST = 'C:\\Program Files\\Backhaul\\resources\\bin\\backhaul-service.exe';
const XML = 'C:\\Program Files\\Backhaul\\resources\\bin\\backhaul-service.xml';
const QC_AUTO = `[SC] QueryServiceConfig SUCCESS

SERVICE_NAME: Backhaul
        TYPE               : 10  WIN32_OWN_PROCESS
        START_TYPE         : 2   AUTO_START
        ERROR_CONTROL      : 1   NORMAL
        BINARY_PATH_NAME   : "${HOST}"
        DISPLAY_NAME       : Backhaul backup agent
        SERVICE_START_NAME : LocalSystem
`.replaceAll('\n', '\r\n'); // synthetic: Microsoft's "sc qc" reference layout
const GONE = { exitCode: 1060, stdout: '[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\r\n\r\nThe specified service does not exist as an installed service.' }; // synthetic, sc.exe reference wording

/** The packaged app's agent, as the NSIS installer's `service install` hands it over. */
const AGENT = {
  argv: ['C:\\Program Files\\Backhaul\\Backhaul.exe', 'C:\\Program Files\\Backhaul\\resources\\app.asar\\dist\\cli\\bin.js', '--system', 'agent'],
  environment: { ELECTRON_RUN_AS_NODE: '1' },
};
const CREATE = ['sc.exe', 'create', 'Backhaul', 'binPath=', `"${HOST}"`, 'start=', 'auto', 'obj=', 'LocalSystem', 'DisplayName=', 'Backhaul backup agent'];

/** Windows paths can't be written on this host: an in-memory ServiceFiles. */
function memoryFiles(initial: Record<string, string> = {}, writeError?: string) {
  const map = new Map(Object.entries(initial));
  const files: ServiceFiles = {
    read: (path) => Promise.resolve(map.get(path)),
    write: (path, text) => {
      if (writeError !== undefined) return Promise.reject(Object.assign(new Error(`${writeError}: operation not permitted, open '${path}'`), { code: writeError }));
      map.set(path, text);
      return Promise.resolve();
    },
    remove: (path) => { map.delete(path); return Promise.resolve(); },
  };
  return { files, map };
}

/** Strict XML (any parser warning fails), as the ADMX test reads its files. */
function parseXml(text: string): Document {
  return new DOMParser({ onError: (level, message) => { throw new Error(`${level}: ${message}`); } }).parseFromString(text, 'text/xml');
}
const childElements = (parent: Element) => Array.from(parent.childNodes).filter((n): n is Element => n.nodeType === 1);

describe('Windows service (WinSW host, registered with sc.exe)', () => {
  const noWait = () => Promise.resolve();

  it('install: writes the host XML, registers the host (LocalSystem, auto start), description, restart on failure, start', async () => {
    const { files, map } = memoryFiles({ [HOST]: 'MZ…' });
    const runner = new ReplayingCommandRunner([
      { argv: CREATE, reply: { stdout: '[SC] CreateService SUCCESS' } },
      { argv: ['sc.exe', 'description', 'Backhaul', 'Runs scheduled backups over the VPN; the tray and the backhaul CLI talk to it.'], reply: { stdout: '[SC] ChangeServiceConfig2 SUCCESS' } },
      { argv: ['sc.exe', 'failure', 'Backhaul', 'reset=', '86400', 'actions=', 'restart/5000/restart/5000/restart/60000'], reply: { stdout: '[SC] ChangeServiceConfig2 SUCCESS' } },
      { argv: ['sc.exe', 'start', 'Backhaul'], reply: {} },
      { argv: ['sc.exe', 'query', 'Backhaul'], reply: { stdout: QUERY_RUNNING } },
      { argv: ['sc.exe', 'qc', 'Backhaul'], reply: { stdout: QC_AUTO } },
    ]);
    const status = await createWindowsService({ runner, files, serviceHost: HOST, logDir: 'C:\\ProgramData\\Backhaul\\logs' }).install(AGENT);
    runner.assertDone();
    expect(status).toEqual({ installed: true, enabled: true, running: true, detail: '4 RUNNING', location: 'SCM: Backhaul' });
    const xml = map.get(XML) ?? '';
    // WinSW 1.x reads <stoptimeout>/<resetfailure> under the document's first child: no declaration, no leading comment.
    expect(xml.startsWith('<service>\r\n')).toBe(true);
    const service = parseXml(xml).documentElement;
    expect(service?.tagName).toBe('service');
    const els = childElements(service as Element);
    const text = (tag: string) => els.filter((e) => e.tagName === tag).map((e) => e.textContent);
    expect(els.map((e) => e.tagName)).toEqual(['id', 'name', 'description', 'executable', 'arguments', 'env', 'startmode', 'onfailure', 'onfailure', 'onfailure', 'resetfailure', 'stoptimeout', 'stopparentprocessfirst', 'logpath', 'log']);
    expect(text('id')).toEqual(['Backhaul']);
    expect(text('executable')).toEqual(['C:\\Program Files\\Backhaul\\Backhaul.exe']);
    expect(text('arguments')).toEqual(['"C:\\Program Files\\Backhaul\\resources\\app.asar\\dist\\cli\\bin.js" --system agent']);
    expect(els.filter((e) => e.tagName === 'env').map((e) => [e.getAttribute('name'), e.getAttribute('value')])).toEqual([['ELECTRON_RUN_AS_NODE', '1']]);
    expect(text('startmode')).toEqual(['Automatic']);
    expect(els.filter((e) => e.tagName === 'onfailure').map((e) => [e.getAttribute('action'), e.getAttribute('delay')])).toEqual([['restart', '5 sec'], ['restart', '5 sec'], ['restart', '60 sec']]);
    expect(text('resetfailure')).toEqual(['1 day']);
    expect(text('stoptimeout')).toEqual(['120 sec']);
    expect(text('stopparentprocessfirst')).toEqual(['true']);
    expect(text('logpath')).toEqual(['C:\\ProgramData\\Backhaul\\logs']);
    const log = els.find((e) => e.tagName === 'log') as Element;
    expect(log.getAttribute('mode')).toBe('roll-by-size');
    expect(childElements(log).map((e) => [e.tagName, e.textContent])).toEqual([['sizeThreshold', '10240'], ['keepFiles', '8']]);
  });

  it('install over an existing service reconfigures it (1073 ERROR_SERVICE_EXISTS); a running one stays (1056)', async () => {
    const { files } = memoryFiles({ [HOST]: 'MZ…' });
    const runner = new ReplayingCommandRunner([
      { argv: CREATE, reply: { exitCode: 1073, stdout: '[SC] CreateService FAILED 1073:\r\n\r\nThe specified service already exists.' } },
      { argv: ['sc.exe', 'config', 'Backhaul', 'binPath=', `"${HOST}"`, 'start=', 'auto'], reply: {} },
      { argv: ['sc.exe', 'description', 'Backhaul', /.+/], reply: {} },
      { argv: ['sc.exe', 'failure', 'Backhaul', 'reset=', '86400', 'actions=', /^restart/], reply: {} },
      { argv: ['sc.exe', 'start', 'Backhaul'], reply: { exitCode: 1056 } },
      { argv: ['sc.exe', 'query', 'Backhaul'], reply: { stdout: QUERY_RUNNING } },
      { argv: ['sc.exe', 'qc', 'Backhaul'], reply: { stdout: QC_AUTO } },
    ]);
    await createWindowsService({ runner, files, serviceHost: HOST }).install(AGENT);
    runner.assertDone();
  });

  it('access denied — sc.exe exit 5, or Program Files refusing the XML — says to elevate', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: CREATE, reply: { exitCode: 5, stdout: '[SC] OpenSCManager FAILED 5:\r\n\r\nAccess is denied.' } },
    ]);
    await expect(createWindowsService({ runner, files: memoryFiles({ [HOST]: 'MZ' }).files, serviceHost: HOST }).install(AGENT))
      .rejects.toMatchObject({ code: 'service.needs-admin', hint: expect.stringMatching(/Run as administrator/) as unknown });
    runner.assertDone();
    const none = new ReplayingCommandRunner([]);
    await expect(createWindowsService({ runner: none, files: memoryFiles({ [HOST]: 'MZ' }, 'EPERM').files, serviceHost: HOST }).install(AGENT))
      .rejects.toMatchObject({ code: 'service.needs-admin', message: expect.stringContaining(XML) as unknown });
    none.assertDone();
  });

  it('refuses before changing anything: no host, a missing host, a relative program, a "%" WinSW would expand', async () => {
    const none = new ReplayingCommandRunner([]);
    const { files, map } = memoryFiles({ [HOST]: 'MZ' });
    await expect(createWindowsService({ runner: none, files }).install(AGENT)).rejects.toMatchObject({ code: 'service.bad-command', hint: expect.stringMatching(/--service-host/) as unknown });
    await expect(createWindowsService({ runner: none, files, serviceHost: 'D:\\gone\\backhaul-service.exe' }).install(AGENT)).rejects.toMatchObject({ code: 'service.bad-command', message: 'the service host D:\\gone\\backhaul-service.exe is missing' });
    await expect(createWindowsService({ runner: none, files, serviceHost: HOST }).install({ argv: ['node', 'bin.js', '--system', 'agent'] })).rejects.toMatchObject({ code: 'service.bad-command' });
    await expect(createWindowsService({ runner: none, files, serviceHost: HOST }).install({ argv: ['C:\\100%\\Backhaul.exe', '--system', 'agent'] })).rejects.toMatchObject({ code: 'service.bad-command', message: expect.stringContaining('"%"') as unknown });
    none.assertDone();
    expect([...map.keys()]).toEqual([HOST]);
  });

  it('uninstall: stop, wait until stopped, delete, remove the XML it wrote', async () => {
    const { files, map } = memoryFiles({ [HOST]: 'MZ', [XML]: '<service>\r\n  <!-- Written by "backhaul service install" (src/os/service/winsw-xml.ts) … -->\r\n</service>\r\n' });
    const runner = new ReplayingCommandRunner([
      { argv: ['sc.exe', 'qc', 'Backhaul'], reply: { stdout: QC_AUTO } },
      { argv: ['sc.exe', 'stop', 'Backhaul'], reply: { stdout: queryIn('3  STOP_PENDING') } },
      { argv: ['sc.exe', 'query', 'Backhaul'], reply: { stdout: queryIn('3  STOP_PENDING') } },
      { argv: ['sc.exe', 'query', 'Backhaul'], reply: { stdout: queryIn('1  STOPPED') } },
      { argv: ['sc.exe', 'delete', 'Backhaul'], reply: { stdout: '[SC] DeleteService SUCCESS' } },
      { argv: ['sc.exe', 'query', 'Backhaul'], reply: GONE },
    ]);
    let waits = 0;
    const status = await createWindowsService({ runner, files, sleep: () => { waits++; return noWait(); } }).uninstall();
    runner.assertDone();
    expect(status).toEqual({ installed: false, enabled: false, running: false, detail: 'not installed', location: 'SCM: Backhaul' });
    expect(waits).toBe(1);
    expect([...map.keys()]).toEqual([HOST]);
  });

  it('uninstall: nothing installed is fine; a stopped (1062) or busy (1061) service too; an XML it did not write stays', async () => {
    const gone = new ReplayingCommandRunner([
      { argv: ['sc.exe', 'qc', 'Backhaul'], reply: GONE },
      { argv: ['sc.exe', 'query', 'Backhaul'], reply: GONE },
    ]);
    expect((await createWindowsService({ runner: gone, files: memoryFiles().files, sleep: noWait }).uninstall()).installed).toBe(false);
    gone.assertDone();
    const { files, map } = memoryFiles({ [XML]: '<service><id>someone-else</id></service>' });
    const stopped = new ReplayingCommandRunner([
      { argv: ['sc.exe', 'qc', 'Backhaul'], reply: { stdout: QC_AUTO } },
      { argv: ['sc.exe', 'stop', 'Backhaul'], reply: { exitCode: 1062, stdout: '[SC] ControlService FAILED 1062:\r\n\r\nThe service has not been started.' } },
      { argv: ['sc.exe', 'query', 'Backhaul'], reply: { stdout: queryIn('1  STOPPED') } },
      { argv: ['sc.exe', 'delete', 'Backhaul'], reply: {} },
      { argv: ['sc.exe', 'query', 'Backhaul'], reply: GONE },
    ]);
    await createWindowsService({ runner: stopped, files, sleep: noWait }).uninstall();
    stopped.assertDone();
    expect(map.has(XML)).toBe(true);
    const starting = new ReplayingCommandRunner([
      { argv: ['sc.exe', 'qc', 'Backhaul'], reply: { stdout: QC_AUTO } },
      { argv: ['sc.exe', 'stop', 'Backhaul'], reply: { exitCode: 1061, stdout: '[SC] ControlService FAILED 1061:\r\n\r\nThe service cannot accept control messages at this time.' } },
      { argv: ['sc.exe', 'query', 'Backhaul'], reply: { stdout: queryIn('1  STOPPED') } },
      { argv: ['sc.exe', 'delete', 'Backhaul'], reply: {} },
      { argv: ['sc.exe', 'query', 'Backhaul'], reply: GONE },
    ]);
    await createWindowsService({ runner: starting, files, sleep: noWait }).uninstall();
    starting.assertDone();
  });

  it('builds a command line CommandLineToArgvW reads back; finds the XML from the registered path', () => {
    expect(windowsCommandLine(['C:\\Program Files\\B\\x.exe', '--system', 'agent'])).toBe('"C:\\Program Files\\B\\x.exe" --system agent');
    expect(windowsCommandLine(['a"b', 'C:\\dir with space\\', ''])).toBe('"a\\"b" "C:\\dir with space\\\\" ""');
    expect(parseScFields(QUERY_RUNNING)['STATE']).toBe('4  RUNNING');
    expect(winswXmlPath(`"${HOST}"`)).toBe(XML);
    expect(winswXmlPath('C:\\Tools\\winsw.exe')).toBe('C:\\Tools\\winsw.xml');
    expect(winswXmlPath('"C:\\Program Files\\Backhaul\\Backhaul.exe" C:\\x\\bin.js --system agent')).toBe('C:\\Program Files\\Backhaul\\Backhaul.xml');
    expect(winswXmlPath('')).toBeUndefined();
  });

  it('the XML refuses what it cannot carry', () => {
    expect(() => renderWinswXml({ argv: [], logDir: 'C:\\x' })).toThrow(WinswXmlError);
    expect(() => renderWinswXml({ argv: ['C:\\a\u0001.exe'], logDir: 'C:\\x' })).toThrow(/control character/);
    expect(renderWinswXml({ argv: ['C:\\A&B\\<x>.exe'], logDir: 'C:\\x' })).toContain('<executable>C:\\A&amp;B\\&lt;x&gt;.exe</executable>');
    expect(renderWinswXml({ argv: ['C:\\a.exe'], environment: { X: 'say "hi"' }, logDir: 'C:\\x' })).toContain('<env name="X" value="say &quot;hi&quot;"/>');
  });

  it('docs/install.md shows the XML the installed app gets', async () => {
    const doc = await readFile(join(import.meta.dirname, '..', '..', '..', 'docs', 'install.md'), 'utf8');
    const shown = /```xml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(shown).toBe(renderWinswXml({ ...AGENT, logDir: 'C:\\ProgramData\\Backhaul\\logs' }).replaceAll('\r\n', '\n'));
  });
});
