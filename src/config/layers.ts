/**
 * Config layers: built-in defaults < user file < managed policy (ARCHITECTURE.md, "Config and
 * policy"). Layers are merged as plain data *before* validation, so the schema judges the result
 * once and every later layer can override any key of an earlier one. The policy layer is not read
 * yet; it plugs in by adding a `{ name: 'policy', data }` layer — precedence is fixed here, not by
 * the caller's argument order.
 */
import { formatPath } from './path.js';

/** Where a layer comes from, lowest precedence first. */
export const LAYER_ORDER = ['defaults', 'user', 'policy'] as const;
export type LayerName = (typeof LAYER_ORDER)[number];

/** One source of config data (parsed YAML/JSON, not yet validated). */
export interface ConfigLayer {
  readonly name: LayerName;
  readonly data: unknown;
}

/** The merged data plus, for every leaf, which layer set it (for "locked by policy" messages). */
export interface MergedLayers {
  readonly data: unknown;
  readonly origins: ReadonlyMap<string, LayerName>;
}

/**
 * Built-in defaults that are not per-entry (per-job and per-profile defaults live in the schema,
 * because jobs and profiles are keyed by user-chosen names).
 */
export function builtinDefaults(): ConfigLayer {
  return { name: 'defaults', data: { version: 1, settings: {}, jobs: {}, profiles: {} } };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

/** Own-property assignment that treats `__proto__` as a plain key (no prototype pollution). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function mergeInto(
  base: unknown,
  top: unknown,
  layer: LayerName,
  path: readonly PropertyKey[],
  origins: Map<string, LayerName>,
): unknown {
  if (!isMapping(top) || !isMapping(base)) {
    forgetOrigins(path, origins);
    recordOrigins(top, layer, path, origins);
    return top;
  }
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(base)) setOwn(result, key, value);
  for (const [key, value] of Object.entries(top)) {
    if (value === undefined) continue;
    const childPath = [...path, key];
    if (Object.hasOwn(base, key)) {
      setOwn(result, key, mergeInto(base[key], value, layer, childPath, origins));
    } else {
      setOwn(result, key, value);
      recordOrigins(value, layer, childPath, origins);
    }
  }
  return result;
}

/** Drop the origins under `path` (it is being replaced whole). */
function forgetOrigins(path: readonly PropertyKey[], origins: Map<string, LayerName>): void {
  const prefix = formatPath(path);
  for (const key of [...origins.keys()]) {
    if (prefix === '' || key === prefix || key.startsWith(`${prefix}.`) || key.startsWith(`${prefix}[`)) {
      origins.delete(key);
    }
  }
}

/** Note `layer` as the origin of every leaf of `value` (an empty mapping counts as a leaf). */
function recordOrigins(
  value: unknown,
  layer: LayerName,
  path: readonly PropertyKey[],
  origins: Map<string, LayerName>,
): void {
  if (isMapping(value) && Object.keys(value).length > 0) {
    for (const [key, child] of Object.entries(value)) recordOrigins(child, layer, [...path, key], origins);
  } else {
    origins.set(formatPath(path), layer);
  }
}

/**
 * Deep-merge layers in precedence order (see {@link LAYER_ORDER}; ties keep argument order).
 * Mappings merge key by key; lists and scalars from a higher layer replace the lower value whole,
 * so a policy's `routes` is exactly the policy's routes.
 */
export function mergeLayers(...layers: readonly ConfigLayer[]): MergedLayers {
  const ordered = layers
    .map((layer, index) => ({ layer, index }))
    .sort((a, b) => LAYER_ORDER.indexOf(a.layer.name) - LAYER_ORDER.indexOf(b.layer.name) || a.index - b.index)
    .map(({ layer }) => layer);
  const origins = new Map<string, LayerName>();
  let data: unknown = undefined;
  for (const layer of ordered) {
    if (layer.data === undefined) continue;
    if (data === undefined) {
      data = layer.data;
      recordOrigins(layer.data, layer.name, [], origins);
    } else {
      data = mergeInto(data, layer.data, layer.name, [], origins);
    }
  }
  return { data, origins };
}
