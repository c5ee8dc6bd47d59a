import { formatConfigIssues, loadConfig } from '../../config/load.js';
import { cliPaths, type GlobalOptions } from '../context.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Output } from '../run-view.js';

/** `backhaul config validate [FILE]`: checks a config file without running anything. */
export async function validateCommand(file: string | undefined, options: { json?: boolean }, global: GlobalOptions, io: { out: Output; err: Output }): Promise<ExitCodeValue> {
  const target = file ?? cliPaths(global).configFile;
  const loaded = await loadConfig({ file: target });
  if (options.json === true) {
    io.out.write(`${JSON.stringify(loaded.ok ? { ok: true, file: target, warnings: loaded.warnings } : { ok: false, file: target, errors: loaded.errors })}\n`);
    return loaded.ok ? ExitCode.ok : ExitCode.usage;
  }
  if (!loaded.ok) {
    io.err.write(`${formatConfigIssues(loaded.errors, target)}\n`);
    io.err.write(`${target}: ${loaded.errors.length} problem${loaded.errors.length === 1 ? '' : 's'}; nothing was changed.\n`);
    return ExitCode.usage;
  }
  if (loaded.warnings.length > 0) io.err.write(`${formatConfigIssues(loaded.warnings, target).split('\n').map((l) => `warning: ${l}`).join('\n')}\n`);
  const jobs = Object.keys(loaded.config.jobs);
  const profiles = Object.keys(loaded.config.profiles);
  io.out.write(`${target}: valid (${jobs.length} job${jobs.length === 1 ? '' : 's'}${jobs.length > 0 ? `: ${jobs.join(', ')}` : ''}; ${profiles.length} profile${profiles.length === 1 ? '' : 's'})\n`);
  return ExitCode.ok;
}

/** `backhaul config path`: where config, state and logs live on this machine. */
export function pathCommand(global: GlobalOptions, io: { out: Output }): ExitCodeValue {
  const paths = cliPaths(global);
  io.out.write(`config  ${paths.configFile}\nstate   ${paths.stateDir}\nlogs    ${paths.logDir}\ncache   ${paths.cacheDir}\n`);
  return ExitCode.ok;
}
