/**
 * Runs the checklist: the host's checks once, then the profile's and the job's checks for each
 * target, in order, sharing probes through `once` and the tunnel through `tunnel()`. A check that
 * throws is reported as failed with its message (never a crash of doctor); the tunnel doctor
 * brought up is taken down at the end of its target, whatever happened.
 */
import { planTunnel } from '../tunnel-plan.js';
import { DIRECT_PROFILE, type Config } from '../../config/schema.js';
import { noResourceJournal } from '../../connect/driver.js';
import type { CheckReport, CheckStatus, DoctorCheck, DoctorContext, DoctorPorts, DoctorReport, DoctorTarget, TargetReport, TunnelAccess } from './types.js';

/** A name on the command line that is neither a job nor a profile. */
export class DoctorTargetError extends Error {
  override readonly name = 'DoctorTargetError';
  readonly code = 'config.unknown-target';
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

/**
 * What `backhaul doctor [NAME]` looks at: a job (with its profile), every job of a profile (or the
 * profile alone when no job uses it), or — without a name — every job and every profile no job uses.
 */
export function resolveTargets(config: Config, name?: string): DoctorTarget[] {
  const forJob = (jobName: string): DoctorTarget => {
    const job = config.jobs[jobName];
    const profile = job === undefined || job.profile === DIRECT_PROFILE ? undefined : config.profiles[job.profile];
    return { jobName, ...(job === undefined ? {} : { job }), ...(profile === undefined || job === undefined ? {} : { profileName: job.profile, profile }) };
  };
  const forProfile = (profileName: string): DoctorTarget[] => {
    const jobs = Object.keys(config.jobs).filter((jobName) => config.jobs[jobName]?.profile === profileName);
    const profile = config.profiles[profileName];
    return jobs.length > 0 ? jobs.map(forJob) : profile === undefined ? [] : [{ profileName, profile }];
  };
  if (name === undefined) {
    const unused = Object.keys(config.profiles).filter((p) => !Object.values(config.jobs).some((job) => job.profile === p));
    return [...Object.keys(config.jobs).map(forJob), ...unused.flatMap(forProfile)];
  }
  if (name in config.jobs) return [forJob(name)];
  if (name in config.profiles) return forProfile(name);
  const known = [...Object.keys(config.jobs).map((j) => `job ${j}`), ...Object.keys(config.profiles).map((p) => `profile ${p}`)];
  throw new DoctorTargetError(`"${name}" is neither a job nor a profile`, known.length > 0 ? `Known: ${known.join(', ')}.` : 'The config has no jobs or profiles yet (docs/configuration.md).');
}

function subjectOf(target: DoctorTarget): string {
  if (target.jobName !== undefined) return `job ${target.jobName} (${target.profileName === undefined ? 'no VPN' : `profile ${target.profileName}`})`;
  return `profile ${target.profileName ?? '?'}`;
}

function skipReason(check: DoctorCheck, target: DoctorTarget): string | undefined {
  if (check.scope === 'profile' && target.profile === undefined) return 'the job uses profile: direct (no VPN)';
  if (check.scope === 'job' && target.job === undefined) return 'no job uses this profile';
  return undefined;
}

async function runOne(check: DoctorCheck, ctx: DoctorContext): Promise<CheckReport> {
  const base = { id: check.id, title: check.title, group: check.group };
  const reason = skipReason(check, ctx.target);
  if (reason !== undefined) return { ...base, status: 'skip', evidence: reason };
  try {
    const outcome = await check.run(ctx);
    return { ...base, status: outcome.status, evidence: ctx.redactor.redact(outcome.evidence), ...(outcome.fix === undefined ? {} : { fix: ctx.redactor.redact(outcome.fix) }) };
  } catch (error) {
    ctx.signal.throwIfAborted();
    const message = error instanceof Error ? error.message : String(error);
    return { ...base, status: 'fail', evidence: ctx.redactor.redact(`the check could not run: ${message}`), fix: 'This is a bug in Backhaul\'s doctor or an unexpected state of the machine; the log file has the details.' };
  }
}

/** A context for one target: memoised probes and a tunnel brought up at most once. */
function targetContext(ports: DoctorPorts, target: DoctorTarget): { ctx: DoctorContext; tearDown: () => Promise<void> } {
  const memo = new Map<string, Promise<unknown>>();
  let tunnel: Promise<TunnelAccess> | undefined;
  let tearDown = (): Promise<void> => Promise.resolve();
  const bringUp = async (): Promise<TunnelAccess> => {
    if (target.profileName === undefined) return { ok: false, code: 'doctor.no-profile', message: 'the job uses no VPN profile', hint: '' };
    try {
      const plan = await planTunnel(
        { config: ports.config, runner: ports.runner, redactor: ports.redactor, secretStore: ports.secretStore, stateDir: ports.paths.stateDir,
          ...(ports.agentMode === undefined ? {} : { agentMode: ports.agentMode }), ...(ports.hostProbe === undefined ? {} : { probe: ports.hostProbe }) },
        target.jobName ?? 'doctor', target.profileName,
      );
      await plan.driver.ensureProfile(plan.profile, ports.signal, noResourceJournal);
      const outcome = await plan.driver.connect(plan.profile, ports.signal, noResourceJournal);
      if (outcome.broughtUp) {
        // Not the caller's signal: a cancelled doctor still takes its tunnel down.
        tearDown = () => plan.driver.disconnect(plan.profile, AbortSignal.timeout(60_000), noResourceJournal).catch(() => undefined);
      }
      return { ok: true, driver: plan.driver, profile: plan.profile, status: outcome.status };
    } catch (error) {
      ports.signal.throwIfAborted();
      const e = error as { code?: unknown; message?: unknown; hint?: unknown };
      return {
        ok: false,
        code: typeof e.code === 'string' ? e.code : 'tunnel.failed',
        message: ports.redactor.redact(typeof e.message === 'string' ? e.message : String(error)),
        hint: typeof e.hint === 'string' ? ports.redactor.redact(e.hint) : 'The log file has the details.',
      };
    }
  };
  const ctx: DoctorContext = {
    ...ports,
    target,
    once: <T>(key: string, fn: () => Promise<T>): Promise<T> => {
      let entry = memo.get(key) as Promise<T> | undefined;
      if (entry === undefined) {
        entry = fn();
        memo.set(key, entry);
      }
      return entry;
    },
    tunnel: () => (tunnel ??= bringUp()),
  };
  return { ctx, tearDown: () => tearDown() };
}

/** The checks of `scope`s other than host, for one target, in order. */
async function runTarget(checks: readonly DoctorCheck[], ports: DoctorPorts, target: DoctorTarget, subject: string): Promise<TargetReport> {
  const { ctx, tearDown } = targetContext(ports, target);
  const results: CheckReport[] = [];
  try {
    for (const check of checks) results.push(await runOne(check, ctx));
  } finally {
    await tearDown();
  }
  return {
    subject,
    ...(target.jobName === undefined ? {} : { job: target.jobName }),
    ...(target.profileName === undefined ? {} : { profile: target.profileName }),
    checks: results,
  };
}

/** Runs the host checks once, then the rest for every target. */
export async function runDoctor(checks: readonly DoctorCheck[], ports: DoctorPorts, targets: readonly DoctorTarget[]): Promise<DoctorReport> {
  const hostChecks = checks.filter((c) => c.scope === 'host');
  const otherChecks = checks.filter((c) => c.scope !== 'host');
  const hostTarget: DoctorTarget = targets.length === 1 ? (targets[0] ?? {}) : {};
  const reports = [await runTarget(hostChecks, ports, hostTarget, 'this machine')];
  for (const target of targets) reports.push(await runTarget(otherChecks, ports, target, subjectOf(target)));
  const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const check of reports.flatMap((r) => r.checks)) summary[check.status] += 1;
  return { schemaVersion: 1, generatedAt: ports.now().toISOString(), reports, summary };
}

/** Doctor's verdict for the exit code: any failed item. */
export function hasFailures(report: DoctorReport): boolean {
  return report.summary.fail > 0;
}
