/**
 * host.credential-age: secrets and certificates older than the rotation policy
 * (`settings.credentialMaxAgeDays`, or `--max-credential-age DAYS` for one run). The age of a file: reference or a certificate is its modification
 * time — when it was last written, i.e. rotated. Keychain entries carry no date Backhaul can read
 * the same way on every OS, so they are listed as not checked.
 */
import type { SecretRef } from '../../../config/schema.js';
import type { DoctorCheck, DoctorContext } from '../types.js';

const DAY_MS = 86_400_000;

interface Credential {
  readonly key: string;
  readonly ref: SecretRef;
}

/** Every credential the config names, with the key that names it. */
export function configCredentials(ctx: DoctorContext): Credential[] {
  const found: Credential[] = [];
  for (const [name, profile] of Object.entries(ctx.config.profiles)) {
    const at = `profiles.${name}.auth`;
    const auth = profile.auth;
    if (auth.method === 'psk') found.push({ key: `${at}.psk`, ref: auth.psk });
    else {
      found.push({ key: `${at}.certificate`, ref: { kind: 'file', path: auth.certificate } });
      if (auth.key !== undefined) found.push({ key: `${at}.key`, ref: auth.key });
    }
    if (auth.password !== undefined) found.push({ key: `${at}.password`, ref: auth.password });
  }
  for (const [name, job] of Object.entries(ctx.config.jobs)) {
    if (job.password !== undefined) found.push({ key: `jobs.${name}.password`, ref: job.password });
    if (job.ssh !== undefined) found.push({ key: `jobs.${name}.ssh.identity`, ref: job.ssh.identity });
  }
  return found;
}

export const credentialAgeCheck: DoctorCheck = {
  id: 'host.credential-age',
  title: 'Credentials within the rotation policy',
  group: 'host',
  scope: 'host',
  async run(ctx) {
    const maxDays = ctx.credentialMaxAgeDays ?? ctx.config.settings.credentialMaxAgeDays;
    if (maxDays === undefined) return { status: 'skip', evidence: 'no rotation policy set (settings.credentialMaxAgeDays, or --max-credential-age DAYS)' };
    const credentials = configCredentials(ctx);
    if (credentials.length === 0) return { status: 'skip', evidence: 'the config names no credentials' };
    const old: string[] = [];
    const fine: string[] = [];
    const unchecked: string[] = [];
    for (const { key, ref } of credentials) {
      if (ref.kind !== 'file') {
        unchecked.push(`${key} (keychain)`);
        continue;
      }
      try {
        const days = Math.floor((ctx.now().getTime() - (await ctx.modifiedAt(ref.path)).getTime()) / DAY_MS);
        (days > maxDays ? old : fine).push(`${key}: ${days} days`);
      } catch (error) {
        unchecked.push(`${key} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
      }
    }
    const parts = [
      old.length > 0 ? `older than ${maxDays} days: ${old.join(', ')}` : '',
      fine.length > 0 ? `within: ${fine.join(', ')}` : '',
      unchecked.length > 0 ? `not checked: ${unchecked.join(', ')}` : '',
    ].filter((p) => p !== '');
    if (old.length > 0) return { status: 'warn', evidence: parts.join('; '), fix: `Rotate these (a new PSK or password on both ends, a new certificate and key) and write the new value to the same file; the policy allows ${maxDays} days.` };
    if (fine.length === 0) return { status: 'skip', evidence: parts.join('; ') };
    return { status: 'pass', evidence: parts.join('; ') };
  },
};
