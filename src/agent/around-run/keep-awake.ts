/**
 * Keeps the machine from idling into sleep while a backup runs — and only idling: a closed lid, the
 * power button or the user choosing Sleep still put it to sleep, because a laptop in a bag that
 * can't sleep overheats and drains. One long-running OS command per session holds the request and
 * lets it go when it is stopped (teardown) or when the agent dies (each command watches the
 * agent's pid, and the session journals it as a process, so crash recovery stops it too).
 *
 * Per OS, chosen once from the platform:
 * - Linux: `systemd-inhibit --what=sleep:idle --mode=block`. logind applies high-level `sleep`
 *   locks to the lid switch only when LidSwitchIgnoreInhibited=no; its default is yes, so a closed
 *   lid still suspends (logind.conf(5)). We never take `handle-lid-switch`, the low-level lock that
 *   would stop that. The held command is `tail --pid=AGENT -f /dev/null`: it ends with the agent.
 * - macOS: `caffeinate -i -w AGENT`. `-i` prevents idle sleep only. Not `-s` (prevent system sleep
 *   on AC power — the assertion that can keep a plugged-in, closed laptop awake), not `-d` (the
 *   display: nothing to watch) and not `-u`. `-w` releases the assertion when the agent exits.
 * - Windows: SetThreadExecutionState(ES_CONTINUOUS | ES_SYSTEM_REQUIRED) from a PowerShell that
 *   then waits for the agent's process. Microsoft documents this call for backup agents and that it
 *   "cannot be used to prevent the user from putting the computer to sleep" (lid, power button);
 *   ES_AWAYMODE_REQUIRED is left out, which would fake sleep on a laptop. `powercfg /requestsoverride`
 *   needs an administrator and outlives the agent, so it is not used. The script goes on stdin as one
 *   line (docs/architecture.md, Windows driver: stdin is run line by line). Unconfirmed on a real
 *   Windows machine: the command is asserted in tests, not recorded.
 *
 * A host without the tool (no logind, no D-Bus) is a warning in the session log, never a failure.
 */
import type { CommandResult, CommandRunner } from '../../os/command.js';

/** The command that holds the machine awake until it is stopped, or the agent exits. */
export interface KeepAwakeCommand {
  readonly argv: readonly string[];
  readonly stdin?: string;
}

export interface KeepAwakeRequest {
  readonly job: string;
  /** The agent's pid: the command ends by itself when that process is gone. */
  readonly agentPid: number;
}

/** ES_CONTINUOUS (0x80000000) | ES_SYSTEM_REQUIRED (0x00000001), as a decimal: PowerShell 5.1 reads 0x80000001 as a negative int32. */
const ES_CONTINUOUS_SYSTEM_REQUIRED = 2_147_483_649;

const COMMANDS: Readonly<Partial<Record<NodeJS.Platform, (request: KeepAwakeRequest) => KeepAwakeCommand>>> = {
  linux: ({ job, agentPid }) => ({
    argv: ['systemd-inhibit', '--what=sleep:idle', '--who=Backhaul', `--why=Backing up ${job}`, '--mode=block', 'tail', `--pid=${agentPid}`, '-f', '/dev/null'],
  }),
  darwin: ({ agentPid }) => ({ argv: ['caffeinate', '-i', '-w', String(agentPid)] }),
  win32: ({ agentPid }) => ({
    argv: ['powershell.exe', '-NoProfile', '-NonInteractive', '-Command', '-'],
    stdin:
      `$ErrorActionPreference = 'Stop'; ` +
      `Add-Type -Namespace Backhaul -Name Power -MemberDefinition '[DllImport("kernel32.dll")] public static extern uint SetThreadExecutionState(uint esFlags);'; ` +
      `if ([Backhaul.Power]::SetThreadExecutionState([uint32]${ES_CONTINUOUS_SYSTEM_REQUIRED}) -eq 0) { exit 3 }; ` +
      `Wait-Process -Id ${agentPid}\n`,
  }),
};

/** The keep-awake command for `platform`, or undefined where Backhaul has none. */
export function keepAwakeCommand(platform: NodeJS.Platform, request: KeepAwakeRequest): KeepAwakeCommand | undefined {
  return COMMANDS[platform]?.(request);
}

/** A held keep-awake request. `release` stops the command and resolves once it has exited. */
export interface KeepAwakeHold {
  release(): Promise<void>;
}

export interface KeepAwakePorts {
  readonly runner: CommandRunner;
  /** Told the command's pid as soon as it exists, so the session can journal it. */
  readonly onSpawn?: (pid: number) => void;
  /** Told when that process has exited on its own (before `release`): it is no longer left to clean up. */
  readonly onExit?: (pid: number) => void;
  readonly log: (level: 'info' | 'warn', message: string) => void;
}

/** How long the command gets to exit after SIGTERM before SIGKILL (it holds nothing to clean up). */
const KILL_GRACE_MS = 2_000;
const NOT_HELD = 'the backup runs anyway, but the machine may go to sleep if it sits idle meanwhile';

/**
 * Starts `command` and keeps it running until `release`. Never throws: a missing tool, or one that
 * exits early (systemd-inhibit without a running logind), is logged as a warning.
 */
export function holdKeepAwake(command: KeepAwakeCommand, ports: KeepAwakePorts): KeepAwakeHold {
  const stop = new AbortController();
  let released = false;
  const program = command.argv[0] ?? '';
  let spawned: number | undefined;
  const running = ports.runner
    .run({
      argv: command.argv,
      ...(command.stdin === undefined ? {} : { stdin: command.stdin }),
      signal: stop.signal,
      okExitCodes: 'any',
      killGraceMs: KILL_GRACE_MS,
      maxOutputBytes: 16 * 1024,
      onSpawn: (pid) => {
        spawned = pid;
        ports.onSpawn?.(pid);
      },
    })
    .then(
      (result) => {
        if (released) return;
        ports.log('warn', `could not keep the machine awake: ${program} ${endedEarly(result)}; ${NOT_HELD}`);
        if (spawned !== undefined) ports.onExit?.(spawned);
      },
      (error: unknown) => {
        ports.log('warn', `could not keep the machine awake: ${error instanceof Error ? error.message : String(error)}; ${NOT_HELD}`);
      },
    );
  return {
    release: async () => {
      released = true;
      stop.abort();
      await running;
    },
  };
}

function endedEarly(result: CommandResult): string {
  const said = result.stderr.trim().split('\n').at(-1) ?? '';
  const how = result.signal === null ? `exited with ${String(result.exitCode)}` : `was stopped by ${result.signal}`;
  return said === '' ? how : `${how}: ${said.slice(0, 200)}`;
}
