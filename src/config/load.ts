/**
 * Reading a config file into a validated {@link Config}: size and type checks before parsing, YAML
 * parsed strictly (duplicate keys, aliases bounded), layers merged, then the schema. Bad input of any
 * kind comes back as issues with paths and positions; this module only throws on its own bugs.
 */
import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import { fromZodIssues, locate, positionOf, sortIssues, type ConfigIssue, type SourceMap } from './issues.js';
import { formatPath } from './path.js';
import { builtinDefaults, mergeLayers, type ConfigLayer, type LayerName } from './layers.js';
import { applyPolicyRules } from './policy/rules.js';
import { withoutWholeValuesOf } from './policy/whole-values.js';
import type { LoadedPolicy } from './policy/format.js';
import { validateConfigData, type Config } from './schema.js';

export { formatConfigIssues, type ConfigIssue } from './issues.js';

/** Config files above this size are refused unread: a real config is a few KiB. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** At most this many alias expansions when building data from YAML (stops "billion laughs"). */
export const MAX_YAML_ALIASES = 100;

/** Where a config comes from: a file on disk, or text already in memory (API, tests, stdin). */
export type LoadOptions = ({ readonly file: string } | { readonly text: string; readonly sourceName: string }) & {
  /** The managed policy in force (already validated on its own), merged as the top layer. */
  readonly policy?: LoadedPolicy;
};

/** A usable config plus non-fatal remarks, or the reasons it is not usable. */
export type LoadResult =
  | {
      readonly ok: true;
      readonly config: Config;
      readonly warnings: readonly ConfigIssue[];
      /** Which layer set each leaf (`jobs.nightly.streams` → `user`), for "locked by policy". */
      readonly origins: ReadonlyMap<string, LayerName>;
    }
  | { readonly ok: false; readonly errors: readonly ConfigIssue[] };

const fail = (errors: readonly ConfigIssue[]): LoadResult => ({ ok: false, errors });
const fileIssue = (message: string): ConfigIssue => ({ path: '', message });

/** Load and validate a config from a file or from text. Never rejects for bad input. */
export async function loadConfig(options: LoadOptions): Promise<LoadResult> {
  if ('text' in options) return parseConfigText(options.text, options.sourceName, options.policy);
  const read = await readConfigFile(options.file);
  return read.ok ? parseConfigText(read.text, options.file, options.policy) : fail([read.issue]);
}

/** Result of {@link readConfigFile}. */
export type ReadResult = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly issue: ConfigIssue };

/**
 * Read a config file as UTF-8 text: it must be a regular file no larger than {@link MAX_CONFIG_BYTES}
 * (checked before reading, and again while reading in case it grows).
 */
export async function readConfigFile(file: string): Promise<ReadResult> {
  let info: Stats;
  try {
    info = await stat(file);
  } catch (error) {
    return { ok: false, issue: describeReadError(error, file) };
  }
  if (info.isDirectory()) {
    return {
      ok: false,
      issue: fileIssue(`${file} is a directory, not a config file; expected a YAML file such as ${join(file, 'config.yaml')}`),
    };
  }
  if (!info.isFile()) return { ok: false, issue: fileIssue(`${file} is not a regular file; expected a YAML config file`) };
  if (info.size > MAX_CONFIG_BYTES) return { ok: false, issue: tooLarge(file, info.size) };
  try {
    // O_NONBLOCK: if the path is swapped for a FIFO after the stat, open must not hang.
    const handle = await open(file, constants.O_RDONLY | (process.platform === 'win32' ? 0 : constants.O_NONBLOCK));
    try {
      const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
      let length = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
        if (bytesRead === 0) break;
        length += bytesRead;
        if (length > MAX_CONFIG_BYTES) return { ok: false, issue: tooLarge(file, length) };
      }
      return decodeConfigBytes(buffer.subarray(0, length), file);
    } finally {
      await handle.close();
    }
  } catch (error) {
    return { ok: false, issue: describeReadError(error, file) };
  }
}

