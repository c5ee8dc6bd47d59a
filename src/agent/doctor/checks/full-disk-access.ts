/**
 * host.full-disk-access (macOS): without Full Disk Access, TCC hides Mail, Messages, Safari data
 * and more from the agent — restic then backs up "successfully" without them. The test is the one
 * TCC itself answers: opening its system database, readable only with Full Disk Access (EPERM
 * otherwise), then ~/Library/Mail as a second witness.
 */
import { join } from 'node:path';
import type { DoctorCheck } from '../types.js';

export const TCC_DATABASE = '/Library/Application Support/com.apple.TCC/TCC.db';

export const fullDiskAccessCheck: DoctorCheck = {
  id: 'host.full-disk-access',
  title: 'Full Disk Access (macOS)',
  group: 'host',
  scope: 'host',
  async run(ctx) {
    if (ctx.platform !== 'darwin') return { status: 'skip', evidence: 'macOS only' };
    const fix = 'System Settings → Privacy & Security → Full Disk Access: turn it on for Backhaul (the agent\'s executable). For a fleet, push a PPPC profile with SystemPolicyAllFiles for the agent through MDM — resources/macos/backhaul-pppc.mobileconfig is a sample (docs/doctor.md).';
    const tcc = await ctx.canRead(TCC_DATABASE);
    if (tcc.ok) return { status: 'pass', evidence: `${TCC_DATABASE} is readable: Full Disk Access is granted` };
    if (tcc.code === 'EPERM' || tcc.code === 'EACCES') {
      return { status: 'fail', evidence: `${TCC_DATABASE}: ${tcc.code} — macOS denies protected files to this process, so backups silently miss Mail, Messages, Safari and other app data`, fix };
    }
    const mail = await ctx.canRead(join(ctx.homedir, 'Library', 'Mail'));
    if (mail.ok) return { status: 'pass', evidence: '~/Library/Mail is readable: Full Disk Access is granted' };
    if (mail.code === 'EPERM' || mail.code === 'EACCES') return { status: 'fail', evidence: `~/Library/Mail: ${mail.code} — protected by TCC`, fix };
    return { status: 'warn', evidence: `${TCC_DATABASE}: ${tcc.code}; ~/Library/Mail: ${mail.code} — can't tell`, fix };
  },
};
