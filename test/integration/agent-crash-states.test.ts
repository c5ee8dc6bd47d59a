/**
 * kill -9 of the real agent in each session state that has side effects, with a real IKEv2 tunnel
 * (the linux-swan driver, userspace ESP, test/helpers/swan-host-lab.ts) and restic through it:
 * the agent runs inside the lab's client namespace and is driven only through its API and event
 * stream. After the kill the test records what the crash left (charon, restic, the TUN device,
 * the private tunnel dir, the scratch dir with the password file) and proves it was really there;
 * a restarted agent must remove all of it and record the session `interrupted`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseJournal, type SessionEffect } from '../../src/agent/session/journal.js';
import type { AgentEvent } from '../../src/api/types.js';
import { isSameProcess, processIdentity } from '../../src/os/process.js';
import { startAgent, type AgentUnderTest } from '../helpers/agent-process.js';
import { JOB, prepareLabHome, PROFILE } from '../helpers/lab-job.js';
import { LAB_REPO_SUBNET, sh, swanHostLab, swanHostLabAvailable, waitFor } from '../helpers/swan-host-lab.js';

const lab = swanHostLab('bh6');
const { ns } = lab;

const started: AgentUnderTest[] = [];

async function launch(home: string): Promise<AgentUnderTest> {
  const agent = await startAgent(home, [], { wrapper: ['ip', 'netns', 'exec', ns.client] });
  started.push(agent);
  return agent;
}

/** A home whose job backs up `data` through the lab's tunnel into a fresh repository. */
async function prepareHome(name: string, data: string, bandwidthLimit?: string): Promise<string> {
  return (await prepareLabHome(lab, name, data, bandwidthLimit === undefined ? {} : { bandwidthLimit })).home;
}

/**
 * Starts a run and kills the agent with SIGKILL from inside the event handler once `killWhen`
 * says so (at the latest 120 s in: the stream is aborted and the test fails on what is missing).
 */
async function runAndKill(agent: AgentUnderTest, killWhen: (event: AgentEvent) => boolean | Promise<boolean>): Promise<void> {
  const controller = new AbortController();
  const timer = setTimeout(() => { controller.abort(); }, 120_000);
  let deciding = Promise.resolve();
  await agent.client.events((event) => {
    if (event.type === 'snapshot') void agent.client.startRun(JOB);
    deciding = deciding.then(async () => {
      if (controller.signal.aborted || !(await killWhen(event))) return;
      agent.process.kill('SIGKILL');
      controller.abort();
    });
  }, controller.signal).catch(() => undefined);
  clearTimeout(timer);
  await deciding;
  await agent.exited;
}

const entered = (state: string) => (event: AgentEvent): boolean => event.type === 'session' && event.session.state === state;

function journalFile(home: string): string {
  const dir = join(home, 'state', 'journal');
  const names = readdirSync(dir).filter((n) => n.endsWith('.jsonl'));
  expect(names).toHaveLength(1);
  return join(dir, names[0] ?? '');
}

/** Effects the journal recorded and never marked undone: what the crash left behind. */
function pendingEffects(home: string): SessionEffect[] {
  const pending = new Map<string, SessionEffect>();
  for (const entry of parseJournal(readFileSync(journalFile(home), 'utf8'))) {
    if (entry.kind !== 'effect' && entry.kind !== 'undone') continue;
    const { kind: _kind, at: _at, ...effect } = entry;
    if (entry.kind === 'effect') pending.set(JSON.stringify(effect), effect);
    else pending.delete(JSON.stringify(effect));
  }
  return [...pending.values()];
}

interface Leftover {
  readonly pid: number;
  readonly identity: string;
  readonly what: string;
}

function tunnelDir(home: string): string {
  return join(home, 'state', 'tunnels', PROFILE);
}