function tooLarge(file: string, size: number): ConfigIssue {
  const shown = size >= 1024 * 1024 ? `${(size / (1024 * 1024)).toFixed(1)} MiB` : `${Math.ceil(size / 1024)} KiB`;
  return fileIssue(`${file} is ${shown}; config files are limited to 1 MiB — is this the right file?`);
}

/** Turn a filesystem error into a message that says what to do. */
export function describeReadError(error: unknown, file: string): ConfigIssue {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'UNKNOWN';
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return fileIssue(
        `config file not found: ${file} — create it (an empty file is a valid config; docs/configuration.md has an example)`,
      );
    case 'EACCES':
    case 'EPERM':
      return fileIssue(
        `permission denied reading ${file} — run as the user who owns it, or fix its owner and mode (ls -l ${file})`,
      );
    case 'EISDIR':
      return fileIssue(`${file} is a directory, not a config file; expected a YAML file such as ${join(file, 'config.yaml')}`);
    case 'ELOOP':
      return fileIssue(`${file} is a symbolic link loop; point it at a real file`);
    case 'ENAMETOOLONG':
      return fileIssue(`config file path is too long: ${file.slice(0, 200)}…`);
    default:
      return fileIssue(`cannot read config file ${file} (${code})${isAbsolute(file) ? '' : ' — try an absolute path'}`);
  }
}

/** Decode file bytes as strict UTF-8 (a leading BOM is dropped); binary files are refused. */
export function decodeConfigBytes(bytes: Uint8Array, sourceName: string): ReadResult {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, issue: fileIssue(`${sourceName} is not UTF-8 text; is this a binary file?`) };
  }
  return { ok: true, text };
}

/**
 * Parse and validate config text (YAML; JSON is valid YAML). An empty file is a valid config with no
 * jobs. Synchronous, for callers that already hold the text. With a `policy`, its config is merged
 * over the user's and its rules (certificate auth, legacy ciphers, limits) are applied.
 */
export function parseConfigText(text: string, sourceName: string, policy?: LoadedPolicy): LoadResult {
  const parsed = parseStrictYaml(text, sourceName);
  if (!parsed.ok) return fail(parsed.errors);
  const { data: userData, source } = parsed;

  // The managed policy is the top layer: what it sets wins, and its origin marks the key locked.
  const user = policy === undefined ? (userData ?? {}) : withoutWholeValuesOf(policy.policy.config, userData ?? {});
  const layers: ConfigLayer[] = [builtinDefaults(), { name: 'user', data: user }];
  if (policy !== undefined) layers.push({ name: 'policy', data: policy.policy.config });
  const { data, origins } = mergeLayers(...layers);

  const result = validateConfigData(data);
  if (!result.success) return fail(fromZodIssues(result.issues, data, source).map((issue) => fromPolicy(issue, origins, policy)));
  if (policy === undefined) return { ok: true, config: result.data, warnings: configWarnings(result.data, source), origins };
  const ruled = applyPolicyRules(result.data, origins, policy);
  if (ruled.errors.length > 0) {
    return fail(sortIssues(ruled.errors.map(({ pathParts, ...issue }) => ({ ...issue, ...(locate(source, pathParts) ?? {}) }))));
  }
  return { ok: true, config: ruled.config, warnings: configWarnings(ruled.config, source), origins };
}

/**
 * A problem at a key the policy set is the policy's (its file is named; the user can't fix it). The
 * policy was checked on its own already, so this is rare: a policy job the user file completes badly.
 */
function fromPolicy(issue: ConfigIssue, origins: ReadonlyMap<string, LayerName>, policy: LoadedPolicy | undefined): ConfigIssue {
  if (policy === undefined || origins.get(issue.path) !== 'policy') return issue;
  const { line: _line, column: _column, ...rest } = issue;
  return { ...rest, source: policy.source, message: `${issue.message} (set by your organisation's policy)` };
}

/** Strictly parsed YAML (or JSON) and where each node came from, or the first problem, positioned. */
export type YamlParse =
  | { readonly ok: true; readonly data: unknown; readonly source: SourceMap }
  | { readonly ok: false; readonly errors: readonly ConfigIssue[] };

/**
 * Parse YAML the way config files are parsed: size and NUL checks, duplicate keys and tags refused,
 * aliases bounded. Shared with the managed policy file, which must meet the same bar.
 */
