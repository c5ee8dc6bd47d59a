/**
 * The real agent inside the fault lab's client namespace, one per home (stop it with
 * agent-process.ts's stopAgent).
 */
import { startAgent, type AgentUnderTest } from '../helpers/agent-process.js';
import type { SwanHostLab } from '../helpers/swan-host-lab.js';

export async function startLabAgent(lab: SwanHostLab, home: string): Promise<AgentUnderTest> {
  return startAgent(home, [], { wrapper: ['ip', 'netns', 'exec', lab.ns.client] });
}
