import { SseParser } from './sse.js';
import {
  ApiPaths,
  type AgentEvent, type ApiError, type ConfigResponse, type HealthItem, type HistoryResponse, type JobPatch, type JobView, type LiveSession, type LogsResponse, type ProfilePatch, type ProfileView,
  type RestoreRequest, type RestoreResponse, type ScheduleResponse, type SessionRecord, type SnapshotsResponse, type StartRunResponse, type StatusResponse, type TreeResponse,
} from './types.js';

/** How the client reaches the agent: a unix socket (CLI, tray) or fetch in a browser. */
export interface ApiTransport {
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }>;
  /** Opens a streaming GET; calls onChunk with text until the stream ends or `signal` aborts. */
  stream(path: string, onChunk: (text: string) => void, signal: AbortSignal, headers?: Record<string, string>): Promise<void>;
}

/** An error answer of the agent, typed by its stable code. */
export class AgentApiError extends Error {
  override readonly name = 'AgentApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string,
    /** The request field the agent blames, when it names one. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The agent could not be reached at all (not running, wrong socket, no permission). */
export class AgentUnreachableError extends Error {
  override readonly name = 'AgentUnreachableError';
  readonly code = 'agent.unreachable';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** The one typed client of the Local API, shared by CLI, tray and web UI. */
export class AgentClient {
  constructor(private readonly transport: ApiTransport) {}

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.transport.request(method, path, body);
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.body);
    } catch {
      throw new AgentApiError(response.status, 'api.bad-response', `the agent sent a response that is not JSON (HTTP ${response.status})`, 'Check that the socket belongs to a Backhaul agent of the same version.');
    }
    if (response.status >= 400) {
      const error = parsed as Partial<ApiError>;
      throw new AgentApiError(response.status, error.code ?? 'api.error', error.message ?? `HTTP ${response.status}`, error.hint ?? '', typeof error.field === 'string' ? error.field : undefined);
    }
    return parsed as T;
  }

  status(): Promise<StatusResponse> {
    return this.#call('GET', ApiPaths.status);
  }
  /** The jobs with their editable fields and which of those a managed policy locks. */
  jobs(): Promise<JobView[]> {
    return this.#call('GET', ApiPaths.jobs);
  }
  /**
   * Changes a job's everyday fields (`null` = back to the default). The agent validates and writes
   * its config file; refusals are AgentApiError with a code (`config.invalid-value`,
   * `config.locked`, `job.running`, …) and a message that names the field.
   */
  editJob(name: string, patch: JobPatch): Promise<JobView> {
    return this.#call('PATCH', ApiPaths.job(name), patch);
  }
  /** The VPN profiles with their everyday fields (never auth) and which a managed policy locks. */
  profiles(): Promise<ProfileView[]> {
    return this.#call('GET', ApiPaths.profiles);
  }
  /** Changes a profile's everyday fields; refusals as for editJob (`profile.in-use` while a job using it runs). */
  editProfile(name: string, patch: ProfilePatch): Promise<ProfileView> {
    return this.#call('PATCH', ApiPaths.profile(name), patch);
  }
  health(): Promise<HealthItem[]> {
    return this.#call('GET', ApiPaths.health);
  }
  config(): Promise<ConfigResponse> {
    return this.#call('GET', ApiPaths.config);
  }
  startRun(job: string): Promise<StartRunResponse> {
    return this.#call('POST', ApiPaths.runs, { job });
  }
  cancelRun(sessionId: string): Promise<{ sessionId: string; cancelling: boolean }> {
    return this.#call('DELETE', ApiPaths.run(sessionId));
  }
  run(sessionId: string): Promise<LiveSession | SessionRecord> {
    return this.#call('GET', ApiPaths.run(sessionId));
  }
  history(query: { job?: string; limit?: number; before?: string } = {}): Promise<HistoryResponse> {
    const params = new URLSearchParams();
    if (query.job !== undefined) params.set('job', query.job);
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.before !== undefined) params.set('before', query.before);
    const qs = params.toString();
    return this.#call('GET', qs === '' ? ApiPaths.history : `${ApiPaths.history}?${qs}`);
  }
  logs(lines = 200): Promise<LogsResponse> {
    return this.#call('GET', `${ApiPaths.logs}?lines=${lines}`);
  }
  /** The job's snapshots, newest first. */
  snapshots(job: string): Promise<SnapshotsResponse> {
    return this.#call('GET', ApiPaths.snapshots(job));
  }
  /** One directory of a snapshot (`/` for its top level). */
  tree(job: string, snapshot: string, path: string): Promise<TreeResponse> {
    return this.#call('GET', ApiPaths.tree(job, snapshot, path));
  }
  /** Restores the selected paths into `target`; resolves when restic is done. */
  restore(request: RestoreRequest): Promise<RestoreResponse> {
    return this.#call('POST', ApiPaths.restores, request);
  }
  /** Tells the agent the machine is going to sleep or woke up. */
  power(event: 'suspend' | 'resume'): Promise<{ event: string }> {
    return this.#call('POST', ApiPaths.power, { event });
  }
  /** The scheduled jobs with their next `count` runs (`backhaul schedule`). */
  schedule(count = 5): Promise<ScheduleResponse> {
    return this.#call('GET', `${ApiPaths.schedule}?count=${count}`);
  }
  /** Pauses scheduled runs until `until`, or resumes them (null). */
  pauseSchedules(until: Date | null): Promise<ScheduleResponse> {
    return this.#call('POST', ApiPaths.schedulePause, { until: until === null ? null : until.toISOString() });
  }
  async metrics(): Promise<string> {
    return (await this.transport.request('GET', ApiPaths.metrics)).body;
  }

  /**
   * Streams events until `signal` aborts or the agent closes the stream. The first event is a
   * snapshot. `lastEventId` (from a previous stream) is sent so the agent knows where we were.
   */
  async events(onEvent: (event: AgentEvent, id: string | undefined) => void, signal: AbortSignal, lastEventId?: string): Promise<void> {
    const parser = new SseParser();
    await this.transport.stream(
      ApiPaths.events,
      (chunk) => {
        for (const message of parser.push(chunk)) {
          try {
            onEvent(JSON.parse(message.data) as AgentEvent, message.id);
          } catch {
            // a malformed event is skipped, the stream goes on
          }
        }
      },
      signal,
      lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
    );
  }
}
