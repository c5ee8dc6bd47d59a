/**
 * Two small SVG charts, no library: a session's throughput with its tunnel events marked, and the
 * duration and size of each past session. Each has a text alternative (role="img" + aria-label),
 * and the same numbers are in the page's text and tables.
 */
import type { SessionRecord } from '../../api/types.js';
import { formatBytes, formatClock, formatDuration, formatRate } from '../model/format.js';
import type { SessionMarker, ThroughputSample } from '../model/store.js';

const W = 600;
const H = 160;
const PAD = { left: 8, right: 8, top: 12, bottom: 20 };

export function ThroughputChart(props: { samples: readonly ThroughputSample[]; markers: readonly SessionMarker[]; now: Date }) {
  const points = props.samples.filter((s) => s.bytesPerSecond !== undefined);
  if (points.length < 2) return <p class="meta">The throughput chart appears once data is moving.</p>;
  const t0 = Math.min(points[0]?.at ?? 0, ...props.markers.map((m) => m.at));
  const t1 = Math.max(points.at(-1)?.at ?? 0, t0 + 1);
  const peak = Math.max(1, ...points.map((p) => p.bytesPerSecond ?? 0));
  const x = (at: number) => PAD.left + ((at - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (rate: number) => H - PAD.bottom - (rate / peak) * (H - PAD.top - PAD.bottom);
  const line = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.at).toFixed(1)},${y(p.bytesPerSecond ?? 0).toFixed(1)}`).join(' ');
  const area = `${line} L${x(points.at(-1)?.at ?? t1).toFixed(1)},${H - PAD.bottom} L${x(points[0]?.at ?? t0).toFixed(1)},${H - PAD.bottom} Z`;
  const current = points.at(-1)?.bytesPerSecond ?? 0;
  const events = props.markers.map((m) => `${m.label} at ${formatClock(new Date(m.at).toISOString(), { now: props.now })}`);
  const label = `Throughput during this backup: now ${formatRate(current)}, peak ${formatRate(peak)}${events.length > 0 ? `; ${events.join(', ')}` : ''}.`;
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label}>
      <line class="axis" x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} />
      <path class="area" d={area} />
      <path class="line" d={line} />
      <text x={PAD.left} y={PAD.top - 2}>{formatRate(peak)}</text>
      <text x={PAD.left} y={H - 5}>{formatDuration((t1 - t0) / 1000)}</text>
      {props.markers.map((m) => (
        <g key={`${m.kind}-${m.at}`}>
          <line class={`marker ${m.kind}`} x1={x(m.at)} x2={x(m.at)} y1={PAD.top} y2={H - PAD.bottom} />
          <text x={Math.min(x(m.at) + 3, W - 80)} y={PAD.top + 10}>{m.label}</text>
        </g>
      ))}
    </svg>
  );
}

/** One bar per session (oldest left): how long it took, and how much it covered. */
export function HistoryCharts(props: { records: readonly SessionRecord[]; now: Date }) {
  const records = [...props.records].reverse().slice(-30);
  if (records.length === 0) return null;
  const duration = (r: SessionRecord) => (Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000;
  const size = (r: SessionRecord) => r.summary?.bytesProcessed ?? 0;
  const tone = (r: SessionRecord) => (r.end === 'failed' || r.end === 'interrupted' ? 'err' : r.end === 'cancelled' || r.result === 'warning' ? 'warn' : '');
  const bars = (value: (r: SessionRecord) => number, format: (n: number) => string, title: string) => {
    const max = Math.max(1, ...records.map(value));
    const slot = (W - PAD.left - PAD.right) / records.length;
    const label = `${title} for the last ${records.length} sessions, oldest first: ${records.map((r) => `${formatClock(r.startedAt, { now: props.now })} ${format(value(r))}`).join('; ')}.`;
    return (
      <figure>
        <figcaption class="meta">{title} (longest {format(max)})</figcaption>
        <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label}>
          <line class="axis" x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} />
          {records.map((r, i) => {
            const h = (value(r) / max) * (H - PAD.top - PAD.bottom);
            return (
              <rect key={r.id} class={`bar ${tone(r)}`} x={PAD.left + i * slot + slot * 0.15} width={Math.max(1, slot * 0.7)} y={H - PAD.bottom - h} height={Math.max(h, 1)}>
                <title>{`${formatClock(r.startedAt, { now: props.now })}: ${format(value(r))}`}</title>
              </rect>
            );
          })}
        </svg>
      </figure>
    );
  };
  return (
    <div class="charts">
      {bars(duration, formatDuration, 'Duration per session')}
      {bars(size, formatBytes, 'Size backed up per session')}
    </div>
  );
}
