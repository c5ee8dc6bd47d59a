/**
 * Linux: the agent as a systemd system service. Writes /etc/systemd/system/backhaul.service (an
 * admin's unit directory, so it wins over a packaged /lib/systemd/system unit of the same name),
 * creates the `backhaul` system group (members may use the agent's socket), then
 * `systemctl enable --now`. Status reads `systemctl show` (stable Key=Value output).
 */
import type { CommandResult, CommandRunner } from '../command.js';
import { renderSystemdUnit } from './systemd-unit.js';
import { SERVICE_GROUP, ServiceError, type ServiceCommand, type ServiceFiles, type ServiceManager, type ServiceStatus } from './types.js';

export const SYSTEMD_UNIT_NAME = 'backhaul.service';
export const SYSTEMD_UNIT_PATH = `/etc/systemd/system/${SYSTEMD_UNIT_NAME}`;
const TIMEOUT_MS = 60_000;

export interface SystemdServiceOptions {
  readonly runner: CommandRunner;
  readonly files: ServiceFiles;
  /** Where the unit goes; tests point it into a temp root. */
  readonly unitPath?: string;
}

/** `systemctl show` prints `Key=Value` lines (systemctl(1), "show"); unknown units still print LoadState=not-found. */
export function parseSystemctlShow(stdout: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1).trim();
  }
  return fields;
}

export function createSystemdService(options: SystemdServiceOptions): ServiceManager {
  const { runner, files } = options;
  const unitPath = options.unitPath ?? SYSTEMD_UNIT_PATH;
  const run = async (argv: readonly string[], okExitCodes: readonly number[] = [0]): Promise<CommandResult> => {
    try {
      return await runner.run({ argv, timeoutMs: TIMEOUT_MS, okExitCodes });
    } catch (error) {
      const e = error as { message?: string; stderrTail?: string };
      throw new ServiceError('service.command-failed', `${argv.join(' ')} failed: ${(e.stderrTail ?? '').trim() || (e.message ?? String(error))}`,
        'Run it by hand to see the whole output; "journalctl -u backhaul" shows the agent\'s own log.');
    }
  };

  const status = async (): Promise<ServiceStatus> => {
    const shown = parseSystemctlShow((await run(['systemctl', 'show', SYSTEMD_UNIT_NAME, '--property=LoadState,ActiveState,SubState,UnitFileState,MainPID,FragmentPath'])).stdout);
    const pid = Number(shown['MainPID'] ?? '0');
    const installed = shown['LoadState'] === 'loaded';
    return {
      installed,
      enabled: shown['UnitFileState'] === 'enabled',
      running: shown['ActiveState'] === 'active',
      ...(Number.isInteger(pid) && pid > 0 ? { pid } : {}),
      detail: `${shown['ActiveState'] ?? 'unknown'} (${shown['SubState'] ?? 'unknown'})`,
      location: installed && shown['FragmentPath'] ? shown['FragmentPath'] : unitPath,
    };
  };

  return {
    async install(command: ServiceCommand): Promise<ServiceStatus> {
      let unit: string;
      try {
        unit = renderSystemdUnit({ execStart: command.argv, ...(command.environment === undefined ? {} : { environment: command.environment }) });
      } catch (error) {
        throw new ServiceError('service.bad-command', `the agent command can't go in a unit file: ${(error as Error).message}`, 'Install Backhaul to a path without newlines and run "backhaul service install" from there.');
      }
      // getent exits 2 when the group does not exist (getent(1)); anything else is a real failure.
      const group = await run(['getent', 'group', SERVICE_GROUP], [0, 2]);
      if (group.exitCode === 2) await run(['groupadd', '--system', SERVICE_GROUP]);
      await files.write(unitPath, unit, 0o644);
      await run(['systemctl', 'daemon-reload']);
      await run(['systemctl', 'enable', '--now', SYSTEMD_UNIT_NAME]);
      return status();
    },
    async uninstall(): Promise<ServiceStatus> {
      // disable --now on a unit that is already gone exits 1 ("not loaded"): uninstall is idempotent.
      await run(['systemctl', 'disable', '--now', SYSTEMD_UNIT_NAME], [0, 1, 5]);
      await files.remove(unitPath);
      await run(['systemctl', 'daemon-reload']);
      return status();
    },
    status,
  };
}
