/**
 * `backhaul doctor`: the deployment checklist as small checks. Each check answers one question
 * about this machine, a VPN profile or a job with pass / warn / fail / skip, the evidence it saw,
 * and — when not pass — what to do. Checks get every side effect through the context's ports, so
 * they run against fakes in unit tests and against the real host lab in the fault tier.
 */
import type { ResticEngine } from '../../backup/restic.js';
import type { ResticVersion } from '../../backup/restic-binary.js';
import type { Config, JobConfig, ProfileConfig } from '../../config/schema.js';
import type { TunnelDriver, TunnelProfile, TunnelStatus } from '../../connect/driver.js';
import type { CommandRunner } from '../../os/command.js';
import type { BackhaulPaths } from '../../os/paths.js';
import type { SecretRedactor } from '../../os/redact.js';
import type { SecretStore } from '../../os/secret-store.js';
import type { TunnelPlanContext } from '../tunnel-plan.js';
import type { IkeProbe } from './ike-probe.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** What one check found. `fix` is required in spirit for warn and fail: what to do next. */
export interface CheckOutcome {
  readonly status: CheckStatus;
  /** What was seen: values, versions, dates, answers — never a secret. */
  readonly evidence: string;
  readonly fix?: string;
}

/** Where a check sits in the human output. */
export type CheckGroup = 'host' | 'vpn' | 'network' | 'repository';

/** What a check is about: the machine, the VPN profile, or the job (its repository). */
export type CheckScope = 'host' | 'profile' | 'job';

export interface DoctorCheck {
  /** Stable, for scripts and docs: `vpn.ciphers`. */
  readonly id: string;
  readonly title: string;
  readonly group: CheckGroup;
  readonly scope: CheckScope;
  run(ctx: DoctorContext): Promise<CheckOutcome>;
}

/** The tunnel, as the checks that need it see it. */
export type TunnelAccess =
  | { readonly ok: true; readonly driver: TunnelDriver; readonly profile: TunnelProfile; readonly status: TunnelStatus }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly hint: string };

/** The outside world, injected. */
export interface DoctorPorts {
  readonly config: Config;
  readonly paths: BackhaulPaths;
  readonly runner: CommandRunner;
  readonly redactor: SecretRedactor;
  readonly secretStore?: SecretStore | undefined;
  readonly platform: NodeJS.Platform;
  readonly arch: string;
  readonly homedir: string;
  readonly now: () => Date;
  /** DNS: the addresses of `host` (throws with a code such as ENOTFOUND). */
  readonly resolveHost: (host: string) => Promise<readonly string[]>;
  readonly ikeProbe: IkeProbe;
  /** The restic engine (located and version-checked); throws a user-facing error when missing. */
  readonly resticEngine: () => Promise<ResticEngine>;
  /** Where restic is and its version; throws a user-facing error (message, hint) when missing. */
  readonly resticBinary: () => Promise<{ readonly path: string; readonly version: ResticVersion }>;
  /** The running agent's /metrics text, or undefined when no agent answers on its socket. */
  readonly agentMetrics: () => Promise<string | undefined>;
  /** Reads a file as text (/proc/cpuinfo, certificates). */
  readonly readText: (path: string) => Promise<string>;
  /** Opens `path` for reading and closes it: how macOS's TCC answers (EPERM without Full Disk Access). */
  readonly canRead: (path: string) => Promise<{ readonly ok: true } | { readonly ok: false; readonly code: string }>;
  /** The file's modification time (credential age). */
  readonly modifiedAt: (path: string) => Promise<Date>;
  /** Credentials older than this many days are flagged; overrides settings.credentialMaxAgeDays; neither: not checked. */
  readonly credentialMaxAgeDays?: number | undefined;
  /** What the host offers for tunnels (default: probed through the runner). */
  readonly hostProbe?: TunnelPlanContext['probe'];
  readonly agentMode?: 'user' | 'system';
  readonly signal: AbortSignal;
}

/** What doctor looks at in one pass: a job (and its profile), or a profile no job is named for. */
export interface DoctorTarget {
  readonly jobName?: string;
  readonly job?: JobConfig;
  readonly profileName?: string;
  readonly profile?: ProfileConfig;
}

export interface DoctorContext extends DoctorPorts {
  readonly target: DoctorTarget;
  /** Runs `fn` once per key for this target and shares its promise (the IKE probes, DNS). */
  once<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Brings the profile's tunnel up once for this target; doctor takes it down at the end. */
  tunnel(): Promise<TunnelAccess>;
}

/** One check's line in the report. */
export interface CheckReport extends CheckOutcome {
  readonly id: string;
  readonly title: string;
  readonly group: CheckGroup;
}

/** One pass of the checklist. */
export interface TargetReport {
  /** `host`, `job offsite (profile office)`, `profile office`. */
  readonly subject: string;
  readonly job?: string;
  readonly profile?: string;
  readonly checks: readonly CheckReport[];
}

export interface DoctorReport {
  readonly schemaVersion: 1;
  readonly generatedAt: string;
  readonly reports: readonly TargetReport[];
  readonly summary: Readonly<Record<CheckStatus, number>>;
}
