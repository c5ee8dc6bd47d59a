import { homedir } from 'node:os';
import { prepareResticEngine, type RunContext } from '../agent/run-job.js';
import { formatConfigIssues, loadConfig } from '../config/load.js';
import type { LoadedPolicy } from '../config/policy/format.js';
import type { Config } from '../config/schema.js';
import { createCommandRunner } from '../os/command.js';
import { createFileLogger, type Logger } from '../os/log.js';
import { resolvePaths, type BackhaulPaths } from '../os/paths.js';
import { defaultRedactor } from '../os/redact.js';
import { openSecretStore } from '../os/secret-store.js';
import { CliError, ExitCode } from './exit-codes.js';
import { policyForRun } from './policy.js';

/** The global options every command accepts. */
export interface GlobalOptions {
  /** --config FILE: use this config file instead of the default location. */
  readonly config?: string;
  /** --home DIR: config, state and logs all under DIR (same as BACKHAUL_HOME). */
  readonly home?: string;
  /** --system: the system-wide locations (/etc/backhaul, /var/lib/backhaul, …). */
  readonly system?: boolean;
}

export function cliPaths(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): BackhaulPaths {
  const withHome = options.home === undefined ? env : { ...env, BACKHAUL_HOME: options.home };
  const paths = resolvePaths({ platform: process.platform, env: withHome, homedir: homedir(), mode: options.system === true ? 'system' : 'user' });
  return options.config === undefined ? paths : { ...paths, configFile: options.config };
}

/** Loads and validates the config file (with the managed policy on top, when given), or throws a CliError listing every issue. */
export async function loadConfigOrExit(file: string, policy?: LoadedPolicy): Promise<Config> {
  const loaded = await loadConfig({ file, ...(policy === undefined ? {} : { policy }) });
  if (!loaded.ok) {
    throw new CliError(`the config file is not valid: ${file}`, ExitCode.usage, 'Fix the lines above; "backhaul config validate" checks the file without running anything.', [
      formatConfigIssues(loaded.errors, file),
    ]);
  }
  return loaded.config;
}

/** What a command that runs restic needs: config, ports, and a logger that writes to the log dir. */
export interface CommandContext extends RunContext {
  close(): Promise<void>;
}

export async function commandContext(options: GlobalOptions): Promise<CommandContext> {
  const paths = cliPaths(options);
  // A run without the agent obeys the managed policy as the agent would (last good copy, fail closed).
  const policy = await policyForRun(options, paths, (text) => { process.stderr.write(text); });
  const config = await loadConfigOrExit(paths.configFile, policy);
  const level = process.env.BACKHAUL_LOG_LEVEL;
  const fileLogger = createFileLogger({
    logDir: paths.logDir,
    redactor: defaultRedactor,
    ...(level === 'debug' || level === 'info' || level === 'warn' || level === 'error' ? { level } : {}),
  });
  const logger: Logger = fileLogger;
  const runner = createCommandRunner({
    redactor: defaultRedactor,
    log: (entry) => { logger.log('debug', 'command finished', { ...entry }); },
  });
  const secretStore = openSecretStore({
    setting: config.settings.secretStore ?? 'auto',
    mode: options.system === true ? 'system' : 'user',
    stateDir: paths.stateDir,
    // Also on stderr, as the policy's warnings are: a foreground run's person or cron mail sees it.
    onFallback: (warning) => {
      logger.log('warn', warning);
      process.stderr.write(`warning: ${warning}\n`);
    },
  });
  return { config, paths, runner, redactor: defaultRedactor, logger, secretStore, close: () => fileLogger.close() };
}

export { prepareResticEngine };
