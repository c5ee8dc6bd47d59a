/**
 * The shape of a Backhaul config file, as one zod 4 schema. Every object is strict (a typo is an
 * error, not silently ignored), defaults are applied in the output type, secrets are references and
 * never values, and every message is written for the person editing the file: it says what would be
 * valid and never repeats a value that could be a secret.
 *
 * Messages here are the text after the path; `issues.ts` adds the dotted path and the line.
 */
import { z } from 'zod';
import { checkCidr, isAbsolutePathAnyOs, isHostOrIp, parseRateKiBps } from './validators.js';
import { isKnownTimeZone, MAX_RANDOM_DELAY_MS, parseDelay, parseSchedule } from './schedule-expression.js';

/** Names of jobs and profiles: safe in file names, unit names and native VPN entry names. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const NAME_RULE = 'lower-case letters, digits, "-" and "_", starting with a letter or digit, at most 63 characters';

/** The profile name that means "no tunnel": the repository is reachable as is. */
export const DIRECT_PROFILE = 'direct';

/** Where a secret lives. The config only ever holds this reference, never the secret itself. */
export type SecretRef = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'keychain'; readonly name: string };

/** Raw zod issue as handed to error functions (carries `input`, which final issues do not). */
type RawIssue = z.core.$ZodRawIssue;

/** Describes the type of a value without showing the value (safe for secrets). */
export function describeKind(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  if (value instanceof Date) return 'a date';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isInteger(value) ? 'a whole number' : 'a number';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      return 'a mapping';
    default:
      return `a ${typeof value}`;
  }
}

