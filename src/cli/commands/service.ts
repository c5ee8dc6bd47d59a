/**
 * `backhaul service install|uninstall|status`: the agent as an OS service (systemd, launchd, the
 * Windows SCM) through one ServiceManager (src/os/service). The service runs this same
 * installation: the Node binary running now and this CLI's entry point, with `--system agent`.
 */
import { realpathSync } from 'node:fs';
import { createCommandRunner } from '../../os/command.js';
import { defaultRedactor } from '../../os/redact.js';
import { createServiceManager, ServiceError, type ServiceCommand, type ServiceManager, type ServiceStatus } from '../../os/service/index.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Output } from '../run-view.js';

export type ServiceAction = 'install' | 'uninstall' | 'status';

export interface ServiceCommandOptions {
  readonly json?: boolean;
  /** The program the service starts instead of `node <this CLI>` (e.g. /usr/bin/backhaul, the Windows service host). */
  readonly program?: string;
}

export interface ServiceCommandDeps {
  readonly manager: ServiceManager;
  /** POSIX: only root may install a system service. undefined on Windows (sc.exe says so itself). */
  readonly isAdmin: boolean | undefined;
  /** argv of this CLI: [node, entry script]. */
  readonly self: readonly string[];
}

function defaultDeps(): ServiceCommandDeps {
  const runner = createCommandRunner({ redactor: defaultRedactor });
  const entry = process.argv[1];
  return {
    manager: createServiceManager({ platform: process.platform, runner }),
    isAdmin: typeof process.getuid === 'function' ? process.getuid() === 0 : undefined,
    self: [process.execPath, ...(entry === undefined ? [] : [realpathSync(entry)])],
  };
}

export function agentServiceCommand(options: ServiceCommandOptions, self: readonly string[]): ServiceCommand {
  return { argv: [...(options.program === undefined ? self : [options.program]), '--system', 'agent'] };
}

function describe(status: ServiceStatus): string {
  if (!status.installed) return `Backhaul agent service: not installed (${status.location})\n`;
  return `Backhaul agent service: ${status.running ? 'running' : 'not running'}${status.pid === undefined ? '' : `, pid ${String(status.pid)}`}; `
    + `${status.enabled ? 'starts at boot' : 'does not start at boot'}; ${status.detail}\n  definition: ${status.location}\n`;
}

export async function serviceCommand(action: ServiceAction, options: ServiceCommandOptions, io: { out: Output; err: Output }, deps: ServiceCommandDeps = defaultDeps()): Promise<ExitCodeValue> {
  try {
    if (action !== 'status' && deps.isAdmin === false) {
      throw new ServiceError('service.needs-admin', `"backhaul service ${action}" changes the system's services and needs root`, `Run it again with sudo: sudo backhaul service ${action}`);
    }
    const status = action === 'install'
      ? await deps.manager.install(agentServiceCommand(options, deps.self))
      : action === 'uninstall' ? await deps.manager.uninstall() : await deps.manager.status();
    io.out.write(options.json === true ? `${JSON.stringify(status)}\n` : describe(status));
    if (action === 'install' && !status.running) {
      io.err.write('warning: the service is installed but not running; see its log (journalctl -u backhaul, /Library/Logs/Backhaul, or the Event Viewer).\n');
      return ExitCode.failed;
    }
    if (action === 'uninstall' && status.installed) return ExitCode.failed;
    if (action === 'uninstall') io.out.write('Config and history are kept; delete them by hand to forget everything.\n');
    return ExitCode.ok;
  } catch (error) {
    if (!(error instanceof ServiceError)) throw error;
    io.err.write(`error: ${error.message}\nhint: ${error.hint}\n`);
    return error.code === 'service.needs-admin' || error.code === 'service.bad-command' ? ExitCode.usage : ExitCode.failed;
  }
}
