/**
 * Jobs and profiles, as the agent loaded them. A job's everyday fields (folders, excludes, streams,
 * bandwidth limit, VPN profile) can be edited here: the agent validates the change, writes it into
 * the config file (keeping the user's comments) and reloads. Secrets are never shown or edited,
 * only where they are kept. A field a managed policy sets is read-only, with the policy's reason.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AgentApiError } from '../../api/client.js';
import type { EditableJobField, JobPatch, JobView } from '../../api/types.js';
import { Empty, Problem } from '../components/bits.js';
import { formatClock } from '../model/format.js';
import { problemOf, useApp, useLoad } from '../context.js';

/** Why a field can't be changed here; from the managed policy. */
export interface FieldLock {
  readonly reason: string;
  /** The config key that is locked (`jobs.nightly.streams`), shown so the administrator knows which. */
  readonly path?: string;
}

export function Field(props: { label: string; children: ComponentChildren; locked?: FieldLock | undefined }) {
  return (
    <>
      <dt>{props.label}</dt>
      <dd>
        {props.children}
        {props.locked === undefined ? null : <Lock reason={props.locked.reason} path={props.locked.path} />}
      </dd>
    </>
  );
}

/** The agent's reason starts with "locked by your organisation's policy" (the words the API and CLI use too). */
function Lock(props: { reason: string; path?: string | undefined; id?: string }) {
  const reason = /^locked\b/i.test(props.reason) ? `${props.reason.charAt(0).toUpperCase()}${props.reason.slice(1)}` : `Locked: ${props.reason}`;
  return <span class="locked" id={props.id}> <span aria-hidden="true">🔒</span> {reason}{props.path === undefined ? null : <> (<code>{props.path}</code>)</>}</span>;
}

type Json = Readonly<Record<string, unknown>>;

