/**
 * The Local API from a web page: fetch for requests and for the event stream (read as a stream,
 * so the same SSE parser serves the CLI, the tray and the browser). The page's origin is the
 * agent's web listener; the HttpOnly cookie set by the login link authenticates every call.
 * Uses only what browsers and Node 20 both have (fetch, TextDecoder), so it is tested under Node.
 */
import { AgentUnreachableError, type ApiTransport } from './client.js';

function unreachable(): AgentUnreachableError {
  return new AgentUnreachableError('the Backhaul agent could not be reached', 'Check that the agent is still running; this page reconnects by itself when it is back.');
}

/** `base` is the listener's origin; '' (the default) means the page's own. */
export function browserTransport(base = ''): ApiTransport {
  return {
    async request(method, path, body) {
      let response: Response;
      try {
        response = await fetch(`${base}${path}`, {
          method,
          credentials: 'same-origin',
          ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        });
      } catch {
        throw unreachable();
      }
      return { status: response.status, body: await response.text() };
    },

    async stream(path, onChunk, signal, headers = {}) {
      let response: Response;
      try {
        response = await fetch(`${base}${path}`, { headers: { accept: 'text/event-stream', ...headers }, credentials: 'same-origin', signal });
      } catch {
        if (signal.aborted) return;
        throw unreachable();
      }
      if (!response.ok || response.body === null) {
        // Not an event stream (e.g. 401 after the agent restarted with a new token): hand the
        // error body to the caller's parser as nothing, and let it decide from a plain request.
        await response.body?.cancel();
        throw new AgentUnreachableError(`the agent refused the event stream (HTTP ${response.status})`, response.status === 401 ? 'Open the web UI again through the link the agent printed: its access token changed.' : 'Reload the page.');
      }
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          onChunk(decoder.decode(value, { stream: true }));
        }
      } catch {
        // aborted by the caller, or the agent went away mid-stream: the stream simply ends
      } finally {
        reader.releaseLock();
      }
    },
  };
}
