import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeTcp, ProbeError } from '../../src/os/net.js';

let server: Server | undefined;
afterEach(() => { server?.close(); server = undefined; });

function listen(): Promise<number> {
  return new Promise((resolve) => {
    server = createServer((socket) => socket.destroy());
    server.listen(0, '127.0.0.1', () => {
      const address = server?.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

describe('probeTcp', () => {
  it('resolves when something listens', async () => {
    const port = await listen();
    await expect(probeTcp('127.0.0.1', port, 5000)).resolves.toBeUndefined();
  });

  it('names host, port and cause when nothing listens', async () => {
    const port = await listen();
    server?.close();
    const error = await probeTcp('127.0.0.1', port, 5000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProbeError);
    expect((error as ProbeError).message).toBe(`127.0.0.1:${port} did not accept a TCP connection (ECONNREFUSED)`);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await probeTcp('127.0.0.1', 9, 5000, controller.signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProbeError);
  });
});
