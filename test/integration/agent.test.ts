/**
 * The real agent process, driven only through its Local API and the CLI: runs, the event stream,
 * no overlap, bad requests, crash recovery after kill -9, the socket's permissions, the web
 * listener's guards, and a canary password that must never come out.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../src/api/types.js';
import { main } from '../../src/cli/main.js';
import { readUnfinishedSessions } from '../../src/agent/session/journal.js';
import { startAgent, writeJobConfig, type AgentUnderTest } from '../helpers/agent-process.js';
import { captureIo } from '../helpers/cli-io.js';
import { secretForms } from '../helpers/secret-forms.js';
import { startRclone } from '../helpers/restic-lab.js';

const started: AgentUnderTest[] = [];
afterEach(async () => {
  for (const agent of started.splice(0)) {
    if (agent.process.exitCode === null && agent.process.signalCode === null) {
      agent.process.kill('SIGTERM');
      await agent.exited;
    }
  }
});

let data: string;
beforeAll(async () => {
  data = await mkdtemp(join(tmpdir(), 'backhaul-agent-data-'));
  await writeFile(join(data, 'small.txt'), 'hello\n');
  // Incompressible, and uploaded at 1 MiB/s below: the run stays in backing-up for seconds.
  await writeFile(join(data, 'big.bin'), randomBytes(12 * 1024 * 1024));
});

/** A home with a config for job `nightly` and an initialised repository. */
async function prepareHome(options: { password?: string; bandwidthLimit?: string } = {}): Promise<{ home: string; password: string }> {
  const home = await mkdtemp(join(tmpdir(), 'backhaul-agent-'));
  const password = options.password ?? `pw-${randomBytes(6).toString('hex')}`;
  await writeJobConfig(home, { name: 'nightly', data, repository: join(home, 'repo'), password, ...(options.bandwidthLimit === undefined ? {} : { bandwidthLimit: options.bandwidthLimit }) });
  const init = captureIo();
  expect(await main(['--home', home, 'init', 'nightly'], init.io)).toBe(0);
  return { home, password };
}

async function launch(home: string, args: readonly string[] = []): Promise<AgentUnderTest> {
  const agent = await startAgent(home, args);
  started.push(agent);
  return agent;
}

/** Collects events until `until` says stop (bounded by an overall abort after 120 s). */
async function collectEvents(agent: AgentUnderTest, until: (event: AgentEvent, all: AgentEvent[]) => boolean, onEvent?: (event: AgentEvent) => void): Promise<AgentEvent[]> {
  const events: AgentEvent[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => { controller.abort(); }, 120_000);
  await agent.client.events((event) => {
    events.push(event);
    onEvent?.(event);
    if (until(event, events)) controller.abort();
  }, controller.signal);
  clearTimeout(timer);
  return events;
}

