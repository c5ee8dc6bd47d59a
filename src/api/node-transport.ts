import { request } from 'node:http';
import { AgentUnreachableError, type ApiTransport } from './client.js';

/** Reaches the agent over its unix socket (or named pipe on Windows) with Node's http client. */
export function socketTransport(socketPath: string): ApiTransport {
  const unreachable = (error: NodeJS.ErrnoException) => {
    const why =
      error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
        ? 'the Backhaul agent is not running'
        : error.code === 'EACCES'
          ? 'this user may not use the Backhaul agent socket'
          : `the Backhaul agent could not be reached (${error.code ?? error.message})`;
    const hint =
      error.code === 'EACCES'
        ? `The agent runs as a system service and only members of the backhaul group may use its socket: add yourself to the backhaul group: sudo usermod -aG backhaul $USER, then log in again (or run the command as the agent's user). Socket: ${socketPath}`
        : `Start it with "backhaul agent" (or use "backhaul run JOB --foreground" without an agent). Socket: ${socketPath}`;
    return new AgentUnreachableError(why, hint);
  };
  return {
    request: (method, path, body) =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = request(
          { socketPath, path, method, headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }); });
            res.on('error', reject);
          },
        );
        req.on('error', (error: NodeJS.ErrnoException) => { reject(unreachable(error)); });
        req.end(payload);
      }),
    stream: (path, onChunk, signal, headers = {}) =>
      new Promise((resolve, reject) => {
        const req = request({ socketPath, path, method: 'GET', headers: { accept: 'text/event-stream', ...headers }, signal }, (res) => {
          res.setEncoding('utf8');
          res.on('data', onChunk);
          res.on('end', () => { resolve(); });
          res.on('error', () => { resolve(); });
        });
        req.on('error', (error: NodeJS.ErrnoException) => {
          if (signal.aborted) resolve();
          else reject(unreachable(error));
        });
        req.end();
      }),
  };
}
