import { socketPath } from '../../agent/agent.js';
import { CHECKLIST } from '../../agent/doctor/checklist.js';
import { hasFailures, resolveTargets, runDoctor } from '../../agent/doctor/engine.js';
import { defaultDoctorPorts } from '../../agent/doctor/ports.js';
import { commandContext, type GlobalOptions } from '../context.js';
import { renderDoctorReport } from '../doctor-view.js';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Output } from '../run-view.js';
import { cancelOnSignals } from './run.js';

export interface DoctorOptions {
  readonly json?: boolean;
  readonly maxCredentialAge?: string;
}

function parseDays(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const days = Number(text);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new CliError(`--max-credential-age must be a whole number of days, 1–3650, got ${JSON.stringify(text)}`, ExitCode.usage, 'e.g. --max-credential-age 365');
  }
  return days;
}

/**
 * `backhaul doctor [PROFILE|JOB]`: the deployment checklist. Runs in this process (it may bring the
 * profile's tunnel up and take it down again); exit 1 when any item fails.
 */
export async function doctorCommand(name: string | undefined, options: DoctorOptions, global: GlobalOptions, io: { out: Output; err: Output }): Promise<ExitCodeValue> {
  const maxAge = parseDays(options.maxCredentialAge);
  const ctx = await commandContext(global);
  const controller = new AbortController();
  const release = cancelOnSignals(controller, io.err);
  try {
    const targets = resolveTargets(ctx.config, name);
    const mode = global.system === true ? 'system' : 'user';
    const ports = defaultDoctorPorts(ctx, { agentSocket: socketPath(ctx.paths, process.platform, mode), credentialMaxAgeDays: maxAge, signal: controller.signal });
    const report = await runDoctor(CHECKLIST, ports, targets);
    io.out.write(options.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderDoctorReport(report));
    return hasFailures(report) ? ExitCode.failed : ExitCode.ok;
  } finally {
    release();
    await ctx.close();
  }
}
