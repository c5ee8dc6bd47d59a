/**
 * `backhaul job set JOB FIELD VALUE…` and `backhaul job unset JOB FIELD`: change a job's everyday
 * fields through the agent (`PATCH /v1/jobs/NAME`), which checks, validates and writes the config
 * file. The agent's refusals (a locked field, a bad value) come back as its `{code, message, hint}`
 * and are printed as they are, so the CLI says exactly what the API and the UI say.
 */
import { EDITABLE_JOB_FIELDS, type EditableJobField } from '../../config/job-fields.js';
import { agentClient } from '../client.js';
import type { GlobalOptions } from '../context.js';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Output } from '../run-view.js';

type Io = { out: Output; err: Output };

const LIST_FIELDS: readonly EditableJobField[] = ['sources', 'excludes'];

/** The patch for `FIELD VALUE…`: lists take every value, streams a whole number, the rest one text. */
export function patchFor(field: string, values: readonly string[]): Record<string, unknown> {
  if (LIST_FIELDS.includes(field as EditableJobField)) return { [field]: [...values] };
  if (values.length !== 1) {
    throw new CliError(`${field} takes one value, got ${values.length}`, ExitCode.usage, LIST_FIELDS.length > 0 ? `Only ${LIST_FIELDS.join(' and ')} take several values; quote a value with spaces ("10 MiB/s").` : undefined);
  }
  const value = values[0] ?? '';
  if (field === 'streams') {
    // A non-number is sent as text: the agent's validator words the error, as for the UI.
    return { streams: /^\d+$/.test(value) ? Number(value) : value };
  }
  return { [field]: value };
}

/** Prints the job's editable fields after a change, marking the ones the policy locks. */
async function printJob(job: string, global: GlobalOptions, io: Io): Promise<void> {
  const view = (await agentClient(global).jobs()).find((j) => j.name === job);
  if (view === undefined) return;
  for (const field of EDITABLE_JOB_FIELDS) {
    const value = view.settings[field];
    const shown = value === undefined ? '(not set)' : Array.isArray(value) ? value.join(', ') || '(none)' : String(value);
    const lock = view.locked[field];
    io.out.write(`  ${field.padEnd(15)}${shown}${lock === undefined ? '' : `   🔒 ${lock}`}\n`);
  }
}

export async function jobSetCommand(job: string, field: string, values: readonly string[], global: GlobalOptions, io: Io): Promise<ExitCodeValue> {
  await agentClient(global).editJob(job, patchFor(field, values));
  io.out.write(`${job}: ${field} changed\n`);
  await printJob(job, global, io);
  return ExitCode.ok;
}

export async function jobUnsetCommand(job: string, field: string, global: GlobalOptions, io: Io): Promise<ExitCodeValue> {
  await agentClient(global).editJob(job, { [field]: null });
  io.out.write(`${job}: ${field} back to its default\n`);
  await printJob(job, global, io);
  return ExitCode.ok;
}
