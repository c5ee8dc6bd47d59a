/** Small shared pieces: results with a text label (colour is never the only signal), problems with their hint. */
import type { ComponentChildren } from 'preact';
import type { LastRun, SessionRecord } from '../../api/types.js';

export type Tone = 'ok' | 'warn' | 'err';

const glyph: Readonly<Record<Tone, string>> = { ok: '✓', warn: '!', err: '✕' };

/** "✓ Succeeded" etc.: a glyph for sighted users, the word for everyone. */
export function Result(props: { tone: Tone; children: ComponentChildren }) {
  return (
    <span class={`result ${props.tone}`}>
      <span aria-hidden="true">{glyph[props.tone]} </span>
      {props.children}
    </span>
  );
}

/** The outcome of a finished session in words and tone. */
export function outcomeOf(run: Pick<LastRun, 'end' | 'result'> | Pick<SessionRecord, 'end' | 'result'>): { tone: Tone; text: string } {
  switch (run.end) {
    case 'done':
      return run.result === 'warning' ? { tone: 'warn', text: 'Completed with warnings' } : { tone: 'ok', text: 'Succeeded' };
    case 'failed':
      return { tone: 'err', text: 'Failed' };
    case 'cancelled':
      return { tone: 'warn', text: 'Cancelled' };
    case 'interrupted':
      return { tone: 'err', text: 'Interrupted' };
  }
}

/** A problem as one sentence and what to do about it. */
/** A warning lists the files concerned (rsync: files not copied) behind a disclosure, at most this many. */
const MAX_FILES_SHOWN = 200;

export function Problem(props: { problem: { message: string; hint: string; code?: string; files?: readonly string[] }; tone?: 'warn' | 'err'; title?: string }) {
  const { problem } = props;
  const files = problem.files ?? [];
  return (
    <div class={`problem-box ${props.tone ?? 'err'}`} role={props.tone === 'warn' ? undefined : 'alert'}>
      <p>
        <strong>{props.title ?? 'Problem'}: </strong>
        {problem.message}
        {problem.code === undefined ? null : <span class="meta mono"> ({problem.code})</span>}
      </p>
      {problem.hint === '' ? null : (
        <p>
          <strong>What to do: </strong>
          {problem.hint}
        </p>
      )}
      {files.length === 0 ? null : (
        <details>
          <summary>{files.length === 1 ? '1 file' : `${files.length} files`}</summary>
          <ul class="mono">
            {files.slice(0, MAX_FILES_SHOWN).map((file) => <li key={file}>{file}</li>)}
          </ul>
        </details>
      )}
    </div>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}
