/**
 * Windows: the agent as the "Backhaul" service in the Service Control Manager. The SCM only runs
 * programs that answer its control protocol, which node.exe and Electron don't, so the registered
 * program is the service host — WinSW 1.17 shipped as resources\bin\backhaul-service.exe — and
 * the agent command lives in the host's backhaul-service.xml, written here at install time
 * (src/os/service/winsw-xml.ts says what is in it and why it is not shipped).
 *
 * Registration goes through sc.exe, not through WinSW's own `install`/`uninstall`: sc.exe reports
 * errors as documented Win32 codes in its exit status (Microsoft's sc.exe reference; 5
 * ERROR_ACCESS_DENIED, 1060 ERROR_SERVICE_DOES_NOT_EXIST, 1061
 * ERROR_SERVICE_CANNOT_ACCEPT_CTRL, 1062 ERROR_SERVICE_NOT_ACTIVE, 1072
 * ERROR_SERVICE_MARKED_FOR_DELETE, 1073 ERROR_SERVICE_EXISTS), while WinSW 1.x's CLI goes through
 * WMI and exits with a WMI ReturnValue or -1 for everything else, refuses `install` over an existing
 * service and deletes without stopping (its Main.cs). sc.exe takes `option= value` as two words.
 * The XML still carries the same start mode and restart policy, so `backhaul-service.exe install`
 * by hand would register the same service.
 */
import { win32 } from 'node:path';
import type { CommandResult, CommandRunner } from '../command.js';
import { ServiceError, type ServiceCommand, type ServiceFiles, type ServiceManager, type ServiceStatus } from './types.js';
import {
  renderWinswXml,
  WINDOWS_FAILURE_ACTIONS,
  WINDOWS_FAILURE_RESET_SECONDS,
  WINDOWS_SERVICE_DESCRIPTION,
  WINDOWS_SERVICE_DISPLAY_NAME,
  WINDOWS_SERVICE_NAME,
  WINSW_STOP_TIMEOUT_SECONDS,
  WINSW_XML_MARKER,
  windowsCommandLine,
  WinswXmlError,
} from './winsw-xml.js';

export { WINDOWS_SERVICE_NAME, windowsCommandLine } from './winsw-xml.js';

const TIMEOUT_MS = 60_000;
const ACCESS_DENIED = 5;
const ALREADY_RUNNING = 1056;
const DOES_NOT_EXIST = 1060;
const CANNOT_ACCEPT_CONTROL = 1061;
const NOT_ACTIVE = 1062;
const MARKED_FOR_DELETE = 1072;
const EXISTS = 1073;
/** The system service's log folder when the caller doesn't say (resolvePaths' system logDir with the default %ProgramData%). */
export const WINDOWS_DEFAULT_LOG_DIR = 'C:\\ProgramData\\Backhaul\\logs';
/** While uninstalling: poll once a second until the agent has stopped — its stop timeout and some slack. */
const STOP_POLL_MS = 1000;
const STOP_POLLS = WINSW_STOP_TIMEOUT_SECONDS + 10;

export interface WindowsServiceOptions {
  readonly runner: CommandRunner;
  readonly files: ServiceFiles;
  /** The service host (…\resources\bin\backhaul-service.exe); its XML is written beside it. Install refuses without one. */
  readonly serviceHost?: string;
  /** Where the host writes its own logs (WinSW `<logpath>`). */
  readonly logDir?: string;
  /** The pause between polls while the service stops; tests pass one that returns at once. */
  readonly sleep?: (ms: number) => Promise<void>;
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

/** The host's XML from a registered BINARY_PATH_NAME (`"C:\…\backhaul-service.exe"`): same folder and name, `.xml`. */
export function winswXmlPath(binaryPathName: string): string | undefined {
  const exe = /^"([^"]+\.exe)"|^(\S+\.exe)(?:\s|$)/i.exec(binaryPathName.trim());
  const path = exe?.[1] ?? exe?.[2];
  return path === undefined ? undefined : path.replace(/\.exe$/i, '.xml');
}