/** The processes of the crashed session that are still running: charon (from its pid file) and restic (from the journal). */
async function leftoverProcesses(home: string, pending: readonly SessionEffect[]): Promise<Leftover[]> {
  const found: Leftover[] = [];
  const charonPid = Number(readFileSync(join(tunnelDir(home), 'run', 'charon.pid'), 'utf8').trim());
  const charonIdentity = await processIdentity(charonPid);
  if (charonIdentity !== undefined) found.push({ pid: charonPid, identity: charonIdentity, what: 'charon' });
  for (const effect of pending) {
    if (effect.effect !== 'process' || effect.identity === undefined) continue;
    if (await isSameProcess(effect.pid, effect.identity)) found.push({ pid: effect.pid, identity: effect.identity, what: 'restic' });
  }
  return found;
}

async function alive(process: Leftover): Promise<boolean> {
  if (!(await isSameProcess(process.pid, process.identity))) return false;
  const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** The client namespace's tunnel state: TUN devices, table 220 and its rule, the main table. */
async function clientNetwork(): Promise<{ tun: string; table220: string; rules: string; main: string }> {
  const [tun, table220, rules, main] = await Promise.all([
    sh(`ip -n ${ns.client} -o link show | grep -o 'ipsec[0-9]*' || true`),
    sh(`ip -n ${ns.client} route show table 220 2>/dev/null || true`),
    sh(`ip -n ${ns.client} rule show | grep -w 220 || true`),
    sh(`ip -n ${ns.client} route show`),
  ]);
  return { tun: tun.trim(), table220: table220.trim(), rules: rules.trim(), main: main.trim() };
}

/** The crash left the tunnel up: the TUN device, its route in table 220 and the rule that uses it. */
async function expectTunnelUp(): Promise<void> {
  expect(await clientNetwork()).toMatchObject({
    tun: 'ipsec0',
    table220: expect.stringContaining(LAB_REPO_SUBNET) as unknown,
    rules: expect.stringContaining('lookup 220') as unknown,
  });
}

let mainRoutes: string;
let bigData: string;
let smallData: string;

describe.skipIf(!swanHostLabAvailable)('kill -9 of the agent in each side-effect state, over a real IKEv2 tunnel: a restart leaves nothing', () => {
  beforeAll(async () => {
    await lab.start();
    bigData = join(lab.dir, 'data-big');
    smallData = join(lab.dir, 'data-small');
    mkdirSync(bigData);
    mkdirSync(smallData);
    // Incompressible; at 1 MiB/s the 12 MiB keep restic busy for seconds.
    writeFileSync(join(bigData, 'big.bin'), randomBytes(12 * 1024 * 1024));
    writeFileSync(join(smallData, 'small.bin'), randomBytes(3 * 1024 * 1024));
    mainRoutes = (await clientNetwork()).main;
  }, 120_000);

  afterAll(() => lab.close(), 60_000);

  afterEach(async () => {
    for (const agent of started.splice(0)) {
      if (agent.process.exitCode === null && agent.process.signalCode === null) {
        agent.process.kill('SIGTERM');
        await agent.exited;
      }
    }
    await lab.blockGateway(false);
    await lab.blockIke(false);
  });

  /**
   * Restarts the agent on the crashed home and checks that nothing of the session is left: the
   * history says interrupted after `state`, no process of ours in the client namespace, no TUN
   * device, nothing in table 220, no policy rule, the main table as before, no tunnel dir, no
   * scratch dir, no journal.
   */
  async function expectRecovered(home: string, state: string, leftovers: readonly Leftover[], scratch: readonly string[]): Promise<void> {
    const restarted = await launch(home);
    const [record] = (await restarted.client.history()).records;
    expect(record?.end).toBe('interrupted');
    expect(record?.states.map((s) => s.state).slice(-2)).toEqual([state, 'interrupted']);
    expect(record?.notes).toEqual([]);

    const still: string[] = [];
    for (const process of leftovers) if (await alive(process)) still.push(`${process.what} ${process.pid}`);
    expect(still).toEqual([]);
    const pids = (await sh(`ip netns pids ${ns.client}`)).split('\n').filter((line) => line.trim() !== '').map(Number);
    expect(pids).toEqual([restarted.process.pid]);
    expect(await clientNetwork()).toEqual({ tun: '', table220: '', rules: '', main: mainRoutes });
    expect(existsSync(tunnelDir(home))).toBe(false);
    for (const dir of scratch) expect(existsSync(dir)).toBe(false);
    const scratchRoot = join(home, 'state', 'tmp');
    expect(existsSync(scratchRoot) ? readdirSync(scratchRoot) : []).toEqual([]);
    expect(readdirSync(join(home, 'state', 'journal'))).toEqual([]);
  }

  it('connecting (the gateway unreachable, charon retransmitting IKE_SA_INIT): charon and its private dir go', async () => {
    const home = await prepareHome('connecting', smallData);
    await lab.blockGateway(true);
    const agent = await launch(home);
    const charonLog = join(tunnelDir(home), 'charon.log');
    let connecting = false;
    await runAndKill(agent, (event) => {
      connecting ||= entered('connecting')(event);
      if (!connecting) return false;
      // charon has started and is sending IKE_SA_INIT into the void: the connect step is mid-way.
      return waitFor('charon initiating', () => existsSync(charonLog) && readFileSync(charonLog, 'utf8').includes('initiating IKE_SA'), 200).then(() => true);
    });

    const pending = pendingEffects(home);
    // The kill switch, the private dir, charon: all journaled before the connect got anywhere.
    expect(pending.map((e) => (e.effect === 'driver-resource' ? e.resourceKind : e.effect)).sort()).toEqual(['config-dir', 'kill-switch', 'process', 'tunnel-up']);
    const leftovers = await leftoverProcesses(home, pending);
    expect(leftovers.map((p) => p.what)).toEqual(['charon']);
    expect(existsSync(join(tunnelDir(home), 'strongswan.conf'))).toBe(true);
    // kernel-libipsec made its TUN device and charon its policy-routing rule when it started.
    expect(await clientNetwork()).toMatchObject({ tun: 'ipsec0', rules: expect.stringContaining('lookup 220') as unknown });
    await expectRecovered(home, 'connecting', leftovers, []);
  });

  it('verifying (the tunnel is up): charon, the TUN device and its routes go', async () => {
    const home = await prepareHome('verifying', smallData);
    const agent = await launch(home);
    await runAndKill(agent, entered('verifying'));

    const pending = pendingEffects(home);
    expect(pending.map((e) => e.effect)).toContain('tunnel-up');
    const leftovers = await leftoverProcesses(home, pending);
    expect(leftovers.map((p) => p.what)).toEqual(['charon']);
    await expectTunnelUp();
    await expectRecovered(home, 'verifying', leftovers, []);
  });

  it('backing-up (restic uploading through the tunnel): restic, the password scratch dir, charon and the tunnel go', async () => {
    const home = await prepareHome('backingup', bigData, '1 MiB/s');
    const agent = await launch(home);
    await runAndKill(agent, (event) => event.type === 'progress');

    const pending = pendingEffects(home);
    const scratch = pending.flatMap((e) => (e.effect === 'scratch-dir' ? [e.path] : []));
    expect(scratch).toHaveLength(1);
    expect(readdirSync(scratch[0] ?? '')).not.toEqual([]);
    const leftovers = await leftoverProcesses(home, pending);
    expect(leftovers.map((p) => p.what)).toEqual(['charon', 'restic']);
    await expectTunnelUp();
    await expectRecovered(home, 'backing-up', leftovers, scratch);
  });

  it('tearing-down (IKE blocked, so the DELETE goes unanswered): charon and the tunnel go', async () => {
    const home = await prepareHome('tearingdown', smallData, '1 MiB/s');
    const agent = await launch(home);
    // Once the tunnel is up, IKE is dropped at the NAT and ESP still flows: the backup completes,
    // and teardown's terminate waits for a DELETE answer that never comes.
    await runAndKill(agent, async (event) => {
      if (entered('backing-up')(event)) await lab.blockIke(true);
      return entered('tearing-down')(event);
    });

    const pending = pendingEffects(home);
    expect(pending.map((e) => e.effect)).toContain('tunnel-up');
    const leftovers = await leftoverProcesses(home, pending);
    expect(leftovers.map((p) => p.what)).toEqual(['charon']);
    await expectTunnelUp();
    await expectRecovered(home, 'tearing-down', leftovers, []);
  });
});
