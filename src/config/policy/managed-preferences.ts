/**
 * The macOS policy source: managed preferences for the domain `com.backhaul.agent`, which an MDM
 * (or a `.mobileconfig` installed by hand, see resources/policy/macos) places in
 * `/Library/Managed Preferences/com.backhaul.agent.plist` — a directory only root writes.
 *
 * The plist is turned into JSON by Apple's own `plutil -convert json -o - FILE` (through the
 * CommandRunner), so binary and XML plists read the same; plist dictionaries, arrays, strings,
 * integers and booleans map onto the YAML policy's shape one to one.
 */
import { stat } from 'node:fs/promises';
import type { CommandRunner } from '../../os/command.js';
import type { ConfigIssue } from '../issues.js';

export const MANAGED_PREFERENCES_DOMAIN = 'com.backhaul.agent';
export const MANAGED_PREFERENCES_FILE = `/Library/Managed Preferences/${MANAGED_PREFERENCES_DOMAIN}.plist`;

/**
 * Keys a configuration profile's payload carries for its own bookkeeping (PayloadType,
 * PayloadUUID, …). They are not policy settings, so they are dropped by name — the only keys
 * that are; any other unknown key is an error.
 */
const PROFILE_BOOKKEEPING = /^Payload[A-Z]/;

export type ManagedPreferencesRead =
  | { readonly state: 'absent' }
  | { readonly state: 'read'; readonly data: unknown }
  | { readonly state: 'unreadable'; readonly errors: readonly ConfigIssue[] };

/** Reads the managed preferences file; no file is "no policy". */
export async function readManagedPreferences(runner: CommandRunner, file: string = MANAGED_PREFERENCES_FILE): Promise<ManagedPreferencesRead> {
  const exists = await stat(file).then((s) => s.isFile(), () => false);
  if (!exists) return { state: 'absent' };
  const result = await runner.run({ argv: ['plutil', '-convert', 'json', '-o', '-', file], timeoutMs: 15_000, okExitCodes: 'any' });
  const unreadable = (message: string): ManagedPreferencesRead => ({ state: 'unreadable', errors: [{ path: '', source: file, message }] });
  if (result.exitCode !== 0) {
    const why = `${result.stderr}${result.stdout}`.trim().split('\n')[0] ?? '';
    return unreadable(`plutil could not read it (${why === '' ? `exit ${String(result.exitCode)}` : why}); is it a valid property list? Reinstall the configuration profile`);
  }
  return managedPreferencesFromJson(result.stdout, file);
}

/** The policy data in plutil's JSON, without the profile's bookkeeping keys. */
export function managedPreferencesFromJson(json: string, file: string): ManagedPreferencesRead {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    return { state: 'unreadable', errors: [{ path: '', source: file, message: 'plutil printed something that is not JSON; is plutil the one from macOS?' }] };
  }
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    data = Object.fromEntries(Object.entries(data).filter(([key]) => !PROFILE_BOOKKEEPING.test(key)));
  }
  return { state: 'read', data };
}
