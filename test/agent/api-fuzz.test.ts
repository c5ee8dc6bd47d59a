/**
 * Fuzzes the Local API's request handling: random methods, paths, query strings, headers and
 * bodies against the real handler on a real socket. The agent must answer every one with a status
 * and, for errors, `{code, message, hint}` — and keep answering afterwards.
 */
import { createServer, request, type Server } from 'node:http';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiProblem, createApiHandler, socketGuard, type ApiBackend } from '../../src/agent/api-server.js';
import { EventBus } from '../../src/agent/event-bus.js';
import { editProblem, jobView } from '../../src/agent/job-edit.js';
import type { StatusResponse } from '../../src/api/types.js';
import { editJob } from '../../src/config/edit.js';
import { parseConfigText } from '../../src/config/load.js';

const status: StatusResponse = {
  agent: { pid: 1, version: '0.1.0', mode: 'user', startedAt: '2026-11-25T00:00:00.000Z', configFile: '/x', socket: '/y' },
  sessions: [],
  jobs: [{ name: 'nightly', engine: 'restic', profile: 'direct', repository: '/srv/repo' }],
  health: [],
};

/** The config file PATCH /v1/jobs/nightly edits with the real config editor. */
let configFile: string;
const CONFIG = '# mine\njobs:\n  nightly:\n    sources: [/home/me]\n    repository: /srv/repo  # here\n    password: file:/etc/backhaul/n.pw\n';

async function loaded() {
  const result = parseConfigText(await readFile(configFile, 'utf8'), configFile);
  if (!result.ok) throw new Error(`the config file became invalid: ${JSON.stringify(result.errors)}`);
  return result;
}

const backend: ApiBackend = {
  bus: new EventBus(),
  status: () => status,
  jobs: () => [],
  editJob: async (name, patch) => {
    if (name !== 'nightly') throw Object.assign(new Error(`there is no job named "${name}"`), { code: 'config.unknown-job', hint: 'Known jobs: nightly.' });
    const result = await editJob({ file: configFile, job: name, patch, origins: (await loaded()).origins });
    if (!result.ok) throw editProblem(result.problem);
    const job = result.loaded.config.jobs['nightly'];
    if (job === undefined) throw new Error('nightly is gone');
    return jobView({ name, engine: job.engine, profile: job.profile, repository: job.repository }, job, result.loaded.origins);
  },
  health: () => [],
  config: () => ({ ok: true, file: '/x', config: {} }),
  startRun: (job) => {
    if (job !== 'nightly') throw Object.assign(new Error(`there is no job named "${job}"`), { code: 'config.unknown-job', hint: 'Known jobs: nightly.' });
    return { sessionId: 's1', queued: false };
  },
  cancelRun: (id) => id === 's1',
  run: (id) => Promise.resolve(id === 's1' ? { id: 's1', job: 'nightly', trigger: 'api', state: 'backing-up', queuedAt: '2026-11-25T00:00:00.000Z' } : undefined),
  history: ({ before }) => {
    if (before !== undefined) return Promise.reject(new ApiProblem(400, 'api.bad-parameter', 'no such session', 'Use next.'));
    return Promise.resolve({ records: [] });
  },
  logs: () => ({ lines: [] }),
  metrics: () => Promise.resolve('backhaul_sessions_running 0\n'),
};

let server: Server;
let socketPath: string;
beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'backhaul-fuzz-'));
  socketPath = join(dir, 'api.sock');
  configFile = join(dir, 'config.yaml');
  await writeFile(configFile, CONFIG);
  server = createServer(createApiHandler(backend, socketGuard));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});
afterAll(() => { server.close(); });