function rawRequest(socketPath: string, method: string, path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => { text += d; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: text }); });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the agent', () => {
  it('runs a job and streams snapshot → states → progress → ended in order; a reconnecting client gets a snapshot again', async () => {
    const { home } = await prepareHome({ bandwidthLimit: '2 MiB/s' });
    const textfile = join(home, 'backhaul.prom');
    const agent = await launch(home, ['--metrics-textfile', textfile]);
    let sessionId = '';
    let reconnected: AgentEvent[] = [];
    const events = await collectEvents(
      agent,
      (event) => event.type === 'ended',
      (event) => {
        if (event.type === 'snapshot' && sessionId === '') {
          void agent.client.startRun('nightly').then((r) => { sessionId = r.sessionId; });
        }
        if (event.type === 'progress' && reconnected.length === 0) {
          reconnected = [event];
          // A second client, mid-run: its first event is a snapshot that shows the running session.
          void collectEvents(agent, (_e, all) => all.length >= 1).then((e) => { reconnected = e; });
        }
      },
    );
    const kinds = events.map((e) => e.type);
    expect(kinds[0]).toBe('snapshot');
    const states = events.flatMap((e) => (e.type === 'session' ? [e.session.state] : []));
    expect(states).toEqual(['queued', 'preflight', 'connecting', 'verifying', 'backing-up', 'tearing-down', 'done']);
    expect(kinds.indexOf('progress')).toBeGreaterThan(kinds.indexOf('session'));
    expect(kinds.at(-1)).toBe('ended');
    const ended = events.at(-1);
    expect(ended?.type === 'ended' && ended.record.result).toBe('success');
    expect(reconnected[0]?.type).toBe('snapshot');
    const snapshot = reconnected[0];
    expect(snapshot?.type === 'snapshot' && snapshot.status.sessions.map((s) => s.job)).toEqual(['nightly']);

    const history = await agent.client.history();
    expect(history.records.map((r) => r.id)).toEqual([sessionId]);
    const metrics = await agent.client.metrics();
    expect(metrics).toContain('backhaul_sessions_total{job="nightly",outcome="success"} 1');
    // The textfile for node_exporter follows each session (written just after the ended event).
    for (let i = 0; i < 300 && !(await readFile(textfile, 'utf8').catch(() => '')).includes('outcome="success"} 1'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await readFile(textfile, 'utf8')).toContain('backhaul_sessions_total{job="nightly",outcome="success"} 1');
  });

  it('runs a job against rclone serve restic on 127.0.0.1, through the API', async () => {
    const home = await mkdtemp(join(tmpdir(), 'backhaul-agent-rclone-'));
    const server = await startRclone(join(home, 'served'));
    try {
      await writeJobConfig(home, { name: 'nightly', data, repository: server.repo(`repo-${randomBytes(4).toString('hex')}`), password: 'rclone-pw-1234' });
      const init = captureIo();
      expect(await main(['--home', home, 'init', 'nightly'], init.io)).toBe(0);
      const agent = await launch(home);
      const events = await collectEvents(
        agent,
        (event) => event.type === 'ended',
        (event) => { if (event.type === 'snapshot') void agent.client.startRun('nightly'); },
      );
      const ended = events.at(-1);
      expect(ended?.type === 'ended' && ended.record).toMatchObject({ end: 'done', result: 'success' });
      expect(events.some((e) => e.type === 'progress')).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('refuses to start a job that is already running, naming the running session', async () => {
    const { home } = await prepareHome({ bandwidthLimit: '1 MiB/s' });
    const agent = await launch(home);
    const first = await agent.client.startRun('nightly');
    const second = await agent.client.startRun('nightly').catch((e: unknown) => e);
    expect(second).toMatchObject({ status: 409, code: 'run.already-running' });
    expect((second as Error).message).toContain(first.sessionId);
    const cancel = captureIo();
    expect(await main(['--home', home, 'cancel', 'nightly'], cancel.io)).toBe(0);
    await collectEvents(agent, (event) => event.type === 'ended');
    const [record] = (await agent.client.history()).records;
    expect(record).toMatchObject({ end: 'cancelled', cancelledBy: 'user' });
  });

  it('answers bad requests with 4xx and {code, message, hint}, and keeps running', async () => {
    const { home } = await prepareHome();
    const agent = await launch(home);
    const cases: [string, string, string, number, string][] = [
      ['POST', '/v1/runs', '{"job":', 400, 'api.bad-json'],
      ['POST', '/v1/runs', '{"job": 42}', 400, 'api.bad-request'],
      ['POST', '/v1/runs', '{"job":"nightly","extra":1}', 400, 'api.bad-request'],
      ['POST', '/v1/runs', '{"job":"weekly"}', 404, 'config.unknown-job'],
      ['POST', '/v1/runs', JSON.stringify({ job: 'x'.repeat(20_000) }), 413, 'api.body-too-large'],
      ['GET', '/v1/nope', '', 404, 'api.not-found'],
      ['PUT', '/v1/status', '', 405, 'api.method-not-allowed'],
      ['GET', '/v1/history?limit=-3', '', 400, 'api.bad-parameter'],
      ['DELETE', '/v1/runs/no-such-session', '', 404, 'run.not-live'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const response = await rawRequest(agent.socket, method, path, body);
      expect({ path, body: body.slice(0, 30), status: response.status }).toEqual({ path, body: body.slice(0, 30), status });
      const parsed = JSON.parse(response.body) as { code: string; message: string; hint: string };
      expect(parsed.code).toBe(code);
      expect(parsed.message.length).toBeGreaterThan(0);
      expect(parsed.hint.length).toBeGreaterThan(0);
    }
    const browser = await rawRequest(agent.socket, 'GET', '/v1/status', '', { origin: 'http://evil.example' });
    expect(browser.status).toBe(403);
    expect((await agent.client.status()).agent.pid).toBe(agent.process.pid);
  });

  it('after kill -9 during backing-up, a restarted agent stops the leftover restic, removes the secret scratch dir and records the session interrupted', async () => {
    const { home } = await prepareHome({ bandwidthLimit: '1 MiB/s' });
    const agent = await launch(home);
    await collectEvents(
      agent,
      (event) => event.type === 'progress',
      (event) => { if (event.type === 'snapshot') void agent.client.startRun('nightly'); },
    );
    agent.process.kill('SIGKILL');
    await agent.exited;

    const journals = await readdir(join(home, 'state', 'journal'));
    expect(journals).toHaveLength(1);
    // What recovery will act on: the effects not marked undone (a keep-awake command that could not
    // hold the machine — no logind here — exited and was marked undone; restic is the process left).
    const [unfinished] = await readUnfinishedSessions(join(home, 'state'));
    const effects = unfinished?.pendingEffects ?? [];
    const pid = effects.flatMap((e) => (e.effect === 'process' ? [e.pid] : []))[0] ?? 0;
    const scratchDir = effects.flatMap((e) => (e.effect === 'scratch-dir' ? [e.path] : []))[0] ?? '';
    // The orphaned restic is still uploading and its password file is still there.
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    expect(await readdir(scratchDir)).not.toEqual([]);

    const restarted = await launch(home);
    const [record] = (await restarted.client.history()).records;
    expect(record?.end).toBe('interrupted');
    expect(record?.states.map((s) => s.state)).toEqual(['preflight', 'connecting', 'verifying', 'backing-up', 'interrupted']);
    expect(record?.failure?.code).toBe('session.interrupted');
    const stat = existsSync(`/proc/${pid}/stat`) ? await readFile(`/proc/${pid}/stat`, 'utf8') : '';
    expect(stat === '' || / Z /.test(stat)).toBe(true);
    expect(existsSync(scratchDir)).toBe(false);
    expect(await readdir(join(home, 'state', 'journal'))).toEqual([]);
    expect((await restarted.client.health()).map((h) => h.code)).toContain('session.interrupted');
  });

  // SIGINT too: it is what Ctrl+C delivers — a console, or WinSW stopping the Windows service.
  it.each(['SIGTERM', 'SIGINT'] as const)('shuts down gracefully on %s: the running session is cancelled by the system and torn down', async (signal) => {
    const { home } = await prepareHome({ bandwidthLimit: '1 MiB/s' });
    const agent = await launch(home);
    await collectEvents(
      agent,
      (event) => event.type === 'progress',
      (event) => { if (event.type === 'snapshot') void agent.client.startRun('nightly'); },
    );
    agent.process.kill(signal);
    expect(await agent.exited).toBe(0);
    const history = (await readFile(join(home, 'state', 'history.jsonl'), 'utf8')).trim().split('\n');
    expect(JSON.parse(history.at(-1) ?? '{}')).toMatchObject({ end: 'cancelled', cancelledBy: 'system' });
    expect(await readdir(join(home, 'state', 'journal'))).toEqual([]);
    expect(existsSync(join(home, 'run', 'agent.sock'))).toBe(false);
  });

  it('is a single instance: a second agent names the pid that runs and exits non-zero', async () => {
    const { home } = await prepareHome();
    const agent = await launch(home);
    const second = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'agent'], { cwd: join(import.meta.dirname, '..', '..'), env: { ...process.env, BACKHAUL_HOME: home }, encoding: 'utf8' });
    expect(second.status).not.toBe(0);
    expect(second.stderr).toContain(`another Backhaul agent is already running (pid ${agent.process.pid})`);
  });

  it('keeps its socket private: another user is refused', async () => {
    const { home } = await prepareHome();
    const agent = await launch(home);
    const probe = `require('net').connect(${JSON.stringify(agent.socket)}).on('connect',()=>{console.log('connected');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(3)})`;
    // Root bypasses file modes, so the probe runs as nobody (the home dir must be traversable for
    // the refusal to come from the socket's own mode).
    spawnSync('chmod', ['0755', home, join(home, 'run')]);
    const asNobody = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', probe], { encoding: 'utf8' });
    expect(asNobody.stdout.trim()).toBe('EACCES');
    expect((await readFile(`/proc/${agent.process.pid}/status`, 'utf8')).length).toBeGreaterThan(0);
  });

  it('guards the web listener: token, Host and Origin', async () => {
    const { home } = await prepareHome();
    const agent = await launch(home, ['--web']);
    const url = new URL(agent.webUrl() ?? '');
    const token = url.searchParams.get('token') ?? '';
    const base = `http://127.0.0.1:${url.port}`;
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers, redirect: 'manual' });
    expect((await get('/v1/status')).status).toBe(401);
    expect((await get('/v1/status', { authorization: 'Bearer wrong-token' })).status).toBe(401);
    expect((await get('/v1/status', { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await get('/v1/status', { authorization: `Bearer ${token}`, origin: 'http://evil.example' })).status).toBe(403);
    expect((await get('/v1/status', { authorization: `Bearer ${token}`, origin: base })).status).toBe(200);
    // DNS rebinding: a foreign name that resolves to 127.0.0.1 still sends its own Host.
    const rebinding = await new Promise<number>((resolve) => {
      request({ host: '127.0.0.1', port: Number(url.port), path: '/v1/status', headers: { host: `evil.example:${url.port}`, authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).end();
    });
    expect(rebinding).toBe(421);
    const login = await get(`/login?token=${token}`);
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie') ?? '';
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect((await get('/v1/status', { cookie: cookie.split(';')[0] ?? '' })).status).toBe(200);
    expect((await get(`/login?token=${token}x`)).status).toBe(401);
  });

  it('never lets the repository password out through the API, the event stream or the logs', async () => {
    const canary = `canary-${randomBytes(8).toString('hex')}`;
    const { home } = await prepareHome({ password: canary });
    const agent = await launch(home, ['--web']);
    const seen: string[] = [];
    const events = await collectEvents(
      agent,
      (event) => event.type === 'ended',
      (event) => { if (event.type === 'snapshot' && seen.length === 0) { seen.push('started'); void agent.client.startRun('nightly'); } },
    );
    const responses = [
      JSON.stringify(events),
      JSON.stringify(await agent.client.status()),
      JSON.stringify(await agent.client.config()),
      JSON.stringify(await agent.client.history()),
      JSON.stringify(await agent.client.logs(5000)),
      await agent.client.metrics(),
      agent.output(),
    ];
    const logDir = join(home, 'logs');
    for (const name of await readdir(logDir)) responses.push(await readFile(join(logDir, name), 'utf8'));
    const everything = responses.join('\n');
    expect(everything).toContain('session ended done');
    for (const form of secretForms(canary)) expect(everything).not.toContain(form);
  });
});

describe('the CLI as a client', () => {
  it('status, run (following progress), history and logs through the agent', async () => {
    const { home } = await prepareHome();
    await mkdir(join(home, 'run'), { recursive: true });
    await launch(home);
    const run = captureIo();
    expect(await main(['--home', home, 'run', 'nightly'], run.io)).toBe(0);
    expect(run.out.text()).toMatch(/^Started session \S+\n/);
    expect(run.out.text()).toContain('· backing up');
    expect(run.out.text()).toContain('Backup of "nightly" succeeded');
    const history = captureIo();
    expect(await main(['--home', home, 'history'], history.io)).toBe(0);
    expect(history.out.text()).toMatch(/nightly\s+success/);
    const status = captureIo();
    expect(await main(['--home', home, 'status', '--json'], status.io)).toBe(0);
    expect(JSON.parse(status.out.text())).toMatchObject({ sessions: [], jobs: [{ name: 'nightly' }] });
    const logs = captureIo();
    expect(await main(['--home', home, 'logs', '--lines', '100'], logs.io)).toBe(0);
    expect(logs.out.text()).toContain('[nightly] session backing-up');
  });
});

describe('backhaul run through the agent on a terminal', () => {
  /** Runs the CLI in a pseudo-terminal; types `answer` at the cancel question after Ctrl-C. */
  async function runAndInterrupt(home: string, answer: string): Promise<{ output: string; exitCode: number }> {
    const { spawn: spawnPty } = await import('@lydell/node-pty');
    return new Promise((resolve) => {
      const term = spawnPty(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'run', 'nightly'], {
        cols: 120, rows: 30, cwd: join(import.meta.dirname, '..', '..'), env: { ...process.env, BACKHAUL_HOME: home },
      });
      let output = '';
      let stage = 0;
      term.onData((data) => {
        output += data;
        if (stage === 0 && output.includes('· backing up')) {
          stage = 1;
          term.write('\x03');
        } else if (stage === 1 && output.includes('Cancel the backup too? [y/N]')) {
          stage = 2;
          term.write(`${answer}\r`);
        }
      });
      const timer = setTimeout(() => { term.kill('SIGKILL'); }, 100_000);
      term.onExit(({ exitCode }) => {
        clearTimeout(timer);
        setTimeout(() => { resolve({ output, exitCode }); }, 300);
      });
    });
  }

  it('Ctrl-C then "y" cancels the backup', async () => {
    const { home } = await prepareHome({ bandwidthLimit: '1 MiB/s' });
    const agent = await launch(home);
    const { output, exitCode } = await runAndInterrupt(home, 'y');
    expect(output).toContain('Cancelling the backup…');
    expect(output).toContain('was cancelled by the user');
    expect(exitCode).toBe(130);
    expect((await agent.client.history()).records[0]).toMatchObject({ end: 'cancelled', cancelledBy: 'user' });
  });

  it('Ctrl-C then Enter only stops watching: the backup goes on and succeeds', async () => {
    const { home } = await prepareHome({ bandwidthLimit: '2 MiB/s' });
    const agent = await launch(home);
    const { output, exitCode } = await runAndInterrupt(home, '');
    expect(output).toContain('Stopped watching; the backup goes on.');
    expect(exitCode).toBe(0);
    const running = (await agent.client.status()).sessions;
    expect(running.map((s) => s.job)).toEqual(['nightly']);
    await collectEvents(agent, (event) => event.type === 'ended');
    expect((await agent.client.history()).records[0]).toMatchObject({ end: 'done', result: 'success' });
  });
});
