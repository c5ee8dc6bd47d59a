/**
 * Windows: the agent as a service in the Service Control Manager, through sc.exe (the NSIS
 * installer runs the same `backhaul service install`). sc.exe takes `option= value` as two words
 * (Microsoft's "sc.exe create" reference) and reports errors as Win32 codes in its exit status:
 * 1060 ERROR_SERVICE_DOES_NOT_EXIST, 1062 ERROR_SERVICE_NOT_ACTIVE, 1073 ERROR_SERVICE_EXISTS.
 *
 * The SCM only runs programs that answer its control protocol; node.exe does not, so `binPath` is
 * the service host the installer ships next to the CLI (see docs/install.md), which starts
 * `backhaul --system agent` and turns the SCM's stop into SIGTERM-like shutdown.
 */
import type { CommandResult, CommandRunner } from '../command.js';
import { ServiceError, type ServiceCommand, type ServiceManager, type ServiceStatus } from './types.js';

export const WINDOWS_SERVICE_NAME = 'Backhaul';
const TIMEOUT_MS = 60_000;
const DOES_NOT_EXIST = 1060;
const NOT_ACTIVE = 1062;
const EXISTS = 1073;

/** A Windows command line from argv (the CommandLineToArgvW rules: quotes, and backslashes before them). */
export function windowsCommandLine(argv: readonly string[]): string {
  return argv.map((word) => {
    if (word !== '' && !/[\s"]/.test(word)) return word;
    return `"${word.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`;
  }).join(' ');
}

/** `sc.exe query` / `qc` print `        NAME               : value` lines; STATE is "4  RUNNING". */
export function parseScFields(stdout: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^\s*([A-Z_]+)\s*:\s*(.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) fields[m[1]] = m[2].trim();
  }
  return fields;
}

export function createWindowsService(options: { readonly runner: CommandRunner }): ServiceManager {
  const { runner } = options;
  const run = async (argv: readonly string[], okExitCodes: readonly number[]): Promise<CommandResult> => {
    try {
      return await runner.run({ argv, timeoutMs: TIMEOUT_MS, okExitCodes });
    } catch (error) {
      const e = error as { exitCode?: number | null; message?: string };
      if (e.exitCode === 5) {
        throw new ServiceError('service.needs-admin', `${argv.slice(0, 2).join(' ')}: access is denied`, 'Run it from an elevated prompt ("Run as administrator").');
      }
      throw new ServiceError('service.command-failed', `${argv.slice(0, 2).join(' ')} failed with exit code ${String(e.exitCode ?? '?')}`,
        'Run the same sc.exe command in an elevated prompt to see its message; the agent logs to C:\\ProgramData\\Backhaul\\logs.');
    }
  };

  const status = async (): Promise<ServiceStatus> => {
    const query = await run(['sc.exe', 'query', WINDOWS_SERVICE_NAME], [0, DOES_NOT_EXIST]);
    if (query.exitCode === DOES_NOT_EXIST) {
      return { installed: false, enabled: false, running: false, detail: 'not installed', location: `SCM: ${WINDOWS_SERVICE_NAME}` };
    }
    const state = parseScFields(query.stdout)['STATE'] ?? 'unknown';
    const config = parseScFields((await run(['sc.exe', 'qc', WINDOWS_SERVICE_NAME], [0])).stdout);
    return {
      installed: true,
      enabled: /AUTO_START/.test(config['START_TYPE'] ?? ''),
      running: /\bRUNNING\b/.test(state),
      detail: state.replace(/\s+/g, ' '),
      location: `SCM: ${WINDOWS_SERVICE_NAME}`,
    };
  };

  return {
    async install(command: ServiceCommand): Promise<ServiceStatus> {
      if (command.argv.length === 0) throw new ServiceError('service.bad-command', 'no agent command to install', 'Run "backhaul service install" from an installed Backhaul.');
      const binPath = windowsCommandLine(command.argv);
      const created = await run(['sc.exe', 'create', WINDOWS_SERVICE_NAME, 'binPath=', binPath, 'start=', 'auto', 'obj=', 'LocalSystem', 'DisplayName=', 'Backhaul backup agent'], [0, EXISTS]);
      if (created.exitCode === EXISTS) await run(['sc.exe', 'config', WINDOWS_SERVICE_NAME, 'binPath=', binPath, 'start=', 'auto'], [0]);
      await run(['sc.exe', 'description', WINDOWS_SERVICE_NAME, 'Runs scheduled backups over the VPN; the tray and the backhaul CLI talk to it.'], [0]);
      // Restart after a crash: 5 s, 5 s, then every minute; the failure count resets after a day.
      await run(['sc.exe', 'failure', WINDOWS_SERVICE_NAME, 'reset=', '86400', 'actions=', 'restart/5000/restart/5000/restart/60000'], [0]);
      await run(['sc.exe', 'start', WINDOWS_SERVICE_NAME], [0, 1056]); // 1056: already running
      return status();
    },
    async uninstall(): Promise<ServiceStatus> {
      await run(['sc.exe', 'stop', WINDOWS_SERVICE_NAME], [0, DOES_NOT_EXIST, NOT_ACTIVE]);
      await run(['sc.exe', 'delete', WINDOWS_SERVICE_NAME], [0, DOES_NOT_EXIST]);
      return status();
    },
    status,
  };
}
