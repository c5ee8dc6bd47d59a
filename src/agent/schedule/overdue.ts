/**
 * "Overdue": a job with `overdueAfterDays` that has had no successful run for that many days,
 * whatever the reason (asleep, on battery, failing, never scheduled). Pure: the agent feeds it the
 * last success from the history and when the scheduler first saw the job.
 */
import type { HealthItem } from '../../api/types.js';

const DAY_MS = 86_400_000;

/** When the job became overdue, or undefined when it is not (yet). */
export function overdueSince(input: { readonly afterDays: number | undefined; readonly lastSuccessMs: number | undefined; readonly trackedSinceMs: number | undefined; readonly nowMs: number }): number | undefined {
  if (input.afterDays === undefined) return undefined;
  const from = input.lastSuccessMs ?? input.trackedSinceMs;
  if (from === undefined) return undefined;
  const since = from + input.afterDays * DAY_MS;
  return since <= input.nowMs ? since : undefined;
}

/** One health item for all overdue jobs (the tray badges it), or undefined when none is. */
export function overdueHealthItem(overdue: readonly { readonly job: string; readonly sinceMs: number; readonly afterDays: number }[]): HealthItem | undefined {
  const first = [...overdue].sort((a, b) => a.sinceMs - b.sinceMs)[0];
  if (first === undefined) return undefined;
  const names = overdue.map((o) => `"${o.job}"`).join(', ');
  return {
    code: 'job.overdue',
    title: overdue.length === 1 ? `"${first.job}" has not backed up for ${first.afterDays} days` : `${overdue.length} jobs are overdue: ${names}`,
    text: `No successful backup of ${names} within the configured overdueAfterDays. Check the job's last run in History, and whether the machine was asleep, on battery or off the network at the scheduled times; "backhaul run JOB" runs it now.`,
    severity: 'warning',
    badge: true,
    since: new Date(first.sinceMs).toISOString(),
  };
}
