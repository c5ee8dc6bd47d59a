/**
 * The browser transport under Node's fetch (the same API the page uses) against a small local
 * server on 127.0.0.1: requests with JSON bodies, an event stream read as it arrives and stopped
 * by abort, and an unreachable agent reported as such.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTransport } from '../../src/api/browser-transport.js';
import { AgentClient, AgentUnreachableError } from '../../src/api/client.js';
import type { AgentEvent } from '../../src/api/types.js';
import { freePort } from '../helpers/restic-lab.js';

let server: Server;
let base = '';
const received: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => { body += d; });
    req.on('end', () => {
      received.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers['content-type'] ?? '-'} ${body}`);
      if (req.url === '/v1/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const snapshot = { type: 'snapshot', status: { agent: {}, sessions: [], jobs: [], health: [] } };
        // Split mid-message: the parser must join chunks.
        const text = `id: 3\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n: keepalive\n\n`;
        res.write(text.slice(0, 20));
        setTimeout(() => res.write(text.slice(20)), 20);
        return; // stays open until the client aborts
      }
      if (req.url === '/v1/runs') {
        res.writeHead(409, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'run.already-running', message: 'job "x" is already running', hint: 'Wait.' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('browserTransport', () => {
  it('sends requests with JSON bodies and turns error answers into typed errors', async () => {
    const client = new AgentClient(browserTransport(base));
    await expect(client.status()).resolves.toEqual({ ok: true });
    await expect(client.startRun('x')).rejects.toMatchObject({ status: 409, code: 'run.already-running', hint: 'Wait.' });
    expect(received).toContain('POST /v1/runs application/json {"job":"x"}');
  });

  it('reads the event stream as it arrives, until aborted', async () => {
    const client = new AgentClient(browserTransport(base));
    const controller = new AbortController();
    const events: { event: AgentEvent; id: string | undefined }[] = [];
    await client.events((event, id) => {
      events.push({ event, id });
      controller.abort();
    }, controller.signal);
    expect(events.map((e) => [e.event.type, e.id])).toEqual([['snapshot', '3']]);
  });

  it('reports an agent that is not there as unreachable', async () => {
    const client = new AgentClient(browserTransport(`http://127.0.0.1:${await freePort()}`));
    await expect(client.status()).rejects.toBeInstanceOf(AgentUnreachableError);
    await expect(client.events(() => undefined, new AbortController().signal)).rejects.toBeInstanceOf(AgentUnreachableError);
  });
});
