/**
 * Changing a job's everyday fields in the user's config file, for the agent (the only process that
 * writes config). The file is the user's: the edit keeps every comment and the layout of
 * everything it does not change byte for byte, the whole result is validated with the same loader
 * the agent uses before anything is written, and the write is atomic (a temp file renamed over the
 * original, with the original's mode), so a crash leaves the old file or the new one, never half.
 *
 * Fields a managed policy sets are refused: the policy layer wins over the user file, so a user
 * value would change nothing, and the policy exists so that it can't be changed here.
 */
import { randomBytes } from 'node:crypto';
import { open, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Document, isAlias, isMap, isNode, isScalar, isSeq, parseDocument, Scalar, YAMLSeq, type Node, type Pair } from 'yaml';
import type { ConfigIssue } from './issues.js';
import { EDITABLE_JOB_FIELDS, NOT_EDITABLE_JOB_FIELDS, type EditableJobField, type FieldLocks, type JobPatch, type JobSettings } from './job-fields.js';
import type { LayerName } from './layers.js';
import { parseConfigText, readConfigFile, type LoadResult } from './load.js';
import { formatPath } from './path.js';
import { keepBackup, type BackupSettings } from './backups.js';
import type { LoadedPolicy } from './policy/format.js';
import type { JobConfig } from './schema.js';

/** Why an edit was refused: a stable code, the field when one is to blame, one sentence, what to do. */
export interface EditProblem {
  readonly code:
    | 'config.unknown-job'
    | 'config.unknown-profile'
    | 'config.invalid-value'
    | 'config.locked'
    | 'config.not-editable'
    | 'config.invalid'
    | 'config.unreadable'
    | 'config.unwritable'
    | 'config.changed';
  readonly field?: string;
  readonly message: string;
  readonly hint: string;
}

/** The config as loaded after the write (so the caller can use it without reading the file again). */
export type EditResult =
  | { readonly ok: true; readonly loaded: Extract<LoadResult, { ok: true }> }
  | { readonly ok: false; readonly problem: EditProblem };

export interface EditJobRequest {
  /** The user's config file. */
  readonly file: string;
  readonly job: string;
  /** A {@link JobPatch}, or what a client sent as one: every key and value is checked here. */
  readonly patch: Readonly<Record<string, unknown>>;
  /** Per-leaf origins of the config the agent runs with (`mergeLayers`): `policy` means locked. */
  readonly origins: ReadonlyMap<string, LayerName>;
  /** The managed policy in force: the edited file is validated with it on top, as the agent will load it. */
  readonly policy?: LoadedPolicy;
  /** Where the file as it was before is copied, and how many such copies are kept (src/config/backups.ts). */
  readonly backup?: BackupSettings;
}

/**
 * What an edit may touch: one entry of `jobs` or `profiles`, its editable fields (in the order they
 * are applied), the keys that exist but stay file-only (with why), and a hint per field.
 */
export interface EditTarget {
  readonly collection: 'jobs' | 'profiles';
  readonly name: string;
  readonly editable: readonly string[];
  readonly notEditable: Readonly<Record<string, string>>;
  readonly hints: Readonly<Record<string, string>>;
}

function jobTarget(job: string): EditTarget {
  return { collection: 'jobs', name: job, editable: EDITABLE_JOB_FIELDS, notEditable: NOT_EDITABLE_JOB_FIELDS, hints: FIELD_HINTS };
}

const LABEL = { jobs: 'job', profiles: 'profile' } as const;

// Both start with the words the API, CLI and UI all show: "locked by your organisation's policy".
const POLICY_REASON = 'locked by your organisation\'s policy, which sets this value; ask your administrator to change it';
const POLICY_ENTRY_REASON = (label: string) => `locked by your organisation's policy, which defines this whole ${label}; ask your administrator to change it`;

/** What to do about an invalid value of each field (the schema's message already says what is valid). */
const FIELD_HINTS: Readonly<Record<EditableJobField, string>> = {
  sources: 'List at least one folder as an absolute path, e.g. /home/me/Documents.',
  excludes: 'Give one exclude pattern per line, e.g. *.tmp or /home/me/Downloads, or none.',
  streams: 'Use a whole number from 1 to 32; 4 is the default.',
  bandwidthLimit: 'Write a rate like "10 MiB/s", "500 KiB/s" or "20 Mbit/s", or leave it empty for no limit.',
  profile: 'Use "direct" (no VPN) or the name of a VPN profile in the config file.',
};

