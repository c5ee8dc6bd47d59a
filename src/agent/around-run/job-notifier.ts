/**
 * A job's notifications over one session: `started` fires without being waited for (the backup
 * goes on at once), `finished` sends the outcome after the start delivery is done (so a monitor
 * never sees the end before the start) and resolves when every delivery has arrived or given up.
 * Each delivery is one log line; none can fail the run.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { SessionRecord } from '../session/history.js';
import { endEvent, notify, type Delivery, type NotifyPayload, type NotifyPorts, type NotifySettings } from './notify.js';

export interface JobNotifier {
  started(job: string, sessionId: string, startedAt: string): void;
  finished(record: SessionRecord): Promise<void>;
}

export interface JobNotifierPorts {
  readonly fetch: typeof fetch;
  readonly sleep?: NotifyPorts['sleep'];
  readonly log: (level: 'info' | 'warn', message: string) => void;
  /**
   * Hides every secret the agent knows. The record's messages are redacted where they are made;
   * this is the second lock on the one door that leaves the machine.
   */
  readonly redact?: (text: string) => string;
}

const silent: JobNotifier = { started: () => undefined, finished: () => Promise.resolve() };

export function jobNotifier(settings: NotifySettings | undefined, ports: JobNotifierPorts): JobNotifier {
  if (settings === undefined || (settings.webhook === undefined && settings.healthchecks === undefined)) return silent;
  const notifyPorts: NotifyPorts = { fetch: ports.fetch, sleep: ports.sleep ?? ((ms) => delay(ms)) };
  let start: Promise<void> = Promise.resolve();
  const send = async (payload: NotifyPayload): Promise<void> => {
    try {
      report(await notify(settings, payload, notifyPorts), payload.event, ports.log);
    } catch (error) {
      // notify() never rejects; this is a bug, and still not a reason to fail a backup.
      ports.log('warn', `notification (${payload.event}) failed: ${String(error)}`);
    }
  };
  return {
    started(job, sessionId, startedAt) {
      start = send({ event: 'start', job, sessionId, startedAt });
    },
    async finished(record) {
      await start;
      const result = record.end === 'done' ? record.result : record.end;
      const redact = ports.redact ?? ((text: string) => text);
      await send({
        event: endEvent(result),
        job: record.job,
        sessionId: record.id,
        ...(result === undefined ? {} : { result }),
        ...(record.failure === undefined ? {} : { code: record.failure.code, message: redact(record.failure.message) }),
        startedAt: record.startedAt,
        endedAt: record.endedAt,
      });
    },
  };
}

function report(deliveries: readonly Delivery[], event: string, log: JobNotifierPorts['log']): void {
  for (const d of deliveries) {
    if (d.ok) log('info', `notified ${d.target} ${d.origin} (${event})`);
    else log('warn', `could not notify ${d.target} ${d.origin} (${event}) after ${d.attempts} attempt(s): ${d.problem ?? 'unknown'}`);
  }
}
