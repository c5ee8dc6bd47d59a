/**
 * The Windows policy source: `HKLM\SOFTWARE\Policies\Backhaul`, where Group Policy (the ADMX
 * templates in resources/policy/windows) and Intune write. Read with `reg query … /s` through the
 * CommandRunner, whose output is (learn.microsoft.com, "reg query"): each key's full path flush left
 * after a blank line, then one line per value, indented four spaces, `NAME    TYPE    DATA`, fields
 * separated by four spaces; REG_DWORD data as `0x…` hex, REG_MULTI_SZ items joined by a literal `\0`,
 * the unnamed value as `(Default)`.
 *
 * Whether the key exists at all is read from its parent's listing (see readRegistryPolicy).
 *
 * Layout (keys and value names match the YAML policy's keys, case-insensitively, as the registry
 * itself compares names):
 *
 * ```
 * HKLM\SOFTWARE\Policies\Backhaul                      RequireCertificateAuth, AllowLegacyCiphers (REG_DWORD 0/1)
 * HKLM\SOFTWARE\Policies\Backhaul\Limits\Streams       Min, Max (REG_DWORD)
 * HKLM\SOFTWARE\Policies\Backhaul\Config\Settings      resticPath (REG_SZ) …
 * HKLM\SOFTWARE\Policies\Backhaul\Config\Jobs\nightly  sources (REG_MULTI_SZ), streams (REG_DWORD) …
 * HKLM\SOFTWARE\Policies\Backhaul\Config\Profiles\office\Auth   method (REG_SZ) …
 * ```
 *
 * A value's registry type says how to read its data; the schema says what the key holds (a
 * REG_DWORD is a boolean for `mirror`, a number for `streams`). A mismatch is left for the policy
 * validator, which names the key and what it expects.
 */
import type { CommandRunner } from '../../os/command.js';
import type { ConfigIssue } from '../issues.js';
import { formatPath } from '../path.js';
import { POLICY_KEYS } from './format.js';
import { LIMITS } from './limits.js';
import { kindOf, schemaAt } from './schema-walk.js';

/** Where Backhaul's policy lives in the registry (HKLM only: a user can't write there). */
export const POLICY_REGISTRY_KEY = 'HKLM\\SOFTWARE\\Policies\\Backhaul';
const FULL_ROOT = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Backhaul';

export interface RegistryValue {
  readonly type: string;
  /** As reg query prints it. */
  readonly data: string;
}

/** One registry key: its values and subkeys by name (names as stored; lookups ignore case). */
export interface RegistryKey {
  readonly values: Map<string, RegistryValue>;
  readonly subkeys: Map<string, RegistryKey>;
}

const emptyKey = (): RegistryKey => ({ values: new Map(), subkeys: new Map() });

function child(key: RegistryKey, name: string): RegistryKey {
  const existing = [...key.subkeys].find(([n]) => n.toLowerCase() === name.toLowerCase());
  if (existing !== undefined) return existing[1];
  const created = emptyKey();
  key.subkeys.set(name, created);
  return created;
}

/**
 * The tree under `root` from `reg query ROOT /s` output. Keys outside `root` are ignored (there are
 * none in real output); a line that is neither a key nor a value is an error — the format changed.
 */
export function parseRegQuery(stdout: string, root: string = FULL_ROOT): { tree: RegistryKey; errors: string[] } {
  const tree = emptyKey();
  const errors: string[] = [];
  const rootLower = root.toLowerCase();
  let current: RegistryKey | undefined;
  for (const [index, raw] of stdout.split(/\r?\n/).entries()) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const trimmed = line.trim();
    if (/^HKEY_[A-Z_]+(\\|$)/.test(trimmed)) {
      const lower = trimmed.toLowerCase();
      if (lower !== rootLower && !lower.startsWith(`${rootLower}\\`)) {
        current = undefined;
        continue;
      }
      const rest = trimmed.slice(root.length).split('\\').filter((s) => s !== '');
      current = rest.reduce(child, tree);
      continue;
    }
    if (/^End of search:/i.test(trimmed)) continue;
    const value = /^ {4}(.+?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/.exec(line);
    if (value === null || current === undefined) {
      errors.push(`line ${index + 1} of the reg query output is neither a key nor a value`);
      continue;
    }
    current.values.set(value[1] ?? '', { type: value[2] ?? '', data: value[3] ?? '' });
  }
  return { tree, errors };
}

