/**
 * Which agent socket a client (the tray at login, the CLI without --system) should use: the system
 * service's when it is installed — that is the agent a fleet machine runs — else the user's own.
 * On Windows the service's named pipe is fixed (see socketPath in src/agent/agent.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolvePaths, type HostDescription } from '../paths.js';

export function preferredAgentSocket(host: HostDescription, exists: (path: string) => boolean = existsSync): string {
  if (host.platform === 'win32') return '\\\\.\\pipe\\backhaul';
  const system = join(resolvePaths({ ...host, mode: 'system' }).runtimeDir, 'agent.sock');
  return exists(system) ? system : join(resolvePaths({ ...host, mode: 'user' }).runtimeDir, 'agent.sock');
}
