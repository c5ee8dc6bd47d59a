import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { BackupEngine, BackupEvent, BackupRequest, BackupResult, BackupSummary } from '../../../src/backup/engine.js';
import type { ConnectOutcome, ResourceJournal, TunnelDriver, TunnelProfile, TunnelStatus } from '../../../src/connect/driver.js';
import { TunnelError } from '../../../src/connect/driver.js';
import { readHistory, appendHistory, type SessionRecord } from '../../../src/agent/session/history.js';
import { openJournal, parseJournal, readUnfinishedSessions } from '../../../src/agent/session/journal.js';
import { runSession, type SessionEvent, type SessionPlan, type SessionPorts } from '../../../src/agent/session/session.js';
import { SessionCancel } from '../../../src/agent/session/states.js';
import { mkdir, rm } from 'node:fs/promises';

const summary: BackupSummary = {
  snapshotId: 'abc12345',
  filesNew: 3,
  filesChanged: 0,
  filesUnmodified: 0,
  bytesAdded: 1000,
  bytesProcessed: 1000,
  filesProcessed: 3,
  durationSeconds: 1,
};

const profile: TunnelProfile = { name: 'office', type: 'l2tp', gateways: ['vpn.example.com'], routes: ['10.99.0.0/24'], fullTunnel: false };

/** A driver that records calls and can be told to fail or to find the tunnel already up. */
class FakeDriver implements TunnelDriver {
  readonly name = 'linux-nm' as const;
  calls: string[] = [];
  constructor(
    private readonly opts: { alreadyUp?: boolean; connectError?: Error; statusAfter?: TunnelStatus; onConnect?: () => Promise<void> } = {},
  ) {}
  ensureProfile() {
    this.calls.push('ensureProfile');
    return Promise.resolve('unchanged' as const);
  }
  async connect(_profile: TunnelProfile, _signal: AbortSignal, _journal: ResourceJournal): Promise<ConnectOutcome> {
    this.calls.push('connect');
    await this.opts.onConnect?.();
    if (this.opts.connectError) throw this.opts.connectError;
    return { broughtUp: this.opts.alreadyUp !== true, status: { state: 'up', interfaceName: 'ppp0' } };
  }
  status() {
    this.calls.push('status');
    return Promise.resolve(this.opts.statusAfter ?? { state: 'up' as const });
  }
  disconnect(_profile: TunnelProfile, _signal: AbortSignal, _journal: ResourceJournal): Promise<void> {
    this.calls.push('disconnect');
    return Promise.resolve();
  }
}

/** An engine that yields scripted events, then returns a scripted result (or waits for abort). */
function fakeEngine(script: { events?: BackupEvent[]; result?: BackupResult; waitForAbort?: boolean }, seen: BackupRequest[] = []): BackupEngine {
  return {
    name: 'restic',
    async *run(request: BackupRequest, signal: AbortSignal) {
      seen.push(request);
      for (const event of script.events ?? []) yield event;
      if (script.waitForAbort === true) {
        if (!signal.aborted) await new Promise<void>((resolve) => { signal.addEventListener('abort', () => { resolve(); }, { once: true }); });
        return { outcome: 'cancelled', failure: { class: 'cancelled', message: 'cancelled', exitCode: 130, stderrTail: '' } };
      }
      return script.result ?? { outcome: 'success', summary };
    },
  };
}

const progress: BackupEvent = {
  type: 'progress', fraction: 0.5, bytesDone: 500, bytesTotal: 1000, filesDone: 1, filesTotal: 3, elapsedSeconds: 1, errorCount: 0, currentFiles: [],
};

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'backhaul-session-'));
});

function setup(over: { driver?: FakeDriver; engine?: BackupEngine; password?: () => Promise<string>; reachable?: () => Promise<void>; engineError?: Error } = {}) {
  const driver = over.driver ?? new FakeDriver();
  let tick = 0;
  const ports: SessionPorts = {
    now: () => new Date(Date.UTC(2026, 10, 25, 3, 0, tick++)),
    newSessionId: () => 'sess-1',
    openJournal: (id) => openJournal(stateDir, id),
    resolvePassword: over.password ?? (() => Promise.resolve('pw')),
    prepareEngine: () => (over.engineError ? Promise.reject(over.engineError) : Promise.resolve(over.engine ?? fakeEngine({}))),
    checkReachable: over.reachable ?? (() => Promise.resolve()),
    scratchDirFor: (id) => join(stateDir, 'tmp', id),
    makePrivateDir: async (path) => { await mkdir(path, { recursive: true, mode: 0o700 }); },
    removeDir: (path) => rm(path, { recursive: true, force: true }),
    saveHistory: (record) => appendHistory(stateDir, record),
  };
  const plan: SessionPlan = {
    job: 'nightly',
    trigger: 'cli',
    backup: { jobName: 'nightly', repository: 'rest:http://10.99.0.1:8000/office', sources: ['/data'], excludes: [], streams: 4 },
    tunnel: () => Promise.resolve({ driver, profile }),
  };
  return { driver, ports, plan };
}