/** Converts a registry tree into policy data (the YAML policy's shape), and what could not be read. */
export function registryToPolicyData(tree: RegistryKey): { data: Record<string, unknown>; errors: ConfigIssue[] } {
  const errors: ConfigIssue[] = [];
  const where = (path: readonly (string | number)[], valueName?: string): string =>
    `${POLICY_REGISTRY_KEY}${path.length > 0 ? `\\${path.join('\\')}` : ''}${valueName === undefined ? '' : ` value ${valueName}`}`;
  const data: Record<string, unknown> = {};

  for (const [name, value] of tree.values) {
    const key = canonical(name, POLICY_KEYS);
    data[key] = key === 'requireCertificateAuth' || key === 'allowLegacyCiphers' ? readValue(value, 'boolean', [key], where([], name), errors) : readValue(value, 'plain', [key], where([], name), errors);
  }
  for (const [name, sub] of tree.subkeys) {
    const key = canonical(name, POLICY_KEYS);
    if (key === 'config') data[key] = convertUnder(sub, [], [name], where, errors);
    else if (key === 'limits') data[key] = plainTree(sub, [name], where, errors, (n) => n.toLowerCase() === 'min' || n.toLowerCase() === 'max' ? n.toLowerCase() : n, LIMITS.map((l) => l.key));
    else data[key] = plainTree(sub, [name], where, errors);
  }
  return { data, errors };
}

/** `name` spelt as one of `known` when it matches ignoring case, else as written (the validator names it). */
function canonical(name: string, known: readonly string[]): string {
  return known.find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
}

type Want = 'boolean' | 'number' | 'list' | 'plain';

function readValue(value: RegistryValue, want: Want, path: readonly (string | number)[], at: string, errors: ConfigIssue[]): unknown {
  const issue = (message: string): void => {
    errors.push({ path: formatPath(path), message, source: at });
  };
  switch (value.type) {
    case 'REG_DWORD': {
      if (!/^0x[0-9a-f]{1,8}$/i.test(value.data)) {
        issue(`REG_DWORD data ${JSON.stringify(value.data.slice(0, 20))} is not 0x followed by hex digits`);
        return undefined;
      }
      const n = Number.parseInt(value.data.slice(2), 16);
      if (want === 'boolean' && (n === 0 || n === 1)) return n === 1;
      return n;
    }
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
      if (want === 'list') return value.data === '' ? [] : [value.data];
      return value.data;
    case 'REG_MULTI_SZ':
      return value.data === '' ? [] : value.data.split('\\0');
    default:
      issue(`${value.type} can't hold a Backhaul policy value; use REG_SZ (text), REG_DWORD (numbers, 0/1 for off/on) or REG_MULTI_SZ (lists)`);
      return undefined;
  }
}

