/**
 * At agent start: does the restic this installation bundles still match its pin? A job checks the
 * pin again before it runs restic (src/backup/restic-binary.ts) and fails with
 * backup.engine-missing, but an admin should see a damaged or swapped binary on the health list as
 * soon as the agent starts, not the next night when the backup fails. Nothing is reported when no
 * restic is bundled (a checkout, Debian's restic on PATH) or settings.resticPath chooses another one.
 */
import { stat } from 'node:fs/promises';
import type { HealthItem } from '../api/types.js';
import { checkBundledRestic } from '../backup/bundled-restic.js';
import { bundledResticPath } from '../backup/restic-binary.js';

export const BUNDLED_RESTIC_HEALTH_CODE = 'restic.bundled-mismatch';

export interface BundledResticHealthOptions {
  readonly resourcesDir: string;
  readonly platform: NodeJS.Platform;
  readonly arch: string;
  /** settings.resticPath: when set, the bundled binary is not used and not checked. */
  readonly configuredPath?: string;
  readonly now: () => Date;
}

export async function bundledResticHealth(options: BundledResticHealthOptions): Promise<HealthItem | undefined> {
  if (options.configuredPath !== undefined && options.configuredPath !== '') return undefined;
  const key = `${options.platform}-${options.arch}`;
  const file = bundledResticPath(options.resourcesDir, options.platform, options.arch);
  const found = await stat(file).then((s) => s.isFile(), () => false);
  if (!found) return undefined;
  const check = await checkBundledRestic(file, options.resourcesDir, key);
  if (check.ok) return undefined;
  return {
    code: BUNDLED_RESTIC_HEALTH_CODE,
    title: 'The bundled restic failed its checksum',
    text: `${check.problem} Backups that use it fail until this is fixed. ${check.fix}`,
    severity: 'error',
    badge: true,
    since: options.now().toISOString(),
  };
}