const states = (record: SessionRecord) => record.states.map((s) => s.state);
const happyPath = ['preflight', 'connecting', 'verifying', 'backing-up', 'tearing-down'];
const userFacing = (code: string, message: string) => Object.assign(new Error(message), { code, hint: 'do this' });

describe('runSession', () => {
  it('walks every state on success, tears the tunnel it brought up down, and records the summary', async () => {
    const { driver, ports, plan } = setup({ engine: fakeEngine({ events: [progress] }) });
    const events: SessionEvent[] = [];
    const record = await runSession(plan, ports, new AbortController().signal, (e) => events.push(e));
    expect(states(record)).toEqual([...happyPath, 'done']);
    expect(record.result).toBe('success');
    expect(record.summary?.snapshotId).toBe('abc12345');
    expect(driver.calls).toEqual(['ensureProfile', 'connect', 'status', 'disconnect']);
    expect(events.filter((e) => e.type === 'backup')).toHaveLength(1);
    expect(events.at(-1)?.type).toBe('end');
    expect(await readHistory(stateDir)).toEqual([record]);
    // The fake clock ticks one second per reading: every phase took a whole, positive time.
    expect(Object.keys(record.phaseSeconds ?? {})).toEqual(happyPath);
    for (const seconds of Object.values(record.phaseSeconds ?? {})) expect(seconds).toBeGreaterThan(0);
  });

  it('leaves a tunnel up that the user had already connected', async () => {
    const { driver, ports, plan } = setup({ driver: new FakeDriver({ alreadyUp: true }) });
    const record = await runSession(plan, ports, new AbortController().signal);
    expect(record.result).toBe('success');
    expect(driver.calls).not.toContain('disconnect');
  });

  it('journals each state before the step acts, and removes the journal at the end', async () => {
    let journalAtConnect = '';
    const driver = new FakeDriver({
      onConnect: async () => {
        journalAtConnect = await readFile(join(stateDir, 'journal', 'sess-1.jsonl'), 'utf8');
      },
    });
    const { ports, plan } = setup({ driver });
    await runSession(plan, ports, new AbortController().signal);
    const entries = parseJournal(journalAtConnect);
    expect(entries.map((e) => (e.kind === 'state' ? e.state : e.kind))).toEqual(['start', 'preflight', 'connecting', 'effect']);
    expect(await readdir(join(stateDir, 'journal'))).toEqual([]);
  });

  it('hands the engine a private scratch dir and removes it afterwards', async () => {
    const seen: BackupRequest[] = [];
    let modeDuringRun = 0;
    const engine: BackupEngine = {
      name: 'restic',
      async *run(request) {
        seen.push(request);
        modeDuringRun = (await stat(request.scratchDir)).mode & 0o777;
        yield progress;
        return { outcome: 'success', summary };
      },
    };
    const { ports, plan } = setup({ engine });
    await runSession(plan, ports, new AbortController().signal);
    expect(seen[0]?.password).toBe('pw');
    expect(modeDuringRun).toBe(0o700);
    await expect(stat(seen[0]?.scratchDir ?? '')).rejects.toThrow(/ENOENT/);
  });

  it('ends done/warning for a partial backup, with the hint', async () => {
    const engine = fakeEngine({
      result: { outcome: 'warning', summary, failure: { class: 'partial', message: '1 file could not be read', exitCode: 3, stderrTail: '' } },
    });
    const { ports, plan } = setup({ engine });
    const record = await runSession(plan, ports, new AbortController().signal);
    expect(states(record)).toEqual([...happyPath, 'done']);
    expect(record.result).toBe('warning');
    expect(record.failure?.code).toBe('backup.partial');
    expect(record.failure?.hint).toContain('jobs.nightly.excludes');
  });

  const engineFailures = ['no-repository', 'locked', 'wrong-password', 'network', 'unknown'] as const;
  it.each(engineFailures)('fails with backup.%s after a full pass through teardown', async (cls) => {
    const engine = fakeEngine({ result: { outcome: 'failed', failure: { class: cls, message: `restic said ${cls}`, exitCode: 1, stderrTail: 'x' } } });
    const { driver, ports, plan } = setup({ engine });
    const record = await runSession(plan, ports, new AbortController().signal);
    expect(states(record)).toEqual([...happyPath, 'failed']);
    expect(record.failure).toMatchObject({ code: `backup.${cls}`, message: `restic said ${cls}` });
    expect(record.failure?.hint.length).toBeGreaterThan(10);
    expect(driver.calls.at(-1)).toBe('disconnect');
  });

  it('fails in preflight when the secret cannot be read, and never touches the tunnel', async () => {
    const { driver, ports, plan } = setup({ password: () => Promise.reject(userFacing('secret.permissions', '/pw: permissions 0644 are too open')) });
    const record = await runSession(plan, ports, new AbortController().signal);
    expect(states(record)).toEqual(['preflight', 'tearing-down', 'failed']);
    expect(record.failure).toEqual({ code: 'secret.permissions', message: '/pw: permissions 0644 are too open', hint: 'do this' });
    expect(driver.calls).toEqual([]);
  });

  it('fails in preflight when the engine is missing', async () => {
    const { ports, plan } = setup({ engineError: userFacing('backup.engine-missing', 'restic was not found') });
    const record = await runSession(plan, ports, new AbortController().signal);
    expect(states(record)).toEqual(['preflight', 'tearing-down', 'failed']);
    expect(record.failure?.code).toBe('backup.engine-missing');
  });

  it('fails in connecting with the driver\'s code and hint, and takes down whatever came half up', async () => {
    const driver = new FakeDriver({ connectError: new TunnelError('tunnel.auth-failed', 'the gateway refused the credentials', 'Check the password') });
    const { ports, plan } = setup({ driver });
    const record = await runSession(plan, ports, new AbortController().signal);
    expect(states(record)).toEqual(['preflight', 'connecting', 'tearing-down', 'failed']);
    expect(record.failure).toEqual({ code: 'tunnel.auth-failed', message: 'the gateway refused the credentials', hint: 'Check the password' });
    expect(driver.calls).toEqual(['ensureProfile', 'connect', 'disconnect']);
  });

  it('fails in verifying when the repository is unreachable, and still disconnects', async () => {
    const { driver, ports, plan } = setup({ reachable: () => Promise.reject(userFacing('verify.unreachable', '10.99.0.1:8000 did not answer')) });
    const record = await runSession(plan, ports, new AbortController().signal);
    expect(states(record)).toEqual(['preflight', 'connecting', 'verifying', 'tearing-down', 'failed']);
    expect(record.failure?.code).toBe('verify.unreachable');
    expect(driver.calls).toEqual(['ensureProfile', 'connect', 'status', 'disconnect']);
  });

  it('fails in verifying when the tunnel is down right after connecting', async () => {
    const { ports, plan } = setup({ driver: new FakeDriver({ statusAfter: { state: 'down' } }) });
    const record = await runSession(plan, ports, new AbortController().signal);
    expect(states(record)).toEqual(['preflight', 'connecting', 'verifying', 'tearing-down', 'failed']);
    expect(record.failure?.code).toBe('verify.tunnel-down');
  });

  it('labels an unexpected exception as an internal error instead of crashing', async () => {
    const { ports, plan } = setup({ reachable: () => Promise.reject(new TypeError('boom')) });
    const record = await runSession(plan, ports, new AbortController().signal);
    expect(record.end).toBe('failed');
    expect(record.failure?.code).toBe('session.internal');
  });

  it('is cancelled by the user while backing up, and tears down', async () => {
    const controller = new AbortController();
    const { driver, ports, plan } = setup({ engine: fakeEngine({ events: [progress], waitForAbort: true }) });
    const record = await runSession(plan, ports, controller.signal, (e) => {
      if (e.type === 'backup') controller.abort(new SessionCancel('user'));
    });
    expect(states(record)).toEqual([...happyPath, 'cancelled']);
    expect(record.cancelledBy).toBe('user');
    expect(driver.calls.at(-1)).toBe('disconnect');
  });

  it('is cancelled by the system while connecting', async () => {
    const controller = new AbortController();
    const driver = new FakeDriver({ onConnect: () => { controller.abort(new SessionCancel('system')); return Promise.resolve(); } });
    const { ports, plan } = setup({ driver });
    const record = await runSession(plan, ports, controller.signal);
    expect(states(record)).toEqual(['preflight', 'connecting', 'tearing-down', 'cancelled']);
    expect(record.cancelledBy).toBe('system');
    // connect() returned broughtUp before the abort was noticed: that tunnel is ours to take down.
    expect(driver.calls).toEqual(['ensureProfile', 'connect', 'disconnect']);
  });

  it('journals driver resources before they exist, and leaves a crash a complete list to clean up', async () => {
    const route = { kind: 'route', id: '10.99.0.0/24 dev ppp0' };
    let pendingDuringBackup: unknown;
    const driver = new FakeDriver();
    driver.connect = async (_profile, _signal, journal) => {
      driver.calls.push('connect');
      await journal.acquire(route);
      return { broughtUp: true, status: { state: 'up', interfaceName: 'ppp0' } };
    };
    driver.disconnect = async (_profile, _signal, journal) => {
      driver.calls.push('disconnect');
      await journal.release(route);
    };
    const engine: BackupEngine = {
      name: 'restic',
      async *run() {
        // What the agent would find if the process died right now.
        pendingDuringBackup = (await readUnfinishedSessions(stateDir))[0]?.pendingEffects;
        yield progress;
        return { outcome: 'success', summary };
      },
    };
    const { ports, plan } = setup({ driver, engine });
    const record = await runSession(plan, ports, new AbortController().signal);
    expect(record.result).toBe('success');
    expect(pendingDuringBackup).toEqual([
      { effect: 'tunnel-up', driver: 'linux-nm', profile: 'office' },
      { effect: 'driver-resource', driver: 'linux-nm', profile: 'office', resourceKind: 'route', id: '10.99.0.0/24 dev ppp0' },
      { effect: 'scratch-dir', path: join(stateDir, 'tmp', 'sess-1') },
    ]);
    expect(await readUnfinishedSessions(stateDir)).toEqual([]);
  });

  it('journals the tunnel before connecting, and drops it when the tunnel was the user\'s', async () => {
    let pendingAtConnect: unknown;
    const driver = new FakeDriver({
      alreadyUp: true,
      onConnect: async () => { pendingAtConnect = (await readUnfinishedSessions(stateDir))[0]?.pendingEffects; },
    });
    let pendingDuringBackup: unknown;
    const engine: BackupEngine = {
      name: 'restic',
      async *run() {
        pendingDuringBackup = (await readUnfinishedSessions(stateDir))[0]?.pendingEffects;
        yield progress;
        return { outcome: 'success', summary };
      },
    };
    const { ports, plan } = setup({ driver, engine });
    await runSession(plan, ports, new AbortController().signal);
    expect(pendingAtConnect).toEqual([{ effect: 'tunnel-up', driver: 'linux-nm', profile: 'office' }]);
    expect(pendingDuringBackup).toEqual([{ effect: 'scratch-dir', path: join(stateDir, 'tmp', 'sess-1') }]);
  });

  it('asks the driver to verify the tunnel with the repository host', async () => {
    const driver = new FakeDriver();
    const hosts: (string | undefined)[] = [];
    Object.assign(driver, {
      verify: (_p: TunnelProfile, host: string | undefined) => {
        hosts.push(host);
        return Promise.reject(new TunnelError('verify.route-missing', 'no route to 10.99.0.1 through ppp0', 'Check profiles.office.routes'));
      },
    });
    const { ports, plan } = setup({ driver });
    const record = await runSession(plan, ports, new AbortController().signal);
    expect(hosts).toEqual(['10.99.0.1']);
    expect(states(record)).toEqual(['preflight', 'connecting', 'verifying', 'tearing-down', 'failed']);
    expect(record.failure?.code).toBe('verify.route-missing');
    expect(driver.calls.at(-1)).toBe('disconnect');
  });

  it('journals each process the engine starts, and marks it done when the engine returns', async () => {
    let pendingDuringRun: unknown;
    const engine: BackupEngine = {
      name: 'restic',
      async *run(request) {
        request.onProcessStarted?.(4242);
        yield progress;
        pendingDuringRun = (await readUnfinishedSessions(stateDir))[0]?.pendingEffects;
        return { outcome: 'success', summary };
      },
    };
    const { ports, plan } = setup({ engine });
    const withIdentity: SessionPorts = { ...ports, processIdentity: (pid) => Promise.resolve(`start-of-${pid}`) };
    const record = await runSession(plan, withIdentity, new AbortController().signal);
    expect(record.result).toBe('success');
    expect(pendingDuringRun).toContainEqual({ effect: 'process', pid: 4242, identity: 'start-of-4242' });
  });

  it('fails in preflight when the tunnel cannot be planned', async () => {
    const { ports, plan } = setup();
    const failing: SessionPlan = { ...plan, tunnel: () => Promise.reject(new TunnelError('tunnel.no-client', 'no L2TP/IPsec client found', 'Install network-manager-l2tp')) };
    const record = await runSession(failing, ports, new AbortController().signal);
    expect(states(record)).toEqual(['preflight', 'tearing-down', 'failed']);
    expect(record.failure).toEqual({ code: 'tunnel.no-client', message: 'no L2TP/IPsec client found', hint: 'Install network-manager-l2tp' });
  });
});
