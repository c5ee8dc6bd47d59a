/**
 * Jobs and profiles, as the agent loaded them. Read-only for now; every field goes through
 * <Field>, which already shows when a managed policy locks it and why (the policy issue fills
 * `locked`), so editing can be added per field without redesigning the page.
 */
import type { ComponentChildren } from 'preact';
import { Empty, Problem } from '../components/bits.js';
import { useApp, useLoad } from '../context.js';

/** Why a field can't be changed here; from the managed policy (later issue). */
export interface FieldLock {
  readonly reason: string;
}

export function Field(props: { label: string; children: ComponentChildren; locked?: FieldLock }) {
  return (
    <>
      <dt>{props.label}</dt>
      <dd>
        {props.children}
        {props.locked === undefined ? null : (
          <span class="locked"> <span aria-hidden="true">🔒</span> Locked: {props.locked.reason}</span>
        )}
      </dd>
    </>
  );
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

export function JobsPage() {
  const { client } = useApp();
  const config = useLoad(() => client.config(), []);
  const data = config.data;
  return (
    <>
      <h1 tabIndex={-1}>Jobs and profiles</h1>
      {config.error === undefined ? null : <Problem problem={config.error} title="Could not load the configuration" />}
      {data === undefined ? null : !data.ok ? (
        <>
          <Problem problem={{ message: `The configuration file ${data.file} has errors, so no jobs are loaded.`, hint: 'Fix these lines and the agent picks the file up again.' }} />
          <ul>
            {data.errors.map((e) => <li key={`${e.path}:${e.message}`}><span class="mono">{e.path === '' ? '(file)' : e.path}{e.line === undefined ? '' : ` (line ${e.line})`}</span>: {e.message}</li>)}
          </ul>
        </>
      ) : (
        <ConfigView config={data.config as Json} file={data.file} />
      )}
    </>
  );
}

function ConfigView(props: { config: Json; file: string }) {
  const jobs = Object.entries((props.config.jobs ?? {}) as Readonly<Record<string, Json>>);
  const profiles = Object.entries((props.config.profiles ?? {}) as Readonly<Record<string, Json>>);
  return (
    <>
      <p class="meta">From {props.file}. To change a job, edit that file; editing here comes with managed policy support.</p>
      <h2>Jobs</h2>
      {jobs.length === 0 ? <Empty>No jobs.</Empty> : jobs.map(([name, job]) => (
        <section class="card" key={name} aria-labelledby={`cfg-job-${name}`}>
          <h3 id={`cfg-job-${name}`}>{name}</h3>
          <dl class="fields">
            {jobFields.filter(([key]) => job[key] !== undefined).map(([key, label]) => <Field key={key} label={label}>{text(job[key])}</Field>)}
            <Field label="Repository password">{secretRef(job.password)}</Field>
          </dl>
        </section>
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
