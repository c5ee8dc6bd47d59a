import { describe, expect, it } from 'vitest';
import type { ConnectOutcome, TunnelDriver, TunnelProfile, TunnelState } from '../../../src/connect/driver.js';
import { noResourceJournal } from '../../../src/connect/driver.js';
import type { SessionPorts } from '../../../src/agent/session/session.js';
import { supervise } from '../../../src/agent/session/supervise.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const profile: TunnelProfile = { name: 'office', type: 'l2tp', gateways: ['vpn.example.com'], routes: ['10.99.0.0/24'], fullTunnel: false };

/** A driver without reconnect(): the tunnel is down until connect() is called again. */
class PlainDriver implements TunnelDriver {
  readonly name = 'linux-nm' as const;
  state: TunnelState = 'up';
  calls: string[] = [];
  ensureProfile() { return Promise.resolve('unchanged' as const); }
  connect(): Promise<ConnectOutcome> { this.calls.push('connect'); this.state = 'up'; return Promise.resolve({ broughtUp: true, status: { state: 'up' } }); }
  status() { return Promise.resolve({ state: this.state }); }
  verify() { this.calls.push('verify'); return Promise.resolve(); }
  disconnect() { this.calls.push('disconnect'); return Promise.resolve(); }
}

function harness(broughtUp: boolean) {
  const clock = new FakeClock();
  const driver = new PlainDriver();
  const states: string[] = [];
  let stopped = false;
  const ports = {
    now: clock.date,
    sleep: clock.sleep,
    random: () => 0.5,
    checkReachable: () => (driver.state === 'up' ? Promise.resolve() : Promise.reject(new Error('no route to host'))),
  } as unknown as SessionPorts;
  const supervision = supervise({
    settings: { keepaliveMs: 1_000, maxAttempts: 3, deadlineMs: 20_000 },
    ports, driver, profile, broughtUp, resources: noResourceJournal,
    endpoint: { kind: 'tcp', scheme: 'rest', host: '10.99.0.1', port: 8000 },
    enter: (state) => { states.push(state); return Promise.resolve(); },
    step: () => Promise.resolve(),
    onReconnecting: () => undefined,
    stopEngine: () => { stopped = true; },
  });
  return { clock, driver, states, supervision, stopped: () => stopped };
}

describe('supervise (the session glue)', () => {
  it('a driver without reconnect() is repaired by disconnect + connect, then verified', async () => {
    const h = harness(true);
    h.supervision.start();
    h.supervision.progress(0, 0, 100);
    h.driver.state = 'down';
    await h.clock.run(h.clock.sleep(1_500));
    h.supervision.progress(10, 1, 100);
    await h.clock.run(h.clock.sleep(100));
    const report = await h.clock.run(h.supervision.stop());
    expect(h.driver.calls).toEqual(['disconnect', 'connect', 'verify']);
    expect(h.states).toEqual(['reconnecting', 'backing-up']);
    expect(report.failure).toBeUndefined();
  });

  it('a tunnel the user brought up is never reconnected by us: it fails tunnel.lost when it stays down', async () => {
    const h = harness(false);
    h.supervision.start();
    h.driver.state = 'down';
    await h.clock.run(h.clock.sleep(60_000));
    const report = await h.clock.run(h.supervision.stop());
    expect(h.driver.calls).toEqual([]);
    expect(h.stopped()).toBe(true);
    expect(report.failure).toMatchObject({ code: 'tunnel.lost', message: 'the office VPN tunnel was lost during the backup and all 3 reconnect attempts failed' });
  });

  it('the engine giving up on the network during a repair is reported as tunnel.lost', async () => {
    const h = harness(false);
    h.supervision.start();
    h.driver.state = 'down';
    await h.clock.run(h.clock.sleep(1_200));
    const report = await h.clock.run(h.supervision.stop({ outcome: 'failed', failure: { class: 'network', message: 'gave up', exitCode: 1, stderrTail: '' } }));
    expect(h.stopped()).toBe(false);
    expect(report.failure?.code).toBe('tunnel.lost');
  });
});
