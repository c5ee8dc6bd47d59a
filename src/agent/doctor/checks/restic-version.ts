/** repository.restic: restic is found (settings.resticPath, bundled, PATH) and new enough. */
import { compareVersions, formatVersion, MIN_RESTIC_VERSION, type ResticVersion } from '../../../backup/restic-binary.js';
import type { DoctorCheck } from '../types.js';

/** Older restic works, but without --retry-lock and with slower pruning: worth an upgrade. */
export const RECOMMENDED_RESTIC_VERSION: ResticVersion = { major: 0, minor: 16, patch: 0 };

export const resticVersionCheck: DoctorCheck = {
  id: 'repository.restic',
  title: 'restic version',
  group: 'repository',
  scope: 'host',
  async run(ctx) {
    if (!Object.values(ctx.config.jobs).some((job) => job.engine === 'restic')) return { status: 'skip', evidence: 'no restic job' };
    let binary;
    try {
      binary = await ctx.resticBinary();
    } catch (error) {
      const e = error as { message?: unknown; hint?: unknown };
      return { status: 'fail', evidence: typeof e.message === 'string' ? e.message : String(error), fix: typeof e.hint === 'string' ? e.hint : 'Install restic, or set settings.resticPath.' };
    }
    const evidence = `restic ${formatVersion(binary.version)} at ${binary.path}`;
    if (compareVersions(binary.version, MIN_RESTIC_VERSION) < 0) {
      return { status: 'fail', evidence: `${evidence}, older than ${formatVersion(MIN_RESTIC_VERSION)}`, fix: 'Install a newer restic, or set settings.resticPath to one.' };
    }
    if (compareVersions(binary.version, RECOMMENDED_RESTIC_VERSION) < 0) {
      return { status: 'warn', evidence: `${evidence}: works, but without --retry-lock (0.16)`, fix: `Upgrade restic to ${formatVersion(RECOMMENDED_RESTIC_VERSION)} or newer (the release binary, or settings.resticPath).` };
    }
    return { status: 'pass', evidence };
  },
};