/**
 * The editable fields of `job` that a managed policy sets, each with the reason to show. A job
 * that only the policy defines (no leaf of it comes from the user file) is locked as a whole.
 */
export function lockedFields(origins: ReadonlyMap<string, LayerName>, job: string): FieldLocks {
  return lockedFieldsOf(origins, jobTarget(job));
}

/** The editable fields of an entry that a managed policy sets (or all of them, when only the policy defines it). */
export function lockedFieldsOf(origins: ReadonlyMap<string, LayerName>, target: Pick<EditTarget, 'collection' | 'name' | 'editable'>): Readonly<Record<string, string>> {
  const prefix = formatPath([target.collection, target.name]);
  const under = [...origins].filter(([path]) => path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`));
  const fromPolicyOnly = under.length > 0 && under.every(([, layer]) => layer === 'policy');
  const locks: Record<string, string> = {};
  for (const field of target.editable) {
    const path = formatPath([target.collection, target.name, field]);
    const byPolicy = under.some(([key, layer]) => layer === 'policy' && (key === path || key.startsWith(`${path}.`) || key.startsWith(`${path}[`)));
    if (fromPolicyOnly) locks[field] = POLICY_ENTRY_REASON(LABEL[target.collection]);
    else if (byPolicy) locks[field] = POLICY_REASON;
  }
  return locks;
}

/** A rate as a person writes it ("12 MiB/s" rather than "12288 KiB/s"); the loader reads it back exactly. */
function rateText(kibps: number): string {
  return kibps % 1024 === 0 ? `${kibps / 1024} MiB/s` : `${kibps} KiB/s`;
}

/** A job's editable fields as they would be written in the file. */
export function jobSettings(job: JobConfig): JobSettings {
  return {
    sources: job.sources,
    excludes: job.excludes,
    streams: job.streams,
    profile: job.profile,
    ...(job.uploadLimitKiBps === undefined ? {} : { bandwidthLimit: rateText(job.uploadLimitKiBps) }),
  };
}

/**
 * Checks a patch that arrived from outside: known keys only, each editable and not locked.
 * Value types are judged by the config schema, which words every message.
 */
export function checkPatch(patch: Readonly<Record<string, unknown>>, job: string, locks: FieldLocks): EditProblem | undefined {
  return checkPatchFor(patch, jobTarget(job), locks);
}

export function checkPatchFor(patch: Readonly<Record<string, unknown>>, target: EditTarget, locks: Readonly<Record<string, string>>): EditProblem | undefined {
  for (const key of Object.keys(patch)) {
    const field = formatPath([target.collection, target.name, key]);
    const notEditable = Object.hasOwn(target.notEditable, key) ? target.notEditable[key] : undefined;
    if (notEditable !== undefined) {
      return { code: 'config.not-editable', field: key, message: `${field} can't be changed here: ${notEditable}`, hint: `Edit ${key} in the config file; the agent reloads it.` };
    }
    if (!target.editable.includes(key)) {
      return { code: 'config.not-editable', field: key, message: `${field} is not a field that can be changed here`, hint: `Editable fields: ${target.editable.join(', ')}.` };
    }
    const locked = Object.hasOwn(locks, key) ? locks[key] : undefined;
    if (locked !== undefined) {
      return { code: 'config.locked', field: key, message: `${field} is ${locked}`, hint: 'Leave this field as it is; the managed policy decides it (docs/policy.md).' };
    }
  }
  return undefined;
}

/**
 * Applies `patch` to job `job` of the config file: lock check, byte-preserving edit, validation of
 * the whole result, a copy of the file as it was, atomic write. Never rejects for bad input: every
 * refusal is an {@link EditProblem}.
 */
export function editJob(request: EditJobRequest): Promise<EditResult> {
  return editEntry(request, jobTarget(request.job));
}

