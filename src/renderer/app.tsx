/** The frame: a skip link, the navigation, the connection banner and the current page (hash routes, so it works from file and http alike). */
import { useEffect, useState } from 'preact/hooks';
import { AppContext, useUiState, type App as AppValue, type PageId } from './context.js';
import { HealthPage } from './pages/health.js';
import { HistoryPage } from './pages/history.js';
import { JobsPage } from './pages/jobs.js';
import { LogsPage } from './pages/logs.js';
import { SnapshotsPage } from './pages/snapshots.js';
import { StatusPage } from './pages/status.js';

const pages: readonly { id: PageId; label: string; render: () => preact.JSX.Element }[] = [
  { id: 'status', label: 'Status', render: () => <StatusPage /> },
  { id: 'history', label: 'History', render: () => <HistoryPage /> },
  { id: 'snapshots', label: 'Snapshots', render: () => <SnapshotsPage /> },
  { id: 'jobs', label: 'Jobs', render: () => <JobsPage /> },
  { id: 'logs', label: 'Logs', render: () => <LogsPage /> },
  { id: 'health', label: 'Health', render: () => <HealthPage /> },
];

export function pageFromHash(hash: string): PageId {
  const id = hash.replace(/^#\/?/, '');
  return pages.find((p) => p.id === id)?.id ?? 'status';
}

function Banner() {
  const state = useUiState();
  const healthCount = state.status?.health.filter((h) => h.badge).length ?? 0;
  if (state.connection === 'live') {
    return healthCount === 0 ? null : (
      <div class="banner problem" role="status"><a href="#/health">{healthCount} thing{healthCount === 1 ? ' needs' : 's need'} attention</a></div>
    );
  }
  return (
    <div class="banner problem" role="status">
      {state.connection === 'connecting' ? 'Connecting to the Backhaul agent…' : `Lost the connection to the agent; reconnecting…${state.connectionError === undefined ? '' : ` ${state.connectionError.message}. ${state.connectionError.hint}`}`}
    </div>
  );
}

export function App(props: { app: Omit<AppValue, 'navigate'> }) {
  const [page, setPage] = useState<PageId>(() => pageFromHash(location.hash));
  useEffect(() => {
    const onHash = () => {
      setPage(pageFromHash(location.hash));
      // Move focus to the new page's heading, so keyboard and screen reader users land on it.
      requestAnimationFrame(() => { document.querySelector<HTMLElement>('main h1')?.focus(); });
    };
    addEventListener('hashchange', onHash);
    return () => { removeEventListener('hashchange', onHash); };
  }, []);
  const current = pages.find((p) => p.id === page) ?? pages[0];
  useEffect(() => { document.title = `${current?.label ?? 'Status'} — Backhaul`; }, [current]);
  const value: AppValue = { ...props.app, navigate: (id) => { location.hash = `#/${id}`; } };
  return (
    <AppContext.Provider value={value}>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header class="app">
        <span class="brand">Backhaul</span>
        <nav aria-label="Pages">
          <ul>
            {pages.map((p) => (
              <li key={p.id}>
                <a href={`#/${p.id}`} aria-current={p.id === page ? 'page' : undefined}>{p.label}</a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <Banner />
      <main id="main" tabIndex={-1}>
        {current?.render()}
      </main>
    </AppContext.Provider>
  );
}