function send(method: string, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => { text += d; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: text, type: res.headers['content-type'] ?? '' }); });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const paths = fc.oneof(
  fc.constantFrom('/v1/status', '/v1/jobs', '/v1/runs', '/v1/runs/s1', '/v1/runs/%ZZ', '/v1/history', '/v1/logs', '/v1/config', '/v1/health', '/v1/jobs/nightly', '/v1/jobs/nope', '/v1/jobs/%ZZ', '/metrics', '/', '/v1/', '/v2/status'),
  fc.string({ maxLength: 60 }).map((s) => `/${encodeURIComponent(s)}`),
  fc.tuple(fc.constantFrom('/v1/history', '/v1/logs'), fc.string({ maxLength: 30 })).map(([p, q]) => `${p}?limit=${encodeURIComponent(q)}&lines=${encodeURIComponent(q)}&before=${encodeURIComponent(q)}`),
);
// Job patches: right and wrong keys, values of every type.
const patches = fc.oneof(
  fc.record(
    {
      streams: fc.oneof(fc.integer({ min: -2, max: 40 }), fc.string({ maxLength: 5 }), fc.constant(null)),
      sources: fc.oneof(fc.array(fc.oneof(fc.constantFrom('/data', '/home/me', 'rel'), fc.string({ maxLength: 20 })), { maxLength: 3 }), fc.constant(null), fc.jsonValue()),
      excludes: fc.oneof(fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), fc.constant(null)),
      bandwidthLimit: fc.oneof(fc.constantFrom('5 MiB/s', '20 Mbit/s', 'fast', ''), fc.constant(null), fc.integer()),
      profile: fc.oneof(fc.constantFrom('direct', 'office'), fc.constant(null)),
      password: fc.constant('file:/tmp/pw'),
    },
    { requiredKeys: [] },
  ).map((v) => JSON.stringify(v)),
  fc.constant('{"__proto__": {"streams": 2}, "sources": ["/x"]}'),
  // …and right ones, so edits that land are interleaved with the refused.
  fc.record(
    {
      streams: fc.oneof(fc.integer({ min: 1, max: 32 }), fc.constant(null)),
      sources: fc.array(fc.constantFrom('/data', '/home/me', '/srv/a b'), { minLength: 1, maxLength: 3 }),
      excludes: fc.oneof(fc.array(fc.constantFrom('*.tmp', 'cache', '#x', '- y'), { maxLength: 3 }), fc.constant(null)),
      bandwidthLimit: fc.constantFrom('5 MiB/s', '20 Mbit/s', null),
      profile: fc.constantFrom('direct', null),
    },
    { requiredKeys: [] },
  ).map((v) => JSON.stringify(v)),
);

const bodies = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.record({ job: fc.oneof(fc.string(), fc.integer(), fc.constant('nightly'), fc.constant(null)) }).map((v) => JSON.stringify(v)),
  fc.constant(JSON.stringify({ job: 'x'.repeat(40_000) })),
  patches,
);

describe('Local API fuzz', () => {
  it('answers 1,500 random requests with a status and a typed error body, and stays up', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS'),
        paths,
        bodies,
        fc.boolean(),
        async (method, path, body, withOrigin) => {
          const headers: Record<string, string> = { 'content-type': 'application/json', ...(withOrigin ? { origin: 'http://evil.example' } : {}) };
          const response = await send(method, path, headers, method === 'GET' ? '' : body);
          expect(response.status).toBeGreaterThanOrEqual(200);
          expect(response.status).toBeLessThan(500);
          if (response.status >= 400) {
            const error = JSON.parse(response.body) as Record<string, unknown>;
            expect(typeof error.code).toBe('string');
            expect(typeof error.message).toBe('string');
            expect(typeof error.hint).toBe('string');
            expect(response.body).not.toMatch(/\n\s+at /);
          }
          if (withOrigin) expect(response.status).toBe(403);
        },
      ),
      { numRuns: 1500 },
    );
    expect((await send('GET', '/v1/status', {}, '')).status).toBe(200);
  });

  it('edits a job for 300 random patches, refusing the wrong ones, and keeps the file valid', async () => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(patches, async (body) => {
        const response = await send('PATCH', '/v1/jobs/nightly', { 'content-type': 'application/json' }, body);
        statuses.add(response.status);
        expect([200, 400]).toContain(response.status);
        if (response.status === 400) expect(JSON.parse(response.body)).toMatchObject({ code: expect.stringMatching(/^config\./) as unknown, message: expect.stringMatching(/^jobs\.nightly\.\w+/) as unknown });
        else expect(response.body).not.toContain('password');
      }),
      { numRuns: 300 },
    );
    expect([...statuses].sort()).toEqual([200, 400]);
    // Whatever was sent, the config file is still a valid config, with the user's comments.
    const text = await readFile(configFile, 'utf8');
    expect(text).toContain('# mine\n');
    expect(text).toContain('/srv/repo  # here\n');
    await loaded();
  });
});
