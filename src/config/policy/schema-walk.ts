/**
 * Reading the config schema as a tree of keys, for the policy layer: a policy sets *parts* of a
 * config (one job field, one profile), so it can't be judged by the whole-config schema, but each
 * part it sets must be a key the schema knows with a value the schema accepts. The registry and
 * managed-preferences readers also ask it what type a key holds (a REG_DWORD is a number or a
 * boolean depending on the key), and the ADMX generator lists the keys it can offer.
 *
 * It looks through zod's wrappers (defaults, optionals, preprocess and transform pipes) to the
 * object, record, list or value underneath; the schema stays the only description of the config.
 */
import type { z } from 'zod';
import { ConfigObjectSchema } from '../schema.js';

type Schema = z.core.$ZodType;

/** What a key holds, as a policy source has to write it. */
export type KeyKind =
  | { readonly kind: 'mapping'; readonly keys: ReadonlyMap<string, Schema> }
  /** A mapping whose keys are names the user chooses (jobs, profiles), each holding `item`. */
  | { readonly kind: 'collection'; readonly item: Schema }
  | { readonly kind: 'list' }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'number'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  /** Strings, and values written as text (rates, secret references, the auth union's parts). */
  | { readonly kind: 'text' }
  /**
   * A value that must be given whole (the auth mapping: its fields depend on its `method`). `keys`
   * are the fields any variant has, so a source can spell them right; the whole value is validated.
   */
  | { readonly kind: 'whole'; readonly keys?: ReadonlyMap<string, Schema> };

interface Def {
  readonly type: string;
  readonly innerType?: Schema;
  readonly in?: Schema;
  readonly out?: Schema;
  readonly shape?: Record<string, Schema>;
  readonly valueType?: Schema;
  readonly entries?: Record<string, string>;
  readonly values?: readonly unknown[];
  readonly options?: readonly Schema[];
  readonly checks?: readonly { readonly _zod: { readonly def: { readonly check: string; readonly value?: unknown } } }[];
}

function defOf(schema: Schema): Def {
  return schema._zod.def;
}

/** The schema under defaults, optionals and pipes: a preprocess pipe's output, a transform's input. */
export function unwrap(schema: Schema): Schema {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (def.innerType !== undefined && ['default', 'optional', 'nonoptional', 'prefault', 'readonly', 'catch'].includes(def.type)) {
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in !== undefined && def.out !== undefined) {
      current = defOf(def.in).type === 'transform' ? def.out : def.in;
    } else {
      return current;
    }
  }
}

/** The kind of value `schema` accepts. */
export function kindOf(schema: Schema): KeyKind {
  const base = unwrap(schema);
  const def = defOf(base);
  switch (def.type) {
    case 'object':
      return { kind: 'mapping', keys: new Map(Object.entries(def.shape ?? {})) };
    case 'record':
      return def.valueType === undefined ? { kind: 'whole' } : { kind: 'collection', item: def.valueType };
    case 'array':
      return { kind: 'list' };
    case 'boolean':
      return { kind: 'boolean' };
    case 'number':
      return { kind: 'number', ...numberBounds(def) };
    case 'enum':
      return { kind: 'enum', values: Object.values(def.entries ?? {}) };
    case 'literal':
      return (def.values ?? []).every((v) => typeof v === 'number') ? { kind: 'number' } : { kind: 'enum', values: (def.values ?? []).map(String) };
    case 'string':
      return { kind: 'text' };
    case 'union': {
      // A discriminated union of mappings (auth) is given whole; a union of scalars (a rate) is text.
      const objects = (def.options ?? []).map(unwrap).filter((o) => defOf(o).type === 'object');
      if (objects.length === 0) return { kind: 'text' };
      const keys = new Map<string, Schema>();
      for (const option of objects) for (const [key, value] of Object.entries(defOf(option).shape ?? {})) if (!keys.has(key)) keys.set(key, value);
      return { kind: 'whole', keys };
    }
    default:
      return { kind: 'whole' };
  }
}

function numberBounds(def: Def): { min?: number; max?: number } {
  const bounds: { min?: number; max?: number } = {};
  for (const check of def.checks ?? []) {
    const { check: name, value } = check._zod.def;
    if (typeof value !== 'number') continue;
    if (name === 'greater_than') bounds.min = value;
    if (name === 'less_than') bounds.max = value;
  }
  return bounds;
}

/** The whole config file's schema as a {@link KeyKind} tree root. */
export function configRoot(): Schema {
  return ConfigObjectSchema;
}

/**
 * The schema at `path` below the config root (`['jobs', 'nightly', 'streams']`), or undefined
 * when the path names no key.
 */
export function schemaAt(path: readonly string[]): Schema | undefined {
  let current: Schema = configRoot();
  for (const segment of path) {
    const kind = kindOf(current);
    if (kind.kind === 'mapping' || (kind.kind === 'whole' && kind.keys !== undefined)) {
      const next = kind.keys?.get(segment);
      if (next === undefined) return undefined;
      current = next;
    } else if (kind.kind === 'collection') {
      current = kind.item;
    } else {
      return undefined;
    }
  }
  return current;
}
