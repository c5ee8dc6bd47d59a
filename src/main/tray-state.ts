/**
 * The tray as a pure function of the agent's status (STYLE.md point 11): which icon, what the
 * tooltip says, and the menu. No Electron here; src/main/tray-service.ts applies the result.
 *
 * Some of what it models arrives with later issues — reconnecting (the keepalive supervisor),
 * overdue jobs and paused schedules (the scheduler) — through optional fields of the status, so
 * the tray already says the right thing the day the agent starts sending them.
 */
import type { JobSummary, LastRun, LiveSession, StatusResponse } from '../api/types.js';
import { formatBytes, formatClock, formatEta, formatPercent, type ClockOptions } from '../renderer/model/format.js';

/** One icon per situation; the worst situation of any job wins. */
export type TrayIcon = 'idle-ok' | 'running' | 'reconnecting' | 'warning' | 'error' | 'overdue' | 'agent-unreachable';

/** A live session as the tray reads it: `reconnecting` arrives as a session state with the keepalive issue. */
export type TraySession = Omit<LiveSession, 'state'> & { readonly state: LiveSession['state'] | 'reconnecting' };

/** What the tray needs from `GET /v1/status` (or the SSE snapshot kept up to date). */
export interface TrayStatus {
  readonly sessions: readonly TraySession[];
  readonly jobs: readonly JobSummary[];
  readonly health: StatusResponse['health'];
  readonly schedulesPausedUntil?: string;
}

/** What a menu item does; src/main/tray-service.ts carries it out through the agent's API. */
export type TrayAction =
  | { readonly kind: 'run'; readonly job: string }
  | { readonly kind: 'cancel'; readonly sessionId: string }
  | { readonly kind: 'open' }
  | { readonly kind: 'pause'; readonly until: 'in-1-hour' | 'tomorrow' }
  | { readonly kind: 'resume' }
  | { readonly kind: 'quit' };

export type TrayMenuItem =
  | { readonly type: 'action'; readonly label: string; readonly action: TrayAction; readonly enabled: boolean }
  | { readonly type: 'submenu'; readonly label: string; readonly enabled: boolean; readonly items: readonly TrayMenuItem[] }
  | { readonly type: 'separator' };

export interface TrayView {
  readonly icon: TrayIcon;
  /** A health item asks for attention (its `badge` flag). */
  readonly badge: boolean;
  readonly tooltip: string;
  readonly menu: readonly TrayMenuItem[];
}

export interface TrayContext extends ClockOptions {
  /** Seconds left per session id, only once stable (EtaEstimator): never a first-second guess. */
  readonly etaSeconds?: Readonly<Record<string, number>>;
}

const activePhase: Readonly<Record<string, string>> = {
  queued: 'Waiting to start',
  preflight: 'Preparing',
  connecting: 'Connecting the VPN',
  verifying: 'Checking the tunnel',
  'tearing-down': 'Finishing',
};

function isLive(session: TraySession): boolean {
  return session.state !== 'done' && session.state !== 'failed' && session.state !== 'cancelled';
}

function isReconnecting(session: TraySession): boolean {
  return session.state === 'reconnecting' || session.reconnect !== undefined;
}

/** "nightly: " when there are several jobs, so the tooltip says which one it means. */
function prefix(status: TrayStatus, job: string): string {
  return status.jobs.length > 1 ? `${job}: ` : '';
}

function sessionText(session: TraySession, context: TrayContext): string {
  if (isReconnecting(session)) {
    const r = session.reconnect;
    return r === undefined ? 'Tunnel lost — reconnecting' : `Tunnel lost — reconnecting (${r.attempt}/${r.maxAttempts})`;
  }
  if (session.state === 'backing-up') {
    const progress = session.progress;
    if (progress === undefined) return 'Backing up';
    const eta = context.etaSeconds?.[session.id];
    return `Backing up — ${formatPercent(progress.fraction)}${eta === undefined ? '' : `, ${formatEta(eta)}`}`;
  }
  return `${activePhase[session.state] ?? 'Working'}…`;
}

function lastRunText(run: LastRun, context: TrayContext): string {
  const when = formatClock(run.endedAt, context);
  const size = run.bytesProcessed === undefined ? '' : `, ${formatBytes(run.bytesProcessed)}`;
  switch (run.end) {
    case 'done':
      return `Last backup ${when}${size}, ${run.result === 'warning' ? 'with warnings' : 'OK'}`;
    case 'failed':
      return `Last backup failed ${when}${run.failure === undefined ? '' : `: ${run.failure.message}`}`;
    case 'interrupted':
      return `Last backup was interrupted ${when}`;
    case 'cancelled':
      return `Last backup was cancelled ${when}`;
  }
}

type JobSeverity = 'error' | 'overdue' | 'warning' | 'ok' | 'none';
const severityRank: Readonly<Record<JobSeverity, number>> = { error: 4, overdue: 3, warning: 2, ok: 1, none: 0 };

function jobSeverity(job: JobSummary): JobSeverity {
  const run = job.lastRun;
  if (run !== undefined && (run.end === 'failed' || run.end === 'interrupted')) return 'error';
  if (job.overdueSince !== undefined) return 'overdue';
  if (run === undefined) return 'none';
  if (run.end === 'cancelled' || run.result === 'warning') return 'warning';
  return 'ok';
}