/** Under `Config`: names matched to schema keys, values read as the schema's type for that key. */
function convertUnder(
  key: RegistryKey,
  schemaPath: readonly string[],
  regPath: readonly string[],
  where: (path: readonly (string | number)[], valueName?: string) => string,
  errors: ConfigIssue[],
): Record<string, unknown> {
  const schema = schemaAt(schemaPath);
  const kind = schema === undefined ? undefined : kindOf(schema);
  const known = (kind?.kind === 'mapping' || kind?.kind === 'whole') && kind.keys !== undefined ? [...kind.keys.keys()] : [];
  const out: Record<string, unknown> = {};
  for (const [name, value] of key.values) {
    const field = canonical(name, known);
    const fieldSchema = schemaAt([...schemaPath, field]);
    const fieldKind = fieldSchema === undefined ? undefined : kindOf(fieldSchema).kind;
    const want: Want = fieldKind === 'boolean' ? 'boolean' : fieldKind === 'number' ? 'number' : fieldKind === 'list' ? 'list' : 'plain';
    const read = readValue(value, want, ['config', ...schemaPath, field], where(regPath, name), errors);
    if (read !== undefined) out[field] = read;
  }
  for (const [name, sub] of key.subkeys) {
    const field = canonical(name, known);
    out[field] = convertUnder(sub, [...schemaPath, field], [...regPath, name], where, errors);
  }
  return out;
}

/** Outside `Config` (limits, unknown keys): values by their registry type, names lower-cased at the leaves. */
function plainTree(
  key: RegistryKey,
  regPath: readonly string[],
  where: (path: readonly (string | number)[], valueName?: string) => string,
  errors: ConfigIssue[],
  leafName: (name: string) => string = (n) => n,
  subkeyNames: readonly string[] = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of key.values) {
    const read = readValue(value, 'number', [...regPath, name], where(regPath, name), errors);
    if (read !== undefined) out[leafName(name)] = read;
  }
  for (const [name, sub] of key.subkeys) {
    const field = canonical(name, subkeyNames);
    out[field] = plainTree(sub, [...regPath, name], where, errors, leafName);
  }
  return out;
}

/** What reading the registry found. */
export type RegistryRead =
  | { readonly state: 'absent' }
  | { readonly state: 'read'; readonly data: Record<string, unknown> }
  | { readonly state: 'unreadable'; readonly errors: readonly ConfigIssue[] };

/** The parent key, listed first to tell "no policy" from "can't read it" without reading reg's (localised) messages. */
const POLICIES_KEY = 'HKLM\\SOFTWARE\\Policies';

/**
 * Reads the policy key. No key at all is "no policy", not an error: whether it exists is read from
 * the listing of its parent (`reg query HKLM\SOFTWARE\Policies`, one subkey per line), because
 * reg's "unable to find" message is translated on a Windows in another language and would look
 * like any other failure. A key that exists but can't be read is an error.
 */
export async function readRegistryPolicy(runner: CommandRunner): Promise<RegistryRead> {
  const failed = (what: string, stderr: string): RegistryRead => ({
    state: 'unreadable',
    errors: [{ path: '', source: POLICY_REGISTRY_KEY, message: `${what} failed: ${stderr.trim().split(/\r?\n/)[0] ?? ''}; check that the agent runs as SYSTEM or an administrator` }],
  });
  const parent = await runner.run({ argv: ['reg', 'query', POLICIES_KEY], timeoutMs: 15_000, okExitCodes: 'any' });
  if (parent.exitCode !== 0) return failed(`reg query ${POLICIES_KEY}`, parent.stderr);
  const exists = parent.stdout.split(/\r?\n/).some((line) => line.trim().toLowerCase() === FULL_ROOT.toLowerCase());
  if (!exists) return { state: 'absent' };
  const result = await runner.run({ argv: ['reg', 'query', POLICY_REGISTRY_KEY, '/s'], timeoutMs: 15_000, okExitCodes: 'any' });
  if (result.exitCode !== 0) return failed(`reg query ${POLICY_REGISTRY_KEY} /s`, result.stderr);
  const parsed = parseRegQuery(result.stdout);
  const converted = registryToPolicyData(parsed.tree);
  const errors = [...parsed.errors.map((message): ConfigIssue => ({ path: '', message, source: POLICY_REGISTRY_KEY })), ...converted.errors];
  return errors.length > 0 ? { state: 'unreadable', errors } : { state: 'read', data: converted.data };
}
