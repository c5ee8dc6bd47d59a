/**
 * Tells the outside world a job started and how it ended: a JSON webhook and a healthchecks.io
 * style ping URL (`URL/start` when it starts, `URL` on success, `URL/fail` on failure — so the
 * monitor also alerts when a nightly run never happens). Best effort by design: each delivery has
 * a timeout and a bounded number of retries, and nothing here ever throws or delays the backup;
 * the caller gets back what happened, to log it.
 *
 * The payload holds the job, the outcome and its stable code and message — never a secret (the
 * session's messages are redacted and never quote one). URLs often carry a token, so logs and
 * results show only the URL's origin.
 */

export interface NotifySettings {
  readonly webhook?: string;
  readonly healthchecks?: string;
  readonly timeoutSeconds: number;
  readonly retries: number;
}

export type NotifyEvent = 'start' | 'success' | 'failure';

/** The webhook's JSON body. */
export interface NotifyPayload {
  readonly event: NotifyEvent;
  readonly job: string;
  readonly sessionId: string;
  /** `success`, `warning`, `failed`, `cancelled` or `interrupted`; absent at start. */
  readonly result?: string;
  /** The failure's (or warning's) stable code, e.g. `tunnel.lost`. */
  readonly code?: string;
  readonly message?: string;
  readonly startedAt: string;
  readonly endedAt?: string;
}

/** One delivery's fate: where (origin only) and whether it arrived, after how many attempts. */
export interface Delivery {
  readonly target: 'webhook' | 'healthchecks';
  readonly origin: string;
  readonly ok: boolean;
  readonly attempts: number;
  /** The last HTTP status or network error, when it failed. */
  readonly problem?: string;
}

export interface NotifyPorts {
  readonly fetch: typeof fetch;
  /** Waits between retries; injected so tests don't wait. */
  readonly sleep: (ms: number) => Promise<void>;
}

/** Backoff before retry n (1-based): 1 s, 4 s, 9 s … — short, the payload is small. */
const backoffMs = (retry: number): number => retry * retry * 1000;

/** Sends `payload` to every configured target, in parallel; resolves when all are done. Never rejects. */
export async function notify(settings: NotifySettings, payload: NotifyPayload, ports: NotifyPorts): Promise<Delivery[]> {
  const sends: Promise<Delivery>[] = [];
  if (settings.webhook !== undefined) {
    sends.push(deliver('webhook', settings.webhook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) }, settings, ports));
  }
  if (settings.healthchecks !== undefined) {
    const summary = [payload.result, payload.code, payload.message].filter((part) => part !== undefined).join(': ');
    sends.push(deliver('healthchecks', pingUrl(settings.healthchecks, payload.event), { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `${payload.job}: ${summary === '' ? payload.event : summary}` }, settings, ports));
  }
  return Promise.all(sends);
}

/** healthchecks.io's convention: `/start` and `/fail` are appended to the check's ping URL. */
export function pingUrl(base: string, event: NotifyEvent): string {
  const url = new URL(base);
  const path = url.pathname.replace(/\/+$/, '');
  if (event !== 'success') url.pathname = `${path}/${event === 'start' ? 'start' : 'fail'}`;
  return url.toString();
}

/** Which event a finished run reports: a warning is a success (the data is saved), anything else a failure. */
export function endEvent(result: string | undefined): NotifyEvent {
  return result === 'success' || result === 'warning' ? 'success' : 'failure';
}

async function deliver(target: Delivery['target'], url: string, init: RequestInit, settings: NotifySettings, ports: NotifyPorts): Promise<Delivery> {
  const origin = originOf(url);
  let problem = '';
  const attempts = settings.retries + 1;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await ports.sleep(backoffMs(attempt - 1));
    try {
      const response = await ports.fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(settings.timeoutSeconds * 1000) });
      await response.body?.cancel();
      if (response.ok) return { target, origin, ok: true, attempts: attempt };
      problem = `HTTP ${response.status}`;
      // A 4xx will be the same next time (a wrong URL, a deleted check); 408 and 429 are worth a retry.
      if (response.status < 500 && response.status !== 408 && response.status !== 429) return { target, origin, ok: false, attempts: attempt, problem };
    } catch (error) {
      problem = networkProblem(error, settings.timeoutSeconds);
    }
  }
  return { target, origin, ok: false, attempts, problem };
}

function networkProblem(error: unknown, timeoutSeconds: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${timeoutSeconds} s`;
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'string' ? cause.code : 'network error';
}

/** scheme://host:port only: the path and query of a webhook or ping URL are often its secret. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}
