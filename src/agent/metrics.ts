import type { SessionRecord } from './session/history.js';

/**
 * Prometheus text from the session history (so counters survive restarts) plus live gauges.
 * Small enough to render by hand; names follow Prometheus conventions (`_total`, `_seconds`).
 */
export function renderMetrics(history: readonly SessionRecord[], live: { running: number; queued: number; uptimeSeconds: number }): string {
  const byOutcome = new Map<string, number>();
  const errors = new Map<string, number>();
  let durationSum = 0;
  let bytesAdded = 0;
  let bytesProcessed = 0;
  let backupSeconds = 0;
  const losses = new Map<string, number>();
  let reconnects = 0;
  let reconnectAttempts = 0;
  let reconnectingSeconds = 0;
  let stalls = 0;
  for (const record of history) {
    const outcome = record.end === 'done' ? (record.result ?? 'success') : record.end;
    const key = `${record.job}\u0000${outcome}`;
    byOutcome.set(key, (byOutcome.get(key) ?? 0) + 1);
    durationSum += Math.max(0, (Date.parse(record.endedAt) - Date.parse(record.startedAt)) / 1000);
    if (record.failure !== undefined) errors.set(record.failure.code, (errors.get(record.failure.code) ?? 0) + 1);
    for (const loss of record.tunnelLosses ?? []) {
      losses.set(loss.cause, (losses.get(loss.cause) ?? 0) + 1);
      reconnectAttempts += loss.attempts;
      if (loss.flowingAt !== undefined) reconnects++;
    }
    reconnectingSeconds += record.phaseSeconds?.reconnecting ?? 0;
    stalls += record.stalls ?? 0;
    if (record.summary !== undefined) {
      bytesAdded += record.summary.bytesAdded;
      bytesProcessed += record.summary.bytesProcessed;
      backupSeconds += record.summary.durationSeconds;
    }
  }
  const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const lines = [
    '# HELP backhaul_sessions_total Sessions that ended, by job and outcome.',
    '# TYPE backhaul_sessions_total counter',
    ...[...byOutcome].map(([key, n]) => {
      const [job = '', outcome = ''] = key.split('\u0000');
      return `backhaul_sessions_total{job="${label(job)}",outcome="${label(outcome)}"} ${n}`;
    }),
    '# HELP backhaul_session_duration_seconds Wall time of ended sessions.',
    '# TYPE backhaul_session_duration_seconds summary',
    `backhaul_session_duration_seconds_sum ${durationSum.toFixed(3)}`,
    `backhaul_session_duration_seconds_count ${history.length}`,
    '# HELP backhaul_bytes_added_total Bytes the engines added to repositories (after deduplication).',
    '# TYPE backhaul_bytes_added_total counter',
    `backhaul_bytes_added_total ${bytesAdded}`,
    '# HELP backhaul_bytes_processed_total Bytes the engines scanned.',
    '# TYPE backhaul_bytes_processed_total counter',
    `backhaul_bytes_processed_total ${bytesProcessed}`,
    '# HELP backhaul_backup_throughput_bytes_per_second Bytes scanned per second of backup time, over all sessions.',
    '# TYPE backhaul_backup_throughput_bytes_per_second gauge',
    `backhaul_backup_throughput_bytes_per_second ${backupSeconds > 0 ? (bytesProcessed / backupSeconds).toFixed(0) : 0}`,
    '# HELP backhaul_errors_total Session failures and warnings, by stable code.',
    '# TYPE backhaul_errors_total counter',
    ...[...errors].map(([code, n]) => `backhaul_errors_total{code="${label(code)}"} ${n}`),
    '# HELP backhaul_tunnel_losses_total Tunnels lost under a running backup, by how the loss was noticed (down, status-failed, stall).',
    '# TYPE backhaul_tunnel_losses_total counter',
    ...[...losses].map(([cause, n]) => `backhaul_tunnel_losses_total{cause="${label(cause)}"} ${n}`),
    '# HELP backhaul_tunnel_reconnects_total Lost tunnels repaired until bytes flowed again.',
    '# TYPE backhaul_tunnel_reconnects_total counter',
    `backhaul_tunnel_reconnects_total ${reconnects}`,
    '# HELP backhaul_tunnel_reconnect_attempts_total Reconnect attempts, successful or not.',
    '# TYPE backhaul_tunnel_reconnect_attempts_total counter',
    `backhaul_tunnel_reconnect_attempts_total ${reconnectAttempts}`,
    '# HELP backhaul_tunnel_reconnecting_seconds_total Time sessions spent in reconnecting.',
    '# TYPE backhaul_tunnel_reconnecting_seconds_total counter',
    `backhaul_tunnel_reconnecting_seconds_total ${reconnectingSeconds.toFixed(3)}`,
    '# HELP backhaul_engine_stalls_total Times a backup moved no bytes for the configured number of keepalive intervals.',
    '# TYPE backhaul_engine_stalls_total counter',
    `backhaul_engine_stalls_total ${stalls}`,
    '# HELP backhaul_sessions_running Sessions running now.',
    '# TYPE backhaul_sessions_running gauge',
    `backhaul_sessions_running ${live.running}`,
    '# HELP backhaul_sessions_queued Sessions waiting for a slot.',
    '# TYPE backhaul_sessions_queued gauge',
    `backhaul_sessions_queued ${live.queued}`,
    '# HELP backhaul_agent_uptime_seconds Seconds since the agent started.',
    '# TYPE backhaul_agent_uptime_seconds gauge',
    `backhaul_agent_uptime_seconds ${live.uptimeSeconds.toFixed(0)}`,
  ];
  return `${lines.join('\n')}\n`;
}