/** {@link editJob} for any entry: `target` says which and what may change. */
export async function editEntry(request: Omit<EditJobRequest, 'job'>, target: EditTarget): Promise<EditResult> {
  const { patch } = request;
  const refused = checkPatchFor(patch, target, lockedFieldsOf(request.origins, target));
  if (refused !== undefined) return { ok: false, problem: refused };

  const file = await realpath(request.file).catch(() => request.file); // edit the target of a symlink, keep the link
  const version = await stat(file).catch(() => undefined);
  const read = await readConfigFile(file);
  if (!read.ok) return { ok: false, problem: { code: 'config.unreadable', message: read.issue.message, hint: 'Fix the file, then try again.' } };
  const before = read.text;

  const edited = applyPatchTo(before, target, patch);
  if (!edited.ok) return { ok: false, problem: edited.problem };

  const loaded = parseConfigText(edited.text, file, request.policy);
  if (!loaded.ok) return { ok: false, problem: invalidProblem(loaded.errors, target, patch) };

  if (edited.text !== before) {
    if (request.backup !== undefined) {
      try {
        await keepBackup(file, before, request.backup);
      } catch (error) {
        const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
        return { ok: false, problem: { code: 'config.unwritable', message: `can't keep a copy of ${file} in ${request.backup.dir} before changing it (${code})`, hint: `Nothing was saved. The agent needs write access to ${request.backup.dir}.` } };
      }
    }
    let outcome: 'written' | 'changed';
    try {
      outcome = await writeAtomically(file, edited.text, version);
    } catch (error) {
      const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
      return { ok: false, problem: { code: 'config.unwritable', message: `can't write ${file} (${code})`, hint: `The agent writes a temporary file next to it and renames it over the file: it needs write access to ${dirname(file)}.` } };
    }
    if (outcome === 'changed') {
      return { ok: false, problem: { code: 'config.changed', message: `${file} was changed by someone else while saving`, hint: 'Nothing was saved; reload the page and make the change again.' } };
    }
  }
  return { ok: true, loaded };
}

function invalidProblem(errors: readonly ConfigIssue[], target: EditTarget, patch: Readonly<Record<string, unknown>>): EditProblem {
  for (const field of Object.keys(patch)) {
    const path = formatPath([target.collection, target.name, field]);
    const issue = errors.find((e) => e.path === path || e.path.startsWith(`${path}[`) || e.path.startsWith(`${path}.`));
    if (issue !== undefined) return { code: 'config.invalid-value', field, message: `${issue.path}: ${issue.message}`, hint: `${target.hints[field] ?? ''} Nothing was saved.`.trimStart() };
  }
  // The problem is elsewhere: the file was changed by hand and is invalid on its own.
  const described = errors.slice(0, 3).map((e) => `${e.path === '' ? '' : `${e.path}: `}${e.message}${e.line === undefined ? '' : ` (line ${e.line})`}`);
  return { code: 'config.invalid', message: `the config file has errors: ${described.join('; ')}`, hint: 'Fix the config file first; nothing was saved.' };
}

type Applied = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly problem: EditProblem };

