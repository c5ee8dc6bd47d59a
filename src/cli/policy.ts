/**
 * The managed policy for commands that load the config without the agent (`config validate`,
 * `run --foreground`): read from the same place the agent reads it, so a foreground run obeys the
 * same locks and rules, and `config validate` judges the file as the agent will.
 */
import { homedir } from 'node:os';
import type { LoadedPolicy } from '../config/policy/format.js';
import { formatConfigIssues } from '../config/issues.js';
import { resolvePolicy } from '../config/policy/last-good.js';
import { policyLocation, readPolicy, type PolicyLocation, type PolicyRead } from '../config/policy/read.js';
import { createCommandRunner } from '../os/command.js';
import type { BackhaulPaths } from '../os/paths.js';
import { defaultRedactor } from '../os/redact.js';
import type { GlobalOptions } from './context.js';
import { CliError, ExitCode } from './exit-codes.js';

/** Where the policy is for these global options (`--home` moves it, as it moves everything). */
export function cliPolicyLocation(global: GlobalOptions, env: NodeJS.ProcessEnv = process.env): PolicyLocation {
  const withHome = global.home === undefined ? env : { ...env, BACKHAUL_HOME: global.home };
  return policyLocation({ platform: process.platform, env: withHome, homedir: homedir(), mode: global.system === true ? 'system' : 'user' });
}

/** Reads the policy (reg query / plutil run through a CommandRunner of their own). */
export function readCliPolicy(global: GlobalOptions): Promise<PolicyRead> {
  return readPolicy(cliPolicyLocation(global), createCommandRunner({ redactor: defaultRedactor }));
}

/**
 * The policy a foreground run obeys, decided as the agent decides it: the current one, else the
 * last good copy (with a warning), else no run at all (fail closed).
 */
export async function policyForRun(global: GlobalOptions, paths: BackhaulPaths, warn: (text: string) => void): Promise<LoadedPolicy | undefined> {
  const read = await readCliPolicy(global);
  const resolution = await resolvePolicy(read, paths.stateDir);
  switch (resolution.state) {
    case 'none':
      return undefined;
    case 'current':
      return resolution.loaded;
    case 'last-good':
      warn(`warning: your organisation's policy has errors; the last good policy (read ${resolution.savedAt}) stays in force:\n${formatConfigIssues(resolution.errors, resolution.source)}\n`);
      return resolution.loaded;
    case 'fail-closed':
      throw new CliError(`your organisation's policy (${resolution.source}) has errors, and there is no earlier good policy: nothing runs until it is fixed`, ExitCode.usage, 'Ask your administrator to fix the policy (docs/policy.md).', [formatConfigIssues(resolution.errors, resolution.source)]);
  }
}
