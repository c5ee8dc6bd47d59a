import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type {
  ApiError, ConfigResponse, HealthItem, HistoryResponse, JobView, LiveSession, LogsResponse, ProfileView, RestoreRequest, RestoreResponse, SessionRecord,
  ScheduleResponse, SnapshotsResponse, StartRunResponse, StatusResponse, TreeResponse,
} from '../api/types.js';
import type { EventBus, NumberedEvent } from './event-bus.js';

/** A request the API refuses: HTTP status plus the `{code, message, hint}` body. */
export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string,
    /** The request field to blame, when one is. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** What the routes need from the agent. */
export interface ApiBackend {
  status(): StatusResponse;
  jobs(): JobView[];
  /** Changes a job's editable fields in the config file (keys and values are checked there). */
  editJob?(name: string, patch: Readonly<Record<string, unknown>>): Promise<JobView>;
  /** The VPN profiles' editable fields and locks. */
  profiles?(): ProfileView[];
  /** Changes a profile's editable fields in the config file (keys and values are checked there). */
  editProfile?(name: string, patch: Readonly<Record<string, unknown>>): Promise<ProfileView>;
  startRun(job: string): StartRunResponse;
  cancelRun(sessionId: string): boolean;
  run(sessionId: string): Promise<LiveSession | SessionRecord | undefined>;
  history(query: { job?: string; limit: number; before?: string }): Promise<HistoryResponse>;
  logs(lines: number): LogsResponse;
  config(): ConfigResponse;
  health(): HealthItem[];
  metrics(): Promise<string>;
  /** A job's snapshots, newest first. Optional: a backend without a repository answers 501. */
  snapshots?(job: string): Promise<SnapshotsResponse>;
  /** One directory of a snapshot. */
  tree?(job: string, snapshot: string, path: string): Promise<TreeResponse>;
  /** Restores selected paths of a snapshot into an empty or new folder. */
  restore?(request: RestoreRequest): Promise<RestoreResponse>;
  /** The tray reports the machine going to sleep or waking up (Electron's powerMonitor). */
  power?(event: 'suspend' | 'resume'): void;
  /** The scheduled jobs and their next `count` runs. */
  schedule?(count: number): ScheduleResponse;
  /** Pauses scheduled runs until then (ms), or resumes them (undefined). */
  pauseSchedules?(untilMs: number | undefined): ScheduleResponse;
  readonly bus: EventBus;
}

/** Decides whether a request may be served at all (the web listener's token, Host and Origin). */
export type RequestGuard = (req: IncomingMessage) => ApiProblem | undefined;

const MAX_BODY_BYTES = 16 * 1024;
const SSE_KEEPALIVE_MS = 15_000;
/** A client that lets this much pile up unread is dropped instead of growing the agent's memory. */
const SSE_MAX_BUFFERED = 1024 * 1024;

const startRunBody = z.strictObject({ job: z.string().min(1).max(64) });

