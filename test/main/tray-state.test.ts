/**
 * trayState is the whole tray minus Electron: one row per situation the agent can be in, with the
 * icon, tooltip and menu a user sees. Times are fixed and in UTC, so every tooltip is exact.
 */
import { describe, expect, it } from 'vitest';
import type { BackupProgress, HealthItem, JobSummary, LastRun } from '../../src/api/types.js';
import { trayState, type TrayIcon, type TrayMenuItem, type TraySession, type TrayStatus } from '../../src/main/tray-state.js';

const NOW = new Date('2026-11-25T09:30:00Z');
const ctx = { now: NOW, timeZone: 'UTC' };

const ok: LastRun = { id: 's1', end: 'done', result: 'success', endedAt: '2026-11-25T02:03:00Z', bytesProcessed: 1_234_000_000 };
const job = (name: string, extra: Partial<JobSummary> = {}): JobSummary => ({ name, engine: 'restic', profile: 'office', repository: 'rest:http://10.1.0.5:8000/r', ...extra });
const status = (extra: Partial<TrayStatus> = {}): TrayStatus => ({ sessions: [], jobs: [job('nightly', { lastRun: ok })], health: [], ...extra });
const progress = (fraction: number): BackupProgress => ({
  type: 'progress', fraction, bytesDone: fraction * 1e9, bytesTotal: 1e9, filesDone: 1, filesTotal: 10, elapsedSeconds: 60, errorCount: 0, currentFiles: [],
});
const session = (state: TraySession['state'], extra: Partial<TraySession> = {}): TraySession => ({
  id: 'sess-1', job: 'nightly', trigger: 'tray', state, queuedAt: '2026-11-25T09:00:00Z', ...extra,
});
const health = (severity: HealthItem['severity'], badge: boolean, title: string): HealthItem => ({ code: `x.${severity}`, title, text: '…', severity, badge, since: '2026-11-25T09:00:00Z' });
const failed: LastRun = {
  id: 's2', end: 'failed', endedAt: '2026-11-24T02:03:00Z',
  failure: { code: 'backup.wrong-password', message: 'wrong password or no key found', hint: 'Check jobs.nightly.password.' },
};

describe('trayState: icon and tooltip for every status', () => {
  it.each<[string, TrayStatus | undefined, TrayIcon, string]>([
    ['agent unreachable', undefined, 'agent-unreachable', 'Backhaul — the agent is not running'],
    ['no jobs configured', status({ jobs: [] }), 'idle-ok', 'No backup jobs configured'],
    ['a job that never ran', status({ jobs: [job('nightly')] }), 'idle-ok', 'No backup yet'],
    ['last backup OK', status(), 'idle-ok', 'Last backup 02:03, 1.2 GB, OK'],
    ['last backup OK yesterday', status({ jobs: [job('nightly', { lastRun: { ...ok, endedAt: '2026-11-24T23:59:00Z' } })] }), 'idle-ok', 'Last backup Tue 24 Nov 23:59, 1.2 GB, OK'],
    ['last backup with warnings', status({ jobs: [job('nightly', { lastRun: { ...ok, result: 'warning' } })] }), 'warning', 'Last backup 02:03, 1.2 GB, with warnings'],
    ['last backup cancelled', status({ jobs: [job('nightly', { lastRun: { id: 's', end: 'cancelled', endedAt: '2026-11-25T02:03:00Z' } })] }), 'warning', 'Last backup was cancelled 02:03'],
    ['last backup failed', status({ jobs: [job('nightly', { lastRun: failed })] }), 'error', 'Last backup failed Tue 24 Nov 02:03: wrong password or no key found'],
    ['last backup interrupted', status({ jobs: [job('nightly', { lastRun: { id: 's', end: 'interrupted', endedAt: '2026-11-25T02:03:00Z' } })] }), 'error', 'Last backup was interrupted 02:03'],
    ['an error health item with a badge', status({ health: [health('error', true, 'The configuration file has errors')] }), 'error', 'The configuration file has errors'],
    ['a warning health item with a badge', status({ health: [health('warning', true, 'A backup of "nightly" was interrupted')] }), 'warning', 'A backup of "nightly" was interrupted'],
    ['a health item without a badge stays quiet', status({ health: [health('warning', false, 'Only root can use the agent')] }), 'idle-ok', 'Last backup 02:03, 1.2 GB, OK'],
    ['overdue', status({ jobs: [job('nightly', { lastRun: ok, overdueSince: '2026-11-25T03:00:00Z' })] }), 'overdue', 'Backup overdue — last backup 02:03'],
    ['overdue, never backed up', status({ jobs: [job('nightly', { overdueSince: '2026-11-25T03:00:00Z' })] }), 'overdue', 'Backup overdue — never backed up'],
    ['queued', status({ sessions: [session('queued')] }), 'running', 'Waiting to start…'],
    ['preflight', status({ sessions: [session('preflight')] }), 'running', 'Preparing…'],
    ['connecting', status({ sessions: [session('connecting')] }), 'running', 'Connecting the VPN…'],
    ['verifying', status({ sessions: [session('verifying')] }), 'running', 'Checking the tunnel…'],
    ['backing up, no progress yet', status({ sessions: [session('backing-up')] }), 'running', 'Backing up'],
    ['backing up, no stable ETA yet', status({ sessions: [session('backing-up', { progress: progress(0.42) })] }), 'running', 'Backing up — 42 %'],
    ['tearing down', status({ sessions: [session('tearing-down')] }), 'running', 'Finishing…'],
    ['reconnecting (keepalive issue: state)', status({ sessions: [session('reconnecting', { reconnect: { attempt: 2, maxAttempts: 5 } })] }), 'reconnecting', 'Tunnel lost — reconnecting (2/5)'],
    ['reconnecting without a count', status({ sessions: [session('reconnecting')] }), 'reconnecting', 'Tunnel lost — reconnecting'],
    ['paused schedules', status({ schedulesPausedUntil: '2026-11-25T10:30:00Z' }), 'idle-ok', 'Last backup 02:03, 1.2 GB, OK · schedules paused until 10:30'],
  ])('%s', (_name, input, icon, tooltip) => {
    const view = trayState(input, ctx);
    expect(view.icon).toBe(icon);
    expect(view.tooltip).toBe(tooltip);
  });

  it('shows the ETA only when the caller has a stable one', () => {
    const s = status({ sessions: [session('backing-up', { progress: progress(0.42) })] });
    expect(trayState(s, { ...ctx, etaSeconds: { 'sess-1': 720 } }).tooltip).toBe('Backing up — 42 %, 12 min left');
    expect(trayState(s, { ...ctx, etaSeconds: { other: 720 } }).tooltip).toBe('Backing up — 42 %');
  });

  it('precedence: reconnecting over running over a failed job; a running session over a queued one', () => {
    const jobs = [job('nightly', { lastRun: failed }), job('photos', { lastRun: ok })];
    const both = status({ jobs, sessions: [session('backing-up', { job: 'photos', id: 'a' }), session('reconnecting', { id: 'b' })] });
    expect(trayState(both, ctx).icon).toBe('reconnecting');
    const running = status({ jobs, sessions: [session('queued', { id: 'q', job: 'nightly' }), session('connecting', { id: 'r', job: 'photos' })] });
    expect(trayState(running, ctx).tooltip).toBe('photos: Connecting the VPN…');
    expect(trayState(status({ jobs }), ctx)).toMatchObject({ icon: 'error', tooltip: 'nightly: Last backup failed Tue 24 Nov 02:03: wrong password or no key found' });
  });

  it('names the worst job when there are several, and the newest when all are fine', () => {
    const jobs = [job('nightly', { lastRun: ok }), job('photos', { lastRun: { ...ok, result: 'warning', endedAt: '2026-11-25T01:00:00Z' } })];
    expect(trayState(status({ jobs }), ctx).tooltip).toBe('photos: Last backup 01:00, 1.2 GB, with warnings');
    const fine = [job('nightly', { lastRun: ok }), job('photos', { lastRun: { ...ok, endedAt: '2026-11-25T04:00:00Z', bytesProcessed: 5e6 } })];
    expect(trayState(status({ jobs: fine }), ctx).tooltip).toBe('photos: Last backup 04:00, 5.0 MB, OK');
  });

  it('badges the icon for any health item that asks for it', () => {
    expect(trayState(status({ health: [health('warning', true, 'x')] }), ctx).badge).toBe(true);
    expect(trayState(status({ health: [health('warning', false, 'x')] }), ctx).badge).toBe(false);
    expect(trayState(undefined, ctx).badge).toBe(false);
  });
});

