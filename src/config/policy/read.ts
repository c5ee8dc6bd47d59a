/**
 * One entry point for the managed policy, whatever the OS keeps it in: `policyLocation` picks the
 * place from a plain host description, `readPolicy` reads and validates it. "No policy" is a
 * normal state (most machines have none); a policy that can't be read or is invalid is reported
 * with every problem, never half-applied.
 */
import { stat } from 'node:fs/promises';
import { posix, win32 } from 'node:path';
import type { CommandRunner } from '../../os/command.js';
import type { HostDescription } from '../../os/paths.js';
import type { ConfigIssue } from '../issues.js';
import { locate } from '../issues.js';
import { parseStrictYaml, readConfigFile } from '../load.js';
import { validatePolicyData, type LoadedPolicy } from './format.js';
import { MANAGED_PREFERENCES_FILE, readManagedPreferences } from './managed-preferences.js';
import { POLICY_REGISTRY_KEY, readRegistryPolicy } from './registry.js';

/** Where the policy lives. */
export type PolicyLocation =
  /** `adminOnly`: the file must be owned by root and writable by nobody else (the OS location). */
  | { readonly kind: 'yaml'; readonly file: string; readonly adminOnly?: boolean }
  | { readonly kind: 'registry'; readonly key: string }
  | { readonly kind: 'managed-preferences'; readonly file: string };

export const LINUX_POLICY_FILE = '/etc/backhaul/policy.yaml';

/**
 * Where this host's policy is. With `BACKHAUL_HOME` (development, tests, portable installs) it is
 * `$BACKHAUL_HOME/policy.yaml` on every OS, as everything else moves there too. A user who sets
 * BACKHAUL_HOME escapes the OS policy — but only for an agent running as themselves, which they
 * could replace anyway; the system service's environment is the administrator's.
 */
export function policyLocation(host: HostDescription): PolicyLocation {
  const home = Object.entries(host.env).find(([k]) => (host.platform === 'win32' ? k.toUpperCase() : k) === 'BACKHAUL_HOME')?.[1];
  if (home !== undefined && home !== '') {
    const path = host.platform === 'win32' ? win32 : posix;
    return { kind: 'yaml', file: path.join(home, 'policy.yaml') };
  }
  switch (host.platform) {
    case 'win32':
      return { kind: 'registry', key: POLICY_REGISTRY_KEY };
    case 'darwin':
      return { kind: 'managed-preferences', file: MANAGED_PREFERENCES_FILE };
    default:
      return { kind: 'yaml', file: LINUX_POLICY_FILE, adminOnly: true };
  }
}

/** The name of a location, as messages show it. */
export function describeLocation(location: PolicyLocation): string {
  return location.kind === 'registry' ? location.key : location.file;
}

/** What reading the policy found. */
export type PolicyRead =
  | { readonly state: 'absent'; readonly source: string }
  | { readonly state: 'valid'; readonly loaded: LoadedPolicy }
  | { readonly state: 'invalid'; readonly source: string; readonly errors: readonly ConfigIssue[] };

/** Reads and validates the policy at `location`. Never rejects for a bad or missing policy. */
export async function readPolicy(location: PolicyLocation, runner: CommandRunner): Promise<PolicyRead> {
  const source = describeLocation(location);
  const invalid = (errors: readonly ConfigIssue[]): PolicyRead => ({ state: 'invalid', source, errors });
  try {
    switch (location.kind) {
      case 'yaml':
        return await readYamlPolicy(location.file, location.adminOnly === true);
      case 'registry': {
        const read = await readRegistryPolicy(runner);
        if (read.state === 'absent') return { state: 'absent', source };
        if (read.state === 'unreadable') return invalid(read.errors);
        return fromData(read.data, source);
      }
      case 'managed-preferences': {
        const read = await readManagedPreferences(runner, location.file);
        if (read.state === 'absent') return { state: 'absent', source };
        if (read.state === 'unreadable') return invalid(read.errors);
        return fromData(read.data, source);
      }
    }
  } catch (error) {
    // The reader's command could not run at all (reg/plutil missing, timed out).
    const why = error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error);
    return invalid([{ path: '', source, message: `can't read the managed policy: ${why}` }]);
  }
}

function fromData(data: unknown, source: string): PolicyRead {
  const checked = validatePolicyData(data, source);
  return checked.ok ? { state: 'valid', loaded: { source, policy: checked.policy } } : { state: 'invalid', source, errors: checked.errors };
}

/** The YAML policy file: parsed as strictly as a config file, positions on every problem. */
export async function readYamlPolicy(file: string, adminOnly = false): Promise<PolicyRead> {
  const info = await stat(file).catch((error: unknown) => (typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT' ? 'missing' : undefined));
  if (info === 'missing') return { state: 'absent', source: file };
  // A policy users can write is no policy: they could lift every lock. Refused, so the last good one holds.
  if (adminOnly && info !== undefined && (info.uid !== 0 || (info.mode & 0o022) !== 0)) {
    return { state: 'invalid', source: file, errors: [{ path: '', source: file, message: `${file} must be owned by root and writable only by root (it is owned by uid ${info.uid}, mode ${(info.mode & 0o777).toString(8)}); run: chown root:root ${file} && chmod 644 ${file}` }] };
  }
  const read = await readConfigFile(file);
  if (!read.ok) {
    return { state: 'invalid', source: file, errors: [{ ...read.issue, message: read.issue.message.replace('config file', 'policy file'), source: file }] };
  }
  return parseYamlPolicy(read.text, file);
}

/** Policy YAML text, validated. */
export function parseYamlPolicy(text: string, file: string): PolicyRead {
  const parsed = parseStrictYaml(text, file);
  if (!parsed.ok) return { state: 'invalid', source: file, errors: parsed.errors.map((e) => ({ ...e, source: file })) };
  const checked = validatePolicyData(parsed.data, file, (path, anchor) => locate(parsed.source, path, anchor));
  return checked.ok ? { state: 'valid', loaded: { source: file, policy: checked.policy } } : { state: 'invalid', source: file, errors: checked.errors };
}
