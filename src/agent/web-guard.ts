import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiProblem, type RequestGuard } from './api-server.js';

export const TOKEN_COOKIE = 'backhaul_token';

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === TOKEN_COOKIE) return value.join('=');
  }
  return undefined;
}

function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') === true ? header.slice('Bearer '.length) : undefined;
}

/**
 * The loopback web listener's checks, in order: the Host must be this listener (defeats DNS
 * rebinding: a foreign name resolving to 127.0.0.1 still carries its own Host), a browser's
 * Origin must be this listener too (no CSRF from other pages), and the request must carry the
 * random token (Authorization: Bearer, or the cookie set by the login link).
 */
export function webGuard(port: number, token: string): RequestGuard {
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  const origins = new Set([...hosts].map((h) => `http://${h}`));
  return (req) => {
    if (!hosts.has(req.headers.host ?? '')) {
      return new ApiProblem(421, 'web.host-refused', `requests for host "${(req.headers.host ?? '').slice(0, 80)}" are not served here`, `Open http://127.0.0.1:${port}/ directly.`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.has(origin)) {
      return new ApiProblem(403, 'web.origin-refused', `requests from ${origin.slice(0, 80)} are refused`, 'Only the Backhaul web UI itself may call this API.');
    }
    if (!sameToken(bearerToken(req) ?? cookieToken(req), token)) {
      return new ApiProblem(401, 'web.token-required', 'this request has no valid access token', 'Open the web UI through the link the agent printed (it carries the token).');
    }
    return undefined;
  };
}

/**
 * `GET /login?token=…`: checks the token once and turns it into an HttpOnly, SameSite=Strict
 * cookie, so the token leaves the address bar and history. Returns true when it handled the request.
 */
export function handleLogin(req: IncomingMessage, res: ServerResponse, port: number, token: string): boolean {
  const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
  if (url.pathname !== '/login') return false;
  const hostOk = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(req.headers.host ?? '');
  if (!hostOk || !sameToken(url.searchParams.get('token') ?? undefined, token)) {
    res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('This link is not valid: open the web UI through the link the Backhaul agent printed.\n');
    return true;
  }
  res.writeHead(303, { location: '/', 'set-cookie': `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`, 'cache-control': 'no-store' });
  res.end();
  return true;
}
