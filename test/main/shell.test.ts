/**
 * The rest of the Electron shell, with fakes for the few Electron objects it touches: window
 * lock-down, the tray service (redraws only what changed), notifications, and whether to start
 * hidden on Linux (recorded dbus-send output in test/fixtures/linux-tray/).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentEvent, HealthItem, SessionRecord, StatusResponse } from '../../src/api/types.js';
import { hasStatusNotifierHost, NAME_HAS_OWNER_ARGV, parseNameHasOwner, startHidden } from '../../src/main/linux-tray.js';
import { Notifier } from '../../src/main/notifications.js';
import { TrayService, type TrayLike } from '../../src/main/tray-service.js';
import { trayState } from '../../src/main/tray-state.js';
import { denyAllPermissions, hardenContents, isAppUrl, secureWebPreferences, type ContentsLike } from '../../src/main/window.js';
import { parseRecording } from '../helpers/recorded.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';

const fixture = (name: string) => parseRecording(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'linux-tray', name), 'utf8'), `test/fixtures/linux-tray/${name}`);

describe('window lock-down', () => {
  it('closed by default: isolation, sandbox, no Node', () => {
    expect(secureWebPreferences('/app/preload.cjs')).toMatchObject({ preload: '/app/preload.cjs', contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false, webSecurity: true });
  });

  it('blocks navigation and redirects away from the app, webviews and new windows', () => {
    const listeners = new Map<string, (event: { preventDefault(): void; url: string }) => void>();
    let openHandler: ((details: { url: string }) => { action: 'deny' }) | undefined;
    const contents: ContentsLike = {
      on: ((event: string, listener: (event: { preventDefault(): void; url: string }) => void) => { listeners.set(event, listener); }),
      setWindowOpenHandler: (handler) => { openHandler = handler; },
    };
    const opened: string[] = [];
    hardenContents(contents, { appOrigin: 'app://backhaul', openExternal: (url) => opened.push(url) });
    const attempt = (event: string, url: string) => {
      let prevented = false;
      listeners.get(event)?.({ url, preventDefault: () => { prevented = true; } });
      return prevented;
    };
    expect(attempt('will-navigate', 'https://evil.example/')).toBe(true);
    expect(attempt('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(attempt('will-redirect', 'http://127.0.0.1:9/')).toBe(true);
    expect(attempt('will-navigate', 'app://backhaul/index.html#/history')).toBe(false);
    expect(attempt('will-attach-webview', 'app://backhaul/')).toBe(true);
    expect(openHandler?.({ url: 'https://restic.readthedocs.io/' })).toEqual({ action: 'deny' });
    expect(openHandler?.({ url: 'javascript:alert(1)' })).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://restic.readthedocs.io/']);
    expect(isAppUrl('app://backhaul.evil/x', 'app://backhaul')).toBe(false);
  });

  it('refuses every permission', () => {
    const answers: boolean[] = [];
    let check: (() => boolean) | undefined;
    denyAllPermissions({
      setPermissionRequestHandler: (handler) => { handler({}, 'media', (granted) => answers.push(granted)); },
      setPermissionCheckHandler: (handler) => { check = handler; },
    });
    expect(answers).toEqual([false]);
    expect(check?.()).toBe(false);
  });
});

describe('TrayService', () => {
  const status = (over: Partial<StatusResponse> = {}): StatusResponse => ({
    agent: { pid: 1, version: '0', mode: 'user', startedAt: '', configFile: '', socket: '' }, sessions: [], jobs: [{ name: 'nightly', engine: 'restic', profile: 'p', repository: 'r' }], health: [], ...over,
  });
  const ctx = { now: new Date('2026-11-25T09:00:00Z'), timeZone: 'UTC' };

  it('creates the tray once and redraws only what changed', () => {
    const calls: string[] = [];
    const fake: TrayLike = {
      setImage: (image) => calls.push(`image ${String(image)}`),
      setToolTip: (text) => calls.push(`tooltip ${text}`),
      setContextMenu: () => calls.push('menu'),
      destroy: () => calls.push('destroy'),
    };
    const actions: string[] = [];
    const service = new TrayService({
      createTray: (image) => { calls.push(`create ${String(image)}`); return fake; },
      image: (icon, badge) => `${icon}${badge ? '+badge' : ''}`,
      buildMenu: (items, onAction) => {
        const first = items[0];
        if (first?.type === 'action') onAction(first.action);
        return items;
      },
      onAction: (action) => actions.push(action.kind),
    });
    service.render(trayState(status(), ctx));
    service.render(trayState(status(), ctx));
    service.render(trayState(undefined, ctx));
    const badge: HealthItem = { code: 'x', title: 'Needs you', text: '', severity: 'warning', badge: true, since: '' };
    service.render(trayState(status({ health: [badge] }), ctx));
    expect(calls).toEqual([
      'create idle-ok', 'tooltip No backup yet', 'menu',
      'image agent-unreachable', 'tooltip Backhaul — the agent is not running', 'menu',
      'image warning+badge', 'tooltip Needs you', 'menu',
    ]);
    expect(actions).toEqual(['run', 'open', 'run']);
  });
});

describe('notifications', () => {
  const record = (over: Partial<SessionRecord>): SessionRecord => ({ id: 's', job: 'nightly', trigger: 'tray', startedAt: '', endedAt: '', states: [], end: 'done', notes: [], ...over });
  const ended = (over: Partial<SessionRecord>): AgentEvent => ({ type: 'ended', record: record(over) });
  const health = (items: HealthItem[]): AgentEvent => ({ type: 'health', health: items });
  const item = (code: string, badge = true): HealthItem => ({ code, title: `Title ${code}`, text: 'Text.', severity: 'error', badge, since: '' });

  it('says done, failed with what to do, warnings; nothing for a cancel', () => {
    const n = new Notifier();
    const summary = { filesNew: 1, filesChanged: 0, filesUnmodified: 0, bytesAdded: 1, bytesProcessed: 1_234_000_000, filesProcessed: 1, durationSeconds: 720 };
    expect(n.next(ended({ result: 'success', summary }))).toEqual({ title: 'Backup of "nightly" done', body: '1.2 GB in 12 min.', urgency: 'normal' });
    expect(n.next(ended({ end: 'failed', failure: { code: 'backup.wrong-password', message: 'Wrong password.', hint: 'Check it.' } }))).toEqual({
      title: 'Backup of "nightly" failed', body: 'Wrong password. What to do: Check it.', urgency: 'critical',
    });
    expect(n.next(ended({ result: 'warning', failure: { code: 'backup.partial', message: 'One file unreadable.', hint: 'Fix permissions.' } }))?.title).toBe('Backup of "nightly" finished with warnings');
    expect(n.next(ended({ end: 'cancelled', cancelledBy: 'user' }))).toBeUndefined();
  });

  it('announces each new health item with a badge once, not what was open at connect', () => {
    const n = new Notifier();
    const snapshot: AgentEvent = { type: 'snapshot', status: { agent: { pid: 1, version: '', mode: 'user', startedAt: '', configFile: '', socket: '' }, sessions: [], jobs: [], health: [item('old')] } };
    expect(n.next(snapshot)).toBeUndefined();
    expect(n.next(health([item('old')]))).toBeUndefined();
    expect(n.next(health([item('old'), item('new'), item('quiet', false)]))).toMatchObject({ title: 'Backhaul needs attention', body: 'Title new. Text.' });
    expect(n.next(health([item('old'), item('new')]))).toBeUndefined();
    expect(n.next(health([]))).toBeUndefined();
    expect(n.next(health([item('new')]))).toMatchObject({ body: 'Title new. Text.' });
  });
});

describe('Linux tray host', () => {
  it('reads NameHasOwner (recorded: no StatusNotifier host on a bare session bus)', async () => {
    expect(parseNameHasOwner(fixture('name-has-owner-false.txt').stdout)).toBe(false);
    expect(parseNameHasOwner('method return …\n   boolean true\n')).toBe(true);
    const replay = new ReplayingCommandRunner([{ argv: [...NAME_HAS_OWNER_ARGV], reply: fixture('name-has-owner-false.txt') }]);
    await expect(hasStatusNotifierHost(replay)).resolves.toBe(false);
    replay.assertDone();
    const noBus = new ReplayingCommandRunner([{ argv: [...NAME_HAS_OWNER_ARGV], reply: fixture('no-session-bus.txt') }]);
    await expect(hasStatusNotifierHost(noBus)).resolves.toBe(false);
    const missing = new ReplayingCommandRunner([{ argv: [...NAME_HAS_OWNER_ARGV], reply: { spawnError: 'ENOENT' } }]);
    await expect(hasStatusNotifierHost(missing)).resolves.toBe(false);
  });

  it.each([
    ['linux', true, true, true],
    ['linux', false, true, false],
    ['darwin', false, true, true],
    ['win32', false, true, true],
    ['linux', true, false, false],
  ] as const)('%s, tray visible %s, opened at login %s: start hidden = %s', (platform, visible, atLogin, hidden) => {
    expect(startHidden(platform, visible, atLogin)).toBe(hidden);
  });
});
