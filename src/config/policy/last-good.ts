/**
 * Which policy is in force when the current one is broken. An administrator's typo must neither
 * lift every lock (fail open) nor stop every backup on machines that were fine a minute ago, so:
 *
 * - a valid policy is in force, and a copy is kept in the state directory (`policy-last-good.json`);
 * - no policy at all is a normal state: the copy is removed (the policy was withdrawn);
 * - an invalid or unreadable policy leaves the last good copy in force — from disk, so it survives
 *   an agent restart — and the errors become a health item;
 * - an invalid policy with no good copy (first start) fails closed: the agent runs no jobs until
 *   the policy is fixed, because running them could break rules nobody could check.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeAtomically } from '../edit.js';
import type { ConfigIssue } from '../issues.js';
import { validatePolicyData, type LoadedPolicy } from './format.js';
import type { PolicyRead } from './read.js';

export const LAST_GOOD_FILE = 'policy-last-good.json';

/** The policy to use, and the problem with the current one when there is one. */
export type PolicyResolution =
  | { readonly state: 'none' }
  | { readonly state: 'current'; readonly loaded: LoadedPolicy }
  /** The current policy is broken; the last good one stays in force. */
  | { readonly state: 'last-good'; readonly loaded: LoadedPolicy; readonly source: string; readonly errors: readonly ConfigIssue[]; readonly savedAt: string }
  /** The current policy is broken and there is no good copy: no jobs run. */
  | { readonly state: 'fail-closed'; readonly source: string; readonly errors: readonly ConfigIssue[] };

interface SavedPolicy {
  readonly savedAt: string;
  readonly source: string;
  readonly policy: LoadedPolicy['policy'];
}

/** Decide what is in force after reading the policy, keeping the last good copy up to date. */
export async function resolvePolicy(read: PolicyRead, stateDir: string, now: () => Date = () => new Date()): Promise<PolicyResolution> {
  const file = join(stateDir, LAST_GOOD_FILE);
  switch (read.state) {
    case 'absent':
      await rm(file, { force: true });
      return { state: 'none' };
    case 'valid':
      await saveLastGood(file, { savedAt: now().toISOString(), source: read.loaded.source, policy: read.loaded.policy });
      return { state: 'current', loaded: read.loaded };
    case 'invalid': {
      const saved = await loadLastGood(file);
      if (saved === undefined) return { state: 'fail-closed', source: read.source, errors: read.errors };
      return { state: 'last-good', loaded: saved.loaded, source: read.source, errors: read.errors, savedAt: saved.savedAt };
    }
  }
}

async function saveLastGood(file: string, saved: SavedPolicy): Promise<void> {
  const text = `${JSON.stringify(saved, null, 2)}\n`;
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing === undefined) await writeFile(file, text, { mode: 0o600 });
  else await writeAtomically(file, text);
}

/** The saved copy, validated again (it is a file on disk: trust nothing). */
async function loadLastGood(file: string): Promise<{ loaded: LoadedPolicy; savedAt: string } | undefined> {
  let saved: unknown;
  try {
    saved = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof saved !== 'object' || saved === null) return undefined;
  const { savedAt, source, policy } = saved as Partial<SavedPolicy>;
  if (typeof savedAt !== 'string' || typeof source !== 'string') return undefined;
  const checked = validatePolicyData(policy, `${source} (last good copy)`);
  return checked.ok ? { loaded: { source, policy: checked.policy }, savedAt } : undefined;
}
