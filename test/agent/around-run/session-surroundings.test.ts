/**
 * The session with its surroundings (keep-awake and hooks), real processes throughout. The host has
 * no running logind, so the keep-awake command's `systemd-inhibit` is swapped for a `sleep` — a real
 * long-running process the session must journal and stop, exactly as it would the inhibitor.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { createSurroundings } from '../../../src/agent/around-run/surroundings.js';
import type { HookSet } from '../../../src/agent/around-run/hooks.js';
import { readHistory, appendHistory } from '../../../src/agent/session/history.js';
import { openJournal, readUnfinishedSessions, type SessionEffect } from '../../../src/agent/session/journal.js';
import { runSession, type SessionPlan, type SessionPorts } from '../../../src/agent/session/session.js';
import type { BackupEngine, BackupResult } from '../../../src/backup/engine.js';
import { createDirectDriver } from '../../../src/connect/direct.js';
import { createCommandRunner, type CommandRunner } from '../../../src/os/command.js';
import { processIdentity } from '../../../src/os/process.js';
import { recoverSession } from '../../../src/agent/recovery.js';

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'backhaul-around-'));
});

const real = createCommandRunner();
/** The real runner, with the inhibitor this host can't run replaced by a real process that holds like it. */
const runner: CommandRunner = { run: (spec) => real.run(spec.argv[0] === 'systemd-inhibit' ? { ...spec, argv: ['sleep', '600'] } : spec) };

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const success: BackupResult = { outcome: 'success', summary: { snapshotId: 'abc12345', filesNew: 1, filesChanged: 0, filesUnmodified: 0, bytesAdded: 1, bytesProcessed: 1, filesProcessed: 1, durationSeconds: 1 } };

function engine(during: () => Promise<void>, result: BackupResult = success, ran: string[] = []): BackupEngine {
  return {
    name: 'restic',
    // eslint-disable-next-line require-yield
    async *run() {
      ran.push('engine');
      await during();
      return result;
    },
  };
}

function plan(): SessionPlan {
  return {
    job: 'nightly',
    trigger: 'cli',
    backup: { jobName: 'nightly', repository: '/srv/repo', sources: ['/home'], excludes: [], streams: 1 },
    tunnel: () => Promise.resolve({ driver: createDirectDriver(), profile: { name: 'direct', type: 'l2tp', gateways: [], routes: [], fullTunnel: false } }),
  };
}

function ports(backup: BackupEngine, hooks: HookSet | undefined, logs: string[] = []): SessionPorts {
  return {
    now: () => new Date(),
    newSessionId: () => 'S1',
    openJournal: (id) => openJournal(stateDir, id),
    resolvePassword: () => Promise.resolve('repository-password'),
    prepareEngine: () => Promise.resolve(backup),
    checkReachable: () => Promise.resolve(),
    scratchDirFor: (id) => join(stateDir, 'tmp', id),
    processIdentity,
    makePrivateDir: () => Promise.resolve(),
    removeDir: () => Promise.resolve(),
    saveHistory: (record) => appendHistory(stateDir, record),
    surroundings: createSurroundings({
      job: 'nightly', runner, platform: 'linux', agentPid: process.pid, keepAwake: true, ...(hooks === undefined ? {} : { hooks }),
      log: (level, m) => logs.push(`${level}: ${m}`),
    }),
  };
}

const nothing = (): Promise<void> => Promise.resolve();
const noHooks: HookSet = { pre: [], post: [], onFailure: [], timeoutSeconds: 30 };

