/** Snapshots: pick a job and a snapshot, browse its tree, select files or folders, restore them to a folder. */
import { useEffect, useState } from 'preact/hooks';
import type { RestoreResponse, SnapshotInfo, TreeEntry } from '../../api/types.js';
import { Empty, Problem } from '../components/bits.js';
import { problemOf, useApp, useLoad, useNow, useUiState } from '../context.js';
import { formatBytes, formatClock } from '../model/format.js';

function parentOf(path: string): string {
  const cut = path.replace(/\/+$/, '').lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

function Crumbs(props: { path: string; open: (path: string) => void }) {
  const parts = props.path.split('/').filter((p) => p !== '');
  return (
    <nav class="crumbs" aria-label="Folder">
      <button type="button" class="link" onClick={() => { props.open('/'); }}>Top</button>
      {parts.map((part, i) => {
        const path = `/${parts.slice(0, i + 1).join('/')}`;
        return (
          <span key={path}>
            <span aria-hidden="true">/ </span>
            {i === parts.length - 1 ? <span aria-current="location">{part}</span> : <button type="button" class="link" onClick={() => { props.open(path); }}>{part}</button>}
          </span>
        );
      })}
    </nav>
  );
}

function Browser(props: { job: string; snapshot: SnapshotInfo; suggestedTarget: string }) {
  const { client } = useApp();
  const now = useNow();
  const start = props.snapshot.paths.length === 1 ? parentOf(props.snapshot.paths[0] ?? '/') : '/';
  const [path, setPath] = useState(start);
  const [selected, setSelected] = useState<readonly string[]>([]);
  const [target, setTarget] = useState(`${props.suggestedTarget}-${props.snapshot.shortId}`);
  const [restoring, setRestoring] = useState(false);
  const [restored, setRestored] = useState<RestoreResponse | undefined>();
  const [problem, setProblem] = useState<{ message: string; hint: string } | undefined>();
  const tree = useLoad(() => client.tree(props.job, props.snapshot.id, path), [props.job, props.snapshot.id, path]);
  const toggle = (entry: TreeEntry) => {
    setSelected((s) => (s.includes(entry.path) ? s.filter((p) => p !== entry.path) : [...s, entry.path]));
  };
  const restore = async () => {
    setRestoring(true);
    setProblem(undefined);
    setRestored(undefined);
    try {
      setRestored(await client.restore({ job: props.job, snapshot: props.snapshot.id, paths: selected, target }));
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setRestoring(false);
    }
  };
  return (
    <section class="card" aria-labelledby="browse-title">
      <h2 id="browse-title">Snapshot {props.snapshot.shortId} of {formatClock(props.snapshot.time, { now })}</h2>
      <Crumbs path={path} open={setPath} />
      {tree.error === undefined ? null : <Problem problem={tree.error} title="Could not open this folder" />}
      {tree.loading ? <p class="meta" role="status">Loading the folder…</p> : null}
      {tree.data === undefined ? null : tree.data.entries.length === 0 ? <Empty>This folder is empty.</Empty> : (
        <table>
          <caption class="visually-hidden">Contents of {path}</caption>
          <thead>
            <tr><th scope="col">Select</th><th scope="col">Name</th><th scope="col">Size</th><th scope="col">Modified</th></tr>
          </thead>
          <tbody>
            {tree.data.entries.map((entry) => (
              <tr key={entry.path}>
                <td>
                  <input type="checkbox" checked={selected.includes(entry.path)} onChange={() => { toggle(entry); }} aria-label={`Select ${entry.name}`} />
                </td>
                <td>
                  {entry.type === 'dir'
                    ? <button type="button" class="link" onClick={() => { setPath(entry.path); }}><span aria-hidden="true">📁 </span>{entry.name}<span class="visually-hidden"> (folder, open)</span></button>
                    : <span>{entry.name}</span>}
                </td>
                <td class="num">{entry.size === undefined ? '—' : formatBytes(entry.size)}</td>
                <td>{entry.mtime === undefined ? '—' : formatClock(entry.mtime, { now })}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Restore</h3>
      <p>{selected.length === 0 ? 'Select files or folders above.' : `${selected.length} selected: ${selected.join(', ')}`}</p>
      <div class="row">
        <label for="restore-target">Restore to folder</label>
        <input id="restore-target" type="text" value={target} onInput={(e) => { setTarget(e.currentTarget.value); }} aria-describedby="restore-target-help" />
        <button type="button" class="primary" disabled={selected.length === 0 || restoring || target.trim() === ''} onClick={() => { void restore(); }}>
          Restore selected
        </button>
      </div>
      <p id="restore-target-help" class="meta">A new or empty folder on the agent's machine. Files keep their full original path inside it; nothing is overwritten.</p>
      {restoring ? <p role="status">Restoring…</p> : null}
      {restored === undefined ? null : (
        <p role="status" class="result ok">
          <span aria-hidden="true">✓ </span>Restored {restored.paths.length} item{restored.paths.length === 1 ? '' : 's'} to {restored.target}
          {restored.bytesRestored === undefined ? '' : ` (${formatBytes(restored.bytesRestored)})`}.
        </p>
      )}
      {problem === undefined ? null : <Problem problem={problem} title="The restore failed" />}
    </section>
  );
}

export function SnapshotsPage() {
  const { client } = useApp();
  const state = useUiState();
  const now = useNow();
  const jobs = state.status?.jobs ?? [];
  const [job, setJob] = useState<string | undefined>();
  const [snapshotId, setSnapshotId] = useState<string | undefined>();
  const current = job ?? jobs[0]?.name;
  useEffect(() => { setSnapshotId(undefined); }, [current]);
  const list = useLoad(() => (current === undefined ? Promise.resolve(undefined) : client.snapshots(current)), [current, state.ended.length]);
  const snapshots = list.data?.snapshots ?? [];
  const chosen = snapshots.find((s) => s.id === snapshotId);
  return (
    <>
      <h1 tabIndex={-1}>Snapshots</h1>
      {jobs.length === 0 ? <Empty>No jobs, so no snapshots.</Empty> : (
        <div class="row">
          <label for="snap-job">Job</label>
          <select id="snap-job" value={current} onChange={(e) => { setJob(e.currentTarget.value); }}>
            {jobs.map((j) => <option key={j.name} value={j.name}>{j.name}</option>)}
          </select>
        </div>
      )}
      {list.error === undefined ? null : <Problem problem={list.error} title="Could not list the snapshots" />}
      {list.loading ? <p class="meta" role="status">Asking the repository…</p> : null}
      {list.data !== undefined && snapshots.length === 0 ? <Empty>This job has no snapshots yet.</Empty> : null}
      {snapshots.length === 0 ? null : (
        <table>
          <caption>Snapshots of {current}, newest first</caption>
          <thead><tr><th scope="col">Taken</th><th scope="col">Id</th><th scope="col">Host</th><th scope="col">Folders</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
          <tbody>
            {snapshots.map((s) => (
              <tr key={s.id}>
                <td>{formatClock(s.time, { now })}</td>
                <td class="mono">{s.shortId}</td>
                <td>{s.hostname}</td>
                <td>{s.paths.join(', ')}</td>
                <td>
                  <button type="button" aria-pressed={s.id === snapshotId} onClick={() => { setSnapshotId(s.id); }}>
                    Browse<span class="visually-hidden"> snapshot {s.shortId}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {chosen === undefined || current === undefined || list.data === undefined ? null : <Browser key={chosen.id} job={current} snapshot={chosen} suggestedTarget={list.data.suggestedTarget} />}
    </>
  );
}
