/**
 * Property tests for the config loader: whatever the input — random text, random bytes, random
 * YAML data, or a valid config with random damage — loading never throws, always ends in a config
 * or in at least one readable issue, never leaks a stack trace, and never repeats a value that was
 * put in a secret field. 10,000 generated inputs in all, about 15 s on 2 cores.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { decodeConfigBytes, formatConfigIssues, parseConfigText, type ConfigIssue, type LoadResult } from '../../src/config/load.js';

const VALID = {
  version: 1,
  settings: { resticPath: '/usr/bin/restic' },
  jobs: {
    nightly: {
      engine: 'restic',
      sources: ['/home/me/docs', '/srv/photos'],
      excludes: ['*.tmp'],
      repository: 'rest:http://10.99.0.1:8000/office',
      password: 'file:/etc/backhaul/office.pw',
      profile: 'office',
      streams: 4,
      bandwidthLimit: '10 MiB/s',
    },
    mirror: {
      engine: 'rsync',
      sources: ['/home/me'],
      repository: '/volume1/me',
      ssh: { host: 'nas', user: 'backup', identity: 'file:/home/me/.ssh/backhaul' },
    },
  },
  profiles: {
    office: {
      type: 'l2tp',
      gateways: ['vpn.example.com'],
      auth: { method: 'psk', psk: 'file:/etc/backhaul/office.psk', username: 'alice', password: 'keychain:office-user' },
      mtu: 1400,
      routes: ['10.99.0.0/24'],
      fullTunnel: false,
    },
    roaming: {
      type: 'ikev2',
      gateways: ['203.0.113.7'],
      auth: { method: 'certificate', certificate: '/etc/backhaul/me.crt', key: 'file:/etc/backhaul/me.key' },
    },
  },
};

const SECRET_FIELDS: readonly (readonly string[])[] = [
  ['jobs', 'nightly', 'password'],
  ['jobs', 'mirror', 'password'],
  ['profiles', 'office', 'auth', 'psk'],
  ['profiles', 'office', 'auth', 'password'],
  ['profiles', 'roaming', 'auth', 'key'],
  ['profiles', 'roaming', 'auth', 'password'],
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path in the valid config (containers and leaves), for mutations. */
function allPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = prefix.length > 0 ? [prefix] : [];
  if (Array.isArray(value)) value.forEach((item, i) => out.push(...allPaths(item, [...prefix, i])));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) out.push(...allPaths(child, [...prefix, key]));
  }
  return out;
}
const PATHS = allPaths(VALID);

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Parent container of `path` and the last segment, when the parent exists and is a container. */
function parentOf(root: unknown, path: readonly (string | number)[]): { parent: Record<string | number, unknown>; last: string | number } | undefined {
  let node: unknown = root;
  for (const segment of path.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  const last = path[path.length - 1];
  if (typeof node !== 'object' || node === null || last === undefined) return undefined;
  return { parent: node as Record<string | number, unknown>, last };
}

type Mutation =
  | { kind: 'replace'; path: number; value: Json }
  | { kind: 'delete'; path: number }
  | { kind: 'extra-key'; path: number; key: string; value: Json }
  | { kind: 'secret'; field: number; canary: string };

const jsonValue = fc.jsonValue({ maxDepth: 2, depthSize: 'small' }) as fc.Arbitrary<Json>;
const canary = fc.stringMatching(/^[A-Za-z0-9]{10,24}$/).map((s) => `Qz${s}`);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), path: fc.nat({ max: PATHS.length - 1 }), value: jsonValue }),
  fc.record({ kind: fc.constant('delete' as const), path: fc.nat({ max: PATHS.length - 1 }) }),
  fc.record({
    kind: fc.constant('extra-key' as const),
    path: fc.nat({ max: PATHS.length - 1 }),
    key: fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('strems', 'sorces', 'pasword', 'gateway', '__proto__', 'constructor')),
    value: jsonValue,
  }),
  fc.record({ kind: fc.constant('secret' as const), field: fc.nat({ max: SECRET_FIELDS.length - 1 }), canary }),
);

