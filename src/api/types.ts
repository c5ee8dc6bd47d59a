/**
 * The Local API contract (`/v1/...`), shared by the agent, the CLI, the tray and the web UI. Pure
 * types and constants: safe to import from a browser bundle.
 */
import type { BackupEvent, BackupProgress, BackupSummary } from '../backup/engine.js';
import type { ResticSnapshot, ResticTreeNode } from '../backup/restic-json.js';
import type { SessionRecord, SessionTrigger } from '../agent/session/history.js';
import type { SessionState } from '../agent/session/states.js';
import type { FieldLocks, JobPatch, JobSettings } from '../config/job-fields.js';

export type { SessionRecord, SessionTrigger, SessionState, BackupProgress, BackupEvent, BackupSummary, FieldLocks, JobPatch, JobSettings };
export { EDITABLE_JOB_FIELDS, type EditableJobField } from '../config/job-fields.js';
import type { ProfileLocks, ProfilePatch, ProfileSettings } from '../config/profile-fields.js';
export type { ProfileLocks, ProfilePatch, ProfileSettings };
export { EDITABLE_PROFILE_FIELDS, type EditableProfileField } from '../config/profile-fields.js';

/** Every error response: a stable code, one plain sentence, and what to do. */
export interface ApiError {
  readonly code: string;
  readonly message: string;
  readonly hint: string;
  /** The request field to blame, when one is (a form shows the message next to that field). */
  readonly field?: string;
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
  /**
   * While the tunnel is being repaired under a running backup (the keepalive issue): which attempt
   * this is. Present only then; the tray says "Tunnel lost — reconnecting (2/5)".
   */
  readonly reconnect?: {
    readonly attempt: number;
    readonly maxAttempts: number;
    /** When this attempt starts, after its backoff (ISO time). */
    readonly nextTryAt?: string;
    /** How the loss was noticed: the tunnel was down, its status check failed, or bytes stalled. */
    readonly cause?: 'down' | 'status-failed' | 'stall';
  };
}

/** The last finished session of a job, as the tray and the Status page summarise it. */
export interface LastRun {
  readonly id: string;
  readonly end: SessionRecord['end'];
  readonly result?: 'success' | 'warning';
  readonly endedAt: string;
  /** Bytes the snapshot covers, when the run got that far. */
  readonly bytesProcessed?: number;
  /** Bytes added to the repository (small on a deduplicated re-run). */
  readonly bytesAdded?: number;
  readonly durationSeconds?: number;
  /** Why it failed or warned: the same `{code, message, hint}` the history shows. */
  readonly failure?: { readonly code: string; readonly message: string; readonly hint: string };
}

export interface JobSummary {
  readonly name: string;
  readonly engine: string;
  readonly profile: string;
  readonly repository: string;
  /** The live session of this job, if any. */
  readonly sessionId?: string;
  readonly lastRun?: LastRun;
  /** When the scheduler will start it next (`src/agent/schedule/`); absent for a job without a schedule. */
  readonly nextRunAt?: string;
  /** Set by the scheduler when a scheduled run is late by more than its grace period. */
  readonly overdueSince?: string;
}

/**
 * `GET /v1/jobs` and the answer of `PATCH /v1/jobs/NAME`: a job with the fields a client may edit
 * (secrets are never among them) and which of those a managed policy locks.
 */
export interface JobView extends JobSummary {
  readonly settings: JobSettings;
  /** Editable fields that can't be changed here, each with why; empty when none is locked. */
  readonly locked: FieldLocks;
}

/**
 * `GET /v1/profiles` and the answer of `PATCH /v1/profiles/NAME`: a VPN profile's everyday fields
 * (never its auth) and which of those a managed policy locks.
 */
export interface ProfileView {
  readonly name: string;
  readonly type: 'l2tp' | 'ikev2';
  readonly settings: ProfileSettings;
  /** Editable fields that can't be changed here, each with why; empty when none is locked. */
  readonly locked: ProfileLocks;
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
  /** Scheduled runs are paused until then (the tray's "Pause schedules"); absent when not paused. */
  readonly schedulesPausedUntil?: string;
}

/** One upcoming scheduled run: the slot (its id, with the job) and when it starts (slot + random delay). */
export interface ScheduledRun {
  readonly slot: string;
  readonly startsAt: string;
}

/** A scheduled job as `GET /v1/schedule` and `backhaul schedule` show it. */
export interface JobScheduleInfo {
  readonly job: string;
  /** The expression as written (`daily at 02:00`, `30 2 * * *`). */
  readonly at: string;
  readonly timezone: string;
  /** The next runs, a due one still waiting first. */
  readonly upcoming: readonly ScheduledRun[];
  /** What a due slot waits for ("AC power (onlyOnAc)"), when one does. */
  readonly waitingFor?: string;
  readonly overdueSince?: string;
}

export interface ScheduleResponse {
  readonly jobs: readonly JobScheduleInfo[];
  readonly pausedUntil?: string;
}

/** `POST /v1/schedule/pause`: pause scheduled runs until then (ISO time), or resume them (null). */
export interface PauseSchedulesRequest {
  readonly until: string | null;
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

/** A snapshot in a job's repository, as restic describes it (minus the OS user), newest first in listings. */
export type SnapshotInfo = Omit<ResticSnapshot, 'username'>;

export interface SnapshotsResponse {
  readonly job: string;
  readonly snapshots: readonly SnapshotInfo[];
  /** Where a restore of this job goes unless the user picks another folder. */
  readonly suggestedTarget: string;
}

/** One entry of a directory inside a snapshot; its absolute `path` is what a restore selects. */
export type TreeEntry = ResticTreeNode;

/** `GET /v1/jobs/JOB/snapshots/ID/tree?path=/dir`: the directory's children, folders first. */
export interface TreeResponse {
  readonly job: string;
  readonly snapshot: SnapshotInfo;
  readonly path: string;
  readonly entries: readonly TreeEntry[];
}

/** `POST /v1/restores`: restore these paths of a snapshot under `target` (their full paths kept). */
export interface RestoreRequest {
  readonly job: string;
  readonly snapshot: string;
  readonly paths: readonly string[];
  /** An absolute folder that does not exist yet or is empty. */
  readonly target: string;
}

export interface RestoreResponse {
  readonly target: string;
  readonly paths: readonly string[];
  /** restic 0.18 reports these; 0.14 does not. */
  readonly filesRestored?: number;
  readonly bytesRestored?: number;
}

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
  job: (name: string) => `/v1/jobs/${encodeURIComponent(name)}`,
  profiles: '/v1/profiles',
  profile: (name: string) => `/v1/profiles/${encodeURIComponent(name)}`,
  runs: '/v1/runs',
  run: (id: string) => `/v1/runs/${encodeURIComponent(id)}`,
  history: '/v1/history',
  logs: '/v1/logs',
  config: '/v1/config',
  health: '/v1/health',
  events: '/v1/events',
  snapshots: (job: string) => `/v1/jobs/${encodeURIComponent(job)}/snapshots`,
  tree: (job: string, snapshot: string, path: string) => `/v1/jobs/${encodeURIComponent(job)}/snapshots/${encodeURIComponent(snapshot)}/tree?path=${encodeURIComponent(path)}`,
  restores: '/v1/restores',
  power: '/v1/power',
  schedule: '/v1/schedule',
  schedulePause: '/v1/schedule/pause',
  metrics: '/metrics',
} as const;
