import { connect } from 'node:net';

/** Why a TCP probe failed, in the words of the socket layer (ECONNREFUSED, ETIMEDOUT, …). */
export class ProbeError extends Error {
  override readonly name = 'ProbeError';
  constructor(
    readonly host: string,
    readonly port: number,
    /** What the socket layer said: ECONNREFUSED, ETIMEDOUT, … */
    readonly reason: string,
  ) {
    super(`${host}:${port} did not accept a TCP connection (${reason})`);
  }
}

/**
 * Opens and closes one TCP connection: proves a route to the repository exists (through the
 * tunnel, when one is up) before the engine starts and hides the problem in its retries.
 */
export function probeTcp(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const finish = (error?: ProbeError) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    const onAbort = () => { finish(new ProbeError(host, port, 'cancelled')); };
    const timer = setTimeout(() => { finish(new ProbeError(host, port, `no answer within ${Math.round(timeoutMs / 1000)} s`)); }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => { finish(); });
    socket.once('error', (error: NodeJS.ErrnoException) => { finish(new ProbeError(host, port, error.code ?? error.message)); });
  });
}
