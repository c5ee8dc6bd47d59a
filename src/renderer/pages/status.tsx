/** Status: per job, the last result, the next run, and a live session with phase, progress, rate, ETA and throughput. */
import { useState } from 'preact/hooks';
import type { JobSummary } from '../../api/types.js';
import { Empty, outcomeOf, Problem, Result } from '../components/bits.js';
import { ThroughputChart } from '../components/charts.js';
import { problemOf, useApp, useNow, useUiState } from '../context.js';
import { formatBytes, formatClock, formatDuration, formatEta, formatPercent, formatRate } from '../model/format.js';
import type { SessionView } from '../model/store.js';

const phases: readonly { state: string; label: string }[] = [
  { state: 'preflight', label: 'Preparing' },
  { state: 'connecting', label: 'Connecting' },
  { state: 'verifying', label: 'Verifying the tunnel' },
  { state: 'backing-up', label: 'Backing up' },
  { state: 'tearing-down', label: 'Finishing' },
];

function Phases(props: { state: string }) {
  if (props.state === 'queued') return <p class="meta">Waiting for another backup to finish first.</p>;
  const current = props.state === 'reconnecting' ? 'backing-up' : props.state;
  const index = phases.findIndex((p) => p.state === current);
  return (
    <ol class="phases" aria-label="Session phases">
      {phases.map((p, i) => (
        <li key={p.state} class={i < index ? 'done' : ''} aria-current={i === index ? 'step' : undefined}>
          {i < index ? <span aria-hidden="true">✓ </span> : null}
          {p.state === 'backing-up' && props.state === 'reconnecting' ? 'Reconnecting the tunnel' : p.label}
        </li>
      ))}
    </ol>
  );
}

function LiveProgress(props: { view: SessionView }) {
  const now = useNow(5_000);
  const { session } = props.view;
  const progress = session.progress;
  return (
    <div>
      <Phases state={session.state} />
      {session.reconnect === undefined ? null : (
        <p role="status">Tunnel lost — reconnecting (attempt {session.reconnect.attempt} of {session.reconnect.maxAttempts}). The backup continues when the tunnel is back.</p>
      )}
      {progress === undefined ? null : (
        <>
          <progress max={1} value={progress.fraction} aria-label={`Backup progress, ${formatPercent(progress.fraction)}`} />
          <dl class="numbers">
            <div><dt>Done</dt><dd>{formatPercent(progress.fraction)}</dd></div>
            <div><dt>Data</dt><dd>{formatBytes(progress.bytesDone)} of {formatBytes(progress.bytesTotal)}</dd></div>
            <div><dt>Files</dt><dd>{progress.filesDone} of {progress.filesTotal}</dd></div>
            <div><dt>Rate</dt><dd>{props.view.bytesPerSecond === undefined ? 'measuring…' : formatRate(props.view.bytesPerSecond)}</dd></div>
            <div><dt>Time left</dt><dd>{props.view.etaSeconds === undefined ? 'estimating…' : formatEta(props.view.etaSeconds)}</dd></div>
            {progress.errorCount > 0 ? <div><dt>Unreadable files</dt><dd>{progress.errorCount}</dd></div> : null}
          </dl>
        </>
      )}
      <ThroughputChart samples={props.view.samples} markers={props.view.markers} now={now} />
    </div>
  );
}

function JobCard(props: { job: JobSummary; view?: SessionView }) {
  const { client } = useApp();
  const now = useNow();
  const [problem, setProblem] = useState<{ message: string; hint: string } | undefined>();
  const [busy, setBusy] = useState(false);
  const { job, view } = props;
  const titleId = `job-${job.name}`;
  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setProblem(undefined);
    try {
      await action();
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  };
  const last = job.lastRun;
  const outcome = last === undefined ? undefined : outcomeOf(last);
  return (
    <section class="card" aria-labelledby={titleId}>
      <div class="row">
        <h2 id={titleId} class="grow">{job.name}</h2>
        {view === undefined ? (
          <button type="button" class="primary" disabled={busy} onClick={() => { void act(() => client.startRun(job.name)); }}>
            Back up now<span class="visually-hidden"> ({job.name})</span>
          </button>
        ) : (
          <button type="button" disabled={busy} onClick={() => { void act(() => client.cancelRun(view.session.id)); }}>
            Cancel<span class="visually-hidden"> the backup of {job.name}</span>
          </button>
        )}
      </div>
      <p class="meta">{job.engine} · profile {job.profile} · {job.repository}</p>
      <dl class="fields">
        <dt>Last backup</dt>
        <dd>
          {last === undefined || outcome === undefined ? 'Never' : (
            <>
              <Result tone={outcome.tone}>{outcome.text}</Result> {formatClock(last.endedAt, { now })}
              {last.bytesProcessed === undefined ? '' : ` · ${formatBytes(last.bytesProcessed)}`}
              {last.bytesAdded === undefined ? '' : ` (${formatBytes(last.bytesAdded)} new)`}
              {last.durationSeconds === undefined ? '' : ` · took ${formatDuration(last.durationSeconds)}`}
            </>
          )}
        </dd>
        <dt>Next run</dt>
        <dd>{job.nextRunAt === undefined ? 'Not scheduled' : formatClock(job.nextRunAt, { now })}{job.overdueSince === undefined ? '' : ' · overdue'}</dd>
      </dl>
      {last?.failure !== undefined && view === undefined ? <Problem problem={last.failure} tone={last.end === 'done' ? 'warn' : 'err'} title="Last backup" /> : null}
      {problem === undefined ? null : <Problem problem={problem} title="Could not do that" />}
      {view === undefined ? null : <LiveProgress view={view} />}
    </section>
  );
}

export function StatusPage() {
  const state = useUiState();
  const jobs = state.status?.jobs ?? [];
  const viewFor = (job: JobSummary) => Object.values(state.sessions).find((v) => v.session.job === job.name);
  return (
    <>
      <h1 tabIndex={-1}>Status</h1>
      {state.status === undefined ? <Empty>Connecting to the agent…</Empty> : jobs.length === 0 ? <Empty>No backup jobs are configured yet. Add one to the configuration file ({state.status.agent.configFile}).</Empty> : null}
      {jobs.map((job) => {
        const view = viewFor(job);
        return <JobCard key={job.name} job={job} {...(view === undefined ? {} : { view })} />;
      })}
    </>
  );
}
