/**
 * Which native notifications the tray shows, as a pure function of the agent's events: a backup
 * done, failed (with what to do), or a new health item that asks for attention. Short glitches
 * never notify: only end states and badge-worthy health items do.
 */
import type { AgentEvent, HealthItem } from '../api/types.js';
import { formatBytes, formatDuration } from '../renderer/model/format.js';

export interface NotificationSpec {
  readonly title: string;
  readonly body: string;
  readonly urgency: 'normal' | 'critical';
}

/** Tracks which health items were already announced, so each is notified once while it lasts. */
export class Notifier {
  #announced = new Set<string>();

  /** The notification for `event`, if it deserves one. */
  next(event: AgentEvent): NotificationSpec | undefined {
    switch (event.type) {
      case 'snapshot':
        // Whatever is open at (re)connect was there before: remember it, don't announce it.
        this.#announced = new Set(event.status.health.filter((h) => h.badge).map((h) => h.code));
        return undefined;
      case 'health':
        return this.#health(event.health);
      case 'ended': {
        const { record } = event;
        if (record.end === 'done' && record.result !== 'warning') {
          const size = record.summary === undefined ? '' : `${formatBytes(record.summary.bytesProcessed)} in ${formatDuration(record.summary.durationSeconds)}.`;
          return { title: `Backup of "${record.job}" done`, body: size, urgency: 'normal' };
        }
        if (record.end === 'done') {
          return { title: `Backup of "${record.job}" finished with warnings`, body: record.failure === undefined ? '' : `${record.failure.message} ${record.failure.hint}`, urgency: 'normal' };
        }
        if (record.end === 'failed') {
          return { title: `Backup of "${record.job}" failed`, body: record.failure === undefined ? '' : `${record.failure.message} What to do: ${record.failure.hint}`, urgency: 'critical' };
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }

  #health(items: readonly HealthItem[]): NotificationSpec | undefined {
    const badged = items.filter((h) => h.badge);
    const fresh = badged.filter((h) => !this.#announced.has(h.code));
    this.#announced = new Set(badged.map((h) => h.code));
    const first = fresh[0];
    if (first === undefined) return undefined;
    return { title: 'Backhaul needs attention', body: fresh.length === 1 ? `${first.title}. ${first.text}` : `${first.title}, and ${fresh.length - 1} more.`, urgency: first.severity === 'error' ? 'critical' : 'normal' };
  }
}
