/**
 * Loads recorded real command output from shared/reference/recorded/ so fakes answer with what the
 * tools really print. Three header styles exist there:
 * - restic/, rsync/: `# <command>   (<note>) | <versions> | exit=N`, then `# --- stdout… ---`,
 *   lines, `# --- stderr… ---`, lines. Exit may read `exit=137 (SIGKILL after 20 s grace)` or
 *   `exit=not captured (…)`.
 * - linux/ (see linux/README.md): `# cmd: <command> | exit: N | <versions>`, then stdout, then
 *   only if stderr was non-empty `# --- stderr ---` and stderr.
 * - strongswan/: `# <description> | <versions>`, then stdout; the exit status, if any, is in prose.
 */
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** shared/reference, next to the repository (`<repo>/../shared`), locally and in CI. */
export const sharedReferenceDir = fileURLToPath(new URL('../../../shared/reference/', import.meta.url));

/** One recorded command run. Usable directly as a ReplayingCommandRunner reply. */
export interface Recording {
  /** Path under shared/reference, for messages. */
  readonly source: string;
  /** The command as recorded, without the note in parentheses. */
  readonly command: string;
  /** What the recorder noted about the circumstances (the `(…)` after the command), if anything. */
  readonly note?: string;
  /** The whole first line, without `# `. */
  readonly header: string;
  /** The exit status as recorded; null when the recording says it was not captured. */
  readonly exitCode: number | null;
  /** Set when the header says the process was killed by this signal (exit=137 (SIGKILL …)). */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Reads and parses `relPath` under shared/reference, e.g. `recorded/restic/backup-wrong-password.txt`. */
export function loadRecording(relPath: string): Recording {
  return parseRecording(readFileSync(join(sharedReferenceDir, relPath), 'utf8'), relPath);
}

/** Parses the recorded-output format (see the module comment). */
export function parseRecording(text: string, source: string): Recording {
  const firstBreak = text.indexOf('\n');
  const firstLine = firstBreak < 0 ? text : text.slice(0, firstBreak);
  if (!firstLine.startsWith('# ')) throw new Error(`${source}: expected a '# <command> | …' header line, got ${JSON.stringify(firstLine)}`);
  const header = firstLine.slice(2);
  const body = firstBreak < 0 ? '' : text.slice(firstBreak + 1);
  return { source, header, ...parseHeader(header), ...splitStreams(body) };
}

interface HeaderFields {
  readonly command: string;
  readonly note?: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

function parseHeader(header: string): HeaderFields {
  const parts = header.split(' | ');
  const linux = /^cmd: (.*) \| exit: ([^|]*?) \| .*$/.exec(header);
  if (linux !== null) return { ...commandAndNote(linux[1] ?? ''), ...parseExit(linux[2] ?? '') };
  const last = parts.at(-1) ?? '';
  if (parts.length >= 3 && last.startsWith('exit=')) {
    return { ...commandAndNote(parts.slice(0, -2).join(' | ')), ...parseExit(last.slice('exit='.length)) };
  }
  // Prose header (strongswan/): "swanctl --terminate --ike cloud (office) output, exit 0 | <versions>".
  const description = parts.length > 1 ? parts.slice(0, -1).join(' | ') : header;
  const exit = /\bexit (\d+)\b/.exec(description);
  return { command: description, exitCode: exit === null ? null : Number(exit[1]), signal: null };
}

/** "restic … /data   (SIGINT after 3 s)" → command and note. */
function commandAndNote(text: string): { command: string; note?: string } {
  const match = /^(.*?)\s{3,}\((.*)\)\s*$/.exec(text);
  if (match === null) return { command: text.trim() };
  return { command: (match[1] ?? '').trim(), note: match[2] ?? '' };
}

/** "1", "137 (SIGKILL after 20 s grace)", "not captured (…)". */
function parseExit(text: string): { exitCode: number | null; signal: NodeJS.Signals | null } {
  const code = /^\s*(\d+)/.exec(text);
  if (code === null) return { exitCode: null, signal: null };
  const exitCode = Number(code[1]);
  const named = /\b(SIG[A-Z0-9]+)\b/.exec(text)?.[1];
  const signals: Readonly<Record<string, number>> = osConstants.signals;
  const signal = named !== undefined && signals[named] === exitCode - 128 ? (named as NodeJS.Signals) : null;
  return { exitCode, signal };
}

/** Splits the body at `# --- stdout… ---` / `# --- stderr… ---` marker lines, keeping text verbatim. */
function splitStreams(body: string): { stdout: string; stderr: string } {
  const markers = [...body.matchAll(/^# --- (stdout|stderr)\b.*---[ \t]*(?:\n|$)/gm)];
  const first = markers[0];
  let stdout = first === undefined ? body : body.slice(0, first.index);
  let stderr = '';
  markers.forEach((marker, i) => {
    const start = marker.index + marker[0].length;
    const section = body.slice(start, markers[i + 1]?.index ?? body.length);
    if (marker[1] === 'stdout') stdout += section;
    else stderr += section;
  });
  return { stdout, stderr };
}
