/**
 * The schedule routes of the Local API over a real socket: GET /v1/schedule passes `count`, POST
 * /v1/schedule/pause takes an ISO time within a year or null and refuses anything else with a
 * {code, message, hint, field} — fuzzed, never a 500.
 */
import { createServer, request, type Server } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler, socketGuard, type ApiBackend } from '../../../src/agent/api-server.js';
import { EventBus } from '../../../src/agent/event-bus.js';
import type { ScheduleResponse, StatusResponse } from '../../../src/api/types.js';

const calls: { count?: number; pause?: number | null }[] = [];
const listing = (pausedUntil?: number): ScheduleResponse => ({ jobs: [], ...(pausedUntil === undefined ? {} : { pausedUntil: new Date(pausedUntil).toISOString() }) });
const backend: ApiBackend = {
  bus: new EventBus(),
  status: () => ({}) as StatusResponse,
  jobs: () => [],
  health: () => [],
  config: () => ({ ok: true, file: '/x', config: {} }),
  startRun: () => ({ sessionId: 's1', queued: false }),
  cancelRun: () => false,
  run: () => Promise.resolve(undefined),
  history: () => Promise.resolve({ records: [] }),
  logs: () => ({ lines: [] }),
  metrics: () => Promise.resolve(''),
  schedule: (count) => { calls.push({ count }); return listing(); },
  pauseSchedules: (until) => { calls.push({ pause: until ?? null }); return listing(until); },
};

let server: Server;
let socketPath: string;
beforeAll(async () => {
  socketPath = join(await mkdtemp(join(tmpdir(), 'backhaul-schedule-api-')), 'api.sock');
  server = createServer(createApiHandler(backend, socketGuard));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});
afterAll(() => { server.close(); });

function send(method: string, path: string, body = ''): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => { text += d; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, json: JSON.parse(text === '' ? '{}' : text) as Record<string, unknown> }); });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('schedule routes', () => {
  it('GET /v1/schedule passes count (default 5, bounded)', async () => {
    calls.length = 0;
    expect((await send('GET', '/v1/schedule')).status).toBe(200);
    expect((await send('GET', '/v1/schedule?count=12')).status).toBe(200);
    expect((await send('GET', '/v1/schedule?count=1000')).status).toBe(400);
    expect(calls).toEqual([{ count: 5 }, { count: 12 }]);
  });

  it('POST /v1/schedule/pause takes a time within a year, or null', async () => {
    calls.length = 0;
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const paused = await send('POST', '/v1/schedule/pause', JSON.stringify({ until }));
    expect(paused).toMatchObject({ status: 200, json: { pausedUntil: until } });
    expect((await send('POST', '/v1/schedule/pause', '{"until":null}')).status).toBe(200);
    expect(calls).toEqual([{ pause: Date.parse(until) }, { pause: null }]);
    for (const body of ['{"until":"2000-01-01T00:00:00Z"}', '{"until":"3000-01-01T00:00:00Z"}', '{"until":"tomorrow"}', '{}', '{"until":5}', '{"until":null,"x":1}']) {
      const refused = await send('POST', '/v1/schedule/pause', body);
      expect(refused, body).toMatchObject({ status: 400, json: { code: 'api.bad-request', field: 'until' } });
      expect(String(refused.json['hint'])).toContain('until');
    }
  });

  it('never answers a fuzzed pause body with a 500', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string({ maxLength: 40 }), fc.record({ until: fc.oneof(fc.string(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constant(null)) }).map((v) => JSON.stringify(v))), async (body) => {
      const { status } = await send('POST', '/v1/schedule/pause', body);
      expect([200, 400, 413]).toContain(status);
    }), { numRuns: 150 });
  });
});
