/**
 * The scheduler's memory: which slot of which job was decided, kept as fsync'ed JSON lines in
 * `<state>/schedule/slots.jsonl`. A slot is claimed here BEFORE its run starts, so a wake-up, a clock
 * jump backwards or an agent restart can never run it again (Backrest and Kopia have both shipped
 * this bug). Each job's highest decided slot is its watermark: only later slots are ever candidates.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

/** What happened to one slot. `tracking` marks when the scheduler first saw the job (no run). */
export interface SlotRecord {
  readonly job: string;
  /** The slot's scheduled instant (ISO, UTC): with the job, the slot's id. */
  readonly slot: string;
  readonly state: 'claimed' | 'skipped' | 'tracking';
  /** For `skipped`: why (overlap, paused, catch-up skip, superseded by a later slot). */
  readonly reason?: string;
  /** When it was decided. */
  readonly at: string;
}

/** Compact when the file has this many lines: the latest record per job is all that matters. */
const COMPACT_AT = 1000;

function isRecord(value: unknown): value is SlotRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return typeof r['job'] === 'string' && typeof r['slot'] === 'string' && !Number.isNaN(Date.parse(r['slot'])) && ['claimed', 'skipped', 'tracking'].includes(String(r['state'])) && typeof r['at'] === 'string';
}

export class SlotStore {
  /** Each job's highest decided slot. */
  readonly #watermarks = new Map<string, number>();
  /** When each job was first tracked (for "overdue" when it never succeeded). */
  readonly #trackedSince = new Map<string, number>();
  readonly #last = new Map<string, SlotRecord>();
  #writes: Promise<void> = Promise.resolve();

  private constructor(readonly file: string) {}

  /** Reads `<dir>/slots.jsonl`; a torn last line (a crash mid-write) is ignored. */
  static async open(dir: string): Promise<SlotStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const store = new SlotStore(join(dir, 'slots.jsonl'));
    const text = await readFile(store.file, 'utf8').catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw error;
    });
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    for (const line of lines) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue;
      }
      if (isRecord(parsed)) store.#remember(parsed);
    }
    if (lines.length >= COMPACT_AT) await store.#compact();
    return store;
  }

  /** The highest slot decided for `job` (ms), or undefined for a job never seen. */
  watermark(job: string): number | undefined {
    return this.#watermarks.get(job);
  }

  /** When the scheduler first saw `job`. */
  trackedSince(job: string): number | undefined {
    return this.#trackedSince.get(job);
  }

  /** The latest record of `job`. */
  last(job: string): SlotRecord | undefined {
    return this.#last.get(job);
  }

  /**
   * Claims a slot for running: durable before this resolves true. False when the slot (or a later
   * one) was already decided — the caller must not run it.
   */
  async claim(job: string, slotMs: number, nowMs: number): Promise<boolean> {
    return this.#decide({ job, slot: new Date(slotMs).toISOString(), state: 'claimed', at: new Date(nowMs).toISOString() });
  }

  /** Records a slot that will not run, and why; it is never considered again. */
  async skip(job: string, slotMs: number, nowMs: number, reason: string): Promise<boolean> {
    return this.#decide({ job, slot: new Date(slotMs).toISOString(), state: 'skipped', reason, at: new Date(nowMs).toISOString() });
  }

  /** Starts tracking a new job at `nowMs`: slots before it are not "missed". */
  async track(job: string, nowMs: number): Promise<void> {
    if (this.#watermarks.has(job)) return;
    const at = new Date(nowMs).toISOString();
    await this.#decide({ job, slot: at, state: 'tracking', at });
  }

  #decide(record: SlotRecord): Promise<boolean> {
    // One write at a time, and the watermark test inside the queue, so two callers can't both win.
    const result = this.#writes.then(async () => {
      const mark = this.#watermarks.get(record.job);
      if (mark !== undefined && Date.parse(record.slot) <= mark) return false;
      await this.#append(`${JSON.stringify(record)}\n`);
      this.#remember(record);
      return true;
    });
    this.#writes = result.then(() => undefined, () => undefined);
    return result;
  }

  #remember(record: SlotRecord): void {
    const slot = Date.parse(record.slot);
    if (slot > (this.#watermarks.get(record.job) ?? -Infinity)) {
      this.#watermarks.set(record.job, slot);
      this.#last.set(record.job, record);
    }
    const since = Math.min(this.#trackedSince.get(record.job) ?? Infinity, Date.parse(record.at));
    if (Number.isFinite(since)) this.#trackedSince.set(record.job, since);
  }

  async #append(text: string): Promise<void> {
    const handle = await open(this.file, 'a', 0o600);
    try {
      await handle.appendFile(text);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  /** Rewrites the file with what the watermarks need: each job's first and latest record. */
  async #compact(): Promise<void> {
    const lines: string[] = [];
    for (const [job, last] of this.#last) {
      const since = this.#trackedSince.get(job);
      if (since !== undefined && since < Date.parse(last.at)) lines.push(JSON.stringify({ job, slot: new Date(since).toISOString(), state: 'tracking', at: new Date(since).toISOString() } satisfies SlotRecord));
      lines.push(JSON.stringify(last));
    }
    const tmp = `${this.file}.tmp`;
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(lines.map((l) => `${l}\n`).join(''));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.file);
  }
}