const labels = (items: readonly TrayMenuItem[]): string[] =>
  items.map((i) => (i.type === 'separator' ? '—' : `${i.label}${i.enabled ? '' : ' (disabled)'}`));

describe('trayState: the menu', () => {
  it('one job, idle', () => {
    const view = trayState(status(), ctx);
    expect(labels(view.menu)).toEqual(['Back up now', '—', 'Open Backhaul', 'Pause schedules (disabled)', '—', 'Quit Backhaul']);
    expect(view.menu[0]).toMatchObject({ action: { kind: 'run', job: 'nightly' } });
  });

  it('one job, running: Back up now is disabled and Cancel appears', () => {
    const view = trayState(status({ sessions: [session('backing-up')] }), ctx);
    expect(labels(view.menu)).toEqual(['Back up now (disabled)', 'Cancel backup', '—', 'Open Backhaul', 'Pause schedules (disabled)', '—', 'Quit Backhaul']);
    expect(view.menu[1]).toMatchObject({ action: { kind: 'cancel', sessionId: 'sess-1' } });
  });

  it('several jobs: Back up now per job, Cancel per live session', () => {
    const view = trayState(status({ jobs: [job('nightly'), job('photos')], sessions: [session('backing-up', { job: 'photos', id: 'p' })] }), ctx);
    expect(labels(view.menu)).toEqual(['Back up "nightly" now', 'Back up "photos" now (disabled)', 'Cancel backup of "photos"', '—', 'Open Backhaul', 'Pause schedules (disabled)', '—', 'Quit Backhaul']);
  });

  it('scheduled jobs can be paused for an hour or until tomorrow; paused ones resumed', () => {
    const scheduled = status({ jobs: [job('nightly', { lastRun: ok, nextRunAt: '2026-11-26T02:00:00Z' })] });
    const pause = trayState(scheduled, ctx).menu.find((i) => i.type === 'submenu');
    expect(pause).toMatchObject({ label: 'Pause schedules', enabled: true });
    expect(pause?.type === 'submenu' && pause.items.map((i) => i.type === 'action' && i.action)).toEqual([
      { kind: 'pause', until: 'in-1-hour' },
      { kind: 'pause', until: 'tomorrow' },
    ]);
    expect(labels(trayState({ ...scheduled, schedulesPausedUntil: '2026-11-26T00:00:00Z' }, ctx).menu)).toContain('Resume schedules');
  });

  it('unreachable agent: nothing to run, but the window and Quit still work', () => {
    expect(labels(trayState(undefined, ctx).menu)).toEqual(['Back up now (disabled)', '—', 'Open Backhaul', 'Pause schedules (disabled)', '—', 'Quit Backhaul']);
  });

  it('no jobs: Back up now is disabled', () => {
    expect(labels(trayState(status({ jobs: [] }), ctx).menu)[0]).toBe('Back up now (disabled)');
  });
});
