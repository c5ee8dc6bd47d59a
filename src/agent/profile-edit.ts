/**
 * Profile editing as the agent answers it: the profile views (`GET /v1/profiles`), the copies kept
 * of the config file before any edit, and the refusal while a session uses the profile.
 */
import { join } from 'node:path';
import type { ProfileView } from '../api/types.js';
import { DEFAULT_BACKUPS_KEPT, type BackupSettings } from '../config/backups.js';
import type { LayerName } from '../config/layers.js';
import { lockedProfileFields, profileSettings } from '../config/profile-edit.js';
import type { Config } from '../config/schema.js';
import { ApiProblem } from './api-server.js';

/** Every profile with its editable fields and locks, in the config's order. */
export function profileViews(config: Config, origins: ReadonlyMap<string, LayerName>): ProfileView[] {
  return Object.entries(config.profiles).map(([name, profile]) => ({ name, type: profile.type, settings: profileSettings(profile), locked: lockedProfileFields(origins, name) }));
}

/** Where the agent keeps copies of the config file before it changes it: `<state>/config-backups`. */
export function configBackups(stateDir: string): BackupSettings {
  return { dir: join(stateDir, 'config-backups'), keep: DEFAULT_BACKUPS_KEPT };
}

/** 404 for a profile the running config doesn't have (the editor would say the same about the file). */
export function unknownProfile(config: Config, name: string): ApiProblem {
  const known = Object.keys(config.profiles);
  return new ApiProblem(404, 'config.unknown-profile', `there is no profile named "${name.slice(0, 64)}"`, known.length > 0 ? `Known profiles: ${known.join(', ')}.` : 'The config has no VPN profiles yet: add one under "profiles:" in the config file.');
}

/**
 * 409 while a job that uses the profile runs or waits: a running session keeps the tunnel it
 * planned, and a change landing between planning and connecting would be half applied.
 */
export function profileInUse(profile: string, job: string, sessionId: string): ApiProblem {
  return new ApiProblem(
    409,
    'profile.in-use',
    `profile "${profile}" is in use by job "${job}" (session ${sessionId}); its settings can't change during a run`,
    'Save again when the run has finished, or cancel it first.',
  );
}