/** One replacement in the original text (offsets into it). */
interface Splice {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/**
 * The new file text. The change is made with yaml's Document API (setIn/deleteIn) — that is the
 * meaning — and then written as splices of the original text at the changed nodes, so everything
 * else stays byte for byte (yaml's own printer normalises spacing, comments and list indentation).
 * When a splice can't be placed (flow-style job mappings, anchors), or its result would not mean the
 * same as the Document, yaml prints the whole document: comments kept, layout normalised.
 */
export function applyPatch(text: string, job: string, patch: JobPatch | Readonly<Record<string, unknown>>): Applied {
  return applyPatchTo(text, jobTarget(job), patch);
}

/** {@link applyPatch} for any entry of `jobs` or `profiles`. */
export function applyPatchTo(text: string, target: Pick<EditTarget, 'collection' | 'name' | 'editable'>, patch: Readonly<Record<string, unknown>>): Applied {
  const { collection, name: job } = target;
  const doc = parseDocument(text, { keepSourceTokens: false });
  const jobNode: unknown = doc.getIn([collection, job], true);
  if (!isMap(jobNode)) {
    const label = LABEL[collection];
    return { ok: false, problem: { code: `config.unknown-${label}`, message: `there is no ${label} "${job}" in the config file`, hint: 'Reload the page: the file may have been changed by hand.' } };
  }
  const splices: Splice[] = [];
  // Offsets are into the original text: place insertions after the original pairs, not the edited ones.
  const originalPairs = [...jobNode.items];
  let spliceable = !jobNode.flow && jobNode.items.length > 0;
  for (const field of target.editable) {
    if (!Object.hasOwn(patch, field)) continue;
    const value: unknown = patch[field];
    if (value === undefined) continue;
    const pair = originalPairs.find((p) => isScalar(p.key) && p.key.value === field);
    const old: unknown = pair?.value;
    if (isNode(old) && old.anchor !== undefined) {
      return { ok: false, problem: { code: 'config.not-editable', field, message: `${formatPath([collection, job, field])} is a YAML anchor (&${old.anchor}) other parts of the file may refer to`, hint: 'Change it in the config file.' } };
    }
    if (spliceable) {
      const splice = value === null ? removal(text, pair) : pair === undefined ? insertion(text, doc, originalPairs, field, value) : replacement(text, doc, pair, value);
      if (splice === undefined) spliceable = false;
      else if (splice !== 'none') splices.push(splice);
    }
    if (value === null) doc.deleteIn([collection, job, field]);
    else doc.setIn([collection, job, field], doc.createNode(value));
  }
  if (spliceable) {
    let out = text;
    // Last first, so earlier offsets stay valid; ties (two insertions at one place) keep patch order.
    const ordered = splices.map((s, i) => ({ s, i })).sort((a, b) => b.s.start - a.s.start || b.i - a.i);
    for (const { s } of ordered) out = out.slice(0, s.start) + s.text + out.slice(s.end);
    if (sameMeaning(out, doc)) return { ok: true, text: out };
  }
  return { ok: true, text: doc.toString({ lineWidth: 0 }) };
}

function sameMeaning(text: string, doc: Document): boolean {
  const reparsed = parseDocument(text);
  if (reparsed.errors.length > 0) return false;
  return isDeepStrictEqual(reparsed.toJS(), doc.toJS());
}

/** The file's line ending: a file written on Windows keeps its CRLF in the lines we add. */
function eolOf(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** The whitespace before `offset` on its line, or undefined when something else precedes it there. */
function indentBefore(text: string, offset: number): string | undefined {
  const prefix = text.slice(lineStart(text, offset), offset);
  return /^[ ]*$/.test(prefix) ? prefix : undefined;
}

/** Just after the end of the line that holds `offset - 1` (a value's last character, or its newline). */
function afterLine(text: string, end: number): number {
  if (end > 0 && text[end - 1] === '\n') return end;
  const newline = text.indexOf('\n', end);
  return newline < 0 ? text.length : newline + 1;
}

function rangeOf(node: unknown): readonly [number, number, number] | undefined {
  return isNode(node) && node.range != null ? node.range : undefined;
}

/** A scalar that fits on one line; a string keeps the old value's quoting style when it can. */
function scalarNode(doc: Document, value: unknown, old: unknown): Scalar {
  const node = doc.createNode(value) as Scalar;
  if (typeof value === 'string') {
    if (/[\p{Cc}\u2028\u2029]/u.test(value)) node.type = Scalar.QUOTE_DOUBLE;
    else if (isScalar(old) && typeof old.value === 'string' && old.type !== undefined && old.type !== Scalar.BLOCK_FOLDED && old.type !== Scalar.BLOCK_LITERAL) node.type = old.type;
  }
  return node;
}

function render(node: Node): string {
  return new Document(node).toString({ lineWidth: 0, flowCollectionPadding: false }).replace(/\n$/, '');
}

/** A value written inline after `key: ` (a scalar, or a list in flow style `[a, b]`). */
function inline(doc: Document, value: unknown, old: unknown): string | undefined {
  if (Array.isArray(value)) {
    const items: unknown[] = value;
    const oldItems = isSeq(old) ? old.items : [];
    const seq = new YAMLSeq<Scalar>(doc.schema);
    seq.flow = true;
    items.forEach((item, i) => { seq.items.push(scalarNode(doc, item, oldItems[i])); });
    return render(seq);
  }
  if (value !== null && typeof value === 'object') return undefined;
  const out = render(scalarNode(doc, value, old));
  return out.includes('\n') ? undefined : out;
}

function replacement(text: string, doc: Document, pair: Pair, value: unknown): Splice | undefined {
  const old = pair.value;
  const range = rangeOf(old);
  if (range === undefined || isAlias(old)) return undefined;
  const [start, end] = range;
  if (isSeq(old) && !old.flow && Array.isArray(value) && value.length > 0) {
    // A block list stays a block list with the same indentation: "- a\n<indent>- b\n".
    const indent = indentBefore(text, start);
    if (indent === undefined) return undefined;
    const items: unknown[] = value;
    const lines = items.map((item, i) => inline(doc, item, old.items[i]));
    if (lines.some((l) => l === undefined)) return undefined;
    const eol = eolOf(text);
    const tail = text[end - 1] === '\n' ? eol : '';
    return { start, end, text: `${lines.map((l, i) => `${i === 0 ? '' : indent}- ${l ?? ''}`).join(eol)}${tail}` };
  }
  const written = inline(doc, value, old);
  if (written === undefined) return undefined;
  if (isSeq(old) && !old.flow) {
    // A block list becomes "[]" (or a scalar): it starts on the line after its key, so the key's line gets it.
    const keyEnd = rangeOf(pair.key)?.[1];
    if (keyEnd === undefined) return undefined;
    return { start: keyEnd, end, text: `: ${written}${text[end - 1] === '\n' ? eolOf(text) : ''}` };
  }
  return { start, end, text: written };
}

function insertion(text: string, doc: Document, pairs: readonly Pair[], field: string, value: unknown): Splice | undefined {
  const first = pairs[0];
  const keyStart = rangeOf(first?.key)?.[0];
  if (keyStart === undefined) return undefined;
  const indent = indentBefore(text, keyStart);
  if (indent === undefined) return undefined;
  const ends = pairs.map((p) => rangeOf(p.value)?.[1] ?? rangeOf(p.key)?.[1] ?? -1);
  const lastEnd = Math.max(...ends);
  if (lastEnd < 0) return undefined;
  const written = inline(doc, value, undefined);
  if (written === undefined) return undefined;
  const at = afterLine(text, lastEnd);
  const eol = eolOf(text);
  const newlineFirst = at === text.length && !text.endsWith('\n') ? eol : '';
  return { start: at, end: at, text: `${newlineFirst}${indent}${field}: ${written}${eol}` };
}

/** Removes the key's lines (the key, its value, an inline comment); 'none' when there is no key. */
function removal(text: string, pair: Pair | undefined): Splice | 'none' | undefined {
  if (pair === undefined) return 'none';
  const keyStart = rangeOf(pair.key)?.[0];
  const valueEnd = rangeOf(pair.value)?.[1] ?? rangeOf(pair.key)?.[1];
  if (keyStart === undefined || valueEnd === undefined || indentBefore(text, keyStart) === undefined) return undefined;
  return { start: lineStart(text, keyStart), end: afterLine(text, valueEnd), text: '' };
}

/** What identifies the version of a file that was read: a hand edit since then changes one of these. */
export interface FileVersion {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * Write `text` to `file` atomically: a temp file in the same directory with the original's mode
 * (and owner, when running as root), flushed to disk, then renamed over the original. With
 * `unchangedSince`, gives up ('changed') when the file is no longer that version just before the
 * rename, so a hand edit made meanwhile is not overwritten.
 */
export async function writeAtomically(file: string, text: string, unchangedSince?: FileVersion): Promise<'written' | 'changed'> {
  const original = await stat(file).catch(() => undefined);
  const mode = original === undefined ? 0o600 : original.mode & 0o7777;
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.chmod(mode); // open's mode is masked by the umask
    if (original !== undefined && process.getuid?.() === 0) await handle.chown(original.uid, original.gid);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    if (unchangedSince !== undefined) {
      const now = await stat(file);
      if (now.ino !== unchangedSince.ino || now.size !== unchangedSince.size || now.mtimeMs !== unchangedSince.mtimeMs) {
        await rm(tmp, { force: true });
        return 'changed';
      }
    }
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  return 'written';
}
