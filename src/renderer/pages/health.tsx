/** Health: the problems the agent says the user should see, each with what to do and an action where one helps. */
import type { HealthItem, JobSummary } from '../../api/types.js';
import { Empty, Result } from '../components/bits.js';
import { useApp, useNow, useUiState, type PageId } from '../context.js';
import { formatClock } from '../model/format.js';

/** What a health item lets the user do from here. */
export type HealthAction = { readonly label: string; readonly run: string } | { readonly label: string; readonly page: PageId };

export function healthActions(item: HealthItem, jobs: readonly JobSummary[]): HealthAction[] {
  switch (item.code) {
    case 'session.interrupted':
      return jobs.filter((j) => j.sessionId === undefined && (j.lastRun?.end === 'interrupted' || jobs.length === 1)).map((j) => ({ label: `Back up "${j.name}" now`, run: j.name }));
    case 'config.invalid':
      return [{ label: 'Show the configuration errors', page: 'jobs' }];
    default:
      return [{ label: 'Open the logs', page: 'logs' }];
  }
}

export function HealthPage() {
  const { client, navigate } = useApp();
  const state = useUiState();
  const now = useNow();
  const items = state.status?.health ?? [];
  const jobs = state.status?.jobs ?? [];
  return (
    <>
      <h1 tabIndex={-1}>Health</h1>
      {items.length === 0 ? <p><Result tone="ok">Everything looks fine.</Result></p> : null}
      {items.length === 0 && state.status === undefined ? <Empty>Connecting…</Empty> : null}
      {items.map((item) => (
        <section class="card" key={item.code} aria-labelledby={`health-${item.code}`}>
          <h2 id={`health-${item.code}`}>
            <Result tone={item.severity === 'error' ? 'err' : item.severity === 'warning' ? 'warn' : 'ok'}>{item.severity === 'info' ? 'Note' : item.severity === 'error' ? 'Error' : 'Warning'}</Result>: {item.title}
          </h2>
          <p>{item.text}</p>
          <p class="meta">Since {formatClock(item.since, { now })} · <span class="mono">{item.code}</span></p>
          <div class="row">
            {healthActions(item, jobs).map((a) => (
              <button key={a.label} type="button" onClick={() => { if ('run' in a) void client.startRun(a.run).catch(() => undefined); else navigate(a.page); }}>
                {a.label}
              </button>
            ))}
          </div>
        </section>
      ))}
    </>
  );
}
