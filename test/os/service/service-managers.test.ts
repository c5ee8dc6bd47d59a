/**
 * The three service managers issue exactly these commands, in this order, and read their answers.
 * systemctl's replies are recorded from the lab guest's real systemd 252 by test/lab (this host has
 * no systemd as PID 1); here they are synthetic in systemctl's documented `show` format
 * (systemctl(1), "show": Key=Value lines; unknown units print LoadState=not-found).
 * launchctl and sc.exe have no recordings in /work/shared/reference (macos.md, windows.md): their
 * replies are synthetic, following launchctl(1) ("print" — `state = running`, `pid = N`; exit 113
 * when the service is not in the domain) and Microsoft's sc.exe reference ("sc query"/"sc qc"
 * field layout; Win32 error codes 1060/1062/1073 as exit status).
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parsePlist } from 'plist';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLaunchdService, parseLaunchctlPrint } from '../../../src/os/service/launchd.js';
import { createSystemdService, parseSystemctlShow } from '../../../src/os/service/systemd.js';
import { nodeServiceFiles, ServiceError } from '../../../src/os/service/types.js';
import { createWindowsService, parseScFields, windowsCommandLine } from '../../../src/os/service/windows.js';
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
const QC_AUTO = `[SC] QueryServiceConfig SUCCESS

SERVICE_NAME: Backhaul
        TYPE               : 10  WIN32_OWN_PROCESS
        START_TYPE         : 2   AUTO_START
        ERROR_CONTROL      : 1   NORMAL
        BINARY_PATH_NAME   : "C:\\Program Files\\Backhaul\\backhaul-service.exe" --system agent
        DISPLAY_NAME       : Backhaul backup agent
        SERVICE_START_NAME : LocalSystem
`.replaceAll('\n', '\r\n'); // synthetic: Microsoft's "sc qc" reference layout

describe('Windows service (sc.exe)', () => {
  const binPath = '"C:\\Program Files\\Backhaul\\backhaul-service.exe" --system agent';

  it('install: create (LocalSystem, auto start), description, restart on failure, start', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: ['sc.exe', 'create', 'Backhaul', 'binPath=', binPath, 'start=', 'auto', 'obj=', 'LocalSystem', 'DisplayName=', 'Backhaul backup agent'], reply: { stdout: '[SC] CreateService SUCCESS' } },
      { argv: ['sc.exe', 'description', 'Backhaul', /^Runs scheduled backups/], reply: { stdout: '[SC] ChangeServiceConfig2 SUCCESS' } },
      { argv: ['sc.exe', 'failure', 'Backhaul', 'reset=', '86400', 'actions=', 'restart/5000/restart/5000/restart/60000'], reply: { stdout: '[SC] ChangeServiceConfig2 SUCCESS' } },
      { argv: ['sc.exe', 'start', 'Backhaul'], reply: {} },
      { argv: ['sc.exe', 'query', 'Backhaul'], reply: { stdout: QUERY_RUNNING } },
      { argv: ['sc.exe', 'qc', 'Backhaul'], reply: { stdout: QC_AUTO } },
    ]);
    const status = await createWindowsService({ runner }).install({ argv: ['C:\\Program Files\\Backhaul\\backhaul-service.exe', '--system', 'agent'] });
    runner.assertDone();
    expect(status).toEqual({ installed: true, enabled: true, running: true, detail: '4 RUNNING', location: 'SCM: Backhaul' });
  });

  it('install over an existing service reconfigures it (1073 ERROR_SERVICE_EXISTS)', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: ['sc.exe', 'create', 'Backhaul', 'binPath=', binPath, 'start=', 'auto', 'obj=', 'LocalSystem', 'DisplayName=', 'Backhaul backup agent'], reply: { exitCode: 1073, stdout: '[SC] CreateService FAILED 1073:\r\n\r\nThe specified service already exists.' } },
      { argv: ['sc.exe', 'config', 'Backhaul', 'binPath=', binPath, 'start=', 'auto'], reply: {} },
      { argv: ['sc.exe', 'description', 'Backhaul', /.+/], reply: {} },
      { argv: ['sc.exe', 'failure', 'Backhaul', 'reset=', '86400', 'actions=', /^restart/], reply: {} },
      { argv: ['sc.exe', 'start', 'Backhaul'], reply: { exitCode: 1056 } },
      { argv: ['sc.exe', 'query', 'Backhaul'], reply: { stdout: QUERY_RUNNING } },
      { argv: ['sc.exe', 'qc', 'Backhaul'], reply: { stdout: QC_AUTO } },
    ]);
    await createWindowsService({ runner }).install({ argv: ['C:\\Program Files\\Backhaul\\backhaul-service.exe', '--system', 'agent'] });
    runner.assertDone();
  });

  it('access denied (exit 5) says to elevate', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: ['sc.exe', 'create', 'Backhaul', 'binPath=', /.+/, 'start=', 'auto', 'obj=', 'LocalSystem', 'DisplayName=', 'Backhaul backup agent'], reply: { exitCode: 5, stdout: '[SC] OpenSCManager FAILED 5:\r\n\r\nAccess is denied.' } },
    ]);
    await expect(createWindowsService({ runner }).install({ argv: ['C:\\b.exe'] })).rejects.toMatchObject({ code: 'service.needs-admin', hint: expect.stringMatching(/Run as administrator/) as unknown });
  });

  it('uninstall tolerates a service that is stopped or gone; status says not installed', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: ['sc.exe', 'stop', 'Backhaul'], reply: { exitCode: 1062 } },
      { argv: ['sc.exe', 'delete', 'Backhaul'], reply: { stdout: '[SC] DeleteService SUCCESS' } },
      { argv: ['sc.exe', 'query', 'Backhaul'], reply: { exitCode: 1060, stdout: '[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\r\n\r\nThe specified service does not exist as an installed service.' } },
    ]);
    expect(await createWindowsService({ runner }).uninstall()).toEqual({ installed: false, enabled: false, running: false, detail: 'not installed', location: 'SCM: Backhaul' });
    runner.assertDone();
  });

  it('builds a command line CommandLineToArgvW reads back', () => {
    expect(windowsCommandLine(['C:\\Program Files\\B\\x.exe', '--system', 'agent'])).toBe('"C:\\Program Files\\B\\x.exe" --system agent');
    expect(windowsCommandLine(['a"b', 'C:\\dir with space\\', ''])).toBe('"a\\"b" "C:\\dir with space\\\\" ""');
    expect(parseScFields(QUERY_RUNNING)['STATE']).toBe('4  RUNNING');
  });
});
