/**
 * `backhaul profile show [PROFILE]`, `backhaul profile set PROFILE FIELD VALUE…` and `backhaul profile
 * unset PROFILE FIELD`: a VPN profile's everyday fields through the agent (`/v1/profiles`), which
 * checks, validates, keeps a copy of the old file and writes it. Refusals come back as the agent's
 * `{code, message, hint}` and are printed as they are, the same words as the API and the UI.
 */
import type { ProfileView } from '../../api/types.js';
import { EDITABLE_PROFILE_FIELDS, type EditableProfileField } from '../../config/profile-fields.js';
import { agentClient } from '../client.js';
import type { GlobalOptions } from '../context.js';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Output } from '../run-view.js';

type Io = { out: Output; err: Output };

const LIST_FIELDS: readonly EditableProfileField[] = ['gateways', 'routes'];
const NUMBER_FIELDS: readonly EditableProfileField[] = ['mtu', 'keepaliveSeconds', 'keepaliveFailures', 'stallIntervals', 'reconnectAttempts', 'reconnectDeadlineSeconds'];
const BOOLEAN_FIELDS: readonly EditableProfileField[] = ['fullTunnel', 'mssClamp'];

/**
 * The patch for `FIELD VALUE…`: lists take every value, numbers and true/false are converted, the
 * rest is one text. A value that doesn't convert is sent as text: the agent's validator words the
 * error, exactly as for the UI.
 */
export function profilePatchFor(field: string, values: readonly string[]): Record<string, unknown> {
  const name = field as EditableProfileField;
  if (LIST_FIELDS.includes(name)) return { [field]: [...values] };
  if (values.length !== 1) {
    throw new CliError(`${field} takes one value, got ${values.length}`, ExitCode.usage, `Only ${LIST_FIELDS.join(' and ')} take several values.`);
  }
  const value = values[0] ?? '';
  if (NUMBER_FIELDS.includes(name)) return { [field]: /^\d+$/.test(value) ? Number(value) : value };
  if (BOOLEAN_FIELDS.includes(name)) return { [field]: value === 'true' ? true : value === 'false' ? false : value };
  return { [field]: value };
}

/** One profile's fields, one a line, marking those a managed policy locks. */
export function formatProfile(view: ProfileView): string {
  const lines = [`${view.name} (${view.type})`];
  for (const field of EDITABLE_PROFILE_FIELDS) {
    const value = view.settings[field];
    const shown = value === undefined ? '(computed)' : Array.isArray(value) ? value.join(', ') || '(none)' : String(value);
    const lock = view.locked[field];
    lines.push(`  ${field.padEnd(26)}${shown}${lock === undefined ? '' : `   🔒 ${lock}`}`);
  }
  return `${lines.join('\n')}\n`;
}

async function printProfiles(name: string | undefined, global: GlobalOptions, io: Io): Promise<boolean> {
  const views = (await agentClient(global).profiles()).filter((p) => name === undefined || p.name === name);
  for (const view of views) io.out.write(formatProfile(view));
  return views.length > 0;
}

export async function profileShowCommand(name: string | undefined, options: { json?: boolean }, global: GlobalOptions, io: Io): Promise<ExitCodeValue> {
  if (options.json === true) {
    const views = (await agentClient(global).profiles()).filter((p) => name === undefined || p.name === name);
    io.out.write(`${JSON.stringify(views, null, 2)}\n`);
    return ExitCode.ok;
  }
  if (!(await printProfiles(name, global, io)) && name !== undefined) {
    throw new CliError(`there is no profile named "${name}"`, ExitCode.usage, 'List them with: backhaul profile show');
  }
  return ExitCode.ok;
}

export async function profileSetCommand(profile: string, field: string, values: readonly string[], global: GlobalOptions, io: Io): Promise<ExitCodeValue> {
  await agentClient(global).editProfile(profile, profilePatchFor(field, values));
  io.out.write(`${profile}: ${field} changed\n`);
  await printProfiles(profile, global, io);
  return ExitCode.ok;
}

export async function profileUnsetCommand(profile: string, field: string, global: GlobalOptions, io: Io): Promise<ExitCodeValue> {
  await agentClient(global).editProfile(profile, { [field]: null });
  io.out.write(`${profile}: ${field} back to its default\n`);
  await printProfiles(profile, global, io);
  return ExitCode.ok;
}
