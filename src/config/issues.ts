/**
 * Config problems as the user sees them: a dotted path, a message that says what would be valid,
 * and the line and column in the file when the problem can be traced back to it.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';
import type { z } from 'zod';
import { formatPath } from './path.js';
import { validKeysAt } from './schema.js';
import { closestMatch } from './suggest.js';

/** One problem (or warning) in a config source. `path` is empty for problems with the file itself. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  /** 1-based. */
  readonly line?: number;
  /** 1-based. */
  readonly column?: number;
  /** Where the problem is when it is not the file being loaded (a managed policy's file or registry key). */
  readonly source?: string;
}

/** The parsed YAML a config came from, for mapping paths back to positions. */
export interface SourceMap {
  readonly doc: Document.Parsed;
  readonly lineCounter: LineCounter;
}

/** Whether to point at the key of the last path segment (unknown or badly named key) or its value. */
export type Anchor = 'key' | 'value';

/** 1-based line and column of a character offset. */
export function positionOf(lineCounter: LineCounter, offset: number): { line: number; column: number } {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

function findPair(node: unknown, key: string): Pair | undefined {
  if (!isMap(node)) return undefined;
  return node.items.find((pair) => isScalar(pair.key) && String(pair.key.value) === key);
}

/**
 * Line and column for a config path. Walks the YAML tree (through aliases) as far as the path
 * exists; a missing key points at its parent's key, where it would have to be added.
 */
export function locate(
  source: SourceMap,
  path: readonly PropertyKey[],
  anchor: Anchor = 'value',
): { line: number; column: number } | undefined {
  const { doc, lineCounter } = source;
  let node: unknown = doc.contents;
  let offset: number | undefined = isNode(node) ? node.range?.[0] : undefined;
  for (let i = 0; i < path.length; i += 1) {
    if (isAlias(node)) node = node.resolve(doc);
    const segment = path[i];
    if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (!isNode(item)) break;
      offset = item.range?.[0] ?? offset;
      node = item;
      continue;
    }
    const pair = findPair(node, String(segment));
    if (pair === undefined) break;
    const keyOffset = isNode(pair.key) ? pair.key.range?.[0] : undefined;
    const valueOffset = isNode(pair.value) ? pair.value.range?.[0] : undefined;
    const last = i === path.length - 1;
    // Inside the path point at keys, so a missing child is reported where it would be added.
    offset = (last && anchor === 'value' ? (valueOffset ?? keyOffset) : keyOffset) ?? offset;
    node = pair.value;
  }
  return offset === undefined ? undefined : positionOf(lineCounter, offset);
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && 'range' in value;
}

function withPosition(issue: ConfigIssue, at: { line: number; column: number } | undefined): ConfigIssue {
  return at === undefined ? issue : { ...issue, line: at.line, column: at.column };
}

/** Where (key or value) and what a zod issue means for the user; unknown keys expand to one issue each. */
export function fromZodIssues(
  issues: readonly z.core.$ZodIssue[],
  data: unknown,
  source: SourceMap | undefined,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const valid = validKeysAt(issue.path, data);
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        const suggestion = closestMatch(key, valid);
        const message =
          suggestion !== undefined
            ? `unknown key — did you mean "${suggestion}"?`
            : valid.length > 0
              ? `unknown key; valid keys here: ${valid.join(', ')}`
              : 'unknown key';
        out.push(withPosition({ path: formatPath(path), message }, source && locate(source, path, 'key')));
      }
      continue;
    }
    const anchor: Anchor = issue.code === 'custom' && issue.params?.['at'] === 'key' ? 'key' : 'value';
    out.push(
      withPosition({ path: formatPath(issue.path), message: issue.message }, source && locate(source, issue.path, anchor)),
    );
  }
  return sortIssues(out);
}

/**
 * File-level problems first, then by position (a mapping's own problem before its children's);
 * issues without a position keep their order.
 */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const rank = (issue: ConfigIssue): number =>
    issue.path === '' && issue.line === undefined ? -1 : (issue.line ?? Number.MAX_SAFE_INTEGER);
  return issues
    .map((issue, index) => ({ issue, index }))
    .sort(
      (a, b) =>
        rank(a.issue) - rank(b.issue) ||
        (a.issue.column ?? 0) - (b.issue.column ?? 0) ||
        a.issue.path.length - b.issue.path.length ||
        a.index - b.index,
    )
    .map(({ issue }) => issue);
}

/**
 * Render issues for a terminal, one per line: `SOURCE:LINE:COL: jobs.x.streams: must be 1–32, got 64`.
 * Problems with the file itself already name it and are printed as they are.
 */
export function formatConfigIssues(issues: readonly ConfigIssue[], sourceName: string): string {
  return issues
    .map((issue) => {
      const name = issue.source ?? sourceName;
      const where = issue.line === undefined ? name : `${name}:${issue.line}:${issue.column ?? 1}`;
      if (issue.path === '' && issue.line === undefined) return issue.message;
      return issue.path === '' ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
    })
    .join('\n');
}
