/**
 * Serves the renderer bundle (the same one the Electron window loads) on the web listener, behind
 * the same guard as the API. Strict headers on every answer: a CSP that allows only this origin's
 * scripts, styles and API, no framing, no MIME sniffing, no referrer.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { UI_CSP } from '../api/csp.js';

export { UI_CSP };

const securityHeaders = {
  'content-security-policy': UI_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
} as const;

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

function notBuilt(res: ServerResponse, root: string): void {
  res.writeHead(503, { ...securityHeaders, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`The Backhaul web UI is not built (no ${join(root, 'index.html')}). Run "npm run build" and reload. The API is at /v1/status.\n`);
}

/**
 * A GET handler for the bundle in `root`: `/` and any path without a file (client-side pages) get
 * index.html; files under assets/ are content-hashed by the bundler and cached for good. A path
 * that leaves `root` is a 404, never a read elsewhere.
 */
export function staticHandler(root: string): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const base = normalize(root + sep);
  return async (req, res, url) => {
    let relative: string;
    try {
      relative = decodeURIComponent(url.pathname);
    } catch {
      relative = '\0';
    }
    const candidate = normalize(join(base, relative));
    const inside = candidate.startsWith(base) && !relative.includes('\0');
    const file = inside && relative !== '/' && (await isFile(candidate)) ? candidate : undefined;
    if (file === undefined && inside && extname(relative) !== '' && relative !== '/index.html') {
      // A missing asset is a 404, not the page: a script tag must not receive HTML.
      res.writeHead(404, { ...securityHeaders, 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
      return;
    }
    if (!inside) {
      res.writeHead(404, { ...securityHeaders, 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
      return;
    }
    const target = file ?? join(base, 'index.html');
    if (!(await isFile(target))) {
      notBuilt(res, root);
      return;
    }
    const immutable = target.startsWith(join(base, 'assets') + sep);
    res.writeHead(200, {
      ...securityHeaders,
      'content-type': contentTypes[extname(target)] ?? 'application/octet-stream',
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-store',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const stream = createReadStream(target);
      stream.on('error', () => {
        res.destroy();
        resolve();
      });
      stream.on('end', resolve);
      stream.pipe(res);
    });
  };
}
