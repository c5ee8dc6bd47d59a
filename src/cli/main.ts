import { Command, CommanderError, Option } from 'commander';
import { CliError, ExitCode, type ExitCodeValue } from './exit-codes.js';
import type { GlobalOptions } from './context.js';
import type { Output } from './run-view.js';
import { runCommand } from './commands/run.js';
import { pathCommand, validateCommand } from './commands/config.js';
import { initCommand, snapshotsCommand } from './commands/repository.js';
import { demoCommand } from './commands/demo.js';
import { agentCommand } from './commands/agent.js';
import { serviceCommand } from './commands/service.js';
import { scheduleCommand } from './commands/schedule.js';
import { jobSetCommand, jobUnsetCommand } from './commands/job.js';
import { profileSetCommand, profileShowCommand, profileUnsetCommand } from './commands/profile.js';
import { cancelCommand, historyCommand, logsCommand, statusCommand } from './commands/remote.js';
import { doctorCommand } from './commands/doctor.js';
import { secretCheckCommand, secretDeleteCommand, secretListCommand, secretSetCommand } from './commands/secret.js';

const exitCodesHelp = `
Exit codes:
  0    success
  1    the backup failed (the message and hint say why)
  2    bad usage or an invalid config file; nothing was run
  3    finished with a warning (e.g. some files could not be read); a snapshot exists
  130  cancelled (Ctrl-C or SIGTERM)`;

function stream(target: NodeJS.WriteStream): Output {
  return {
    write: (text) => { target.write(text); },
    get isTTY() { return target.isTTY; },
    get columns() { return target.columns || 80; },
  };
}

