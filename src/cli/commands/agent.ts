import { homedir } from 'node:os';
import { Agent, packageVersion } from '../../agent/agent.js';
import { policyLocation } from '../../config/policy/read.js';
import { cliPaths, type GlobalOptions } from '../context.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Output } from '../run-view.js';

export interface AgentCommandOptions {
  readonly web?: boolean;
  readonly webPort?: string;
  readonly concurrency?: string;
  readonly metricsTextfile?: string;
}

/**
 * `backhaul agent`: runs the agent in this process until SIGTERM or Ctrl-C, then shuts down
 * cleanly (running sessions are cancelled and torn down first).
 */
export async function agentCommand(options: AgentCommandOptions, global: GlobalOptions, io: { out: Output; err: Output }, onReady?: (agent: Agent) => void): Promise<ExitCodeValue> {
  const paths = cliPaths(global);
  const port = options.webPort === undefined ? 0 : Number(options.webPort);
  const concurrency = options.concurrency === undefined ? 1 : Number(options.concurrency);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.err.write(`error: --web-port must be a port number (0 for any free port), got "${options.webPort ?? ''}"\n`);
    return ExitCode.usage;
  }
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 8) {
    io.err.write(`error: --concurrency must be 1–8, got "${options.concurrency ?? ''}"\n`);
    return ExitCode.usage;
  }
  const mode = global.system === true ? 'system' : 'user';
  // --home moves the policy too (BACKHAUL_HOME/policy.yaml), as it moves everything else.
  const env = global.home === undefined ? process.env : { ...process.env, BACKHAUL_HOME: global.home };
  const agent = await Agent.start({
    paths,
    mode,
    policyLocation: policyLocation({ platform: process.platform, env, homedir: homedir(), mode }),
    version: await packageVersion(),
    concurrency,
    ...(options.metricsTextfile === undefined ? {} : { metricsTextfile: options.metricsTextfile }),
    ...(options.web === true || options.webPort !== undefined ? { web: { port } } : {}),
  });
  io.out.write(`Backhaul agent ${process.pid} listening on ${agent.socket}\n`);
  if (agent.webUrl !== undefined) io.out.write(`Web UI: ${agent.webUrl}\n`);
  onReady?.(agent);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      io.out.write('Stopping: cancelling running backups and tearing down…\n');
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await agent.stop();
  io.out.write('Agent stopped.\n');
  return ExitCode.ok;
}
