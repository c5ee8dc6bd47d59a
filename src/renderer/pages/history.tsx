/** History: every session with its outcome, per-phase timings, size, snapshot, and for failures what to do. */
import type { SessionRecord } from '../../api/types.js';
import { Empty, outcomeOf, Problem, Result } from '../components/bits.js';
import { HistoryCharts } from '../components/charts.js';
import { useApp, useLoad, useNow, useUiState } from '../context.js';
import { formatBytes, formatClock, formatDuration } from '../model/format.js';

const phaseLabels: readonly [string, string][] = [
  ['preflight', 'preparing'],
  ['connecting', 'connecting'],
  ['verifying', 'verifying'],
  ['backing-up', 'backing up'],
  ['reconnecting', 'reconnecting'],
  ['tearing-down', 'finishing'],
];

/** "connecting 3 s · verifying 1 s · backing up 2 min" from the record's seconds per phase. */
export function phaseText(record: SessionRecord): string {
  const phases = (record.phaseSeconds ?? {}) as Readonly<Record<string, number | undefined>>;
  const parts = phaseLabels.flatMap(([key, label]) => {
    const seconds = phases[key];
    return seconds === undefined ? [] : [`${label} ${formatDuration(seconds)}`];
  });
  return parts.length === 0 ? '—' : parts.join(' · ');
}

function Row(props: { record: SessionRecord; now: Date }) {
  const { record, now } = props;
  const outcome = outcomeOf(record);
  const seconds = (Date.parse(record.endedAt) - Date.parse(record.startedAt)) / 1000;
  const problem = record.failure;
  return (
    <>
      <tr>
        <td>{formatClock(record.startedAt, { now })}</td>
        <td>{record.job}</td>
        <td><Result tone={outcome.tone}>{outcome.text}</Result>{record.cancelledBy === undefined ? '' : ` by ${record.cancelledBy}`}</td>
        <td class="num">{formatDuration(seconds)}</td>
        <td class="num">{record.summary === undefined ? '—' : `${formatBytes(record.summary.bytesProcessed)} (${formatBytes(record.summary.bytesAdded)} new)`}</td>
        <td>{phaseText(record)}</td>
        <td class="mono">{record.summary?.snapshotId?.slice(0, 8) ?? '—'}</td>
      </tr>
      {problem === undefined && record.notes.length === 0 ? null : (
        <tr>
          <td colSpan={7}>
            {problem === undefined ? null : <Problem problem={problem} tone={record.end === 'done' ? 'warn' : 'err'} title={record.end === 'done' ? 'Warning' : 'Why it failed'} />}
            {record.notes.map((note) => <Problem key={note.code} problem={note} tone="warn" title="Note" />)}
          </td>
        </tr>
      )}
    </>
  );
}

export function HistoryPage() {
  const { client } = useApp();
  const state = useUiState();
  const now = useNow();
  const history = useLoad(() => client.history({ limit: 100 }), [state.ended.length]);
  const records = history.data?.records ?? [];
  return (
    <>
      <h1 tabIndex={-1}>History</h1>
      {history.error === undefined ? null : <Problem problem={history.error} title="Could not load the history" />}
      {history.loading && history.data === undefined ? <Empty>Loading…</Empty> : null}
      {history.data !== undefined && records.length === 0 ? <Empty>No backups yet. Start one from the Status page.</Empty> : null}
      <HistoryCharts records={records} now={now} />
      {records.length === 0 ? null : (
        <table>
          <caption>Sessions, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Job</th>
              <th scope="col">Result</th>
              <th scope="col">Duration</th>
              <th scope="col">Size</th>
              <th scope="col">Time per phase</th>
              <th scope="col">Snapshot</th>
            </tr>
          </thead>
          <tbody>
            {records.map((r) => <Row key={r.id} record={r} now={now} />)}
          </tbody>
        </table>
      )}
    </>
  );
}
