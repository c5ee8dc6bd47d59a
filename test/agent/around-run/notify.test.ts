import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { jobNotifier } from '../../../src/agent/around-run/job-notifier.js';
import { notify, originOf, pingUrl, type NotifyPayload } from '../../../src/agent/around-run/notify.js';
import type { SessionRecord } from '../../../src/agent/session/history.js';
import { REDACTED, SecretRedactor } from '../../../src/os/redact.js';
import { freePort } from '../../helpers/restic-lab.js';

interface Received {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: string;
}

/** An HTTP server on 127.0.0.1 that records requests and answers each with the next status (then 200). */
async function server(statuses: number[] = [], options: { hang?: boolean } = {}): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const srv = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => { body += chunk; });
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', contentType: req.headers['content-type'], body });
      if (options.hang === true) return;
      res.writeHead(statuses.shift() ?? 200);
      res.end('OK');
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  servers.push(srv);
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, received, server: srv };
}

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

const sleeps: number[] = [];
const ports = { fetch, sleep: (ms: number) => { sleeps.push(ms); return Promise.resolve(); } };
const payload: NotifyPayload = {
  event: 'failure', job: 'nightly', sessionId: 's1', result: 'failed', code: 'tunnel.lost', message: 'the tunnel did not come back', startedAt: '2026-11-25T03:00:00.000Z', endedAt: '2026-11-25T03:20:00.000Z',
};

describe('notify (a real HTTP server on 127.0.0.1)', () => {
  it('POSTs the JSON payload to the webhook and pings healthchecks /fail with a short text', async () => {
    const hook = await server();
    const hc = await server();
    const deliveries = await notify({ webhook: `${hook.url}/hooks/backup?token=t0k3n`, healthchecks: `${hc.url}/ping/5f2c`, timeoutSeconds: 5, retries: 2 }, payload, ports);
    expect(deliveries).toEqual([
      { target: 'webhook', origin: hook.url, ok: true, attempts: 1 },
      { target: 'healthchecks', origin: hc.url, ok: true, attempts: 1 },
    ]);
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]).toMatchObject({ method: 'POST', path: '/hooks/backup?token=t0k3n', contentType: 'application/json' });
    expect(JSON.parse(hook.received[0]?.body ?? '')).toEqual(payload);
    expect(hc.received).toEqual([{ method: 'POST', path: '/ping/5f2c/fail', contentType: 'text/plain; charset=utf-8', body: 'nightly: failed: tunnel.lost: the tunnel did not come back' }]);
  });

  it('retries a 5xx with backoff up to `retries`, then gives up without throwing', async () => {
    sleeps.length = 0;
    const hook = await server([503, 502, 500]);
    const [delivery] = await notify({ webhook: hook.url, timeoutSeconds: 5, retries: 2 }, payload, ports);
    expect(delivery).toEqual({ target: 'webhook', origin: hook.url, ok: false, attempts: 3, problem: 'HTTP 500' });
    expect(hook.received).toHaveLength(3);
    expect(sleeps).toEqual([1000, 4000]);
  });

  it('a 5xx then a 200 is delivered on the second attempt', async () => {
    const hook = await server([500]);
    const [delivery] = await notify({ webhook: hook.url, timeoutSeconds: 5, retries: 2 }, payload, ports);
    expect(delivery).toMatchObject({ ok: true, attempts: 2 });
  });

  it('a 404 is not retried (a wrong URL stays wrong)', async () => {
    const hook = await server([404]);
    const [delivery] = await notify({ webhook: hook.url, timeoutSeconds: 5, retries: 2 }, payload, ports);
    expect(delivery).toMatchObject({ ok: false, attempts: 1, problem: 'HTTP 404' });
  });

  it('nobody listening: each attempt fails fast, the problem is the socket error', async () => {
    const port = await freePort();
    const [delivery] = await notify({ healthchecks: `http://127.0.0.1:${port}/ping/abc`, timeoutSeconds: 5, retries: 1 }, payload, ports);
    expect(delivery).toEqual({ target: 'healthchecks', origin: `http://127.0.0.1:${port}`, ok: false, attempts: 2, problem: 'ECONNREFUSED' });
  });

  it('a server that never answers is given up after timeoutSeconds', async () => {
    const hook = await server([], { hang: true });
    const [delivery] = await notify({ webhook: hook.url, timeoutSeconds: 1, retries: 0 }, payload, ports);
    expect(delivery).toEqual({ target: 'webhook', origin: hook.url, ok: false, attempts: 1, problem: 'no answer within 1 s' });
  });
});

