/** Logs: the agent's recent lines, then a live tail, filterable by session and level. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { LogLine } from '../../api/types.js';
import { Empty, Problem } from '../components/bits.js';
import { useApp, useLoad, useUiState } from '../context.js';

const key = (l: LogLine) => `${l.at}|${l.message}|${l.sessionId ?? ''}`;

export function LogsPage() {
  const { client } = useApp();
  const state = useUiState();
  const initial = useLoad(() => client.logs(500), []);
  const [session, setSession] = useState('');
  const [level, setLevel] = useState('');
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  const lines = useMemo(() => {
    const seen = new Set<string>();
    const all: LogLine[] = [];
    for (const line of [...(initial.data?.lines ?? []), ...state.logs]) {
      const k = key(line);
      if (!seen.has(k)) {
        seen.add(k);
        all.push(line);
      }
    }
    return all;
  }, [initial.data, state.logs]);
  const sessions = [...new Set(lines.flatMap((l) => (l.sessionId === undefined ? [] : [l.sessionId])))].reverse();
  const shown = lines.filter((l) => (session === '' || l.sessionId === session) && (level === '' || l.level === level));
  useEffect(() => {
    if (follow && box.current !== null) box.current.scrollTop = box.current.scrollHeight;
  }, [shown.length, follow]);
  return (
    <>
      <h1 tabIndex={-1}>Logs</h1>
      <div class="row">
        <label for="log-session">Session</label>
        <select id="log-session" value={session} onChange={(e) => { setSession(e.currentTarget.value); }}>
          <option value="">All sessions</option>
          {sessions.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
        <label for="log-level">Level</label>
        <select id="log-level" value={level} onChange={(e) => { setLevel(e.currentTarget.value); }}>
          <option value="">All levels</option>
          <option value="info">info</option>
          <option value="warn">warn</option>
          <option value="error">error</option>
        </select>
        <label><input type="checkbox" checked={follow} onChange={(e) => { setFollow(e.currentTarget.checked); }} /> Follow new lines</label>
      </div>
      {initial.error === undefined ? null : <Problem problem={initial.error} title="Could not load the log" />}
      {shown.length === 0 ? <Empty>No log lines{session === '' && level === '' ? ' yet' : ' match'}.</Empty> : (
        <div class="log mono" role="log" aria-label="Agent log" tabIndex={0} ref={box}>
          {shown.map((l) => (
            <div key={key(l)} class={`line level-${l.level}`}>
              {l.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} {l.level.toUpperCase().padEnd(5)} {l.job === undefined ? '' : `[${l.job}] `}{l.message}
            </div>
          ))}
        </div>
      )}
    </>
  );
}