describe('session surroundings', () => {
  it('the keep-awake process is journaled (a crash would stop it) while the backup runs, and stopped at teardown', async () => {
    let pending: readonly SessionEffect[] = [];
    const during = async () => {
      const [session] = await readUnfinishedSessions(stateDir);
      pending = session?.pendingEffects ?? [];
    };
    const record = await runSession(plan(), ports(engine(during), undefined), new AbortController().signal);
    expect(record.end).toBe('done');
    expect(record.result).toBe('success');
    const processes = pending.filter((e): e is SessionEffect & { effect: 'process' } => e.effect === 'process');
    expect(processes).toHaveLength(1);
    expect(processes[0]?.identity).toMatch(/^linux-start:\d+$/);
    expect(alive(processes[0]?.pid ?? 0)).toBe(false);
    // The journal is gone: nothing left for recovery.
    expect(await readUnfinishedSessions(stateDir)).toEqual([]);
  });

  it('the path a whenNeeded plan chose is kept in the history record', async () => {
    const path = { via: 'direct' as const, reason: '10.99.0.1:8000 answered without the tunnel' };
    const base = plan();
    const record = await runSession({ ...base, tunnel: async (signal) => ({ ...(await base.tunnel(signal)), path }) }, ports(engine(nothing), undefined), new AbortController().signal);
    expect(record.path).toEqual(path);
    expect((await readHistory(stateDir))[0]?.path).toEqual(path);
  });

  it('after a crash (the session never tore down), recovery stops the journaled keep-awake process', async () => {
    // The journal as a killed agent leaves it: the keep-awake effect recorded, never marked undone.
    const journal = await openJournal(stateDir, 'S9');
    await journal.append({ kind: 'start', sessionId: 'S9', job: 'nightly', trigger: 'schedule', at: new Date().toISOString() });
    await journal.append({ kind: 'state', state: 'preflight', at: new Date().toISOString() });
    const surroundings = ports(engine(nothing), undefined).surroundings;
    let journaled: Promise<void> = Promise.resolve();
    await surroundings?.begin({
      sessionId: 'S9',
      signal: new AbortController().signal,
      trackProcess: (pid) => {
        journaled = (async () => {
          const identity = await processIdentity(pid);
          await journal.append({ kind: 'effect', at: new Date().toISOString(), effect: 'process', pid, ...(identity === undefined ? {} : { identity }) });
        })();
      },
      processEnded: () => undefined,
    });
    await journaled;
    const [leftover] = await readUnfinishedSessions(stateDir);
    const effect = leftover?.pendingEffects.find((e) => e.effect === 'process');
    const pid = effect?.effect === 'process' ? effect.pid : 0;
    expect(alive(pid)).toBe(true);
    if (leftover === undefined) throw new Error('no journal');
    const record = await recoverSession(leftover, { now: () => new Date(), driverFor: () => Promise.resolve(undefined), saveRecord: () => Promise.resolve(), discardJournal: () => journal.discard() });
    expect(record.end).toBe('interrupted');
    expect(alive(pid)).toBe(false);
  });

  it('a failing pre hook aborts before the engine: failed, hook.pre-failed, its output in the history', async () => {
    const ran: string[] = [];
    const hooks: HookSet = { ...noHooks, pre: [['sh', '-c', 'echo "mysql: can not lock tables" >&2; exit 1']] };
    const record = await runSession(plan(), ports(engine(nothing, success, ran), hooks), new AbortController().signal);
    expect(ran).toEqual([]);
    expect(record.end).toBe('failed');
    expect(record.failure).toMatchObject({ code: 'hook.pre-failed', message: 'hooks.pre[0] (sh) exited with 1; its output:\nmysql: can not lock tables' });
    expect(record.states.map((s) => s.state)).toEqual(['preflight', 'tearing-down', 'failed']);
    const [saved] = await readHistory(stateDir);
    expect(saved?.failure?.code).toBe('hook.pre-failed');
  });

  it('post hooks run after success with BACKHAUL_RESULT; onFailure after a failure; a failing post hook is a note (warning)', async () => {
    const out = join(stateDir, 'hooks.out');
    const hooks: HookSet = {
      ...noHooks,
      post: [['sh', '-c', 'echo "post $BACKHAUL_JOB $BACKHAUL_RESULT $BACKHAUL_SESSION" >> "$0"', out]],
      onFailure: [['sh', '-c', 'echo "onFailure $BACKHAUL_RESULT" >> "$0"; exit 4', out]],
    };
    const ok = await runSession(plan(), ports(engine(nothing), hooks), new AbortController().signal);
    expect(ok.result).toBe('success');
    const failed = await runSession(plan(), ports(engine(nothing, { outcome: 'failed', failure: { class: 'network', message: 'repository unreachable', exitCode: 1, stderrTail: '' } }), hooks), new AbortController().signal);
    expect(failed.end).toBe('failed');
    expect(failed.failure?.code).toBe('backup.network');
    expect(failed.notes).toEqual([expect.objectContaining({ code: 'hook.on-failure-failed', message: 'hooks.onFailure[0] (sh) exited with 4' })]);
    expect(await readFile(out, 'utf8')).toBe('post nightly success S1\nonFailure failed\n');

    const badPost = await runSession(plan(), ports(engine(nothing), { ...noHooks, post: [['false']] }), new AbortController().signal);
    expect(badPost.result).toBe('warning');
    expect(badPost.notes.map((n) => n.code)).toEqual(['hook.post-failed']);
  });

  it('a run that fails in planning, before any hook or keep-awake began, still runs the onFailure hooks', async () => {
    const out = join(stateDir, 'hooks.out');
    const hooks: HookSet = { ...noHooks, pre: [['touch', join(stateDir, 'pre-ran')]], onFailure: [['sh', '-c', 'echo "onFailure $BACKHAUL_RESULT" >> "$0"', out]] };
    const refused: SessionPlan = { ...plan(), tunnel: () => Promise.reject(Object.assign(new Error('profiles.office: refused before contacting the gateway'), { code: 'tunnel.weak-cipher', hint: 'Use strong proposals.' })) };
    const record = await runSession(refused, ports(engine(nothing), hooks), new AbortController().signal);
    expect(record.failure?.code).toBe('tunnel.weak-cipher');
    expect(await readFile(out, 'utf8')).toBe('onFailure failed\n');
    await expect(readFile(join(stateDir, 'pre-ran'))).rejects.toThrow();
  });

  it('a cancelled run runs no end hooks and still stops the keep-awake process', async () => {
    const out = join(stateDir, 'hooks.out');
    const controller = new AbortController();
    let pid = 0;
    const during = async () => {
      const [session] = await readUnfinishedSessions(stateDir);
      const effect = session?.pendingEffects.find((e) => e.effect === 'process');
      pid = effect?.effect === 'process' ? effect.pid : 0;
      controller.abort(new Error('cancelled'));
    };
    const hooks: HookSet = { ...noHooks, post: [['touch', out]], onFailure: [['touch', out]] };
    const cancelling: BackupEngine = {
      name: 'restic',
      // eslint-disable-next-line require-yield
      async *run() {
        await during();
        return { outcome: 'cancelled', failure: { class: 'cancelled', message: 'cancelled', exitCode: 130, stderrTail: '' } };
      },
    };
    const record = await runSession(plan(), ports(cancelling, hooks), controller.signal);
    expect(record.end).toBe('cancelled');
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
    await expect(readFile(out)).rejects.toThrow();
  });

  it.skipIf(existsSync('/run/dbus/system_bus_socket'))('keep-awake unavailable (the real systemd-inhibit without logind): a warning in the log, the backup succeeds', async () => {
    const logs: string[] = [];
    const surroundings = createSurroundings({ job: 'nightly', runner: createCommandRunner(), platform: 'linux', agentPid: process.pid, keepAwake: true, log: (level, m) => logs.push(`${level}: ${m}`) });
    // The engine waits until the inhibitor has given up, so the warning is certain to be logged first.
    const during = async () => { for (let i = 0; i < 600 && logs.length === 0; i++) await new Promise((r) => setTimeout(r, 50)); };
    const record = await runSession(plan(), { ...ports(engine(during), undefined), surroundings }, new AbortController().signal);
    expect(record.result).toBe('success');
    expect(record.notes).toEqual([]);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^warn: could not keep the machine awake: .*the backup runs anyway/);
  });
});