/** Builds the command tree. Each action resolves to an exit code; errors become CliErrors. */
export function buildProgram(io: { out: Output; err: Output }, setExit: (code: ExitCodeValue) => void): Command {
  const program = new Command('backhaul')
    .description('Backups over your VPN: brings up the OS\'s own L2TP/IPsec or IKEv2 client, runs restic, tears it all down.')
    .option('--config <file>', 'config file to use instead of the default location')
    .option('--home <dir>', 'keep config, state and logs under <dir> (same as BACKHAUL_HOME)')
    .option('--system', 'use the system-wide locations (/etc/backhaul, /var/lib/backhaul)')
    .addHelpText('after', exitCodesHelp)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => { io.out.write(s); }, writeErr: (s) => { io.err.write(s); } });

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const act = <A extends unknown[]>(fn: (...args: A) => Promise<ExitCodeValue> | ExitCodeValue) =>
    async (...args: A) => { setExit(await fn(...args)); };

  program
    .command('run')
    .description('run a backup job')
    .argument('<job>', 'the job name, a key of "jobs" in the config')
    .option('--foreground', 'run the session in this process, without the agent (for cron, NAS boxes, CI)')
    .option('--json', 'print one JSON object per line instead of a progress bar')
    .addHelpText('after', exitCodesHelp)
    .action(act((job: string, options: { foreground?: boolean; json?: boolean }) => runCommand(job, options, globals(), io)));

  program
    .command('init')
    .description("create the job's restic repository (safe to run again)")
    .argument('<job>', 'the job name')
    .action(act((job: string) => initCommand(job, globals(), io)));

  program
    .command('snapshots')
    .description("list the snapshots in a job's repository")
    .argument('<job>', 'the job name')
    .option('--json', 'print the list as JSON')
    .action(act((job: string, options: { json?: boolean }) => snapshotsCommand(job, options, globals(), io)));

  const config = program.command('config').description('check and locate the config file');
  config
    .command('validate')
    .description('check a config file without running anything')
    .argument('[file]', 'the file to check (default: the config file in use)')
    .option('--json', 'print the result as JSON')
    .action(act((file: string | undefined, options: { json?: boolean }) => validateCommand(file, options, globals(), io)));
  config
    .command('path')
    .description('print where config, state and logs live')
    .action(act(() => pathCommand(globals(), io)));

  const job = program.command('job').description("change a job's everyday fields through the agent (sources, excludes, streams, bandwidthLimit, profile)");
  job
    .command('set')
    .description('set a field; fields locked by your organisation\'s policy are refused')
    .argument('<job>', 'the job name')
    .argument('<field>', 'sources, excludes, streams, bandwidthLimit or profile')
    .argument('<values...>', 'the new value (sources and excludes take several)')
    .action(act((name: string, field: string, values: string[]) => jobSetCommand(name, field, values, globals(), io)));
  job
    .command('unset')
    .description('remove a field from the config file, so it is back to its default')
    .argument('<job>', 'the job name')
    .argument('<field>', 'excludes, streams, bandwidthLimit or profile')
    .action(act((name: string, field: string) => jobUnsetCommand(name, field, globals(), io)));

  const profile = program.command('profile').description("show or change a VPN profile's everyday fields through the agent (gateways, routes, mtu, keepalive, reconnect …; never auth)");
  profile
    .command('show')
    .description('the profiles and their fields; 🔒 marks those your organisation\'s policy locks')
    .argument('[profile]', 'one profile (default: all)')
    .option('--json', 'print them as JSON')
    .action(act((name: string | undefined, options: { json?: boolean }) => profileShowCommand(name, options, globals(), io)));
  profile
    .command('set')
    .description('set a field (a copy of the previous config file is kept); fields locked by your organisation\'s policy are refused')
    .argument('<profile>', 'the profile name')
    .argument('<field>', 'gateways, routes, fullTunnel, mtu, driver, keepaliveSeconds, keepaliveFailures, stallIntervals, reconnectAttempts, reconnectDeadlineSeconds or mssClamp')
    .argument('<values...>', 'the new value (gateways and routes take several)')
    .action(act((name: string, field: string, values: string[]) => profileSetCommand(name, field, values, globals(), io)));
  profile
    .command('unset')
    .description('remove a field from the config file, so it is back to its default')
    .argument('<profile>', 'the profile name')
    .argument('<field>', 'the field')
    .action(act((name: string, field: string) => profileUnsetCommand(name, field, globals(), io)));

  program
    .command('agent')
    .description('run the agent: the process that runs backups, holds secrets and serves the Local API')
    .option('--web', 'also serve the web UI and the API on 127.0.0.1 (guarded by a token)')
    .option('--web-port <port>', 'port for --web (default: any free port)')
    .option('--concurrency <n>', 'sessions that may run at once (default 1: they share the tunnel)')
    .option('--metrics-textfile <file>', "also write the metrics to <file> after every session (node_exporter's textfile collector)")
    .action(act((options: { web?: boolean; webPort?: string; concurrency?: string; metricsTextfile?: string }) => agentCommand(options, globals(), io)));

  program
    .command('service')
    .description('install, remove or show the agent as an OS service (systemd, launchd, Windows service); install/uninstall need root')
    .argument('<action>', 'install | uninstall | status')
    .option('--program <path>', 'what the service starts instead of this Node and CLI (e.g. /usr/bin/backhaul)')
    .option('--service-host <path>', 'Windows: the WinSW 1.x executable to register (default: the app\'s resources\\bin\\backhaul-service.exe)')
    .option('--json', 'print the service status as JSON')
    .action(act((action: string, options: { program?: string; serviceHost?: string; json?: boolean }) => {
      if (action !== 'install' && action !== 'uninstall' && action !== 'status') throw new CliError(`unknown service action "${action}"`, ExitCode.usage, 'Use one of: backhaul service install | uninstall | status');
      return serviceCommand(action, options, io);
    }));

  program
    .command('status')
    .description('what the agent is doing: running backups, jobs, health')
    .option('--json', 'print the status as JSON')
    .action(act((options: { json?: boolean }) => statusCommand(options, globals(), io)));

  program
    .command('schedule')
    .description("upcoming scheduled runs of each job, in the job's time zone")
    .option('--count <n>', 'how many runs per job (default 3)')
    .option('--pause <duration>', 'pause scheduled runs for this long (30m, 2h, 12h); due slots are skipped')
    .option('--resume', 'resume paused scheduled runs now')
    .option('--json', 'print the schedule as JSON')
    .action(act((options: { count?: string; pause?: string; resume?: boolean; json?: boolean }) => scheduleCommand(options, globals(), io)));

  program
    .command('cancel')
    .description('cancel a running or queued backup')
    .argument('<session-or-job>', 'a session id, or a job name')
    .action(act((target: string) => cancelCommand(target, globals(), io)));

  program
    .command('history')
    .description('past sessions, newest first')
    .argument('[job]', 'only this job')
    .option('--limit <n>', 'how many (default 20)')
    .option('--json', 'print as JSON')
    .action(act((job: string | undefined, options: { limit?: string; json?: boolean }) => historyCommand(job, options, globals(), io)));

  program
    .command('logs')
    .description("the agent's recent log lines (secrets redacted)")
    .option('-f, --follow', 'keep printing new lines')
    .option('--lines <n>', 'how many recent lines (default 50)')
    .option('--json', 'one JSON object per line')
    .action(act((options: { follow?: boolean; lines?: string; json?: boolean }) => logsCommand(options, globals(), io)));

  program
    .command('demo')
    .description('first run: create a demo job that backs up a sample folder to a local repository, and run it')
    .option('--json', 'print one JSON object per line instead of a progress bar')
    .option('--prepare', 'only create the demo config, sample folder and password file (what npm start does before the agent starts)')
    .action(act((options: { json?: boolean; prepare?: boolean }) => demoCommand(options, globals(), io)));

  const secret = program
    .command('secret')
    .description('store the secrets that keychain:NAME in the config refers to (OS keychain, or private files where there is none)');
  secret
    .command('set')
    .description('store or replace a secret: asked for without echo, or read from stdin when piped (never from the command line)')
    .argument('<name>', 'the NAME of keychain:NAME')
    .action(act((name: string) => secretSetCommand(name, globals(), io)));
  secret
    .command('delete')
    .description('delete a secret')
    .argument('<name>', 'the NAME of keychain:NAME')
    .action(act((name: string) => secretDeleteCommand(name, globals(), io)));
  secret
    .command('list')
    .description('the names of the stored secrets, one per line (never the values)')
    .action(act(() => secretListCommand(globals(), io)));
  secret
    .command('check')
    .description('exit 0 when the secret is stored, 1 when not (never shows it)')
    .argument('<name>', 'the NAME of keychain:NAME')
    .action(act((name: string) => secretCheckCommand(name, globals(), io)));

  program
    .command('doctor')
    .description('the deployment checklist: each item pass / warn / fail with the evidence and the fix (exit 1 when any fails)')
    .argument('[profile-or-job]', 'check one job (with its profile) or one profile; default: everything in the config')
    .option('--json', 'print the report as JSON (schema: docs/doctor.md)')
    .option('--max-credential-age <days>', 'the rotation policy: flag credentials older than this many days')
    .action(act((name: string | undefined, options: { json?: boolean; maxCredentialAge?: string }) => doctorCommand(name, options, globals(), io)));

  program.addOption(new Option('--debug', 'print stack traces of internal errors').hideHelp());
  return program;
}