function idleView(status: TrayStatus, context: TrayContext): { icon: TrayIcon; tooltip: string } {
  if (status.jobs.length === 0) return { icon: 'idle-ok', tooltip: 'No backup jobs configured' };
  const ranked = [...status.jobs].sort((a, b) => severityRank[jobSeverity(b)] - severityRank[jobSeverity(a)] || (b.lastRun?.endedAt ?? '').localeCompare(a.lastRun?.endedAt ?? ''));
  const worst = ranked[0];
  if (worst === undefined) return { icon: 'idle-ok', tooltip: 'No backup yet' };
  const severity = jobSeverity(worst);
  const p = prefix(status, worst.name);
  const badHealth = status.health.find((h) => h.badge && h.severity === 'error') ?? status.health.find((h) => h.badge && h.severity === 'warning');
  if (severity === 'error' && worst.lastRun !== undefined) return { icon: 'error', tooltip: `${p}${lastRunText(worst.lastRun, context)}` };
  if (badHealth?.severity === 'error') return { icon: 'error', tooltip: badHealth.title };
  if (severity === 'overdue') {
    const last = worst.lastRun === undefined ? 'never backed up' : `last backup ${formatClock(worst.lastRun.endedAt, context)}`;
    return { icon: 'overdue', tooltip: `${p}Backup overdue — ${last}` };
  }
  if (severity === 'warning' && worst.lastRun !== undefined) return { icon: 'warning', tooltip: `${p}${lastRunText(worst.lastRun, context)}` };
  if (badHealth !== undefined) return { icon: 'warning', tooltip: badHealth.title };
  if (worst.lastRun === undefined) return { icon: 'idle-ok', tooltip: 'No backup yet' };
  return { icon: 'idle-ok', tooltip: `${p}${lastRunText(worst.lastRun, context)}` };
}

function menu(status: TrayStatus | undefined): TrayMenuItem[] {
  const reachable = status !== undefined;
  const jobs = status?.jobs ?? [];
  const live = (status?.sessions ?? []).filter(isLive);
  const busy = (job: string) => live.some((s) => s.job === job);
  const items: TrayMenuItem[] = [];
  if (jobs.length <= 1) {
    const job = jobs[0];
    items.push(
      job === undefined
        ? { type: 'action', label: 'Back up now', action: { kind: 'open' }, enabled: false }
        : { type: 'action', label: 'Back up now', action: { kind: 'run', job: job.name }, enabled: reachable && !busy(job.name) },
    );
  } else {
    for (const job of jobs) items.push({ type: 'action', label: `Back up "${job.name}" now`, action: { kind: 'run', job: job.name }, enabled: !busy(job.name) });
  }
  for (const session of live) {
    items.push({ type: 'action', label: jobs.length > 1 ? `Cancel backup of "${session.job}"` : 'Cancel backup', action: { kind: 'cancel', sessionId: session.id }, enabled: true });
  }
  items.push({ type: 'separator' }, { type: 'action', label: 'Open Backhaul', action: { kind: 'open' }, enabled: true });
  if (status?.schedulesPausedUntil !== undefined) {
    items.push({ type: 'action', label: 'Resume schedules', action: { kind: 'resume' }, enabled: true });
  } else {
    // Pausing means something only when a job is scheduled (the scheduler's issue fills nextRunAt).
    const scheduled = reachable && jobs.some((j) => j.nextRunAt !== undefined);
    items.push({
      type: 'submenu',
      label: 'Pause schedules',
      enabled: scheduled,
      items: [
        { type: 'action', label: 'For 1 hour', action: { kind: 'pause', until: 'in-1-hour' }, enabled: scheduled },
        { type: 'action', label: 'Until tomorrow', action: { kind: 'pause', until: 'tomorrow' }, enabled: scheduled },
      ],
    });
  }
  items.push({ type: 'separator' }, { type: 'action', label: 'Quit Backhaul', action: { kind: 'quit' }, enabled: true });
  return items;
}

/**
 * The tray for a status; `undefined` means the agent could not be reached. Order of precedence:
 * unreachable, reconnecting, running, then the worst job (failed or interrupted, an error health
 * item, overdue, warnings or a cancelled run, a warning health item), else the last good backup.
 */
export function trayState(status: TrayStatus | undefined, context: TrayContext): TrayView {
  if (status === undefined) {
    return { icon: 'agent-unreachable', badge: false, tooltip: 'Backhaul — the agent is not running', menu: menu(undefined) };
  }
  const badge = status.health.some((h) => h.badge);
  const paused = status.schedulesPausedUntil === undefined ? '' : ` · schedules paused until ${formatClock(status.schedulesPausedUntil, context)}`;
  const live = status.sessions.filter(isLive);
  const reconnecting = live.find(isReconnecting);
  const running = live.find((s) => s.state !== 'queued') ?? live[0];
  let view: { icon: TrayIcon; tooltip: string };
  if (reconnecting !== undefined) view = { icon: 'reconnecting', tooltip: `${prefix(status, reconnecting.job)}${sessionText(reconnecting, context)}` };
  else if (running !== undefined) view = { icon: 'running', tooltip: `${prefix(status, running.job)}${sessionText(running, context)}` };
  else view = idleView(status, context);
  return { ...view, badge, tooltip: `${view.tooltip}${paused}`, menu: menu(status) };
}
