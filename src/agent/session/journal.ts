import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SessionState } from './states.js';

/**
 * The session journal: an append-only file per running session, written (and flushed to disk)
 * *before* each step acts. If the process dies, the agent finds the file on its next start and
 * knows exactly what to undo: a tunnel this session brought up, a scratch dir holding a secret.
 * A session that ends cleanly removes its journal after its history record is written.
 */

/** Side effects a session leaves on the machine until teardown. */
export type SessionEffect =
  | { readonly effect: 'tunnel-up'; readonly driver: string; readonly profile: string }
  | { readonly effect: 'scratch-dir'; readonly path: string }
  /** A backup tool's process (group): stopped by recovery if the agent died while it ran. */
  | { readonly effect: 'process'; readonly pid: number; readonly identity?: string }
  /** A route, config dir, NM connection … that a driver created (see ResourceJournal). */
  | { readonly effect: 'driver-resource'; readonly driver: string; readonly profile: string; readonly resourceKind: string; readonly id: string };

export type JournalEntry =
  | { readonly kind: 'start'; readonly sessionId: string; readonly job: string; readonly trigger: string; readonly at: string }
  | { readonly kind: 'state'; readonly state: SessionState; readonly at: string }
  /** A step inside a state (the re-verification inside `reconnecting`): for the record, nothing to undo. */
  | { readonly kind: 'step'; readonly state: SessionState; readonly step: string; readonly at: string }
  | ({ readonly kind: 'effect'; readonly at: string } & SessionEffect)
  | ({ readonly kind: 'undone'; readonly at: string } & SessionEffect);

export interface Journal {
  append(entry: JournalEntry): Promise<void>;
  /** Closes the file and deletes it: the session's history record now says everything. */
  discard(): Promise<void>;
}

export function journalDir(stateDir: string): string {
  return join(stateDir, 'journal');
}

/** Opens the journal of a new session. Each append is fsync'ed so a crash can't lose it. */
export async function openJournal(stateDir: string, sessionId: string): Promise<Journal> {
  const dir = journalDir(stateDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${sessionId}.jsonl`);
  const handle = await open(path, 'ax', 0o600);
  let closed = false;
  return {
    async append(entry) {
      await handle.write(`${JSON.stringify(entry)}\n`);
      await handle.datasync();
    },
    async discard() {
      if (!closed) {
        closed = true;
        await handle.close();
      }
      await rm(path, { force: true });
    },
  };
}

/** A session whose journal is still on disk: it never finished (the process died). */
export interface UnfinishedSession {
  readonly sessionId: string;
  readonly file: string;
  readonly entries: readonly JournalEntry[];
  /** Effects recorded and not undone: what recovery must clean up. */
  readonly pendingEffects: readonly SessionEffect[];
}

/** Reads every leftover journal. Lines that don't parse (a torn last write) are skipped. */
export async function readUnfinishedSessions(stateDir: string): Promise<UnfinishedSession[]> {
  const dir = journalDir(stateDir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const sessions: UnfinishedSession[] = [];
  for (const name of names.filter((n) => n.endsWith('.jsonl')).sort()) {
    const file = join(dir, name);
    const entries = parseJournal(await readFile(file, 'utf8'));
    sessions.push({ sessionId: name.slice(0, -'.jsonl'.length), file, entries, pendingEffects: pendingEffects(entries) });
  }
  return sessions;
}

export function parseJournal(text: string): JournalEntry[] {
  const entries: JournalEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === 'object' && value !== null && 'kind' in value) entries.push(value as JournalEntry);
    } catch {
      // A torn write at the moment of a crash: everything before it is still good.
    }
  }
  return entries;
}

function effectKey(effect: SessionEffect): string {
  switch (effect.effect) {
    case 'tunnel-up':
      return `tunnel:${effect.driver}:${effect.profile}`;
    case 'scratch-dir':
      return `dir:${effect.path}`;
    case 'driver-resource':
      return `res:${effect.driver}:${effect.profile}:${effect.resourceKind}:${effect.id}`;
    case 'process':
      return `pid:${effect.pid}`;
  }
}

function pendingEffects(entries: readonly JournalEntry[]): SessionEffect[] {
  const pending = new Map<string, SessionEffect>();
  for (const entry of entries) {
    if (entry.kind === 'effect') pending.set(effectKey(entry), stripEntry(entry));
    if (entry.kind === 'undone') pending.delete(effectKey(entry));
  }
  return [...pending.values()];
}

function stripEntry(entry: JournalEntry & { kind: 'effect' }): SessionEffect {
  switch (entry.effect) {
    case 'tunnel-up':
      return { effect: 'tunnel-up', driver: entry.driver, profile: entry.profile };
    case 'scratch-dir':
      return { effect: 'scratch-dir', path: entry.path };
    case 'driver-resource':
      return { effect: 'driver-resource', driver: entry.driver, profile: entry.profile, resourceKind: entry.resourceKind, id: entry.id };
    case 'process':
      return entry.identity === undefined ? { effect: 'process', pid: entry.pid } : { effect: 'process', pid: entry.pid, identity: entry.identity };
  }
}
