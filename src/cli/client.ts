import { socketPath } from '../agent/agent.js';
import { AgentClient } from '../api/client.js';
import { socketTransport } from '../api/node-transport.js';
import { cliPaths, type GlobalOptions } from './context.js';

/** The typed Local API client for the agent these global options point at. */
export function agentClient(global: GlobalOptions): AgentClient {
  return new AgentClient(socketTransport(socketPath(cliPaths(global), process.platform, global.system === true ? 'system' : 'user')));
}
