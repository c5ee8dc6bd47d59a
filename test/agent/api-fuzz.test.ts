/**
 * Fuzzes the Local API's request handling: random methods, paths, query strings, headers and
 * bodies against the real handler on a real socket. The agent must answer every one with a status
 * and, for errors, `{code, message, hint}` — and keep answering afterwards.
 */
import { createServer, request, type Server } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiProblem, createApiHandler, socketGuard, type ApiBackend } from '../../src/agent/api-server.js';
import { EventBus } from '../../src/agent/event-bus.js';
import type { StatusResponse } from '../../src/api/types.js';

const status: StatusResponse = {
  agent: { pid: 1, version: '0.1.0', mode: 'user', startedAt: '2026-11-25T00:00:00.000Z', configFile: '/x', socket: '/y' },
  sessions: [],
  jobs: [{ name: 'nightly', engine: 'restic', profile: 'direct', repository: '/srv/repo' }],
  health: [],
};

const backend: ApiBackend = {
  bus: new EventBus(),
  status: () => status,
  jobs: () => [...status.jobs],
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
  socketPath = join(await mkdtemp(join(tmpdir(), 'backhaul-fuzz-')), 'api.sock');
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
  fc.constantFrom('/v1/status', '/v1/jobs', '/v1/runs', '/v1/runs/s1', '/v1/runs/%ZZ', '/v1/history', '/v1/logs', '/v1/config', '/v1/health', '/metrics', '/', '/v1/', '/v2/status'),
  fc.string({ maxLength: 60 }).map((s) => `/${encodeURIComponent(s)}`),
  fc.tuple(fc.constantFrom('/v1/history', '/v1/logs'), fc.string({ maxLength: 30 })).map(([p, q]) => `${p}?limit=${encodeURIComponent(q)}&lines=${encodeURIComponent(q)}&before=${encodeURIComponent(q)}`),
);
const bodies = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.record({ job: fc.oneof(fc.string(), fc.integer(), fc.constant('nightly'), fc.constant(null)) }).map((v) => JSON.stringify(v)),
  fc.constant(JSON.stringify({ job: 'x'.repeat(40_000) })),
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
});