/** A snapshot id or unique prefix as restic prints them: hex only, so it can never read as a flag. */
const snapshotId = z.string().regex(/^[0-9a-f]{8,64}$/);
/** An absolute path inside a snapshot or on this machine: no NUL, no "..", bounded. */
const absolutePath = z.string().min(1).max(4096).regex(/^\//).refine((p) => !p.includes('\0') && !p.split('/').includes('..'));
/**
 * `PATCH /v1/jobs/NAME`: a JSON object of the fields to change; which keys and values are allowed
 * is the config editor's call. Checked by hand, not copied: JSON.parse keeps `"__proto__"` as an own
 * key (refused there as not editable), a copy would turn it into a prototype.
 */
function isJobPatchBody(body: unknown): body is Readonly<Record<string, unknown>> {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length <= 16;
}
const powerBody = z.strictObject({ event: z.enum(['suspend', 'resume']) });
/** Until a time within a year (a longer pause is a schedule removed), or null to resume. */
const pauseBody = z.strictObject({ until: z.union([z.iso.datetime({ offset: true }), z.null()]) });
const restoreBody = z.strictObject({
  job: z.string().min(1).max(64),
  snapshot: snapshotId,
  paths: z.array(absolutePath).min(1).max(200),
  target: absolutePath,
});

function notAvailable(what: string): ApiProblem {
  return new ApiProblem(501, 'api.not-available', `${what} is not available from this agent`, 'Use an agent of the same version as this client.');
}

/** Refuses a request that carries an Origin: browsers send one, local clients (CLI, tray) don't. */
export const socketGuard: RequestGuard = (req) =>
  req.headers.origin === undefined
    ? undefined
    : new ApiProblem(403, 'api.origin-refused', 'requests from a web page are not accepted on the agent socket', 'Use the web UI address the agent printed; it has its own checks.');

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendProblem(res: ServerResponse, problem: ApiProblem): void {
  const body: ApiError = { code: problem.code, message: problem.message, hint: problem.hint, ...(problem.field === undefined ? {} : { field: problem.field }) };
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, problem.status, body);
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > MAX_BODY_BYTES) throw new ApiProblem(413, 'api.body-too-large', `the request body is ${declared} bytes; the limit is ${MAX_BODY_BYTES}`, 'Send a smaller JSON body.');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiProblem(413, 'api.body-too-large', `the request body is over ${MAX_BODY_BYTES} bytes`, 'Send a smaller JSON body.');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiProblem(400, 'api.bad-json', 'the request body is not valid JSON', 'Send a JSON object, e.g. {"job":"nightly"}.');
  }
}

function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ApiProblem(400, 'api.bad-parameter', `${name} must be a whole number from ${min} to ${max}, got "${raw.slice(0, 40)}"`, `Use ?${name}=${fallback}.`);
  }
  return value;
}

/** Streams agent events as Server-Sent Events: a snapshot first, then every update with its id. */
function streamEvents(req: IncomingMessage, res: ServerResponse, backend: ApiBackend): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const write = (numbered: NumberedEvent) => {
    res.write(`id: ${numbered.id}\nevent: ${numbered.event.type}\ndata: ${JSON.stringify(numbered.event)}\n\n`);
    if (res.writableLength > SSE_MAX_BUFFERED) res.destroy();
  };
  // Always a snapshot first, also for a client that reconnects with Last-Event-ID: the snapshot
  // carries the current state, so nothing between its id and the next event is lost.
  write({ id: backend.bus.lastId, event: { type: 'snapshot', status: backend.status() } });
  const unsubscribe = backend.bus.subscribe(write);
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), SSE_KEEPALIVE_MS);
  const close = () => {
    clearInterval(keepalive);
    unsubscribe();
  };
  req.on('close', close);
  res.on('error', close);
}