function text(value: unknown): string {
  if (value === undefined || value === null) return '—';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map(text).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * A secret is shown only as where it is kept — the agent sends references ({kind, path|name}),
 * never values.
 */
function secretRef(value: unknown): string {
  if (typeof value !== 'object' || value === null) return '—';
  const ref = value as { kind?: unknown; path?: unknown; name?: unknown };
  if (ref.kind === 'file' && typeof ref.path === 'string') return `kept in file (${ref.path})`;
  if (ref.kind === 'keychain' && typeof ref.name === 'string') return `kept in the keychain (${ref.name})`;
  return 'set';
}

const jobFields: readonly [string, string][] = [
  ['engine', 'Engine'], ['sources', 'Folders'], ['excludes', 'Excluded'], ['repository', 'Repository'], ['profile', 'VPN profile'],
  ['streams', 'Parallel streams'], ['uploadLimitKiBps', 'Upload limit (KiB/s)'], ['bandwidthLimit', 'Bandwidth limit'],
];

/** Which config key each shown row is, for its lock (the limit is shown as KiB/s, edited as a rate). */
const editableKey: Readonly<Record<string, EditableJobField>> = {
  sources: 'sources', excludes: 'excludes', profile: 'profile', streams: 'streams', uploadLimitKiBps: 'bandwidthLimit',
};

export function JobsPage() {
  const { client } = useApp();
  const [version, setVersion] = useState(0);
  const config = useLoad(() => client.config(), [version]);
  const jobs = useLoad(() => client.jobs(), [version]);
  const data = config.data;
  return (
    <>
      <h1 tabIndex={-1}>Jobs and profiles</h1>
      {config.error === undefined ? null : <Problem problem={config.error} title="Could not load the configuration" />}
      {jobs.error === undefined || config.error !== undefined ? null : <Problem problem={jobs.error} title="Could not load the jobs" />}
      {data === undefined ? null : !data.ok ? (
        <>
          <Problem problem={{ message: `The configuration file ${data.file} has errors, so no jobs are loaded.`, hint: 'Fix these lines and the agent picks the file up again.' }} />
          <ul>
            {data.errors.map((e) => <li key={`${e.path}:${e.message}`}><span class="mono">{e.path === '' ? '(file)' : e.path}{e.line === undefined ? '' : ` (line ${e.line})`}</span>: {e.message}</li>)}
          </ul>
        </>
      ) : (
        <ConfigView config={data.config as Json} file={data.file} views={jobs.data ?? []} onSaved={() => { setVersion((v) => v + 1); }} />
      )}
    </>
  );
}

function ConfigView(props: { config: Json; file: string; views: readonly JobView[]; onSaved: () => void }) {
  const jobs = Object.entries((props.config.jobs ?? {}) as Readonly<Record<string, Json>>);
  const profiles = Object.entries((props.config.profiles ?? {}) as Readonly<Record<string, Json>>);
  return (
    <>
      <p class="meta">From {props.file}. Changes made here are written into that file; your comments in it are kept.</p>
      <h2>Jobs</h2>
      {jobs.length === 0 ? <Empty>No jobs.</Empty> : jobs.map(([name, job]) => (
        <JobCard key={name} name={name} job={job} view={props.views.find((v) => v.name === name)} profiles={profiles.map(([p]) => p)} onSaved={props.onSaved} />
      ))}
      <h2>VPN profiles</h2>
      {profiles.length === 0 ? <Empty>No VPN profiles: jobs connect directly.</Empty> : profiles.map(([name, profile]) => (
        <section class="card" key={name} aria-labelledby={`cfg-profile-${name}`}>
          <h3 id={`cfg-profile-${name}`}>{name}</h3>
          <dl class="fields">
            {Object.entries(profile).map(([key, value]) => (
              <Field key={key} label={key}>{typeof value === 'object' && value !== null && 'kind' in value ? secretRef(value) : text(value)}</Field>
            ))}
          </dl>
        </section>
      ))}
    </>
  );
}

function JobCard(props: { name: string; job: Json; view: JobView | undefined; profiles: readonly string[]; onSaved: () => void }) {
  const { name, job, view } = props;
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState(false);
  const editButton = useRef<HTMLButtonElement>(null);
  const lockOf = (key: string): FieldLock | undefined => {
    const field = editableKey[key];
    const reason = field === undefined ? undefined : view?.locked[field];
    return reason === undefined || field === undefined ? undefined : { reason, path: `jobs.${name}.${field}` };
  };
  const close = (didSave: boolean) => {
    setEditing(false);
    setSaved(didSave);
    if (didSave) props.onSaved();
    requestAnimationFrame(() => { editButton.current?.focus(); });
  };
  return (
    <section class="card" aria-labelledby={`cfg-job-${name}`}>
      <div class="row">
        <h3 id={`cfg-job-${name}`} class="grow">{name}</h3>
        {view === undefined || editing ? null : (
          <button type="button" ref={editButton} onClick={() => { setSaved(false); setEditing(true); }}>Edit<span class="visually-hidden"> ({name})</span></button>
        )}
      </div>
      <p role="status" class="meta">{saved ? `Saved. The agent runs ${name} with the new settings from its next run.` : ''}</p>
      {editing && view !== undefined ? (
        <JobForm name={name} view={view} profiles={props.profiles} onDone={close} />
      ) : (
        <dl class="fields">
          {jobFields.filter(([key]) => job[key] !== undefined).map(([key, label]) => <Field key={key} label={label} locked={lockOf(key)}>{text(job[key])}</Field>)}
          <Field label="Repository password">{secretRef(job.password)}</Field>
          {view?.nextRunAt === undefined ? null : <Field label="Next run">{formatClock(view.nextRunAt, { now: new Date() })}</Field>}
          {view?.overdueSince === undefined ? null : <Field label="Overdue since">{formatClock(view.overdueSince, { now: new Date() })}</Field>}
        </dl>
      )}
    </section>
  );
}

/** The form's text for each field (lists one item per line). */
type Draft = Record<EditableJobField, string>;

function draftOf(view: JobView): Draft {
  const s = view.settings;
  return { sources: s.sources.join('\n'), excludes: s.excludes.join('\n'), streams: String(s.streams), bandwidthLimit: s.bandwidthLimit ?? '', profile: s.profile };
}

function lines(value: string): string[] {
  return value.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

/** Only what the user changed: an untouched field is not rewritten in the file. Empty means "back to the default". */
function patchOf(draft: Draft, initial: Draft): JobPatch {
  const changed = (field: EditableJobField) => draft[field] !== initial[field];
  const streams = draft.streams.trim();
  return {
    ...(changed('sources') ? { sources: lines(draft.sources) } : {}),
    ...(changed('excludes') ? { excludes: lines(draft.excludes).length === 0 ? null : lines(draft.excludes) } : {}),
    ...(changed('streams') ? { streams: streams === '' ? null : Number(streams) } : {}),
    ...(changed('bandwidthLimit') ? { bandwidthLimit: draft.bandwidthLimit.trim() === '' ? null : draft.bandwidthLimit.trim() } : {}),
    ...(changed('profile') ? { profile: draft.profile } : {}),
  };
}

const labels: Readonly<Record<EditableJobField, string>> = {
  sources: 'Folders to back up (one per line)',
  excludes: 'Excluded (one pattern per line)',
  streams: 'Parallel streams',
  bandwidthLimit: 'Bandwidth limit',
  profile: 'VPN profile',
};

const notes: Partial<Record<EditableJobField, string>> = {
  streams: '1–32; empty for the default (4).',
  bandwidthLimit: 'A rate such as 10 MiB/s or 20 Mbit/s; empty for no limit.',
};

function JobForm(props: { name: string; view: JobView; profiles: readonly string[]; onDone: (saved: boolean) => void }) {
  const { client } = useApp();
  const { name, view } = props;
  const initial = draftOf(view);
  const [draft, setDraft] = useState<Draft>(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ field?: EditableJobField; message: string; hint: string; code?: string }>();
  const form = useRef<HTMLFormElement>(null);
  const id = (field: string) => `job-${name}-${field}`;
  // Keyboard users land in the form: on its first field that can be changed.
  useEffect(() => { form.current?.querySelector<HTMLElement>('textarea:not([readonly]), input:not([readonly]), select:not(:disabled)')?.focus(); }, []);

  const fail = (problem: { field?: EditableJobField; message: string; hint: string; code?: string }) => {
    setError(problem);
    requestAnimationFrame(() => { form.current?.querySelector<HTMLElement>(problem.field === undefined ? '.form-problem' : `#${id(problem.field)}`)?.focus(); });
  };

  const save = async (event: Event) => {
    event.preventDefault();
    if (!/^(-?\d+)?$/.test(draft.streams.trim())) {
      // The agent judges numbers (its message names the range); text is not one.
      fail({ field: 'streams', message: `jobs.${name}.streams: expected a whole number, got "${draft.streams.trim().slice(0, 20)}"`, hint: 'Use a whole number from 1 to 32; 4 is the default.' });
      return;
    }
    const patch = patchOf(draft, initial);
    if (Object.keys(patch).length === 0) {
      props.onDone(false);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await client.editJob(name, patch);
      props.onDone(true);
    } catch (caught) {
      const apiField = (caught as Partial<AgentApiError>).field;
      const field = apiField !== undefined && apiField in labels ? (apiField as EditableJobField) : undefined;
      const code = (caught as Partial<AgentApiError>).code;
      setBusy(false);
      fail({ ...problemOf(caught), ...(field === undefined ? {} : { field }), ...(code === undefined ? {} : { code }) });
    }
  };

  const control = (field: EditableJobField) => {
    const locked = view.locked[field];
    const invalid = error?.field === field;
    const describedBy = [notes[field] === undefined ? '' : id(`${field}-note`), locked === undefined ? '' : id(`${field}-lock`), invalid ? id(`${field}-error`) : ''].filter((s) => s !== '').join(' ');
    const common = {
      id: id(field),
      readOnly: locked !== undefined,
      'aria-invalid': invalid ? ('true' as const) : undefined,
      'aria-describedby': describedBy === '' ? undefined : describedBy,
    };
    const set = (value: string) => { setDraft((d) => ({ ...d, [field]: value })); };
    let input;
    if (field === 'sources' || field === 'excludes') {
      input = <textarea {...common} rows={Math.max(2, draft[field].split('\n').length)} value={draft[field]} onInput={(e) => { set(e.currentTarget.value); }} />;
    } else if (field === 'profile') {
      const options = ['direct', ...props.profiles.filter((p) => p !== 'direct')];
      input = (
        <select {...common} disabled={locked !== undefined} value={draft.profile} onChange={(e) => { set(e.currentTarget.value); }}>
          {options.map((p) => <option key={p} value={p}>{p === 'direct' ? 'direct (no VPN)' : p}</option>)}
        </select>
      );
    } else {
      input = <input {...common} type="text" inputMode={field === 'streams' ? 'numeric' : undefined} class={field === 'streams' ? 'short' : undefined} value={draft[field]} onInput={(e) => { set(e.currentTarget.value); }} />;
    }
    return (
      <div class="form-field" key={field}>
        <label for={id(field)}>{labels[field]}</label>
        {input}
        {notes[field] === undefined ? null : <span class="meta" id={id(`${field}-note`)}>{notes[field]}</span>}
        {locked === undefined ? null : <Lock reason={locked} path={`jobs.${name}.${field}`} id={id(`${field}-lock`)} />}
        {invalid ? (
          <p class="field-error" id={id(`${field}-error`)}>
            <span aria-hidden="true">✕ </span>{error.message}{error.hint === '' ? '' : ` What to do: ${error.hint}`}
          </p>
        ) : null}
      </div>
    );
  };

  return (
    <form ref={form} noValidate aria-label={`Edit ${name}`} onSubmit={(e) => { void save(e); }}>
      {error !== undefined && error.field === undefined ? <div tabIndex={-1} class="form-problem"><Problem problem={error} title="Not saved" /></div> : null}
      {error?.field === undefined ? null : <p role="alert" class="visually-hidden">Not saved: {error.message}</p>}
      {(['sources', 'excludes', 'streams', 'bandwidthLimit', 'profile'] as const).map(control)}
      <p class="meta">The repository, its password and the engine are changed in the config file.</p>
      <div class="row">
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
        <button type="button" onClick={() => { props.onDone(false); }}>Cancel</button>
      </div>
    </form>
  );
}
