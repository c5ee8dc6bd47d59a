/**
 * The policy's rules applied to the merged, validated config: what the user's file may not do
 * while the policy is in force. A breach is a config error at the user's key, naming the profile
 * or job and the policy's source, so the person who must change something knows what and why.
 */
import type { ConfigIssue } from '../issues.js';
import type { LayerName } from '../layers.js';
import { formatPath } from '../path.js';
import type { Config } from '../schema.js';
import { valueAt, type LoadedPolicy } from './format.js';
import { LIMITS, showRange, type LimitedKey } from './limits.js';

/** A copy of `job` with `value` at `path` (mappings along the path are copied, not changed). */
function withValueAt<T>(job: T, path: readonly string[], value: unknown): T {
  const [head, ...rest] = path;
  if (head === undefined) return value as T;
  const mapping = job as Record<string, unknown>;
  return { ...mapping, [head]: withValueAt(mapping[head], rest, value) } as T;
}

/** The config as the policy allows it (defaults clamped into limits), or the breaches. */
export interface RulesOutcome {
  readonly config: Config;
  readonly errors: readonly (ConfigIssue & { readonly pathParts: readonly (string | number)[] })[];
}

/**
 * Check `config` against the policy. A limited value the user did not set (the schema's default)
 * is moved into the policy's range instead of being an error: nobody wrote it, so nobody can fix it.
 */
export function applyPolicyRules(config: Config, origins: ReadonlyMap<string, LayerName>, loaded: LoadedPolicy): RulesOutcome {
  const { policy, source } = loaded;
  const errors: RulesOutcome['errors'][number][] = [];
  const add = (pathParts: (string | number)[], message: string): void => {
    errors.push({ path: formatPath(pathParts), pathParts, message });
  };
  for (const [name, profile] of Object.entries(config.profiles)) {
    if (policy.requireCertificateAuth && profile.auth.method === 'psk') {
      add(['profiles', name, 'auth', 'method'], `profile "${name}" uses a pre-shared key, but your organisation's policy (${source}) requires certificate authentication (requireCertificateAuth); switch the profile to method: certificate with a client certificate`);
    }
    if (!policy.allowLegacyCiphers && profile.cipherPolicy === 'legacy') {
      add(['profiles', name, 'cipherPolicy'], `profile "${name}" asks for legacy ciphers, which your organisation's policy (${source}) does not allow (allowLegacyCiphers is not set); remove cipherPolicy: legacy and use strong proposals, or ask your administrator`);
    }
  }
  const jobs: Record<string, Config['jobs'][string]> = {};
  for (const [name, job] of Object.entries(config.jobs)) {
    let adjusted = job;
    for (const spec of LIMITS) {
      const range = policy.limits[spec.key as LimitedKey];
      if (range === undefined) continue;
      // A limit under a mapping the job doesn't have (no schedule) has nothing to bound.
      if (spec.path.length > 1 && valueAt(adjusted, spec.path.slice(0, -1)) === undefined) continue;
      const written = valueAt(adjusted, spec.path);
      // Unset: the schema's default for a count; no delay (0) for a delay.
      const value = written === undefined ? 0 : spec.parse(written);
      if (value === undefined || (value >= range.min && value <= range.max)) continue;
      const origin = origins.get(formatPath(['jobs', name, ...spec.path]));
      if (origin === undefined || origin === 'defaults') {
        adjusted = withValueAt(adjusted, spec.path, spec.format(Math.min(range.max, Math.max(range.min, value))));
      } else {
        add(['jobs', name, ...spec.path], `${String(spec.format(value))} is outside ${showRange(spec, range)}, the range your organisation's policy (${source}) allows for ${spec.key}; choose a value in that range`);
      }
    }
    jobs[name] = adjusted;
  }
  return { config: { ...config, jobs }, errors };
}
