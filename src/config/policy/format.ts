/**
 * What a managed policy may say, and the check of a policy on its own (before it meets any user
 * config). The same shape comes from every source — `/etc/backhaul/policy.yaml`, the Windows
 * registry, macOS managed preferences — so one validator judges all three:
 *
 * ```yaml
 * config:                       # any part of a config file; every key set here is locked
 *   jobs: { nightly: { streams: 2 } }
 * requireCertificateAuth: true  # a profile with method: psk is refused
 * allowLegacyCiphers: false     # cipherPolicy: legacy is refused (the default)
 * limits:
 *   streams: { min: 1, max: 8 } # a job's streams must lie in the range
 * ```
 *
 * Nothing is silently ignored: an unknown key, a value of the wrong type or a contradiction inside
 * the policy is an error naming the key, so an administrator's typo never becomes "no policy".
 */
import { z } from 'zod';
import { checkProposals, type WeakAlgorithm } from '../../connect/cipher-policy.js';
import type { ConfigIssue } from '../issues.js';
import { formatPath } from '../path.js';
import { describeKind, NAME_PATTERN, showValue } from '../schema.js';
import { closestMatch } from '../suggest.js';
import { LIMITS, limitSpec, showRange, type LimitedKey } from './limits.js';
import { kindOf, schemaAt } from './schema-walk.js';

export interface Range {
  readonly min: number;
  readonly max: number;
}

/** A validated policy. `config` is raw config data (as in a config file), merged as the top layer. */
export interface Policy {
  readonly config: Readonly<Record<string, unknown>>;
  readonly requireCertificateAuth: boolean;
  readonly allowLegacyCiphers: boolean;
  /** By {@link LIMITS} key; numbers in the limit's unit (a count, or ms for delays). */
  readonly limits: Readonly<Partial<Record<LimitedKey, Range>>>;
}

/** A policy and where it came from (a file, a registry key), for messages. */
export interface LoadedPolicy {
  readonly source: string;
  readonly policy: Policy;
}

/** The policy's own top-level keys. `version` is accepted for symmetry with config files. */
export const POLICY_KEYS = ['version', 'config', 'requireCertificateAuth', 'allowLegacyCiphers', 'limits'] as const;

/** Algorithms no policy may push to a fleet, even with allowLegacyCiphers (broken, not merely old). */
const NEVER_FROM_POLICY = new Set(['md5', 'md5_128', 'prfmd5', 'des', 'null']);

/** Where a policy path is in its source (line and column in a YAML file), when it can be told. */
export type Locator = (path: readonly (string | number)[], anchor: 'key' | 'value') => { line: number; column: number } | undefined;

export type PolicyValidation =
  | { readonly ok: true; readonly policy: Policy }
  | { readonly ok: false; readonly errors: readonly ConfigIssue[] };

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

/** Messages for the few zod issues a leaf schema does not word itself (never quoting the value). */
function leafFallback(issue: z.core.$ZodRawIssue): string {
  if (issue.code === 'invalid_type') return issue.input === undefined ? 'required' : `has the wrong type (got ${describeKind(issue.input)})`;
  return 'is not valid here; docs/configuration.md lists what each key takes';
}

class Collector {
  readonly errors: ConfigIssue[] = [];
  constructor(private readonly source: string, private readonly locate: Locator) {}
  add(path: readonly (string | number)[], message: string, anchor: 'key' | 'value' = 'value'): void {
    const at = this.locate(path, anchor);
    this.errors.push({ path: formatPath(path), message, source: this.source, ...(at ?? {}) });
  }
}

/**
 * Judge policy data (parsed YAML, converted registry values or plist data). `source` names it in
 * every issue; `locate` adds line and column where the source has them.
 */
