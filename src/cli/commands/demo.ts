import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { createSampleFolder, demoConfigYaml, demoLayout, pathExists, repositoryExists } from '../../agent/demo.js';
import { choreError, withRepository } from '../../agent/repository-chores.js';
import { generatePassword, writeSecretFile } from '../../os/secrets.js';
import { cliPaths, commandContext, type GlobalOptions } from '../context.js';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { formatBytes } from '../format.js';
import type { Output } from '../run-view.js';
import { runForeground } from './run.js';
import { followRunViaAgent } from './remote.js';
import { agentClient } from '../client.js';

const DEMO_JOB = 'demo';

/**
 * `backhaul demo` (what `npm start` runs): on first run creates a config with a `demo` job, a
 * sample folder and a local restic repository under the state dir, then backs the folder up.
 * Every later run makes another snapshot — deduplicated, so it adds almost nothing — and says so.
 */
export async function demoCommand(options: { json?: boolean; prepare?: boolean }, global: GlobalOptions, io: { out: Output; err: Output }): Promise<ExitCodeValue> {
  const paths = cliPaths(global);
  const layout = demoLayout(paths.stateDir);
  const say = (text: string) => { if (options.json !== true) io.out.write(`${text}\n`); };

  if (!(await pathExists(paths.configFile))) {
    if (!(await pathExists(layout.sampleDir))) await createSampleFolder(layout.sampleDir);
    if (!(await pathExists(layout.passwordFile))) {
      await mkdir(dirname(layout.passwordFile), { recursive: true, mode: 0o700 });
      await writeSecretFile(dirname(layout.passwordFile), basename(layout.passwordFile), generatePassword());
    }
    await mkdir(dirname(paths.configFile), { recursive: true, mode: 0o700 });
    await writeFile(paths.configFile, demoConfigYaml(layout), { mode: 0o600, flag: 'wx' });
    say(`Welcome to Backhaul. Created a demo job that backs up ${layout.sampleDir}`);
    say(`  config      ${paths.configFile}`);
    say(`  repository  ${layout.repository}`);
  }

  if (options.prepare === true) return ExitCode.ok;

  const ctx = await commandContext(global);
  let snapshotsBefore: number;
  try {
    if (ctx.config.jobs[DEMO_JOB] === undefined) {
      throw new CliError(
        `the config at ${paths.configFile} has no "${DEMO_JOB}" job`,
        ExitCode.usage,
        `Run one of your own jobs with "backhaul run JOB --foreground", or remove the config file to recreate the demo.`,
      );
    }
    const repository = ctx.config.jobs[DEMO_JOB].repository;
    snapshotsBefore = await withRepository(ctx, DEMO_JOB, async (engine, request) => {
      if (!(await repositoryExists(repository))) {
        const init = await engine.init(request);
        if (!init.ok) throw choreError(DEMO_JOB, init.failure);
        say(`Created the demo repository at ${repository}`);
        return 0;
      }
      const list = await engine.snapshots(request);
      if (!list.ok) throw choreError(DEMO_JOB, list.failure);
      return list.value.length;
    });
  } finally {
    await ctx.close();
  }

  // Through the agent when one runs (npm start starts one), else in this process.
  const viaAgent = await agentClient(global).status().then(() => true, () => false);
  if (viaAgent) say('Running the demo job through the agent…');
  const { code, record } = viaAgent ? await followRunViaAgent(DEMO_JOB, options, global, io) : await runForeground(DEMO_JOB, options, global, io, 'demo');
  if (record?.end === 'done' && record.summary !== undefined) {
    const s = record.summary;
    const count = snapshotsBefore + 1;
    if (snapshotsBefore > 0) {
      say(`That is snapshot number ${count} of the demo repository. Deduplication: of ${formatBytes(s.bytesProcessed)} scanned, only ${formatBytes(s.bytesAdded)} was new (${s.filesUnmodified} of ${s.filesProcessed} files unchanged).`);
    } else {
      say('That is the first snapshot of the demo repository. Run "npm start" again: the next snapshot adds almost nothing (deduplication).');
    }
    say(`List the snapshots:  npx backhaul snapshots ${DEMO_JOB}`);
    say(`Your config:         ${paths.configFile}  (add your own jobs and VPN profiles there)`);
  }
  return code;
}