/** Apply mutations; returns the damaged config and the canaries that sit in secret fields. */
function mutate(mutations: readonly Mutation[]): { data: unknown; secrets: string[] } {
  const data: unknown = clone(VALID);
  const secrets: string[] = [];
  for (const m of mutations) {
    if (m.kind === 'secret') {
      const target = parentOf(data, SECRET_FIELDS[m.field] ?? []);
      if (target && !Array.isArray(target.parent)) {
        target.parent[target.last] = m.canary;
        secrets.push(m.canary);
      }
      continue;
    }
    const path = PATHS[m.path] ?? [];
    if (m.kind === 'extra-key') {
      let node: unknown = data;
      for (const segment of path) node = typeof node === 'object' && node !== null ? (node as Record<string | number, unknown>)[segment] : undefined;
      if (typeof node === 'object' && node !== null && !Array.isArray(node)) {
        Object.defineProperty(node, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const target = parentOf(data, path);
    if (!target) continue;
    if (m.kind === 'replace') target.parent[target.last] = m.value;
    else if (Array.isArray(target.parent)) target.parent.splice(Number(target.last), 1);
    else Reflect.deleteProperty(target.parent, target.last);
  }
  return { data, secrets };
}

/** Fails the property with a readable reason (cheaper than expect() in tight loops). */
function check(condition: boolean, reason: string, issue?: ConfigIssue): void {
  if (!condition) throw new Error(`${reason}${issue === undefined ? '' : `: ${JSON.stringify(issue)}`}`);
}

/** The invariants every load result must satisfy. */
function checkResult(result: LoadResult, text: string, secrets: readonly string[] = []): void {
  const issues: readonly ConfigIssue[] = result.ok ? result.warnings : result.errors;
  if (result.ok) check(typeof result.config.jobs === 'object', 'ok without a config');
  else check(result.errors.length >= 1, 'rejected without an issue');
  const lines = text.split('\n').length;
  for (const issue of issues) {
    check(typeof issue.path === 'string' && typeof issue.message === 'string', 'malformed issue', issue);
    check(issue.message.length > 0, 'empty message', issue);
    check(!issue.message.includes('    at '), 'stack trace in message', issue);
    check(!/^(?:Error|TypeError|ReferenceError|RangeError):/.test(issue.message), 'raw exception text', issue);
    if (issue.line !== undefined) {
      check(issue.line >= 1 && issue.line <= lines + 1, 'line out of range', issue);
      check(issue.column !== undefined && issue.column >= 1, 'bad column', issue);
    }
  }
  const rendered = formatConfigIssues(issues, 'fuzz.yaml');
  for (const secret of secrets) check(!rendered.includes(secret), `secret ${secret} echoed in:\n${rendered}`);
}

function load(text: string): LoadResult {
  return parseConfigText(text, 'fuzz.yaml');
}

describe('config loader under generated input', () => {
  it('handles arbitrary text (2,500 inputs)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: fc.constantFrom(...'jobs:profiles- []{}&*!|>\'"#\n\t %@`?,0123'.split('')), maxLength: 200 })), (text) => {
        checkResult(load(text), text);
      }),
      { numRuns: 2500 },
    );
  });

  it('handles arbitrary bytes (2,000 inputs)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          // Mostly-ASCII bytes get past the UTF-8 check and exercise the parser.
          fc.array(fc.integer({ min: 0, max: 127 }), { maxLength: 300 }).map((b) => Uint8Array.from(b)),
          fc
            .tuple(fc.constantFrom('jobs:\n  a:\n    sources: ', 'profiles:\n  x: ', '\uFEFFversion: '), fc.uint8Array({ maxLength: 60 }))
            .map(([prefix, tail]) => Uint8Array.from([...Buffer.from(prefix), ...tail])),
        ),
        (bytes) => {
        const decoded = decodeConfigBytes(bytes, 'fuzz.bin');
        if (!decoded.ok) {
          expect(decoded.issue.message.length).toBeGreaterThan(0);
          return;
        }
        checkResult(load(decoded.text), decoded.text);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('handles arbitrary data rendered as YAML (1,500 inputs)', () => {
    const shaped = fc.record(
      {
        version: jsonValue,
        settings: fc.oneof(jsonValue, fc.record({ resticPath: jsonValue })),
        jobs: fc.oneof(jsonValue, fc.dictionary(fc.string({ maxLength: 8 }), fc.dictionary(fc.constantFrom('engine', 'sources', 'streams', 'password', 'profile', 'bandwidthLimit', 'x'), jsonValue, { maxKeys: 5 }), { maxKeys: 3 })),
        profiles: fc.oneof(jsonValue, fc.dictionary(fc.string({ maxLength: 8 }), fc.dictionary(fc.constantFrom('type', 'gateways', 'auth', 'mtu', 'routes', 'fullTunnel'), jsonValue, { maxKeys: 5 }), { maxKeys: 3 })),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 3 }), shaped), (data) => {
        const text = stringify(data);
        checkResult(load(text), text);
      }),
      { numRuns: 1500 },
    );
  });

  it('handles a valid config with wrong types, missing and extra keys, and pasted secrets (3,000 inputs)', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (mutations, flow) => {
        const { data, secrets } = mutate(mutations);
        const text = stringify(data, flow ? { collectionStyle: 'flow' } : {});
        checkResult(load(text), text, secrets);
      }),
      { numRuns: 3000 },
    );
  });

  it('handles character-level damage to valid YAML (1,000 inputs)', () => {
    const base = stringify(VALID);
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat({ max: base.length }), remove: fc.nat({ max: 4 }), insert: fc.string({ maxLength: 3 }) }), { minLength: 1, maxLength: 5 }),
        (edits) => {
          let text = base;
          for (const edit of edits) {
            const at = Math.min(edit.at, text.length);
            text = text.slice(0, at) + edit.insert + text.slice(at + edit.remove);
          }
          checkResult(load(text), text);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('the unmutated fixture is valid (so mutations start from a good config)', () => {
    expect(load(stringify(VALID))).toMatchObject({ ok: true });
  });
});
