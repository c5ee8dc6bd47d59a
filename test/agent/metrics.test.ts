import { describe, expect, it } from 'vitest';
import { renderMetrics } from '../../src/agent/metrics.js';
import type { SessionRecord } from '../../src/agent/session/history.js';

const base: SessionRecord = {
  id: 's1', job: 'nightly', trigger: 'schedule', startedAt: '2026-11-25T03:00:00.000Z', endedAt: '2026-11-25T03:10:00.000Z',
  states: [], end: 'done', result: 'success', notes: [],
};

describe('renderMetrics: tunnel supervision', () => {
  it('counts tunnel losses by cause, reconnects, attempts, time reconnecting and stalls from the history', () => {
    const history: SessionRecord[] = [
      {
        ...base,
        phaseSeconds: { 'backing-up': 500, reconnecting: 12.5 },
        stalls: 2,
        tunnelLosses: [
          { cause: 'down', detectedAt: '2026-11-25T03:01:00.000Z', attempts: 1, verifiedAt: '2026-11-25T03:01:04.000Z', flowingAt: '2026-11-25T03:01:05.000Z' },
          { cause: 'stall', detectedAt: '2026-11-25T03:05:00.000Z', attempts: 3, verifiedAt: '2026-11-25T03:05:07.000Z', flowingAt: '2026-11-25T03:05:08.000Z' },
        ],
      },
      {
        ...base, id: 's2', end: 'failed', phaseSeconds: { reconnecting: 600 },
        failure: { code: 'tunnel.lost', message: 'lost', hint: 'h' },
        tunnelLosses: [{ cause: 'down', detectedAt: '2026-11-25T04:01:00.000Z', attempts: 10, gaveUp: 'attempts' }],
      },
      { ...base, id: 's3' },
    ];
    const text = renderMetrics(history, { running: 0, queued: 0, uptimeSeconds: 1 });
    expect(text).toContain('backhaul_tunnel_losses_total{cause="down"} 2\n');
    expect(text).toContain('backhaul_tunnel_losses_total{cause="stall"} 1\n');
    expect(text).toContain('backhaul_tunnel_reconnects_total 2\n');
    expect(text).toContain('backhaul_tunnel_reconnect_attempts_total 14\n');
    expect(text).toContain('backhaul_tunnel_reconnecting_seconds_total 612.500\n');
    expect(text).toContain('backhaul_engine_stalls_total 2\n');
    expect(text).toContain('backhaul_errors_total{code="tunnel.lost"} 1\n');
  });
});
