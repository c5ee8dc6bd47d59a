/**
 * Values a policy gives whole replace the user's whole, instead of merging key by key. `auth` is
 * one: its fields depend on its `method`, so a policy's `{ method: certificate, certificate: … }`
 * merged over a user's `{ method: psk, psk: … }` would keep the user's `psk` and be refused as an
 * unknown key — blaming the user for the policy's change. Which values are whole is read from the
 * schema (schema-walk's `whole` kind), not listed here.
 */
import { kindOf, schemaAt } from './schema-walk.js';

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A copy of the user's config data without the values the policy gives whole (the policy layer
 * then supplies them). Everything else is the user's data, untouched.
 */
export function withoutWholeValuesOf(policyConfig: unknown, userData: unknown, path: readonly string[] = []): unknown {
  if (!isMapping(policyConfig) || !isMapping(userData)) return userData;
  const entries = Object.entries(userData).flatMap(([key, value]): [string, unknown][] => {
    if (!Object.hasOwn(policyConfig, key)) return [[key, value]];
    const schema = schemaAt([...path, key]);
    if (schema === undefined) return [[key, value]];
    if (kindOf(schema).kind === 'whole') return [];
    return [[key, withoutWholeValuesOf(policyConfig[key], value, [...path, key])]];
  });
  const changed = entries.length !== Object.keys(userData).length || entries.some(([key, value]) => value !== userData[key]);
  return changed ? Object.fromEntries(entries) : userData;
}