export function processIo(): { out: Output; err: Output } {
  return { out: stream(process.stdout), err: stream(process.stderr) };
}

/** Runs the CLI: the only place that turns errors into text and exit codes. No stack traces for users. */
export async function main(argv: readonly string[], io = processIo()): Promise<ExitCodeValue> {
  let code: ExitCodeValue = ExitCode.ok;
  const program = buildProgram(io, (c) => { code = c; });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (error instanceof CliError) {
      io.err.write(`error: ${error.message}\n`);
      for (const line of error.details) io.err.write(`${line}\n`);
      if (error.hint !== undefined) io.err.write(`hint: ${error.hint}\n`);
      return error.exitCode;
    }
    const userFacing = error as { code?: unknown; hint?: unknown; message?: unknown };
    if (typeof userFacing.code === 'string' && typeof userFacing.hint === 'string' && typeof userFacing.message === 'string') {
      io.err.write(`error: ${userFacing.message}\nhint: ${userFacing.hint}\n`);
      // A problem with the config or the command line: nothing ran.
      return userFacing.code.startsWith('config.') ? ExitCode.usage : ExitCode.failed;
    }
    io.err.write(`error: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (argv.includes('--debug') && error instanceof Error) io.err.write(`${error.stack ?? ''}\n`);
    io.err.write('hint: this is a bug in Backhaul; run again with --debug and report the output.\n');
    return ExitCode.failed;
  }
}
