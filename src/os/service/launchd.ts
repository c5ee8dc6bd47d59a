/**
 * macOS: the agent as a LaunchDaemon in the system domain. `launchctl bootstrap system PLIST`
 * loads it (RunAtLoad starts it), `launchctl bootout system/LABEL` stops and unloads it,
 * `launchctl print system/LABEL` reports it (launchctl(1): "print" output is for humans and not
 * API, so only the `state =` and `pid =` lines are read, and a missing line just means unknown).
 * The `backhaul` group is created with dseditgroup(8).
 */
import type { CommandResult, CommandRunner } from '../command.js';
import { LAUNCHD_AGENT_LABEL, LAUNCHD_AGENT_PLIST, renderLaunchDaemon } from './launchd-plist.js';
import { SERVICE_GROUP, ServiceError, type ServiceCommand, type ServiceFiles, type ServiceManager, type ServiceStatus } from './types.js';

const TARGET = `system/${LAUNCHD_AGENT_LABEL}`;
const TIMEOUT_MS = 60_000;

export interface LaunchdServiceOptions {
  readonly runner: CommandRunner;
  readonly files: ServiceFiles;
  readonly plistPath?: string;
}

export function parseLaunchctlPrint(stdout: string): { state?: string; pid?: number } {
  const state = /^\s*state = (.+)$/m.exec(stdout)?.[1]?.trim();
  const pid = Number(/^\s*pid = (\d+)$/m.exec(stdout)?.[1] ?? NaN);
  return { ...(state === undefined ? {} : { state }), ...(Number.isInteger(pid) ? { pid } : {}) };
}

export function createLaunchdService(options: LaunchdServiceOptions): ServiceManager {
  const { runner, files } = options;
  const plistPath = options.plistPath ?? LAUNCHD_AGENT_PLIST;
  const run = async (argv: readonly string[], okExitCodes: readonly number[] | 'any' = [0]): Promise<CommandResult> => {
    try {
      return await runner.run({ argv, timeoutMs: TIMEOUT_MS, okExitCodes });
    } catch (error) {
      const e = error as { message?: string; stderrTail?: string };
      throw new ServiceError('service.command-failed', `${argv.join(' ')} failed: ${(e.stderrTail ?? '').trim() || (e.message ?? String(error))}`,
        `Run it with sudo to see the whole output; the agent logs to /Library/Logs/Backhaul/.`);
    }
  };

  const status = async (): Promise<ServiceStatus> => {
    const installed = (await files.read(plistPath)) !== undefined;
    const printed = await run(['launchctl', 'print', TARGET], 'any');
    const parsed = printed.exitCode === 0 ? parseLaunchctlPrint(printed.stdout) : {};
    return {
      installed,
      enabled: installed && printed.exitCode === 0,
      running: parsed.state === 'running',
      ...(parsed.pid === undefined ? {} : { pid: parsed.pid }),
      detail: printed.exitCode === 0 ? `state = ${parsed.state ?? 'unknown'}` : 'not loaded',
      location: plistPath,
    };
  };

  return {
    async install(command: ServiceCommand): Promise<ServiceStatus> {
      if (command.argv.length === 0 || !command.argv[0]?.startsWith('/')) {
        throw new ServiceError('service.bad-command', 'the agent command needs an absolute program path', 'Run "backhaul service install" from an installed Backhaul.');
      }
      const group = await run(['dseditgroup', '-o', 'read', SERVICE_GROUP], 'any');
      if (group.exitCode !== 0) await run(['dseditgroup', '-o', 'create', '-r', 'Backhaul', SERVICE_GROUP]);
      // A loaded older definition must go first: bootstrap refuses a label that is already loaded.
      await run(['launchctl', 'bootout', TARGET], 'any');
      await files.write(plistPath, renderLaunchDaemon(command.argv, command.environment), 0o644);
      await run(['launchctl', 'bootstrap', 'system', plistPath]);
      await run(['launchctl', 'enable', TARGET]);
      return status();
    },
    async uninstall(): Promise<ServiceStatus> {
      await run(['launchctl', 'bootout', TARGET], 'any');
      await files.remove(plistPath);
      return status();
    },
    status,
  };
}
