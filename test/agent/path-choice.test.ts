/**
 * "Where am I" (`tunnel: whenNeeded`): a real TCP listener on 127.0.0.1 stands for the repository on
 * the office LAN. Reachable → the plan is the direct driver; unreachable → the plan is the job's VPN
 * profile (driver chosen from the lab host's facts, nothing connected); the choice and its reason
 * end up in the history record.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { choosePath, REACHABILITY_TIMEOUT_MS } from '../../src/agent/path-choice.js';
import { planSession, type RunContext } from '../../src/agent/run-job.js';
import { parseConfigText } from '../../src/config/load.js';
import { createMemoryLogger } from '../../src/os/log.js';
import { probeTcp } from '../../src/os/net.js';
import { SecretRedactor } from '../../src/os/redact.js';
import { labHost } from '../connect/linux-fakes.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';
import { freePort } from '../helpers/restic-lab.js';

const servers: Server[] = [];
afterEach(() => { for (const s of servers.splice(0)) s.close(); });

async function listener(): Promise<number> {
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function context(port: number, logger = createMemoryLogger()): Promise<RunContext> {
  const dir = await mkdtemp(join(tmpdir(), 'backhaul-where-'));
  for (const name of ['repo.pw', 'office.psk']) await writeFile(join(dir, name), 'not-a-real-secret\n', { mode: 0o600 });
  const loaded = parseConfigText(
    `jobs:
  nightly:
    sources: [/home/me]
    repository: rest:http://127.0.0.1:${port}/office
    password: file:${dir}/repo.pw
    profile: office
    tunnel: whenNeeded
profiles:
  office:
    type: l2tp
    gateways: [vpn.example.com]
    routes: [10.99.0.0/24]
    auth: { method: psk, psk: file:${dir}/office.psk }
`,
    'config.yaml',
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const paths = { configFile: join(dir, 'config.yaml'), stateDir: dir, logDir: dir, cacheDir: dir, runtimeDir: dir };
  // The runner expects no command: the choice is a plain TCP connect, and planning the tunnel only reads facts.
  return { config: loaded.config, paths, runner: new ReplayingCommandRunner([]), redactor: new SecretRedactor(), logger, platform: 'linux', hostProbe: () => Promise.resolve(labHost) };
}

describe('choosePath', () => {
  it('direct when the endpoint accepts a TCP connect', async () => {
    const port = await listener();
    expect(await choosePath({ kind: 'tcp', scheme: 'rest', host: '127.0.0.1', port }, probeTcp)).toEqual({ via: 'direct', reason: `127.0.0.1:${port} answered without the tunnel` });
  });

  it('the tunnel when nothing answers, with the socket\'s reason', async () => {
    const port = await freePort();
    expect(await choosePath({ kind: 'tcp', scheme: 'rest', host: '127.0.0.1', port }, probeTcp)).toEqual({ via: 'tunnel', reason: `127.0.0.1:${port} did not answer without the tunnel (ECONNREFUSED)` });
  });

  it('probes with the short timeout, and a local repository always takes the tunnel without a probe', async () => {
    const timeouts: number[] = [];
    const probe = (_h: string, _p: number, timeoutMs: number) => { timeouts.push(timeoutMs); return Promise.reject(Object.assign(new Error('x'), { reason: 'no answer within 3 s' })); };
    expect(await choosePath({ kind: 'tcp', scheme: 'sftp', host: 'nas', port: 22 }, probe)).toEqual({ via: 'tunnel', reason: 'nas:22 did not answer without the tunnel (no answer within 3 s)' });
    expect(timeouts).toEqual([REACHABILITY_TIMEOUT_MS]);
    expect((await choosePath({ kind: 'local', path: '/srv/repo' }, probe)).via).toBe('tunnel');
    expect(timeouts).toHaveLength(1);
  });

  it('a cancel during the probe is a cancel, not a choice', async () => {
    const controller = new AbortController();
    const probe = () => { controller.abort(new Error('cancelled')); return Promise.reject(new Error('cancelled')); };
    await expect(choosePath({ kind: 'tcp', scheme: 'rest', host: 'h', port: 1 }, probe, controller.signal)).rejects.toThrow('cancelled');
  });
});

describe('planSession with tunnel: whenNeeded', () => {
  it('repository reachable (office LAN): the direct driver, the path and its reason, a log line', async () => {
    const port = await listener();
    const logger = createMemoryLogger();
    const plan = planSession(await context(port, logger), 'nightly', 'cli');
    const chosen = await plan.tunnel(new AbortController().signal);
    expect(chosen.driver.name).toBe('direct');
    expect(chosen.path).toEqual({ via: 'direct', reason: `127.0.0.1:${port} answered without the tunnel` });
    expect(logger.lines.join('\n')).toContain(`going direct: 127.0.0.1:${port} answered without the tunnel`);
  });

  it('repository unreachable: the job\'s VPN profile is planned (linux-nm on the lab host) and the path says why', async () => {
    const port = await freePort();
    const plan = planSession(await context(port), 'nightly', 'cli');
    const chosen = await plan.tunnel(new AbortController().signal);
    expect(chosen.driver.name).toBe('linux-nm');
    expect(chosen.profile.name).toBe('office');
    expect(chosen.path).toEqual({ via: 'tunnel', reason: `127.0.0.1:${port} did not answer without the tunnel (ECONNREFUSED)` });
  });
});
