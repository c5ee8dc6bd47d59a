/**
 * `backhaul service …` over a fake ServiceManager (the managers' own commands are replayed in
 * test/os/service): what it prints, its exit codes, and that install/uninstall refuse to run
 * without root before anything changes.
 */
import { describe, expect, it } from 'vitest';
import { agentServiceCommand, serviceCommand, windowsServiceHost, type ServiceCommandDeps } from '../../src/cli/commands/service.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import type { ServiceCommand, ServiceManager, ServiceStatus } from '../../src/os/service/types.js';

const running: ServiceStatus = { installed: true, enabled: true, running: true, pid: 77, detail: 'active (running)', location: '/etc/systemd/system/backhaul.service' };
const gone: ServiceStatus = { installed: false, enabled: false, running: false, detail: 'inactive (dead)', location: '/etc/systemd/system/backhaul.service' };

function harness(status: ServiceStatus, isAdmin: boolean | undefined = true) {
  const calls: string[] = [];
  const installed: ServiceCommand[] = [];
  const manager: ServiceManager = {
    install: (command) => { calls.push('install'); installed.push(command); return Promise.resolve(status); },
    uninstall: () => { calls.push('uninstall'); return Promise.resolve(status); },
    status: () => { calls.push('status'); return Promise.resolve(status); },
  };
  let out = '';
  let err = '';
  const io = { out: { write: (s: string) => { out += s; }, isTTY: false, columns: 80 }, err: { write: (s: string) => { err += s; }, isTTY: false, columns: 80 } };
  const deps: ServiceCommandDeps = { manager, isAdmin, self: ['/usr/bin/node', '/usr/lib/backhaul/dist/cli/bin.js'] };
  return { calls, installed, io, deps, out: () => out, err: () => err };
}

describe('backhaul service', () => {
  it('install runs this Node and CLI in system mode, or --program', async () => {
    const h = harness(running);
    expect(await serviceCommand('install', {}, h.io, h.deps)).toBe(ExitCode.ok);
    expect(h.installed[0]?.argv).toEqual(['/usr/bin/node', '/usr/lib/backhaul/dist/cli/bin.js', '--system', 'agent']);
    expect(h.out()).toContain('Backhaul agent service: running, pid 77; starts at boot; active (running)');
    expect(agentServiceCommand({ program: '/usr/bin/backhaul' }, []).argv).toEqual(['/usr/bin/backhaul', '--system', 'agent']);
  });

  it('run from the app Electron, the service keeps Electron in Node mode; --program runs as given', async () => {
    const h = harness(running);
    const app = ['C:\\Program Files\\Backhaul\\Backhaul.exe', 'C:\\Program Files\\Backhaul\\resources\\app.asar\\dist\\cli\\bin.js'];
    expect(await serviceCommand('install', {}, h.io, { ...h.deps, self: app, electron: true })).toBe(ExitCode.ok);
    expect(h.installed[0]).toEqual({ argv: [...app, '--system', 'agent'], environment: { ELECTRON_RUN_AS_NODE: '1' } });
    expect(agentServiceCommand({ program: 'C:\\b\\backhaul.exe' }, app, true)).toEqual({ argv: ['C:\\b\\backhaul.exe', '--system', 'agent'] });
    // electron-builder's layout: Backhaul.exe in the install folder, extraResources under resources\.
    expect(windowsServiceHost(app[0] ?? '')).toBe('C:\\Program Files\\Backhaul\\resources\\bin\\backhaul-service.exe');
  });

  it('install/uninstall without root: a usage error with the sudo command, nothing changed', async () => {
    for (const action of ['install', 'uninstall'] as const) {
      const h = harness(running, false);
      expect(await serviceCommand(action, {}, h.io, h.deps)).toBe(ExitCode.usage);
      expect(h.calls).toEqual([]);
      expect(h.err()).toContain(`hint: Run it again with sudo: sudo backhaul service ${action}`);
    }
  });

  it('status needs no root and prints JSON on request', async () => {
    const h = harness(running, false);
    expect(await serviceCommand('status', { json: true }, h.io, h.deps)).toBe(ExitCode.ok);
    expect(JSON.parse(h.out())).toEqual(running);
  });

  it('an install that does not end running fails; uninstall says what stays', async () => {
    const h = harness({ ...running, running: false, detail: 'failed (exit-code)' });
    expect(await serviceCommand('install', {}, h.io, h.deps)).toBe(ExitCode.failed);
    expect(h.err()).toMatch(/installed but not running/);
    const u = harness(gone);
    expect(await serviceCommand('uninstall', {}, u.io, u.deps)).toBe(ExitCode.ok);
    expect(u.out()).toContain('not installed');
    expect(u.out()).toContain('Config and history are kept');
  });
});
