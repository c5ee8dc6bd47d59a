/**
 * vpn.auth: certificates rather than a pre-shared key (a PSK is shared by every client that knows
 * it), no PSK reused across profiles, and a client certificate that is valid for 30 days more.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { formatSecretRef } from '../../../config/schema.js';
import { resolveSecret } from '../../../os/secrets.js';
import type { CheckOutcome, DoctorCheck, DoctorContext } from '../types.js';

const DAY_MS = 86_400_000;
/** Expiring sooner than this is a warning: time to renew before backups stop. */
export const EXPIRY_WARNING_DAYS = 30;

/** Other profiles whose PSK is the same secret (by value where it resolves, else by reference). */
async function profilesSharingPsk(ctx: DoctorContext, name: string): Promise<string[]> {
  const fingerprint = async (profileName: string): Promise<string | undefined> => {
    const auth = ctx.config.profiles[profileName]?.auth;
    if (auth?.method !== 'psk') return undefined;
    try {
      const value = await resolveSecret(auth.psk, { redactor: ctx.redactor, store: ctx.secretStore });
      return createHash('sha256').update(value).digest('hex');
    } catch {
      return `ref:${formatSecretRef(auth.psk)}`;
    }
  };
  const mine = await fingerprint(name);
  const shared: string[] = [];
  for (const other of Object.keys(ctx.config.profiles)) {
    if (other !== name && mine !== undefined && (await fingerprint(other)) === mine) shared.push(other);
  }
  return shared;
}

/** The verdict on a PEM certificate at `now`. */
export function certificateVerdict(pem: string, now: Date, key: string): CheckOutcome {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return { status: 'fail', evidence: `${key} is not a PEM certificate`, fix: `Point ${key} at the machine's certificate (PEM, -----BEGIN CERTIFICATE-----).` };
  }
  const subject = cert.subject.replaceAll('\n', ', ');
  const notAfter = new Date(cert.validTo);
  const notBefore = new Date(cert.validFrom);
  const days = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  const renew = `Renew the certificate (ask whoever issues your VPN certificates for a new one) and replace the file ${key} names; the private key may stay if it is reused.`;
  if (now < notBefore) return { status: 'fail', evidence: `${subject}: not valid before ${notBefore.toISOString()} (check this machine's clock)`, fix: 'Set the clock right (NTP), or get a certificate valid from today.' };
  if (now > notAfter) return { status: 'fail', evidence: `${subject}: expired on ${notAfter.toISOString()}`, fix: renew };
  if (days < EXPIRY_WARNING_DAYS) return { status: 'warn', evidence: `${subject}: expires on ${notAfter.toISOString()}, in ${days} days`, fix: renew };
  return { status: 'pass', evidence: `certificate authentication; ${subject}, valid until ${notAfter.toISOString()} (${days} days)` };
}

export const certificateAuthCheck: DoctorCheck = {
  id: 'vpn.auth',
  title: 'Certificate authentication',
  group: 'vpn',
  scope: 'profile',
  async run(ctx) {
    const name = ctx.target.profileName ?? '';
    const auth = ctx.target.profile?.auth;
    if (auth === undefined) return { status: 'skip', evidence: 'no profile' };
    const key = `profiles.${name}.auth`;
    if (auth.method === 'psk') {
      const shared = await profilesSharingPsk(ctx, name);
      const sharedText = shared.length > 0 ? `; the same PSK is used by profile${shared.length > 1 ? 's' : ''} ${shared.join(', ')}` : '';
      return {
        status: 'warn',
        evidence: `${key} uses a pre-shared key${sharedText}`,
        fix: `Switch to certificates (${key}.method: certificate with certificate/key/ca): anyone who knows a PSK can pose as the gateway to every client.${shared.length > 0 ? ' At least give each profile its own PSK.' : ''}`,
      };
    }
    let pem: string;
    try {
      pem = await ctx.readText(auth.certificate);
    } catch (error) {
      return { status: 'fail', evidence: `${key}.certificate: ${auth.certificate} can't be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, fix: `Check the path in ${key}.certificate and that the agent's user can read it.` };
    }
    return certificateVerdict(pem, ctx.now(), `${key}.certificate`);
  },
};
