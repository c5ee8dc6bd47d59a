import { describe, expect, it } from 'vitest';
import type { BackupEngine, BackupEvent, BackupResult } from '../../../src/backup/engine.js';
import type { ConnectOutcome, TunnelDriver, TunnelProfile, TunnelState } from '../../../src/connect/driver.js';
import { TunnelError } from '../../../src/connect/driver.js';
import type { Journal } from '../../../src/agent/session/journal.js';
import { gatewayCandidates } from '../../../src/agent/session/failover.js';
import { runSession, type SessionPlan, type SessionPorts } from '../../../src/agent/session/session.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const profile: TunnelProfile = { name: 'office', type: 'ikev2', gateways: ['gw-a.example.com', 'gw-b.example.com'], routes: ['10.99.0.0/24'], fullTunnel: false };

/** Gateways that answer or not; the tunnel is up through whichever gateway connected last. */
class TwoGatewayDriver implements TunnelDriver {
  readonly name = 'linux-swan' as const;
  readonly alive = new Set<string>();
  state: TunnelState = 'down';
  calls: string[] = [];
  ensureProfile(p: TunnelProfile) { this.calls.push(`ensure ${p.gateways.join(',')}`); return Promise.resolve('unchanged' as const); }
  connect(p: TunnelProfile): Promise<ConnectOutcome> { return this.up('connect', p); }
  reconnect(p: TunnelProfile): Promise<ConnectOutcome> { return this.up('reconnect', p); }
  status() { return Promise.resolve({ state: this.state }); }
  verify() { return Promise.resolve(); }
  disconnect(p: TunnelProfile) { this.calls.push(`disconnect ${p.gateways.join(',')}`); this.state = 'down'; return Promise.resolve(); }
  private up(what: string, p: TunnelProfile): Promise<ConnectOutcome> {
    const gateway = p.gateways[0] ?? '';
    this.calls.push(`${what} ${gateway}`);
    if (!this.alive.has(gateway)) return Promise.reject(new TunnelError('tunnel.gateway-unreachable', `${gateway} does not answer`, 'check it'));
    this.state = 'up';
    return Promise.resolve({ broughtUp: true, status: { state: 'up' } });
  }
}

/** Uploads a status line per second while the tunnel is up; at second `dropAt` gateway A dies. */
function engine(clock: FakeClock, driver: TwoGatewayDriver, dropAt?: number): BackupEngine {
  return {
    name: 'restic',
    async *run(_request, signal): AsyncGenerator<BackupEvent, BackupResult, void> {
      let bytes = 0;
      for (let second = 1; bytes < 30_000; second++) {
        await clock.sleep(1_000, signal);
        if (second === dropAt) { driver.alive.delete('gw-a.example.com'); driver.state = 'down'; }
        if (driver.state === 'up') bytes += 1_000;
        yield { type: 'progress', fraction: bytes / 100_000, bytesDone: bytes, bytesTotal: 100_000, filesDone: 0, filesTotal: 1, elapsedSeconds: second, errorCount: 0, currentFiles: [] };
      }
      return { outcome: 'success', summary: { filesNew: 1, filesChanged: 0, filesUnmodified: 0, bytesAdded: bytes, bytesProcessed: bytes, filesProcessed: 1, durationSeconds: 30 } };
    },
  };
}

function run(driver: TwoGatewayDriver, dropAt?: number) {
  const clock = new FakeClock();
  const journal: Journal = { append: () => Promise.resolve(), discard: () => Promise.resolve() };
  const ports: SessionPorts = {
    now: clock.date, newSessionId: () => 's', openJournal: () => Promise.resolve(journal), resolvePassword: () => Promise.resolve('pw'),
    prepareEngine: () => Promise.resolve(engine(clock, driver, dropAt)),
    checkReachable: () => (driver.state === 'up' ? Promise.resolve() : Promise.reject(new Error('unreachable'))),
    scratchDirFor: () => '/tmp/never', makePrivateDir: () => Promise.resolve(), removeDir: () => Promise.resolve(), saveHistory: () => Promise.resolve(),
    sleep: clock.sleep, random: () => 0.5,
  };
  const plan: SessionPlan = {
    job: 'nightly', trigger: 'cli',
    backup: { jobName: 'nightly', repository: 'rest:http://10.99.0.1:8000/office', sources: ['/data'], excludes: [], streams: 1 },
    supervision: { keepaliveMs: 5_000, maxAttempts: 4, deadlineMs: 60_000, backoffBaseMs: 1_000, backoffMaxMs: 4_000 },
    tunnel: () => Promise.resolve({ driver, profile }),
  };
  return clock.run(runSession(plan, ports, new AbortController().signal));
}

describe('gateway failover', () => {
  it('one profile per gateway, in order; a single gateway stays as it is', () => {
    expect(gatewayCandidates(profile).map((p) => p.gateways)).toEqual([['gw-a.example.com'], ['gw-b.example.com']]);
    const single = { ...profile, gateways: ['gw-a.example.com'] };
    expect(gatewayCandidates(single)).toEqual([single]);
  });

  it('with the first gateway down, connects through the second and says so in the record', async () => {
    const driver = new TwoGatewayDriver();
    driver.alive.add('gw-b.example.com');
    const record = await run(driver);
    expect(record.result).toBe('success');
    expect(record.gateway).toBe('gw-b.example.com');
    expect(driver.calls).toEqual(['ensure gw-a.example.com', 'connect gw-a.example.com', 'ensure gw-b.example.com', 'connect gw-b.example.com', 'disconnect gw-b.example.com']);
  });

  it('a lost tunnel that does not come back on its gateway is repaired through the next one', async () => {
    const driver = new TwoGatewayDriver();
    driver.alive.add('gw-a.example.com');
    driver.alive.add('gw-b.example.com');
    const record = await run(driver, 7);
    expect(record.states.map((s) => s.state)).toEqual(['preflight', 'connecting', 'verifying', 'backing-up', 'reconnecting', 'backing-up', 'tearing-down', 'done']);
    expect(record.gateway).toBe('gw-b.example.com');
    expect(record.tunnelLosses).toMatchObject([{ cause: 'down', attempts: 2 }]);
    expect(driver.calls).toEqual(['ensure gw-a.example.com', 'connect gw-a.example.com', 'reconnect gw-a.example.com', 'reconnect gw-b.example.com', 'disconnect gw-b.example.com']);
  });
});
