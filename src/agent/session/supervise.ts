/**
 * Wires the tunnel supervisor to a session: its ports from the session's driver, journal and
 * clock, and its result as the session's failure when the tunnel was lost for good.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackupResult } from '../../backup/engine.js';
import type { RepositoryEndpoint } from '../../backup/repository.js';
import { TunnelError, type ResourceJournal, type TunnelDriver, type TunnelProfile } from '../../connect/driver.js';
import type { SessionFailure } from './failures.js';
import type { SessionPorts } from './session.js';
import {
  defaultSupervisorSettings,
  TunnelSupervisor,
  type ReconnectInfo,
  type ReconnectStep,
  type SupervisorSettings,
  type TunnelLossRecord,
} from './tunnel-supervisor.js';

export interface Supervision {
  start(): void;
  progress(bytesDone: number, filesDone: number, bytesTotal?: number): void;
  /** Stops supervising; idempotent. `failure` is set when the tunnel loss is why the engine ended. */
  stop(result?: BackupResult): Promise<{ readonly losses: readonly TunnelLossRecord[]; readonly stalls: number; readonly failure?: SessionFailure }>;
  /** The profile of the gateway in use now (a repair may have failed over to the next one). */
  profile(): TunnelProfile;
}

export interface SuperviseInput {
  readonly settings: Partial<SupervisorSettings>;
  readonly ports: SessionPorts;
  readonly driver: TunnelDriver;
  /** The single-gateway profile connect used, and its place among the profile's gateways. */
  readonly profile: TunnelProfile;
  readonly gatewayIndex?: number;
  /** All gateways of the profile (failover.ts); default: just `profile`. */
  readonly candidates?: readonly TunnelProfile[];
  readonly endpoint: RepositoryEndpoint;
  /** False for a tunnel the user had up already: it is watched, never reconnected by us. */
  readonly broughtUp: boolean;
  readonly resources: ResourceJournal;
  enter(state: 'reconnecting' | 'backing-up'): Promise<void>;
  step(step: ReconnectStep): Promise<void>;
  onReconnecting(info: ReconnectInfo): void;
  stopEngine(): void;
}

export function supervise(input: SuperviseInput): Supervision {
  const { ports, driver, endpoint, resources } = input;
  const candidates = input.candidates ?? [input.profile];
  let index = input.gatewayIndex ?? 0;
  let profile = candidates[index] ?? input.profile;
  const settings: SupervisorSettings = { ...defaultSupervisorSettings, ...input.settings };
  const repositoryHost = endpoint.kind === 'tcp' ? endpoint.host : undefined;
  const requireUp = async (signal: AbortSignal): Promise<void> => {
    const status = await driver.status(profile, signal);
    if (status.state !== 'up') throw new TunnelError('tunnel.down', `the ${profile.name} tunnel is ${status.state}`, '');
  };
  const supervisor = new TunnelSupervisor(settings, {
    now: () => ports.now().getTime(),
    sleep: (ms, signal) => (ports.sleep === undefined ? sleep(ms, undefined, { signal }) : ports.sleep(ms, signal)),
    random: () => (ports.random === undefined ? Math.random() : ports.random()),
    status: (signal) => driver.status(profile, signal),
    probe: (signal) => ports.checkReachable(endpoint, signal),
    reconnect: async (signal) => {
      if (input.broughtUp) {
        try {
          // A driver that can repair in place keeps its kill switch up meanwhile; otherwise start over.
          if (driver.reconnect !== undefined) {
            await driver.reconnect(profile, signal, resources);
          } else {
            await driver.disconnect(profile, signal, resources);
            await driver.ensureProfile(profile, signal, resources);
            await driver.connect(profile, signal, resources);
          }
        } catch (error) {
          // Failover: the next attempt goes to the next gateway (round the list).
          if (candidates.length > 1) {
            index = (index + 1) % candidates.length;
            profile = candidates[index] ?? profile;
            ports.log?.('info', `the next reconnect attempt goes to gateway ${profile.gateways[0] ?? ''}`);
          }
          throw error;
        }
      }
      await requireUp(signal);
    },
    verify: async (signal) => {
      await driver.verify?.(profile, repositoryHost, signal, resources);
      await ports.checkReachable(endpoint, signal);
    },
    enter: (state) => input.enter(state),
    step: (step) => input.step(step),
    onReconnecting: (info) => { input.onReconnecting(info); },
    stopEngine: () => { input.stopEngine(); },
    log: (level, message, fields) => { ports.log?.(level, message, fields); },
  });
  let stopped: ReturnType<Supervision['stop']> | undefined;
  return {
    start: () => { supervisor.start(); },
    profile: () => profile,
    progress: (bytesDone, filesDone, bytesTotal) => { supervisor.progress(bytesDone, filesDone, bytesTotal); },
    stop: (result) => {
      stopped ??= supervisor.stop().then((report) => {
        // Lost for good, or the engine gave up on the network while a repair was still running.
        const engineGaveUp = report.repairing && result?.outcome === 'failed' && result.failure.class === 'network';
        const loss = report.lost ?? (engineGaveUp ? report.losses.at(-1) : undefined);
        return loss === undefined
          ? { losses: report.losses, stalls: report.stalls }
          : { losses: report.losses, stalls: report.stalls, failure: tunnelLost({ ...profile, gateways: candidates.flatMap((c) => c.gateways) }, settings, loss) };
      });
      return stopped;
    },
  };
}

/** `tunnel.lost`: the tunnel dropped under the backup and the repair ran out of time or attempts. */
export function tunnelLost(profile: TunnelProfile, settings: SupervisorSettings, loss: TunnelLossRecord): SessionFailure {
  const within = formatSpan(settings.deadlineMs);
  const why = loss.gaveUp === 'attempts' ? `all ${loss.attempts} reconnect attempts failed` : `it did not come back within ${within} (${loss.attempts} reconnect attempts)`;
  return {
    code: 'tunnel.lost',
    message: `the ${profile.name} VPN tunnel was lost during the backup and ${why}`,
    hint:
      `Check this machine's network and that the VPN gateway (${profile.gateways.join(', ')}) is up, then run the job again. ` +
      `A longer outage can be ridden out with a larger profiles.${profile.name}.reconnectDeadlineSeconds. ` +
      'restic may have left a stale lock of this host in the repository: the job\'s next run removes it once connected.',
  };
}

function formatSpan(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds >= 120 && seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}