describe('pingUrl and originOf', () => {
  it('appends /start and /fail to the check URL; success is the URL itself', () => {
    expect(pingUrl('https://hc-ping.com/5f2c/', 'start')).toBe('https://hc-ping.com/5f2c/start');
    expect(pingUrl('https://hc-ping.com/5f2c', 'failure')).toBe('https://hc-ping.com/5f2c/fail');
    expect(pingUrl('https://hc-ping.com/5f2c', 'success')).toBe('https://hc-ping.com/5f2c');
  });

  it('shows only scheme, host and port: the path and query are often the token', () => {
    expect(originOf('https://hooks.example.com/T000/B000/XXXX?secret=1')).toBe('https://hooks.example.com');
  });
});

describe('jobNotifier', () => {
  const record: SessionRecord = {
    id: 's1', job: 'nightly', trigger: 'schedule', startedAt: '2026-11-25T03:00:00.000Z', endedAt: '2026-11-25T03:20:00.000Z',
    states: [], end: 'done', result: 'warning', notes: [],
    failure: { code: 'backup.partial', message: '2 files could not be read', hint: 'Check their permissions.' },
  };

  it('start, then the end (after the start arrived): a warning is a success ping; the payload has exactly the documented keys', async () => {
    const hook = await server();
    const hc = await server();
    const logs: string[] = [];
    const notifier = jobNotifier({ webhook: `${hook.url}/w`, healthchecks: `${hc.url}/p`, timeoutSeconds: 5, retries: 0 }, { fetch, log: (level, m) => logs.push(`${level}: ${m}`) });
    notifier.started('nightly', 's1', '2026-11-25T03:00:00.000Z');
    await notifier.finished(record);
    expect(hc.received.map((r) => r.path)).toEqual(['/p/start', '/p']);
    const bodies = hook.received.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    expect(bodies[0]).toEqual({ event: 'start', job: 'nightly', sessionId: 's1', startedAt: '2026-11-25T03:00:00.000Z' });
    expect(Object.keys(bodies[1] ?? {}).sort()).toEqual(['code', 'endedAt', 'event', 'job', 'message', 'result', 'sessionId', 'startedAt']);
    expect(bodies[1]).toMatchObject({ event: 'success', result: 'warning', code: 'backup.partial' });
    expect(logs).toContain(`info: notified healthchecks ${hc.url} (start)`);
    expect(logs.join('\n')).not.toContain('/p/start');
  });

  it('an unreachable webhook is a warning in the log; finished still resolves', async () => {
    const port = await freePort();
    const logs: string[] = [];
    const notifier = jobNotifier({ webhook: `http://127.0.0.1:${port}/w`, timeoutSeconds: 2, retries: 0 }, { fetch, log: (level, m) => logs.push(`${level}: ${m}`) });
    await notifier.finished({ ...record, end: 'failed', failure: { code: 'tunnel.lost', message: 'lost', hint: '' } });
    expect(logs).toEqual([`warn: could not notify webhook http://127.0.0.1:${port} (failure) after 1 attempt(s): ECONNREFUSED`]);
  });

  it('a secret the agent knows is redacted from the message before it leaves the machine', async () => {
    const hook = await server();
    const redactor = new SecretRedactor();
    redactor.add('hunter2-repository-pw');
    const notifier = jobNotifier({ webhook: hook.url, timeoutSeconds: 5, retries: 0 }, { fetch, log: () => undefined, redact: (text) => redactor.redact(text) });
    await notifier.finished({ ...record, end: 'failed', failure: { code: 'hook.pre-failed', message: 'hooks.pre[0] (sh) exited with 1; its output:\npw=hunter2-repository-pw', hint: '' } });
    expect(hook.received[0]?.body).not.toContain('hunter2');
    expect(JSON.parse(hook.received[0]?.body ?? '{}')).toMatchObject({ message: `hooks.pre[0] (sh) exited with 1; its output:\npw=${REDACTED}` });
  });

  it('no URLs: nothing is sent', async () => {
    let called = false;
    const notifier = jobNotifier(undefined, { fetch: () => { called = true; return Promise.reject(new Error('no')); }, log: () => undefined });
    notifier.started('nightly', 's1', 'x');
    await notifier.finished(record);
    expect(called).toBe(false);
  });
});
