/** Picks the service manager for a platform, once (STYLE.md point 5). */
import type { CommandRunner } from '../command.js';
import { createLaunchdService } from './launchd.js';
import { createSystemdService } from './systemd.js';
import { nodeServiceFiles, ServiceError, type ServiceFiles, type ServiceManager } from './types.js';
import { createWindowsService } from './windows.js';

export interface ServiceHost {
  readonly platform: NodeJS.Platform;
  readonly runner: CommandRunner;
  readonly files?: ServiceFiles;
  /** Windows: the service host (WinSW) to register, and where it logs. */
  readonly windows?: { readonly serviceHost?: string; readonly logDir?: string };
}

export function createServiceManager(host: ServiceHost): ServiceManager {
  const files = host.files ?? nodeServiceFiles;
  switch (host.platform) {
    case 'linux':
      return createSystemdService({ runner: host.runner, files });
    case 'darwin':
      return createLaunchdService({ runner: host.runner, files });
    case 'win32':
      return createWindowsService({ runner: host.runner, files, ...host.windows });
    default:
      throw new ServiceError('service.unsupported', `Backhaul has no service definition for ${host.platform}`, 'Run "backhaul --system agent" from your init system.');
  }
}

export * from './types.js';