export function parseStrictYaml(text: string, sourceName: string): YamlParse {
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_CONFIG_BYTES) return { ok: false, errors: [tooLarge(sourceName, size)] };

  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const before = text.slice(0, nul);
    const line = before.split('\n').length;
    const column = nul - before.lastIndexOf('\n');
    return {
      ok: false,
      errors: [{ ...fileIssue(`${sourceName} contains a NUL byte; is this a binary file? Config files are YAML text`), line, column }],
    };
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false, // pretty errors quote the source line, which may hold a secret
    stringKeys: true,
    uniqueKeys: true,
    strict: true,
    schema: 'core',
  });
  const source: SourceMap = { doc, lineCounter };
  const syntax = syntaxIssues(doc, lineCounter);
  if (syntax.length > 0) return { ok: false, errors: syntax };

  try {
    return { ok: true, data: doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }), source };
  } catch (error) {
    return { ok: false, errors: [aliasIssue(error, source)] };
  }
}

/** YAML errors (and warnings, which a strict config treats as errors): the first one, positioned. */
function syntaxIssues(doc: Document.Parsed, lineCounter: LineCounter): ConfigIssue[] {
  const problems = [...doc.errors, ...doc.warnings];
  const first = problems[0];
  if (first === undefined) return [];
  const more = problems.length - 1;
  const message = `${yamlMessage(first.code, first.message)}${more > 0 ? ` (fix this first; ${more} more YAML problem${more === 1 ? '' : 's'} reported after it)` : ''}`;
  return [{ ...fileIssue(message), ...positionOf(lineCounter, first.pos[0]) }];
}

/** Friendlier words for common YAML mistakes; otherwise yaml's own first line (never source text). */
function yamlMessage(code: string, message: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'duplicate key: each key may appear only once in a mapping';
    case 'TAB_AS_INDENT':
      return 'YAML syntax: tabs are not allowed for indentation; use spaces';
    case 'MULTIPLE_DOCS':
      return 'contains more than one YAML document (a second "---"); keep the whole config in one document';
    case 'NON_STRING_KEY':
      return 'keys must be plain strings, not lists or mappings';
    case 'TAG_RESOLVE_FAILED':
      return `YAML tags are not supported in config files (${message.split('\n')[0] ?? ''})`;
    default:
      return `YAML syntax: ${message.split('\n')[0] ?? message}`;
  }
}

function aliasIssue(error: unknown, source: SourceMap): ConfigIssue {
  const text = error instanceof Error ? (error.message.split('\n')[0] ?? '') : 'invalid alias';
  const excessive = /excessive alias count/i.test(text);
  const message = excessive
    ? `too many YAML alias expansions (more than ${MAX_YAML_ALIASES}); refusing a possible alias bomb — write the values out or use fewer aliases`
    : `YAML alias problem: ${text}`;
  let offset: number | undefined;
  // Point at the first alias: the best guess at where the problem starts.
  visit(source.doc, {
    Alias(_key, node) {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset === undefined ? fileIssue(message) : { ...fileIssue(message), ...positionOf(source.lineCounter, offset) };
}

/** Valid but probably not what the user wants. */
function configWarnings(config: Config, source: SourceMap): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  const warn = (path: (string | number)[], message: string, anchor: 'key' | 'value' = 'value'): void => {
    const at = locate(source, path, anchor);
    warnings.push({ path: formatPath(path), message, ...(at ?? {}) });
  };
  const used = new Set(Object.values(config.jobs).map((job) => job.profile));
  for (const name of Object.keys(config.profiles)) {
    if (!used.has(name)) warn(['profiles', name], 'not used by any job', 'key');
  }
  for (const [name, job] of Object.entries(config.jobs)) {
    if (/^[a-z0-9+.-]+:(?:[a-z0-9+.-]+:)?\/\/[^/@\s]*:[^/@\s]*@/i.test(job.repository)) {
      warn(
        ['jobs', name, 'repository'],
        'the URL embeds a password; it would show up in process lists and logs — remove it from the URL and give credentials to the repository server another way',
      );
    }
  }
  return sortIssues(warnings);
}