export function validatePolicyData(data: unknown, source: string, locate: Locator = () => undefined): PolicyValidation {
  const out = new Collector(source, locate);
  const root = data === null || data === undefined ? {} : data;
  if (!isMapping(root)) {
    out.add([], `a policy is a mapping with ${POLICY_KEYS.filter((k) => k !== 'version').join(', ')}; got ${describeKind(root)}`);
    return { ok: false, errors: out.errors };
  }
  for (const key of Object.keys(root)) {
    if (!(POLICY_KEYS as readonly string[]).includes(key)) {
      const guess = closestMatch(key, POLICY_KEYS);
      out.add([key], `unknown policy key${guess === undefined ? `; valid keys: ${POLICY_KEYS.join(', ')}` : ` — did you mean "${guess}"?`} (config keys go under "config:")`, 'key');
    }
  }
  if (root['version'] !== undefined && root['version'] !== 1) out.add(['version'], `only version 1 is supported, got ${showValue(root['version'])}`);
  const flag = (key: 'requireCertificateAuth' | 'allowLegacyCiphers'): boolean => {
    const value = root[key];
    if (value === undefined) return false;
    if (typeof value === 'boolean') return value;
    out.add([key], `expected true or false, got ${showValue(value)}`);
    return false;
  };
  const requireCertificateAuth = flag('requireCertificateAuth');
  const allowLegacyCiphers = flag('allowLegacyCiphers');
  const limits = checkLimits(root['limits'], out);
  const config = root['config'] === undefined || root['config'] === null ? {} : root['config'];
  if (!isMapping(config)) {
    out.add(['config'], `expected a mapping shaped like a config file (jobs, profiles, settings), got ${describeKind(config)}`);
  } else {
    checkSubtree(config, [], out);
    checkRulesAgainstOwnConfig(config, { requireCertificateAuth, allowLegacyCiphers, limits }, out);
  }
  if (out.errors.length > 0) return { ok: false, errors: out.errors };
  return { ok: true, policy: { config: isMapping(config) ? config : {}, requireCertificateAuth, allowLegacyCiphers, limits } };
}

function checkLimits(value: unknown, out: Collector): Partial<Record<LimitedKey, Range>> {
  const limits: Partial<Record<LimitedKey, Range>> = {};
  if (value === undefined || value === null) return limits;
  const known = LIMITS.map((l) => l.key);
  if (!isMapping(value)) {
    out.add(['limits'], `expected a mapping such as { streams: { min: 1, max: 8 } }, got ${describeKind(value)}`);
    return limits;
  }
  for (const [key, range] of Object.entries(value)) {
    const spec = limitSpec(key);
    if (spec === undefined) {
      const guess = closestMatch(key, known);
      out.add(['limits', key], `unknown limit${guess === undefined ? '' : ` — did you mean "${guess}"?`}; limits can be set for: ${known.join(', ')}`, 'key');
      continue;
    }
    if (!isMapping(range)) {
      out.add(['limits', key], `expected ${spec.example}, got ${describeKind(range)}`);
      continue;
    }
    let ok = true;
    for (const bound of Object.keys(range)) {
      if (bound !== 'min' && bound !== 'max') {
        out.add(['limits', key, bound], 'unknown key; a limit has min and max', 'key');
        ok = false;
      }
    }
    const bounds: { min?: number; max?: number } = {};
    for (const bound of ['min', 'max'] as const) {
      const given = range[bound];
      const n = given === undefined ? (bound === 'min' ? spec.lowest : spec.highest) : spec.parse(given);
      if (n === undefined || n < spec.lowest || n > spec.highest) {
        const what = spec.unit === 'count' ? `a whole number ${spec.lowest}–${spec.highest}` : `a delay such as "15m" between ${String(spec.format(spec.lowest))} and ${String(spec.format(spec.highest))}`;
        out.add(['limits', key, bound], `must be ${what} (the range jobs.<name>.${spec.path.join('.')} allows), got ${showValue(given)}`);
      } else {
        bounds[bound] = n;
      }
    }
    if (!ok || bounds.min === undefined || bounds.max === undefined) continue;
    if (bounds.min > bounds.max) {
      out.add(['limits', key], `min (${String(spec.format(bounds.min))}) is above max (${String(spec.format(bounds.max))}); swap them`);
      continue;
    }
    limits[spec.key as LimitedKey] = { min: bounds.min, max: bounds.max };
  }
  return limits;
}

/**
 * Every key the policy sets must be a config key, every value one the schema accepts there. A
 * partial job or profile is fine (the user file or the defaults fill the rest); the merged config
 * is validated as a whole afterwards.
 */
