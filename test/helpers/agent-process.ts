import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentClient } from '../../src/api/client.js';
import { socketTransport } from '../../src/api/node-transport.js';

const root = join(import.meta.dirname, '..', '..');

/** A real `backhaul agent` process on a temp BACKHAUL_HOME, for tests that drive it only through its API. */
export interface AgentUnderTest {
  readonly home: string;
  readonly socket: string;
  readonly process: ChildProcess;
  readonly client: AgentClient;
  /** Everything the agent printed. */
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** The web UI login URL, when started with --web. */
  webUrl(): string | undefined;
}

/**
 * Starts the agent (from the TypeScript sources) and waits until its socket answers. `wrapper` is
 * an argv prefix that must exec the agent in place (e.g. `ip netns exec NS`), so the process's pid
 * is the agent's.
 */
export async function startAgent(home: string, args: readonly string[] = [], options: { wrapper?: readonly string[] } = {}): Promise<AgentUnderTest> {
  const socket = join(home, 'run', 'agent.sock');
  const argv = [...(options.wrapper ?? []), process.execPath, '--import', 'tsx', join(root, 'src', 'cli', 'bin.ts'), 'agent', ...args];
  const child = spawn(argv[0] ?? process.execPath, argv.slice(1), {
    cwd: root,
    env: { ...process.env, BACKHAUL_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { output += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { output += d; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { resolve(code); }));
  const client = new AgentClient(socketTransport(socket));
  // Bounded wait: 300 × 100 ms. The agent under tsx takes a second or two to start.
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the agent exited with ${child.exitCode}: ${output}`);
    if (existsSync(socket) && (await client.status().then(() => true, () => false))) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    home,
    socket,
    process: child,
    client,
    output: () => output,
    exited,
    webUrl: () => /Web UI: (\S+)/.exec(output)?.[1],
  };
}

/** SIGTERM and wait for the exit (the agent tears a running session down first); nothing when it is gone already. */
export async function stopAgent(agent: AgentUnderTest | undefined): Promise<void> {
  if (agent === undefined || agent.process.exitCode !== null || agent.process.signalCode !== null) return;
  agent.process.kill('SIGTERM');
  await agent.exited;
}

/**
 * Writes a config with one restic job backing up `data` to `repository`, password from a 0600 file;
 * with `profile`, the job goes through that VPN profile, given as the profile's settings.
 */
export async function writeJobConfig(home: string, job: { name: string; data: string; repository: string; password: string; resticPath?: string; bandwidthLimit?: string; profile?: { name: string; settings: Record<string, unknown> } }): Promise<void> {
  await mkdir(home, { recursive: true });
  const pwFile = join(home, `${job.name}.pw`);
  await writeFile(pwFile, job.password, { mode: 0o600 });
  const lines = [
    ...(job.resticPath === undefined ? [] : ['settings:', `  resticPath: ${job.resticPath}`]),
    'jobs:',
    `  ${job.name}:`,
    `    sources: [${job.data}]`,
    `    repository: ${job.repository}`,
    `    password: file:${pwFile}`,
    ...(job.bandwidthLimit === undefined ? [] : [`    bandwidthLimit: ${job.bandwidthLimit}`]),
    // JSON is YAML: the profile's settings need no YAML writer.
    ...(job.profile === undefined ? [] : [`    profile: ${job.profile.name}`, `profiles: ${JSON.stringify({ [job.profile.name]: job.profile.settings })}`]),
    '',
  ];
  await writeFile(join(home, 'config.yaml'), lines.join('\n'));
}
