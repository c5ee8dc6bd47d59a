/**
 * Gateway failover (issue 7): a profile may list several gateways in order, the seed's HA advice.
 * Each is tried as a profile of its own, so every driver fails over the same way without knowing
 * about it: connect tries them in order, and a repair moves on to the next gateway after an
 * attempt on the current one failed.
 */
import type { ConnectOutcome, DriverLog, ResourceJournal, TunnelDriver, TunnelProfile } from '../../connect/driver.js';

/** One profile per gateway, in the order listed; a single-gateway profile is returned as is. */
export function gatewayCandidates(profile: TunnelProfile): readonly TunnelProfile[] {
  return profile.gateways.length <= 1 ? [profile] : profile.gateways.map((gateway) => ({ ...profile, gateways: [gateway] }));
}

/**
 * ensureProfile + connect through the first gateway that works. Throws the last gateway's error
 * when none does (each failure is logged first).
 */
export async function connectFirstGateway(
  driver: TunnelDriver,
  profile: TunnelProfile,
  signal: AbortSignal,
  journal: ResourceJournal,
  log: DriverLog = () => undefined,
): Promise<{ readonly connected: ConnectOutcome; readonly profile: TunnelProfile; readonly index: number }> {
  const candidates = gatewayCandidates(profile);
  let lastError: unknown;
  for (const [index, candidate] of candidates.entries()) {
    try {
      await driver.ensureProfile(candidate, signal, journal);
      const connected = await driver.connect(candidate, signal, journal);
      if (index > 0) log('info', `connected through gateway ${candidate.gateways[0] ?? ''} (${index + 1} of ${candidates.length})`);
      return { connected, profile: candidate, index };
    } catch (error) {
      signal.throwIfAborted();
      lastError = error;
      if (index + 1 < candidates.length) {
        log('warn', `gateway ${candidate.gateways[0] ?? ''} failed (${error instanceof Error ? error.message : String(error)}); trying ${candidates[index + 1]?.gateways[0] ?? ''}`);
      }
    }
  }
  throw lastError;
}
