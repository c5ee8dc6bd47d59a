import { drainRun, type BackupEvent, type BackupResult } from '../../src/backup/engine.js';

/** Every event of a run, then its result. */
export async function collectRun(run: AsyncGenerator<BackupEvent, BackupResult, void>): Promise<{ events: BackupEvent[]; result: BackupResult }> {
  const events: BackupEvent[] = [];
  const result = await drainRun(run, (event) => events.push(event));
  return { events, result };
}