export function createWindowsService(options: WindowsServiceOptions): ServiceManager {
  const { runner, files } = options;
  const logDir = options.logDir ?? WINDOWS_DEFAULT_LOG_DIR;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => { setTimeout(resolve, ms); }));
  const run = async (argv: readonly string[], okExitCodes: readonly number[]): Promise<CommandResult> => {
    try {
      return await runner.run({ argv, timeoutMs: TIMEOUT_MS, okExitCodes });
    } catch (error) {
      const e = error as { exitCode?: number | null };
      if (e.exitCode === ACCESS_DENIED) {
        throw new ServiceError('service.needs-admin', `${argv.slice(0, 2).join(' ')}: access is denied`, 'Run it from an elevated prompt ("Run as administrator").');
      }
      throw new ServiceError('service.command-failed', `${argv.slice(0, 2).join(' ')} failed with exit code ${String(e.exitCode ?? '?')}`,
        `Run the same sc.exe command in an elevated prompt to see its message; the service host logs to ${logDir}\\backhaul-service.wrapper.log.`);
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

  /** Until STOPPED or gone: sc.exe stop only asks, and the agent may take its whole stop timeout. */
  const waitStopped = async (): Promise<void> => {
    for (let poll = 0; poll < STOP_POLLS; poll++) {
      const query = await run(['sc.exe', 'query', WINDOWS_SERVICE_NAME], [0, DOES_NOT_EXIST]);
      if (query.exitCode === DOES_NOT_EXIST || /\bSTOPPED\b/.test(parseScFields(query.stdout)['STATE'] ?? '')) return;
      await sleep(STOP_POLL_MS);
    }
  };

  const writeXml = async (path: string, command: ServiceCommand): Promise<void> => {
    let xml: string;
    try {
      xml = renderWinswXml({ argv: command.argv, ...(command.environment === undefined ? {} : { environment: command.environment }), logDir });
    } catch (error) {
      if (!(error instanceof WinswXmlError)) throw error;
      throw new ServiceError('service.bad-command', error.message, 'Install Backhaul to a folder whose path has no "%" (the default C:\\Program Files\\Backhaul is fine).');
    }
    try {
      await files.write(path, xml, 0o644);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPERM' || code === 'EACCES') {
        throw new ServiceError('service.needs-admin', `can't write the service host's configuration ${path} (${code})`, 'Run it from an elevated prompt ("Run as administrator").');
      }
      throw error;
    }
  };

  return {
    async install(command: ServiceCommand): Promise<ServiceStatus> {
      const program = command.argv[0];
      if (program === undefined || !win32.isAbsolute(program)) {
        throw new ServiceError('service.bad-command', 'the agent command needs an absolute program path', 'Run "backhaul service install" from an installed Backhaul.');
      }
      const host = options.serviceHost;
      if (host === undefined) {
        throw new ServiceError('service.bad-command', 'no Windows service host to register (the SCM cannot run the agent directly)',
          'Run "backhaul service install" from the installed Backhaul (it uses resources\\bin\\backhaul-service.exe), or pass --service-host with the path of a WinSW 1.x executable.');
      }
      if ((await files.read(host)) === undefined) {
        throw new ServiceError('service.bad-command', `the service host ${host} is missing`, 'Repair or reinstall Backhaul (the installer puts it there), or pass --service-host with the path of a WinSW 1.x executable.');
      }
      await writeXml(host.replace(/\.exe$/i, '') + '.xml', command);
      const binPath = windowsCommandLine([host]);
      const created = await run(['sc.exe', 'create', WINDOWS_SERVICE_NAME, 'binPath=', binPath, 'start=', 'auto', 'obj=', 'LocalSystem', 'DisplayName=', WINDOWS_SERVICE_DISPLAY_NAME], [0, EXISTS]);
      if (created.exitCode === EXISTS) await run(['sc.exe', 'config', WINDOWS_SERVICE_NAME, 'binPath=', binPath, 'start=', 'auto'], [0]);
      await run(['sc.exe', 'description', WINDOWS_SERVICE_NAME, WINDOWS_SERVICE_DESCRIPTION], [0]);
      const actions = WINDOWS_FAILURE_ACTIONS.map((s) => `restart/${String(s * 1000)}`).join('/');
      await run(['sc.exe', 'failure', WINDOWS_SERVICE_NAME, 'reset=', String(WINDOWS_FAILURE_RESET_SECONDS), 'actions=', actions], [0]);
      // Already running (a repair): it keeps the old XML until its next start.
      await run(['sc.exe', 'start', WINDOWS_SERVICE_NAME], [0, ALREADY_RUNNING]);
      return status();
    },
    async uninstall(): Promise<ServiceStatus> {
      const config = await run(['sc.exe', 'qc', WINDOWS_SERVICE_NAME], [0, DOES_NOT_EXIST]);
      if (config.exitCode === DOES_NOT_EXIST) return status();
      const xml = winswXmlPath(parseScFields(config.stdout)['BINARY_PATH_NAME'] ?? '');
      // 1061: starting or already stopping — either way, wait below.
      await run(['sc.exe', 'stop', WINDOWS_SERVICE_NAME], [0, CANNOT_ACCEPT_CONTROL, DOES_NOT_EXIST, NOT_ACTIVE]);
      // Deleting first would only mark it; the installer removes the files right after this returns.
      await waitStopped();
      await run(['sc.exe', 'delete', WINDOWS_SERVICE_NAME], [0, DOES_NOT_EXIST, MARKED_FOR_DELETE]);
      // Only a file this command wrote: the registered path could name any program's folder.
      if (xml !== undefined && (await files.read(xml))?.includes(WINSW_XML_MARKER) === true) await files.remove(xml);
      return status();
    },
    status,
  };
}