/** Shows a short non-secret value (numbers, booleans, short strings); otherwise only its type. */
export function showValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') {
    if (value.length === 0) return 'an empty string';
    return value.length <= 40 ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, 37))}…`;
  }
  return describeKind(value);
}

/** Error function for a field: "required" when missing, "expected WHAT, got KIND" for a wrong type. */
function expecting(what: string): (issue: RawIssue) => string | undefined {
  return (issue) => {
    if (issue.code !== 'invalid_type') return undefined;
    return issue.input === undefined ? 'required' : `expected ${what}, got ${describeKind(issue.input)}`;
  };
}

/** A whole number in a range; the message names the range and the value given (never secret). */
function intRange(min: number, max: number) {
  const message = (issue: RawIssue): string => {
    if (issue.input === undefined) return 'required';
    const outOfRange = issue.code === 'too_big' || issue.code === 'too_small';
    return `must be ${outOfRange ? '' : 'a whole number '}${min}–${max}, got ${showValue(issue.input)}`;
  };
  return z
    .number({ error: message })
    .int({ error: message })
    .min(min, { error: message })
    .max(max, { error: message });
}

const nonEmptyString = (what: string) =>
  z.string({ error: expecting(what) }).min(1, { error: `must not be empty; expected ${what}` });

const absolutePath = z
  .string({ error: expecting('an absolute path') })
  .refine(isAbsolutePathAnyOs, {
    error: (issue) => `must be an absolute path (/…, C:\\… or \\\\server\\share\\…), got ${showValue(issue.input)}`,
  });

const SECRET_LITERAL = 'must be a secret reference (file:/path or keychain:name), not the secret itself';
const KEYCHAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/** Result of {@link parseSecretRef}. The reason never contains the input. */
export type SecretRefParse = { ok: true; ref: SecretRef } | { ok: false; reason: string };

/** Parse `file:ABS_PATH` or `keychain:NAME`. Anything else is treated as a pasted secret. */
export function parseSecretRef(value: string): SecretRefParse {
  if (value.startsWith('file:')) {
    const path = value.slice('file:'.length);
    return isAbsolutePathAnyOs(path)
      ? { ok: true, ref: { kind: 'file', path } }
      : { ok: false, reason: 'a file: reference needs an absolute path, e.g. file:/etc/backhaul/office.pw' };
  }
  if (value.startsWith('keychain:')) {
    const name = value.slice('keychain:'.length);
    return KEYCHAIN_NAME.test(name)
      ? { ok: true, ref: { kind: 'keychain', name } }
      : { ok: false, reason: 'a keychain: reference needs a name of letters, digits, ".", "_", "@" and "-"' };
  }
  return { ok: false, reason: SECRET_LITERAL };
}

/** The reference as it is written in a config file. */
export function formatSecretRef(ref: SecretRef): string {
  return ref.kind === 'file' ? `file:${ref.path}` : `keychain:${ref.name}`;
}

/** A secret field. Its messages never include the input: it may be the secret, pasted by mistake. */
export const SecretRefSchema = z
  .string({
    error: (issue) => {
      if (issue.input === undefined) return 'required';
      const kind = typeof issue.input;
      return kind === 'number' || kind === 'boolean' || kind === 'bigint'
        ? SECRET_LITERAL
        : `expected a secret reference (file:/path or keychain:name), got ${describeKind(issue.input)}`;
    },
  })
  .transform((value, ctx): SecretRef => {
    const parsed = parseSecretRef(value);
    if (parsed.ok) return parsed.ref;
    ctx.issues.push({ code: 'custom', message: parsed.reason, input: '[secret]', params: { secret: true } });
    return z.NEVER;
  });

const rate = z
  .union([z.number(), z.string()], {
    error: (issue) =>
      issue.input === undefined
        ? 'required'
        : `expected a rate like "10 MiB/s", "500 KiB/s" or "20 Mbit/s", got ${describeKind(issue.input)}`,
  })
  .transform((value, ctx) => {
    const parsed = parseRateKiBps(value);
    if (parsed.ok) return parsed.kibps;
    ctx.issues.push({ code: 'custom', message: `${parsed.reason}, got ${showValue(value)}`, input: value });
    return z.NEVER;
  });

const engine = z.enum(['restic', 'rsync'], {
  error: (issue) =>
    issue.input === undefined ? 'required' : `must be restic or rsync, got ${showValue(issue.input)}`,
});

const loginName = z
  .string({ error: expecting('a user name on the SSH host') })
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, {
    error: (issue) => `must be a user name (letters, digits, ".", "_", "-"), got ${showValue(issue.input)}`,
  });

/** An ssh private key: a file reference only (ssh reads the file itself; a keychain entry has no path). */
const sshIdentity = SecretRefSchema.check((ctx) => {
  if (ctx.value.kind !== 'file') {
    ctx.issues.push({
      code: 'custom',
      message: 'must be file:/path to the private key; keychain: is not supported for ssh keys',
      input: '[secret]',
      params: { secret: true },
    });
  }
});

/** Where an rsync job copies to: an SSH host, checked against a known_hosts file. */
export const SshSchema = z.strictObject({
  host: z.string({ error: expecting('a host name or IP address') }).refine(isHostOrIp, {
    error: (issue) => `must be a host name or IP address (no port, no user@), got ${showValue(issue.input)}`,
  }),
  port: intRange(1, 65535).default(22),
  user: loginName,
  identity: sshIdentity,
  knownHosts: absolutePath.exactOptional(),
});

/** rsync's timeouts, in whole seconds. */
export const RsyncTimeoutsSchema = z.strictObject({
  ioSeconds: intRange(5, 86_400).default(300),
  connectSeconds: intRange(1, 600).default(30),
});

/**
 * A hook command as an argv list: run without a shell, so a path or an argument with spaces or
 * quotes means what it says and nothing in the config is ever re-parsed by `sh`. A shell command is
 * written as ["sh", "-c", "…"] — explicitly.
 */
const hookCommand = z
  .array(nonEmptyString('a program or an argument'), {
    error: (issue) =>
      issue.input === undefined
        ? 'required'
        : typeof issue.input === 'string'
          ? 'expected a command as a list [program, arg, …], got a string; for a shell command write ["sh", "-c", "…"]'
          : `expected a command as a list [program, arg, …], got ${describeKind(issue.input)}`,
  })
  .min(1, { error: 'must not be empty; expected [program, arg, …]' });

const hookList = z.array(hookCommand, { error: expecting('a list of commands, each [program, arg, …]') }).default([]);

/** Commands run around a job's session (src/agent/around-run/hooks.ts). */
export const HooksSchema = z.strictObject({
  pre: hookList,
  post: hookList,
  onFailure: hookList,
  timeoutSeconds: intRange(1, 3600).default(300),
});

/**
 * A notification address. Its value is never repeated in a message: a webhook or ping URL often
 * carries a token. User info (user:password@) is refused, it would be a secret in the file.
 */
const notifyUrl = z.string({ error: expecting('an http:// or https:// URL') }).check((ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(ctx.value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    ctx.issues.push({ code: 'custom', message: 'must be an http:// or https:// URL', input: '[url]' });
  } else if (url.username !== '' || url.password !== '') {
    ctx.issues.push({ code: 'custom', message: 'must not hold a user name or password (user:password@); use a URL with a token in its path', input: '[url]' });
  }
});

/** Where a job reports its start and end (src/agent/around-run/notify.ts). */
export const NotifySchema = z.strictObject({
  webhook: notifyUrl.exactOptional(),
  healthchecks: notifyUrl.exactOptional(),
  timeoutSeconds: intRange(1, 60).default(10),
  retries: intRange(0, 5).default(2),
});

const onOff = (what: string) => z.boolean({ error: expecting(`true or false (${what})`) }).default(false);

/** When a job runs by itself (src/agent/schedule): the expression and the rules around it. */
export const ScheduleSchema = z.strictObject({
  at: z.string({ error: expecting('a schedule such as "daily at 02:00" or a cron expression such as "30 2 * * *"') }).check((ctx) => {
    const parsed = parseSchedule(ctx.value);
    if (!parsed.ok) ctx.issues.push({ code: 'custom', message: `${parsed.message}. ${parsed.hint}`, input: ctx.value });
  }),
  timezone: z.string({ error: expecting('an IANA time zone such as Europe/Berlin') }).refine(isKnownTimeZone, {
    error: (issue) => `must be an IANA time zone such as Europe/Berlin or America/New_York, got ${showValue(issue.input)}`,
  }).exactOptional(),
  randomDelay: z.string({ error: expecting('a delay such as "15m", "90s" or "1h"') }).refine((text) => (parseDelay(text) ?? Infinity) <= MAX_RANDOM_DELAY_MS, {
    error: (issue) => `must be a delay of at most 12h such as "15m", "90s" or "1h", got ${showValue(issue.input)}`,
  }).exactOptional(),
  catchUp: z.enum(['once', 'skip'], {
    error: (issue) => (issue.input === undefined ? 'required' : `must be once (run one missed slot when the machine is back) or skip, got ${showValue(issue.input)}`),
  }).default('once'),
  overlap: z.enum(['wait', 'skip'], {
    error: (issue) => (issue.input === undefined ? 'required' : `must be wait (start when the previous run ends) or skip, got ${showValue(issue.input)}`),
  }).default('wait'),
  onlyOnAc: onOff('wait for mains power'),
  requireGatewayDns: onOff('wait until the gateway resolves'),
  skipOnMetered: onOff('wait while the connection is metered'),
});

/** One backup job, as written in the file (before `bandwidthLimit` is normalised). */
export const JobObjectSchema = z.strictObject({
  engine: engine.default('restic'),
  sources: z
    .array(absolutePath, { error: expecting('a list of absolute paths') })
    .min(1, { error: 'must list at least one absolute path' }),
  excludes: z
    .array(nonEmptyString('an exclude pattern'), { error: expecting('a list of exclude patterns') })
    .default([]),
  repository: nonEmptyString('a restic repository URL or path'),
  password: SecretRefSchema.exactOptional(),
  profile: nonEmptyString(`"${DIRECT_PROFILE}" or the name of a profile`).default(DIRECT_PROFILE),
  streams: intRange(1, 32).default(4),
  bandwidthLimit: rate.exactOptional(),
  /** rsync only: the SSH host the destination (`repository`) lives on. */
  ssh: SshSchema.exactOptional(),
  /** rsync only: delete on the destination what is gone from the sources. */
  mirror: z.boolean({ error: expecting('true or false') }).exactOptional(),
  /** rsync only. */
  timeouts: RsyncTimeoutsSchema.exactOptional(),
  /** Run by itself on a schedule (absent: only when started by hand). */
  schedule: ScheduleSchema.exactOptional(),
  /** No successful backup for this many days: a health item and a notification. */
  overdueAfterDays: intRange(1, 365).exactOptional(),
  /** `whenNeeded`: direct when the endpoint answers without the tunnel (the office LAN), else `profile`. */
  tunnel: z
    .enum(['always', 'whenNeeded'], {
      error: (issue) => (issue.input === undefined ? 'required' : `must be always or whenNeeded, got ${showValue(issue.input)}`),
    })
    .default('always'),
  /** Hold off idle sleep while the session runs (never a closed lid). */
  keepAwake: z.boolean({ error: expecting('true or false') }).default(true),
  hooks: HooksSchema.exactOptional(),
  notify: NotifySchema.exactOptional(),
});

/** A job with defaults applied; `uploadLimitKiBps` is absent when uploads are unlimited. */
export const JobSchema = JobObjectSchema.transform(({ bandwidthLimit, ...rest }) => {
  const job: typeof rest & { uploadLimitKiBps?: number } = rest;
  if (bandwidthLimit !== undefined) job.uploadLimitKiBps = bandwidthLimit;
  return job;
});

const authCommon = {
  /** The PPP user for L2TP. */
  username: nonEmptyString('a user name').exactOptional(),
  password: SecretRefSchema.exactOptional(),
  /** The gateway's IKE identity when it differs from its address. */
  remoteId: nonEmptyString('the gateway\'s IKE identity').exactOptional(),
};

export const CertificateAuthSchema = z.strictObject({
  method: z.literal('certificate'),
  certificate: absolutePath,
  key: SecretRefSchema.exactOptional(),
  /** The CA certificate that issued the gateway's certificate. */
  ca: absolutePath.exactOptional(),
  ...authCommon,
});

export const PskAuthSchema = z.strictObject({
  method: z.literal('psk'),
  psk: SecretRefSchema,
  ...authCommon,
});

const AUTH_METHODS = 'certificate or psk';

const AuthSchema = z.discriminatedUnion('method', [CertificateAuthSchema, PskAuthSchema], {
  error: (issue) => {
    // zod types this as union issues only, but a non-object input arrives as invalid_type.
    const code: string = issue.code;
    if (code === 'invalid_type') {
      return issue.input === undefined
        ? 'required'
        : `expected a mapping with method: ${AUTH_METHODS}, got ${describeKind(issue.input)}`;
    }
    if (code === 'invalid_union') {
      const method = isRecord(issue.input) ? issue.input['method'] : undefined;
      return method === undefined
        ? `required: ${AUTH_METHODS}`
        : `must be ${AUTH_METHODS}, got ${showValue(method)}`;
    }
    return undefined;
  },
});

const tunnelType = z.enum(['l2tp', 'ikev2'], {
  error: (issue) => (issue.input === undefined ? 'required' : `must be l2tp or ikev2, got ${showValue(issue.input)}`),
});

const gateway = z.string({ error: expecting('a host name or IP address') }).refine(isHostOrIp, {
  error: (issue) => `must be a host name or IP address (no port, no URL), got ${showValue(issue.input)}`,
});

const route = z.string({ error: expecting('a CIDR such as 10.99.0.0/24') }).check((ctx) => {
  const result = checkCidr(ctx.value);
  if (!result.ok) ctx.issues.push({ code: 'custom', message: result.reason, input: ctx.value });
});

/** One VPN profile: which native client type, where to connect, how to authenticate, what to route. */
export const ProfileSchema = z.strictObject({
  type: tunnelType,
  gateways: z
    .array(gateway, { error: expecting('a list of host names or IP addresses') })
    .min(1, { error: 'must list at least one gateway host name or IP address' }),
  auth: AuthSchema,
  mtu: intRange(576, 1500).exactOptional(),
  routes: z.array(route, { error: expecting('a list of CIDRs such as 10.99.0.0/24') }).default([]),
  fullTunnel: z.boolean({ error: expecting('true or false') }).default(false),
  /** Which native client; `auto` lets selectDriver decide from what the host has. */
  driver: z
    .enum(['auto', 'linux-nm', 'linux-swan'], {
      error: (issue) => (issue.input === undefined ? 'required' : `must be auto, linux-nm or linux-swan, got ${showValue(issue.input)}`),
    })
    .default('auto'),
  /** strongSwan proposal syntax; checked against cipherPolicy before anything is sent. */
  ikeProposals: z
    .array(nonEmptyString('a proposal such as aes256-sha256-modp2048'), { error: expecting('a list of proposals such as aes256-sha256-modp2048') })
    .min(1, { error: 'must list at least one proposal' })
    .exactOptional(),
  espProposals: z
    .array(nonEmptyString('a proposal such as aes256-sha256'), { error: expecting('a list of proposals such as aes256gcm16 or aes256-sha256') })
    .min(1, { error: 'must list at least one proposal' })
    .exactOptional(),
  cipherPolicy: z
    .enum(['strict', 'legacy'], {
      error: (issue) => (issue.input === undefined ? 'required' : `must be strict or legacy, got ${showValue(issue.input)}`),
    })
    .default('strict'),
  // Also the supervisor's poll while backing up: a check every hour would notice nothing in time.
  keepaliveSeconds: intRange(5, 300).default(30),
  keepaliveFailures: intRange(1, 20).default(4),
  /** No bytes for this many keepalive intervals: the supervisor checks the server still answers. */
  stallIntervals: intRange(2, 20).default(4),
  reconnectAttempts: intRange(1, 100).default(10),
  // Below restic 0.18's own 15-minute retry window, so the engine is still waiting when the tunnel returns.
  reconnectDeadlineSeconds: intRange(10, 840).default(600),
  mssClamp: z.boolean({ error: expecting('true or false') }).default(false),
});

export const SettingsSchema = z.strictObject({
  resticPath: absolutePath.exactOptional(),
  rsyncPath: absolutePath.exactOptional(),
  /** Where keychain:NAME secrets live (src/os/secret-store.ts); absent means auto: the OS keychain where one answers. */
  secretStore: z
    .enum(['auto', 'keychain', 'file'], {
      error: (issue) => `must be auto, keychain or file, got ${showValue(issue.input)}`,
    })
    .exactOptional(),
  /** The rotation policy: `backhaul doctor` flags secrets and certificates older than this (by file mtime). */
  credentialMaxAgeDays: intRange(1, 3650).exactOptional(),
});

/** Top-level collections may be written as an empty key (`jobs:` with everything commented out). */
const emptyWhenNull = (value: unknown): unknown => (value === null ? {} : value);

/** The config file before cross-field checks (exported for the list of valid keys). */
export const ConfigObjectSchema = z.strictObject(
  {
  version: z
    .literal(1, {
      error: (issue) => (issue.input === undefined ? 'required' : `only version 1 is supported, got ${showValue(issue.input)}`),
    })
    .default(1),
  settings: z.preprocess(emptyWhenNull, SettingsSchema).default({}),
  jobs: z
    .preprocess(emptyWhenNull, z.record(z.string(), JobSchema, { error: expecting('a mapping of job names to jobs') }))
    .default({}),
  profiles: z
    .preprocess(
      emptyWhenNull,
      z.record(z.string(), ProfileSchema, { error: expecting('a mapping of profile names to profiles') }),
    )
    .default({}),
  },
  { error: expecting('a mapping with jobs and profiles') },
);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function entriesOf(value: unknown): [string, unknown][] {
  return isRecord(value) ? Object.entries(value) : [];
}

/**
 * Checks that span fields: names, profile references, restic's password, fullTunnel vs routes.
 * Runs even when other parts failed (so one pass reports everything), hence it reads `unknown`.
 */
function crossFieldChecks(config: unknown, ctx: z.core.$RefinementCtx): void {
  if (!isRecord(config)) return;
  const profiles = entriesOf(config['profiles']);
  const profileNames = profiles.map(([name]) => name);
  for (const [collection, label] of [
    ['jobs', 'job'],
    ['profiles', 'profile'],
  ] as const) {
    for (const [name] of entriesOf(config[collection])) {
      if (!NAME_PATTERN.test(name)) {
        ctx.addIssue({
          code: 'custom',
          path: [collection, name],
          message: `invalid ${label} name; use ${NAME_RULE} (${NAME_PATTERN.source})`,
          params: { at: 'key' },
        });
      }
    }
  }
  if (profileNames.includes(DIRECT_PROFILE)) {
    ctx.addIssue({
      code: 'custom',
      path: ['profiles', DIRECT_PROFILE],
      message: `"${DIRECT_PROFILE}" is reserved (it means no tunnel); choose another profile name`,
      params: { at: 'key' },
    });
  }
  for (const [name, job] of entriesOf(config['jobs'])) {
    if (!isRecord(job)) continue;
    const profile = job['profile'];
    if (typeof profile === 'string' && profile !== '' && profile !== DIRECT_PROFILE && !profileNames.includes(profile)) {
      const known = [DIRECT_PROFILE, ...profileNames.filter((p) => p !== DIRECT_PROFILE)].map((p) => `"${p}"`);
      ctx.addIssue({
        code: 'custom',
        path: ['jobs', name, 'profile'],
        message: `unknown profile ${showValue(profile)}; known profiles: ${known.join(', ')}`,
      });
    }
    const jobEngine = job['engine'] ?? 'restic';
    if (jobEngine === 'restic' && !('password' in job)) {
      ctx.addIssue({
        code: 'custom',
        path: ['jobs', name, 'password'],
        message: 'required for restic jobs: a reference to the repository password (file:/path or keychain:name)',
      });
    }
    if (job['tunnel'] === 'whenNeeded' && (profile === undefined || profile === DIRECT_PROFILE)) {
      ctx.addIssue({
        code: 'custom',
        path: ['jobs', name, 'tunnel'],
        message: 'whenNeeded chooses between the direct path and the job\'s VPN profile, but the job has none; set profile: to a profile name, or remove tunnel',
      });
    }
    if (jobEngine === 'rsync') rsyncJobChecks(name, job, ctx);
    if (jobEngine === 'restic') {
      for (const key of RSYNC_ONLY_KEYS) {
        if (key in job) {
          ctx.addIssue({ code: 'custom', path: ['jobs', name, key], message: 'only for rsync jobs (engine: rsync); remove it', params: { at: 'key' } });
        }
      }
    }
  }
  for (const [name, profile] of profiles) {
    if (!isRecord(profile)) continue;
    const routes = profile['routes'];
    if (profile['fullTunnel'] === true && Array.isArray(routes) && routes.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['profiles', name, 'fullTunnel'],
        message:
          'fullTunnel: true sends all traffic through the tunnel, so split routes make no sense; remove routes or set fullTunnel: false',
      });
    }
  }
}

const RSYNC_ONLY_KEYS = ['ssh', 'mirror', 'timeouts'] as const;

/** An rsync job needs an ssh block, no password, and an absolute destination path on the host. */
function rsyncJobChecks(name: string, job: Record<string, unknown>, ctx: z.core.$RefinementCtx): void {
  if (!('ssh' in job)) {
    ctx.addIssue({
      code: 'custom',
      path: ['jobs', name, 'ssh'],
      message: 'required for rsync jobs: the SSH host to copy to, e.g. { host: nas.example.com, user: backup, identity: file:/home/me/.ssh/backhaul }',
    });
  }
  if ('password' in job) {
    ctx.addIssue({
      code: 'custom',
      path: ['jobs', name, 'password'],
      message: 'rsync jobs have no repository password (ssh authenticates with ssh.identity); remove it',
      params: { at: 'key' },
    });
  }
  const repository = job['repository'];
  if (typeof repository === 'string' && repository !== '' && !repository.startsWith('/')) {
    ctx.addIssue({
      code: 'custom',
      path: ['jobs', name, 'repository'],
      message: `for rsync jobs: the destination directory on the SSH host, an absolute path such as /srv/backup/laptop, got ${showValue(repository)}`,
    });
  }
}

/** The whole config file: shape, defaults and cross-field checks. */
export const ConfigSchema = ConfigObjectSchema.superRefine(crossFieldChecks, { when: () => true });

/** A validated config with every default applied. */
export type Config = z.output<typeof ConfigSchema>;
/** What may be written in a config file (defaults optional, bandwidth as text). */
export type ConfigInput = z.input<typeof ConfigSchema>;
export type JobConfig = z.output<typeof JobSchema>;
export type JobInput = z.input<typeof JobObjectSchema>;
export type ProfileConfig = z.output<typeof ProfileSchema>;
export type ProfileInput = z.input<typeof ProfileSchema>;
export type AuthConfig = ProfileConfig['auth'];

/**
 * Valid keys of the mapping at `path` (zod issue path), for "did you mean" suggestions. `data` is the
 * raw input, used to pick the auth variant by its `method`.
 */
export function validKeysAt(path: readonly PropertyKey[], data: unknown): readonly string[] {
  const [first, , third] = path;
  if (path.length === 0) return Object.keys(ConfigObjectSchema.shape);
  if (path.length === 1 && first === 'settings') return Object.keys(SettingsSchema.shape);
  if (path.length === 2 && first === 'jobs') return Object.keys(JobObjectSchema.shape);
  if (path.length === 3 && first === 'jobs' && third === 'ssh') return Object.keys(SshSchema.shape);
  if (path.length === 3 && first === 'jobs' && third === 'timeouts') return Object.keys(RsyncTimeoutsSchema.shape);
  if (path.length === 3 && first === 'jobs' && third === 'schedule') return Object.keys(ScheduleSchema.shape);
  if (path.length === 3 && first === 'jobs' && third === 'hooks') return Object.keys(HooksSchema.shape);
  if (path.length === 3 && first === 'jobs' && third === 'notify') return Object.keys(NotifySchema.shape);
  if (path.length === 2 && first === 'profiles') return Object.keys(ProfileSchema.shape);
  if (path.length === 3 && first === 'profiles' && third === 'auth') {
    let node: unknown = data;
    for (const segment of path) node = isRecord(node) ? node[String(segment)] : undefined;
    const method = isRecord(node) ? node['method'] : undefined;
    const certificate = Object.keys(CertificateAuthSchema.shape);
    const psk = Object.keys(PskAuthSchema.shape);
    if (method === 'certificate') return certificate;
    if (method === 'psk') return psk;
    return [...new Set([...certificate, ...psk])];
  }
  return [];
}

/** Outcome of {@link validateConfigData}. */
export type ConfigValidation =
  | { readonly success: true; readonly data: Config }
  | { readonly success: false; readonly issues: readonly z.core.$ZodIssue[] };

/**
 * Fallback texts for any issue a field does not word itself, so no zod default message (which may
 * quote input) reaches the user.
 */
function fallbackMessage(issue: RawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'required' : `has the wrong type (got ${describeKind(issue.input)})`;
    case 'too_small':
      return `is too small (minimum ${String(issue.minimum)})`;
    case 'too_big':
      return `is too large (maximum ${String(issue.maximum)})`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => showValue(v)).join(', ')}`;
    case 'unrecognized_keys':
      return 'unknown key';
    default:
      return 'is not valid';
  }
}

/** Validate already-parsed data (from YAML, JSON or merged layers). Never throws for bad input. */
export function validateConfigData(data: unknown): ConfigValidation {
  const result = ConfigSchema.safeParse(data, { error: fallbackMessage });
  return result.success ? { success: true, data: result.data } : { success: false, issues: result.error.issues };
}
