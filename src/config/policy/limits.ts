/**
 * What a policy's `limits` can bound, per job: a table, so the validator, the rules, the registry
 * reader and the ADMX generator agree on the keys, where each lives in a job, and its unit.
 *
 * - `streams`: a whole number (the schema's own range, 1–32);
 * - `randomDelay` (under `schedule`): a delay such as "15m" — e.g. a minimum spreads a fleet's
 *   nightly runs over the server, a maximum keeps them in the night.
 */
import { MAX_RANDOM_DELAY_MS, parseDelay } from '../schedule-expression.js';
import { kindOf, schemaAt } from './schema-walk.js';

export interface LimitSpec {
  readonly key: string;
  /** Where the value is inside a job. */
  readonly path: readonly string[];
  readonly unit: 'count' | 'delay';
  readonly lowest: number;
  readonly highest: number;
  /** A value as written (in a job or as a bound) to a number in the unit, or undefined. */
  parse(value: unknown): number | undefined;
  /** A number in the unit as it is written in a config file. */
  format(n: number): number | string;
  /** An example range, for messages. */
  readonly example: string;
}

function streamsBounds(): { lowest: number; highest: number } {
  const schema = schemaAt(['jobs', '_', 'streams']);
  const kind = schema === undefined ? undefined : kindOf(schema);
  return kind?.kind === 'number' ? { lowest: kind.min ?? 1, highest: kind.max ?? 32 } : { lowest: 1, highest: 32 };
}

/** A delay in ms as written in a config: the largest unit that divides it ("90s", "15m", "2h"). */
export function formatDelay(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.ceil(ms / 1000)}s`;
}

export const LIMITS: readonly LimitSpec[] = [
  {
    key: 'streams',
    path: ['streams'],
    unit: 'count',
    ...streamsBounds(),
    parse: (value) => (typeof value === 'number' && Number.isInteger(value) ? value : undefined),
    format: (n) => n,
    example: '{ min: 1, max: 8 }',
  },
  {
    key: 'randomDelay',
    path: ['schedule', 'randomDelay'],
    unit: 'delay',
    lowest: 0,
    highest: MAX_RANDOM_DELAY_MS,
    parse: (value) => (typeof value === 'string' ? parseDelay(value) : undefined),
    format: formatDelay,
    example: '{ min: 10m, max: 2h }',
  },
];

export type LimitedKey = 'streams' | 'randomDelay';

export function limitSpec(key: string): LimitSpec | undefined {
  return LIMITS.find((l) => l.key === key);
}

/** How the range is shown in messages: "1–8", "10m–2h". */
export function showRange(spec: LimitSpec, range: { min: number; max: number }): string {
  return `${String(spec.format(range.min))}–${String(spec.format(range.max))}`;
}