function checkSubtree(value: unknown, path: readonly string[], out: Collector): void {
  const schema = schemaAt(path);
  if (schema === undefined) return;
  const kind = kindOf(schema);
  const policyPath = ['config', ...path];
  if (kind.kind === 'mapping' || kind.kind === 'collection') {
    const mapping = value === null ? {} : value;
    if (!isMapping(mapping)) {
      out.add(policyPath, `expected a mapping, got ${describeKind(mapping)}`);
      return;
    }
    for (const [key, child] of Object.entries(mapping)) {
      if (kind.kind === 'mapping' && !kind.keys.has(key)) {
        const valid = [...kind.keys.keys()];
        const guess = closestMatch(key, valid);
        out.add([...policyPath, key], guess === undefined ? `unknown key; valid keys here: ${valid.join(', ')}` : `unknown key — did you mean "${guess}"?`, 'key');
        continue;
      }
      if (kind.kind === 'collection' && !NAME_PATTERN.test(key)) {
        out.add([...policyPath, key], `invalid name; use lower-case letters, digits, "-" and "_" (${NAME_PATTERN.source})`, 'key');
        continue;
      }
      checkSubtree(child, [...path, key], out);
    }
    return;
  }
  const result = z.safeParse(schema, value, { error: leafFallback });
  if (!result.success) {
    for (const issue of result.error.issues) out.add([...policyPath, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))], issue.message);
  }
}

/** The value at `path` inside `value`, through mappings only. */
export function valueAt(value: unknown, path: readonly string[]): unknown {
  let node = value;
  for (const key of path) node = isMapping(node) ? node[key] : undefined;
  return node;
}

function profilesOf(config: Record<string, unknown>): [string, Record<string, unknown>][] {
  const profiles = config['profiles'];
  return isMapping(profiles) ? Object.entries(profiles).filter((e): e is [string, Record<string, unknown>] => isMapping(e[1])) : [];
}

/** A policy must not contradict itself: its own profiles and jobs obey its own rules. */
function checkRulesAgainstOwnConfig(config: Record<string, unknown>, rules: Omit<Policy, 'config'>, out: Collector): void {
  for (const [name, profile] of profilesOf(config)) {
    const auth = profile['auth'];
    if (rules.requireCertificateAuth && isMapping(auth) && auth['method'] === 'psk') {
      out.add(['config', 'profiles', name, 'auth', 'method'], 'the policy sets a pre-shared key here but also requireCertificateAuth: true; use method: certificate');
    }
    if (!rules.allowLegacyCiphers && profile['cipherPolicy'] === 'legacy') {
      out.add(['config', 'profiles', name, 'cipherPolicy'], 'the policy sets cipherPolicy: legacy without allowLegacyCiphers: true; set allowLegacyCiphers: true as well, or use strict');
    }
    for (const phase of ['ikeProposals', 'espProposals'] as const) {
      const proposals = profile[phase];
      if (!Array.isArray(proposals) || !proposals.every((p) => typeof p === 'string')) continue;
      const verdict = checkProposals(phase === 'ikeProposals' ? proposals : [], phase === 'espProposals' ? proposals : [], rules.allowLegacyCiphers ? 'legacy' : 'strict');
      verdict.weak.forEach((weak: WeakAlgorithm) => {
        const index = proposals.indexOf(weak.proposal);
        const path = ['config', 'profiles', name, phase, ...(index >= 0 ? [index] : [])];
        if (NEVER_FROM_POLICY.has(weak.algorithm)) {
          out.add(path, `${weak.algorithm}: ${weak.reason}; a managed policy can't allow it, not even with allowLegacyCiphers — remove it from "${weak.proposal}"`);
        } else if (!verdict.ok) {
          out.add(path, `${weak.algorithm === '' ? weak.reason : `${weak.algorithm}: ${weak.reason}`} in "${weak.proposal}"; use strong proposals such as aes256-sha256-modp2048${rules.allowLegacyCiphers ? '' : ', or set allowLegacyCiphers: true if the gateway can do no better'}`);
        }
      });
    }
  }
  const jobs = config['jobs'];
  if (!isMapping(jobs)) return;
  for (const [name, job] of Object.entries(jobs)) {
    for (const spec of LIMITS) {
      const range = rules.limits[spec.key as LimitedKey];
      const written = valueAt(job, spec.path);
      const value = spec.parse(written);
      if (range !== undefined && value !== undefined && (value < range.min || value > range.max)) {
        out.add(['config', 'jobs', name, ...spec.path], `the policy sets ${String(spec.format(value))} but its own limits.${spec.key} is ${showRange(spec, range)}`);
      }
    }
  }
}
