import { formatConfigIssues, loadConfig } from '../../config/load.js';
import { cliPaths, type GlobalOptions } from '../context.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { readCliPolicy } from '../policy.js';
import type { Output } from '../run-view.js';

/**
 * `backhaul config validate [FILE]`: checks a config file without running anything, as the agent
 * will load it — with the managed policy on top. A broken policy is reported too, but it is the
 * administrator's to fix: it does not make the user's file invalid.
 */
export async function validateCommand(file: string | undefined, options: { json?: boolean }, global: GlobalOptions, io: { out: Output; err: Output }): Promise<ExitCodeValue> {
  const target = file ?? cliPaths(global).configFile;
  const policy = await readCliPolicy(global);
  const loaded = await loadConfig({ file: target, ...(policy.state === 'valid' ? { policy: policy.loaded } : {}) });
  const policyErrors = policy.state === 'invalid' ? policy.errors : [];
  if (options.json === true) {
    const policyField = policy.state === 'absent' ? {} : { policy: { source: policy.state === 'valid' ? policy.loaded.source : policy.source, ok: policy.state === 'valid', ...(policyErrors.length > 0 ? { errors: policyErrors } : {}) } };
    io.out.write(`${JSON.stringify(loaded.ok ? { ok: true, file: target, warnings: loaded.warnings, ...policyField } : { ok: false, file: target, errors: loaded.errors, ...policyField })}\n`);
    return loaded.ok ? ExitCode.ok : ExitCode.usage;
  }
  if (policy.state === 'invalid') {
    io.err.write(`warning: your organisation's policy has errors (the agent keeps its last good policy, or runs no jobs without one); this file was checked without it:\n${formatConfigIssues(policyErrors, policy.source)}\n`);
  }
  if (!loaded.ok) {
    io.err.write(`${formatConfigIssues(loaded.errors, target)}\n`);
    io.err.write(`${target}: ${loaded.errors.length} problem${loaded.errors.length === 1 ? '' : 's'}; nothing was changed.\n`);
    return ExitCode.usage;
  }
  if (loaded.warnings.length > 0) io.err.write(`${formatConfigIssues(loaded.warnings, target).split('\n').map((l) => `warning: ${l}`).join('\n')}\n`);
  const jobs = Object.keys(loaded.config.jobs);
  const profiles = Object.keys(loaded.config.profiles);
  const under = policy.state === 'valid' ? ` under the policy in ${policy.loaded.source}` : '';
  io.out.write(`${target}: valid${under} (${jobs.length} job${jobs.length === 1 ? '' : 's'}${jobs.length > 0 ? `: ${jobs.join(', ')}` : ''}; ${profiles.length} profile${profiles.length === 1 ? '' : 's'})\n`);
  return ExitCode.ok;
}

/** `backhaul config path`: where config, state and logs live on this machine. */
export function pathCommand(global: GlobalOptions, io: { out: Output }): ExitCodeValue {
  const paths = cliPaths(global);
  io.out.write(`config  ${paths.configFile}\nstate   ${paths.stateDir}\nlogs    ${paths.logDir}\ncache   ${paths.cacheDir}\n`);
  return ExitCode.ok;
}
