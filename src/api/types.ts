/**
 * The Local API contract (`/v1/...`), shared by the agent, the CLI, the tray and the web UI. Pure
 * types and constants: safe to import from a browser bundle.
 */
import type { BackupEvent, BackupProgress } from '../backup/engine.js';
import type { SessionRecord, SessionTrigger } from '../agent/session/history.js';
import type { SessionState } from '../agent/session/states.js';

export type { SessionRecord, SessionTrigger, SessionState, BackupProgress, BackupEvent };

/** Every error response: a stable code, one plain sentence, and what to do. */
export interface ApiError {
  readonly code: string;
  readonly message: string;
  readonly hint: string;
}

export type Severity = 'info' | 'warning' | 'error';

/** A problem the user should see (STYLE.md point 10). */
export interface HealthItem {
  readonly code: string;
  readonly title: string;
  readonly text: string;
  readonly severity: Severity;
  /** Whether the tray icon shows a badge for it. */
  readonly badge: boolean;
  readonly since: string;
}

/** A session the agent is running or has queued. */
export interface LiveSession {
  readonly id: string;
  readonly job: string;
  readonly trigger: SessionTrigger;
  /** `queued` until a slot is free (sessions share the tunnel: concurrency 1 by default). */
  readonly state: SessionState | 'queued';
  readonly queuedAt: string;
  readonly startedAt?: string;
  readonly progress?: BackupProgress;
}

export interface JobSummary {
  readonly name: string;
  readonly engine: string;
  readonly profile: string;
  readonly repository: string;
  /** The live session of this job, if any. */
  readonly sessionId?: string;
  readonly lastRun?: { readonly id: string; readonly end: SessionRecord['end']; readonly result?: 'success' | 'warning'; readonly endedAt: string };
}

export interface AgentInfo {
  readonly pid: number;
  readonly version: string;
  readonly mode: 'user' | 'system';
  readonly startedAt: string;
  readonly configFile: string;
  readonly socket: string;
}

export interface StatusResponse {
  readonly agent: AgentInfo;
  readonly sessions: readonly LiveSession[];
  readonly jobs: readonly JobSummary[];
  readonly health: readonly HealthItem[];
}

export interface StartRunRequest {
  readonly job: string;
}

export interface StartRunResponse {
  readonly sessionId: string;
  readonly queued: boolean;
}

export interface HistoryResponse {
  readonly records: readonly SessionRecord[];
  /** Pass as `before` to get the next (older) page. */
  readonly next?: string;
}

export interface LogLine {
  readonly at: string;
  readonly level: string;
  readonly message: string;
  readonly sessionId?: string;
  readonly job?: string;
}

export interface LogsResponse {
  readonly lines: readonly LogLine[];
}

/** The config as the agent loaded it, or why it could not. Secrets are references, never values. */
export type ConfigResponse =
  | { readonly ok: true; readonly file: string; readonly config: unknown }
  | { readonly ok: false; readonly file: string; readonly errors: readonly { path: string; message: string; line?: number; column?: number }[] };

/** What `GET /v1/events` streams. The first event is always a snapshot. */
export type AgentEvent =
  | { readonly type: 'snapshot'; readonly status: StatusResponse }
  | { readonly type: 'session'; readonly session: LiveSession }
  | { readonly type: 'progress'; readonly sessionId: string; readonly job: string; readonly progress: BackupProgress }
  | { readonly type: 'backup-event'; readonly sessionId: string; readonly job: string; readonly event: BackupEvent }
  | { readonly type: 'ended'; readonly record: SessionRecord }
  | { readonly type: 'health'; readonly health: readonly HealthItem[] }
  | { readonly type: 'log'; readonly line: LogLine };

/** Routes of the Local API, for the client and the server to agree on. */
export const ApiPaths = {
  status: '/v1/status',
  jobs: '/v1/jobs',
  runs: '/v1/runs',
  run: (id: string) => `/v1/runs/${encodeURIComponent(id)}`,
  history: '/v1/history',
  logs: '/v1/logs',
  config: '/v1/config',
  health: '/v1/health',
  events: '/v1/events',
  metrics: '/metrics',
} as const;
