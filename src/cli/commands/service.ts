/**
 * `backhaul service install|uninstall|status`: the agent as an OS service (systemd, launchd, the
 * Windows SCM) through one ServiceManager (src/os/service). The service runs this same
 * installation: the Node binary running now and this CLI's entry point, with `--system agent` —
 * in the app's Electron (the installers run it that way) with ELECTRON_RUN_AS_NODE=1 kept for the
 * service. On Windows the SCM starts the service host (WinSW) beside the app, which runs that command.
 */
import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { win32 } from 'node:path';
import { createCommandRunner } from '../../os/command.js';
import { resolvePaths } from '../../os/paths.js';
import { defaultRedactor } from '../../os/redact.js';
import { createServiceManager, ServiceError, type ServiceCommand, type ServiceManager, type ServiceStatus } from '../../os/service/index.js';
import { WINDOWS_DEFAULT_LOG_DIR } from '../../os/service/windows.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Output } from '../run-view.js';

export type ServiceAction = 'install' | 'uninstall' | 'status';

export interface ServiceCommandOptions {
  readonly json?: boolean;
  /** The program the service starts instead of `node <this CLI>` (e.g. /usr/bin/backhaul). */
  readonly program?: string;
  /** Windows: the service host to register instead of the app's resources\bin\backhaul-service.exe. */
  readonly serviceHost?: string;
}

export interface ServiceCommandDeps {
  readonly manager: ServiceManager;
  /** POSIX: only root may install a system service. undefined on Windows (sc.exe says so itself). */
  readonly isAdmin: boolean | undefined;
  /** argv of this CLI: [node, entry script]. */
  readonly self: readonly string[];
  /** This process runs in Electron's Node mode (the app's own binary), so the service must too. */
  readonly electron?: boolean;
}

/**
 * The packaged app's service host: electron-builder puts Backhaul.exe in the install folder and
 * extraResources in its resources\ (electron/electron-builder.yml, win.extraResources).
 */
export function windowsServiceHost(execPath: string): string {
  return win32.join(win32.dirname(execPath), 'resources', 'bin', 'backhaul-service.exe');
}

/** The system agent's log folder (the service has no BACKHAUL_HOME): %ProgramData%\Backhaul\logs. */
function windowsServiceLogDir(env: NodeJS.ProcessEnv): string {
  try {
    return resolvePaths({ platform: 'win32', env: { ...env, BACKHAUL_HOME: undefined }, homedir: homedir(), mode: 'system' }).logDir;
  } catch {
    return WINDOWS_DEFAULT_LOG_DIR; // %ProgramData% unset here: the default the service's own environment has
  }
}

function defaultDeps(options: ServiceCommandOptions): ServiceCommandDeps {
  const runner = createCommandRunner({ redactor: defaultRedactor });
  const entry = process.argv[1];
  const electron = 'electron' in process.versions; // typed as always there (electron's types), but plain Node has none
  const windows = process.platform !== 'win32' ? undefined : {
    ...(options.serviceHost !== undefined ? { serviceHost: options.serviceHost } : electron ? { serviceHost: windowsServiceHost(process.execPath) } : {}),
    logDir: windowsServiceLogDir(process.env),
  };
  return {
    manager: createServiceManager({ platform: process.platform, runner, ...(windows === undefined ? {} : { windows }) }),
    isAdmin: typeof process.getuid === 'function' ? process.getuid() === 0 : undefined,
    self: [process.execPath, ...(entry === undefined ? [] : [realpathSync(entry)])],
    electron,
  };
}

export function agentServiceCommand(options: ServiceCommandOptions, self: readonly string[], electron = false): ServiceCommand {
  if (options.program !== undefined) return { argv: [options.program, '--system', 'agent'] };
  return { argv: [...self, '--system', 'agent'], ...(electron ? { environment: { ELECTRON_RUN_AS_NODE: '1' } } : {}) };
}

function describe(status: ServiceStatus): string {
  if (!status.installed) return `Backhaul agent service: not installed (${status.location})\n`;
  return `Backhaul agent service: ${status.running ? 'running' : 'not running'}${status.pid === undefined ? '' : `, pid ${String(status.pid)}`}; `
    + `${status.enabled ? 'starts at boot' : 'does not start at boot'}; ${status.detail}\n  definition: ${status.location}\n`;
}

export async function serviceCommand(action: ServiceAction, options: ServiceCommandOptions, io: { out: Output; err: Output }, deps: ServiceCommandDeps = defaultDeps(options)): Promise<ExitCodeValue> {
  try {
    if (action !== 'status' && deps.isAdmin === false) {
      throw new ServiceError('service.needs-admin', `"backhaul service ${action}" changes the system's services and needs root`, `Run it again with sudo: sudo backhaul service ${action}`);
    }
    const status = action === 'install'
      ? await deps.manager.install(agentServiceCommand(options, deps.self, deps.electron))
      : action === 'uninstall' ? await deps.manager.uninstall() : await deps.manager.status();
    io.out.write(options.json === true ? `${JSON.stringify(status)}\n` : describe(status));
    if (action === 'install' && !status.running) {
      io.err.write('warning: the service is installed but not running; see its log (journalctl -u backhaul, /Library/Logs/Backhaul, or C:\\ProgramData\\Backhaul\\logs\\backhaul-service.*.log).\n');
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
