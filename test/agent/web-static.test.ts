/** The web listener's static files: the bundle, client-side pages, strict headers, no way out of the root. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticHandler, UI_CSP } from '../../src/agent/web-static.js';

let root: string;
let server: Server;
let port = 0;

function get(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    // A raw path (no URL normalisation by a client), as an attacker would send it.
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }); });
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  const base = await mkdtemp(join(tmpdir(), 'backhaul-static-'));
  root = join(base, 'renderer');
  await mkdir(join(root, 'assets'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><title>Backhaul</title>');
  await writeFile(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
  await writeFile(join(base, 'secret.txt'), 'outside the root');
  const handle = staticHandler(root);
  server = createServer((req, res) => { void handle(req, res, new URL(req.url ?? '/', 'http://x')); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  port = typeof address === 'object' && address !== null ? address.port : 0;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(join(root, '..'), { recursive: true, force: true });
});

describe('staticHandler', () => {
  it('serves index.html for / and for client-side pages, never cached, with the strict CSP', async () => {
    for (const path of ['/', '/history', '/index.html']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.body).toContain('<title>Backhaul</title>');
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['content-security-policy']).toBe(UI_CSP);
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
    expect(UI_CSP).not.toContain('unsafe');
  });

  it('serves hashed assets with their type, cached for good', async () => {
    const res = await get('/assets/index-abc123.js');
    expect(res).toMatchObject({ status: 200, body: 'console.log(1)' });
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cache-control']).toContain('immutable');
  });

  it('answers a missing asset with 404, not the page', async () => {
    expect((await get('/assets/nope.js')).status).toBe(404);
  });

  it.each(['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%00', '/%E0%A4%A'])('never leaves the root: %s', async (path) => {
    const res = await get(path);
    expect(res.body).not.toContain('outside the root');
  });

  it('says how to build the UI when the bundle is missing', async () => {
    const handle = staticHandler(join(root, 'does-not-exist'));
    const other = createServer((req, res) => { void handle(req, res, new URL(req.url ?? '/', 'http://x')); });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const address = other.address();
    const saved = port;
    port = typeof address === 'object' && address !== null ? address.port : 0;
    const res = await get('/');
    port = saved;
    await new Promise((resolve) => other.close(resolve));
    expect(res.status).toBe(503);
    expect(res.body).toContain('npm run build');
  });
});
