import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recoverSession } from '../../src/agent/recovery.js';
import type { SessionRecord } from '../../src/agent/session/history.js';
import type { UnfinishedSession } from '../../src/agent/session/journal.js';
import type { DriverResource, TunnelDriver } from '../../src/connect/driver.js';

function session(dir: string, pendingEffects: UnfinishedSession['pendingEffects']): UnfinishedSession {
  return {
    sessionId: 's1',
    file: join(dir, 's1.jsonl'),
    entries: [
      { kind: 'start', sessionId: 's1', job: 'nightly', trigger: 'schedule', at: '2026-11-25T02:00:00.000Z' },
      { kind: 'state', state: 'preflight', at: '2026-11-25T02:00:00.100Z' },
      { kind: 'state', state: 'connecting', at: '2026-11-25T02:00:00.200Z' },
    ],
    pendingEffects,
  };
}

describe('recoverSession', () => {
  it('has the driver remove the tunnel and every journaled resource, deletes the scratch dir, and records interrupted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backhaul-recover-'));
    const scratch = join(dir, 'tmp', 's1');
    await mkdir(scratch, { recursive: true });
    await writeFile(join(scratch, 'password'), 'x', { mode: 0o600 });
    const cleaned: { profile: string; tunnelUp: boolean; resources: readonly DriverResource[] }[] = [];
    const driver = { name: 'linux-swan', cleanUp: (leftovers: (typeof cleaned)[number]) => { cleaned.push(leftovers); return Promise.resolve(); } } as unknown as TunnelDriver;
    const saved: SessionRecord[] = [];
    const discarded: string[] = [];
    const record = await recoverSession(
      session(dir, [
        { effect: 'tunnel-up', driver: 'linux-swan', profile: 'office' },
        { effect: 'driver-resource', driver: 'linux-swan', profile: 'office', resourceKind: 'route', id: '10.99.0.0/24 dev ppp0' },
        { effect: 'scratch-dir', path: scratch },
      ]),
      {
        now: () => new Date('2026-11-25T08:00:00.000Z'),
        driverFor: (name) => Promise.resolve(name === 'linux-swan' ? driver : undefined),
        saveRecord: (r) => { saved.push(r); return Promise.resolve(); },
        discardJournal: (s) => { discarded.push(s.sessionId); return Promise.resolve(); },
      },
    );
    expect(cleaned).toEqual([{ driver: 'linux-swan', profile: 'office', tunnelUp: true, resources: [{ kind: 'route', id: '10.99.0.0/24 dev ppp0' }] }]);
    expect(existsSync(scratch)).toBe(false);
    expect(record).toMatchObject({ id: 's1', job: 'nightly', trigger: 'schedule', end: 'interrupted', notes: [] });
    expect(record.states.map((s) => s.state)).toEqual(['preflight', 'connecting', 'interrupted']);
    expect(record.failure?.message).toBe('the agent stopped while this session was connecting; what it left behind was cleaned up');
    expect(saved).toEqual([record]);
    expect(discarded).toEqual(['s1']);
  });

  it('says what it could not clean when the driver is missing, instead of pretending', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backhaul-recover-'));
    const record = await recoverSession(session(dir, [{ effect: 'tunnel-up', driver: 'windows', profile: 'office' }]), {
      now: () => new Date(),
      driverFor: () => Promise.resolve(undefined),
      saveRecord: () => Promise.resolve(),
      discardJournal: () => Promise.resolve(),
    });
    expect(record.notes.map((n) => n.code)).toEqual(['recovery.driver-unavailable']);
    expect(record.notes[0]?.hint).toContain('Disconnect the VPN "office" by hand');
  });

  it('leaves a reused pid alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backhaul-recover-'));
    // Our own pid with a made-up start time: alive, but not the process the journal recorded.
    const record = await recoverSession(session(dir, [{ effect: 'process', pid: process.pid, identity: 'linux-start:1' }]), {
      now: () => new Date(),
      driverFor: () => Promise.resolve(undefined),
      saveRecord: () => Promise.resolve(),
      discardJournal: () => Promise.resolve(),
    });
    expect(record.notes.map((n) => n.code)).toEqual(['recovery.pid-reused']);
  });
});
