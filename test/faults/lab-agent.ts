/**
 * Starting and stopping the real agent inside the fault lab's client namespace, one per home.
 */
import { startAgent, type AgentUnderTest } from '../helpers/agent-process.js';
import type { SwanHostLab } from '../helpers/swan-host-lab.js';

export async function startLabAgent(lab: SwanHostLab, home: string): Promise<AgentUnderTest> {
  return startAgent(home, [], { wrapper: ['ip', 'netns', 'exec', lab.ns.client] });
}

/** SIGTERM and wait: the agent tears its session down before it exits. */
export async function stopLabAgent(agent: AgentUnderTest | undefined): Promise<void> {
  if (agent === undefined || agent.process.exitCode !== null || agent.process.signalCode !== null) return;
  agent.process.kill('SIGTERM');
  await agent.exited;
}
