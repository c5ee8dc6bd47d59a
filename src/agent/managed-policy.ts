/**
 * The agent's side of the managed policy: read it where the OS keeps it, decide what is in force
 * (the current policy, the last good copy, or nothing — see config/policy/last-good.ts), and say
 * so as a health item. The config loader then merges what is in force over the user's file.
 */
import { formatConfigIssues, type ConfigIssue } from '../config/issues.js';
import type { LoadedPolicy } from '../config/policy/format.js';
import { resolvePolicy } from '../config/policy/last-good.js';
import { readPolicy, type PolicyLocation } from '../config/policy/read.js';
import type { CommandRunner } from '../os/command.js';
import type { HealthRegistry } from './health.js';

export const POLICY_HEALTH_CODE = 'policy.invalid';

/**
 * The policy in force, or the reason no job may run (a broken policy and no good copy), and a
 * fingerprint of what was read, so a later look can tell whether anything changed.
 */
export type PolicyInForce = (
  | { readonly ok: true; readonly loaded?: LoadedPolicy }
  | { readonly ok: false; readonly errors: readonly ConfigIssue[] }
) & { readonly fingerprint: string };

/** How often a running agent looks at the policy again (Group Policy refreshes every 90 min or so). */
export const POLICY_POLL_MS = 5 * 60_000;

/** What was read, as a string that changes exactly when the policy (or its problems) does. */
export async function policyFingerprint(location: PolicyLocation, runner: CommandRunner): Promise<string> {
  return JSON.stringify(await readPolicy(location, runner));
}

export interface ManagedPolicyContext {
  readonly location: PolicyLocation;
  readonly runner: CommandRunner;
  readonly stateDir: string;
  readonly health: HealthRegistry;
  readonly now: () => Date;
}

/** Read and resolve the policy; keeps the `policy.invalid` health item in step. */
export async function policyInForce(ctx: ManagedPolicyContext): Promise<PolicyInForce> {
  const read = await readPolicy(ctx.location, ctx.runner);
  const fingerprint = JSON.stringify(read);
  const resolution = await resolvePolicy(read, ctx.stateDir, ctx.now);
  switch (resolution.state) {
    case 'none':
      ctx.health.clear(POLICY_HEALTH_CODE);
      return { ok: true, fingerprint };
    case 'current':
      ctx.health.clear(POLICY_HEALTH_CODE);
      return { ok: true, loaded: resolution.loaded, fingerprint };
    case 'last-good':
      ctx.health.set({
        code: POLICY_HEALTH_CODE,
        title: 'Your organisation\'s policy has errors; the last good policy stays in force',
        text: `${formatConfigIssues(resolution.errors, resolution.source)}\nBackups go on under the policy read at ${resolution.savedAt}. Ask your administrator to fix the policy (docs/policy.md).`,
        severity: 'warning',
        badge: true,
        since: ctx.now().toISOString(),
      });
      return { ok: true, loaded: resolution.loaded, fingerprint };
    case 'fail-closed':
      ctx.health.set({
        code: POLICY_HEALTH_CODE,
        title: 'Your organisation\'s policy has errors; no backups run until it is fixed',
        text: `${formatConfigIssues(resolution.errors, resolution.source)}\nThere is no earlier good policy to fall back on, and running jobs could break rules nobody can check. Ask your administrator to fix the policy (docs/policy.md).`,
        severity: 'error',
        badge: true,
        since: ctx.now().toISOString(),
      });
      return { ok: false, errors: resolution.errors, fingerprint };
  }
}