/** A path segment decoded, or a 400 for malformed percent-encoding (found by the fuzzer). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiProblem(400, 'api.bad-path', 'the path has malformed percent-encoding', 'Encode the session id with encodeURIComponent.');
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, params: readonly string[]) => Promise<void> | void;

/** The route table: method + path pattern → handler. Write routes are marked. */
function routes(backend: ApiBackend): { method: string; pattern: RegExp; handler: Handler }[] {
  return [
    { method: 'GET', pattern: /^\/v1\/status$/, handler: (_q, res) => { send(res, 200, backend.status()); } },
    { method: 'GET', pattern: /^\/v1\/jobs$/, handler: (_q, res) => { send(res, 200, backend.jobs()); } },
    { method: 'GET', pattern: /^\/v1\/health$/, handler: (_q, res) => { send(res, 200, backend.health()); } },
    { method: 'GET', pattern: /^\/v1\/config$/, handler: (_q, res) => { send(res, 200, backend.config()); } },
    {
      method: 'POST',
      pattern: /^\/v1\/runs$/,
      handler: async (req, res) => {
        const parsed = startRunBody.safeParse(await readJsonBody(req));
        if (!parsed.success) throw new ApiProblem(400, 'api.bad-request', 'the body must be {"job": "<job name>"}', 'Name the job to run, e.g. {"job":"nightly"}.');
        send(res, 202, backend.startRun(parsed.data.job));
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/runs\/([^/]+)$/,
      handler: async (_q, res, _u, [id = '']) => {
        const sessionId = decodeSegment(id);
        const run = await backend.run(sessionId);
        if (run === undefined) throw new ApiProblem(404, 'run.unknown', `there is no session "${sessionId.slice(0, 80)}"`, 'List sessions with GET /v1/status or /v1/history.');
        send(res, 200, run);
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/v1\/runs\/([^/]+)$/,
      handler: (_q, res, _u, [id = '']) => {
        const sessionId = decodeSegment(id);
        if (!backend.cancelRun(sessionId)) throw new ApiProblem(404, 'run.not-live', `session "${sessionId.slice(0, 80)}" is not running or queued`, 'It may have finished already: see GET /v1/history.');
        send(res, 202, { sessionId, cancelling: true });
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/history$/,
      handler: async (_q, res, url) => {
        const job = url.searchParams.get('job') ?? undefined;
        const before = url.searchParams.get('before') ?? undefined;
        send(res, 200, await backend.history({ limit: intParam(url, 'limit', 50, 1, 1000), ...(job === undefined ? {} : { job }), ...(before === undefined ? {} : { before }) }));
      },
    },
    {
      method: 'PATCH',
      pattern: /^\/v1\/jobs\/([^/]+)$/,
      handler: async (req, res, _u, [job = '']) => {
        if (backend.editJob === undefined) throw notAvailable('Editing jobs');
        const name = decodeSegment(job);
        const patch = await readJsonBody(req);
        if (!isJobPatchBody(patch)) throw new ApiProblem(400, 'api.bad-request', 'the body must be a JSON object of the fields to change', 'Send e.g. {"streams": 8}; null puts a field back to its default.');
        send(res, 200, await backend.editJob(name, patch));
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/profiles$/,
      handler: (_q, res) => {
        if (backend.profiles === undefined) throw notAvailable('Listing profiles');
        send(res, 200, backend.profiles());
      },
    },
    {
      method: 'PATCH',
      pattern: /^\/v1\/profiles\/([^/]+)$/,
      handler: async (req, res, _u, [profile = '']) => {
        if (backend.editProfile === undefined) throw notAvailable('Editing profiles');
        const name = decodeSegment(profile);
        const patch = await readJsonBody(req);
        if (!isJobPatchBody(patch)) throw new ApiProblem(400, 'api.bad-request', 'the body must be a JSON object of the fields to change', 'Send e.g. {"keepaliveSeconds": 15}; null puts a field back to its default.');
        send(res, 200, await backend.editProfile(name, patch));
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/jobs\/([^/]+)\/snapshots$/,
      handler: async (_q, res, _u, [job = '']) => {
        if (backend.snapshots === undefined) throw notAvailable('Listing snapshots');
        send(res, 200, await backend.snapshots(decodeSegment(job)));
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/jobs\/([^/]+)\/snapshots\/([^/]+)\/tree$/,
      handler: async (_q, res, url, [job = '', id = '']) => {
        if (backend.tree === undefined) throw notAvailable('Browsing snapshots');
        const snapshot = snapshotId.safeParse(decodeSegment(id));
        if (!snapshot.success) throw new ApiProblem(400, 'api.bad-parameter', 'the snapshot id must be 8 to 64 hex digits', 'Use an id from GET /v1/jobs/JOB/snapshots.');
        const path = absolutePath.safeParse(url.searchParams.get('path') ?? '/');
        if (!path.success) throw new ApiProblem(400, 'api.bad-parameter', 'path must be an absolute path inside the snapshot', 'Start at path=/ and follow the entries.');
        send(res, 200, await backend.tree(decodeSegment(job), snapshot.data, path.data));
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/restores$/,
      handler: async (req, res) => {
        if (backend.restore === undefined) throw notAvailable('Restoring');
        const parsed = restoreBody.safeParse(await readJsonBody(req));
        if (!parsed.success) {
          throw new ApiProblem(400, 'api.bad-request', 'the body must be {"job", "snapshot" (hex id), "paths" (1–200 absolute paths), "target" (an absolute folder)}', 'Pick files in a snapshot\'s tree and a folder to restore them to.');
        }
        send(res, 200, await backend.restore(parsed.data));
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/power$/,
      handler: async (req, res) => {
        if (backend.power === undefined) throw notAvailable('Power events');
        const parsed = powerBody.safeParse(await readJsonBody(req));
        if (!parsed.success) throw new ApiProblem(400, 'api.bad-request', 'the body must be {"event": "suspend" | "resume"}', 'Send what the OS reported.');
        backend.power(parsed.data.event);
        send(res, 202, { event: parsed.data.event });
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/schedule$/,
      handler: (_q, res, url) => {
        if (backend.schedule === undefined) throw notAvailable('The schedule');
        send(res, 200, backend.schedule(intParam(url, 'count', 5, 1, 100)));
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/schedule\/pause$/,
      handler: async (req, res) => {
        if (backend.pauseSchedules === undefined) throw notAvailable('Pausing schedules');
        const parsed = pauseBody.safeParse(await readJsonBody(req));
        const until = parsed.success && parsed.data.until !== null ? Date.parse(parsed.data.until) : undefined;
        if (!parsed.success || (until !== undefined && (until <= Date.now() || until > Date.now() + 366 * 86_400_000))) {
          throw new ApiProblem(400, 'api.bad-request', 'the body must be {"until": "<ISO time within the next year>"} or {"until": null}', 'Send when scheduled runs may start again, e.g. {"until":"2026-11-26T08:00:00Z"}, or null to resume now.', 'until');
        }
        send(res, 200, backend.pauseSchedules(until));
      },
    },
    { method: 'GET', pattern: /^\/v1\/logs$/, handler: (_q, res, url) => { send(res, 200, backend.logs(intParam(url, 'lines', 200, 1, 5000))); } },
    { method: 'GET', pattern: /^\/v1\/events$/, handler: (req, res) => { streamEvents(req, res, backend); } },
    {
      method: 'GET',
      pattern: /^\/metrics$/,
      handler: async (_q, res) => {
        const text = await backend.metrics();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
        res.end(text);
      },
    },
  ];
}

/**
 * The Local API as a Node request handler. Never throws: every failure becomes a 4xx/5xx with
 * `{code, message, hint}`, so no request can crash the agent.
 */
export function createApiHandler(backend: ApiBackend, guard: RequestGuard, fallback?: Handler): (req: IncomingMessage, res: ServerResponse) => void {
  const table = routes(backend);
  return (req, res) => {
    void (async () => {
      try {
        const refused = guard(req);
        if (refused !== undefined) throw refused;
        const url = new URL(req.url ?? '/', 'http://agent.local');
        const matches = table.filter((r) => r.pattern.test(url.pathname));
        if (matches.length === 0) {
          if (fallback !== undefined && req.method === 'GET') {
            await fallback(req, res, url, []);
            return;
          }
          throw new ApiProblem(404, 'api.not-found', `there is no API route ${url.pathname.slice(0, 100)}`, 'The API lives under /v1/; see docs/api.md.');
        }
        const route = matches.find((r) => r.method === req.method);
        if (route === undefined) {
          throw new ApiProblem(405, 'api.method-not-allowed', `${req.method ?? '?'} is not allowed on ${url.pathname}`, `Use ${matches.map((m) => m.method).join(' or ')}.`);
        }
        const params = route.pattern.exec(url.pathname)?.slice(1) ?? [];
        await route.handler(req, res, url, params);
      } catch (error) {
        // Read and drop whatever body is left, so the client gets the answer instead of a reset.
        req.resume();
        if (error instanceof ApiProblem) sendProblem(res, error);
        else if (isUserFacing(error)) sendProblem(res, new ApiProblem(error.code.startsWith('config.') ? 404 : 409, error.code, error.message, error.hint));
        else sendProblem(res, new ApiProblem(500, 'api.internal', 'internal error in the agent', 'This is a bug in Backhaul; the agent log has the details.'));
      }
    })();
  };
}

function isUserFacing(error: unknown): error is Error & { code: string; hint: string } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && typeof (error as { hint?: unknown }).hint === 'string';
}
