/**
 * One interface for "run the agent as an OS service", one file per service manager (systemd,
 * launchd, the Windows SCM), chosen once by {@link createServiceManager} in ./index.ts. Every
 * command goes through the CommandRunner; every file through {@link ServiceFiles}, so tests replay
 * the exact commands and write into a temp root.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The agent's service name on every OS (unit `backhaul.service`, label `com.backhaul.agent`, SCM `Backhaul`). */
export const SERVICE_GROUP = 'backhaul';

/** What the service runs: the program and its arguments, already absolute. */
export interface ServiceCommand {
  /** argv of the agent in system mode, e.g. ['/usr/bin/backhaul', '--system', 'agent']. */
  readonly argv: readonly string[];
  /** Variables the agent needs set, e.g. ELECTRON_RUN_AS_NODE=1 when argv[0] is the app's Electron. */
  readonly environment?: Readonly<Record<string, string>>;
}

export interface ServiceStatus {
  /** The unit file, plist or SCM entry exists. */
  readonly installed: boolean;
  /** Starts at boot. */
  readonly enabled: boolean;
  readonly running: boolean;
  readonly pid?: number;
  /** The service manager's own words, one line ("active (running)", "state = running", "4 RUNNING"). */
  readonly detail: string;
  /** Where the definition lives (unit file, plist path, "SCM: Backhaul"). */
  readonly location: string;
}

export interface ServiceManager {
  /** Writes the definition, creates the `backhaul` group where the OS has one, enables and starts. */
  install(command: ServiceCommand): Promise<ServiceStatus>;
  /** Stops, disables and removes the definition. Config and history stay. Idempotent. */
  uninstall(): Promise<ServiceStatus>;
  status(): Promise<ServiceStatus>;
}

/** A service operation that failed, worded for the admin: code, message, what to do. */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  constructor(
    readonly code: 'service.needs-admin' | 'service.command-failed' | 'service.unsupported' | 'service.bad-command',
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** The files a service manager writes (unit, plist): a port so tests write under a temp root. */
export interface ServiceFiles {
  read(path: string): Promise<string | undefined>;
  write(path: string, text: string, mode: number): Promise<void>;
  remove(path: string): Promise<void>;
}

export const nodeServiceFiles: ServiceFiles = {
  read: (path) => readFile(path, 'utf8').catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }),
  write: async (path, text, mode) => {
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeFile(path, text, { mode });
  },
  remove: (path) => rm(path, { force: true }),
};
