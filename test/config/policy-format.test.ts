/**
 * A policy judged on its own: the YAML file's syntax, unknown keys, wrong types, contradictions
 * and the algorithms no policy may push. Every problem names the file, the key and (for YAML) the
 * line, and says what would be valid; nothing is dropped silently.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatConfigIssues } from '../../src/config/issues.js';
import { validatePolicyData } from '../../src/config/policy/format.js';
import { parseYamlPolicy, type PolicyRead } from '../../src/config/policy/read.js';

const FILE = '/etc/backhaul/policy.yaml';

function errorsOf(read: PolicyRead): readonly { path: string; message: string; line?: number; column?: number; source?: string }[] {
  if (read.state !== 'invalid') throw new Error(`expected an invalid policy, got ${read.state}`);
  return read.errors;
}

describe('a policy file', () => {
  it('a valid policy keeps its config as data and its rules as flags', () => {
    const read = parseYamlPolicy(['requireCertificateAuth: true', 'limits:', '  streams: { min: 1, max: 8 }', 'config:', '  jobs:', '    nightly: { streams: 2 }', ''].join('\n'), FILE);
    expect(read).toEqual({ state: 'valid', loaded: { source: FILE, policy: { config: { jobs: { nightly: { streams: 2 } } }, requireCertificateAuth: true, allowLegacyCiphers: false, limits: { streams: { min: 1, max: 8 } } } } });
  });

  it('an empty file is a valid policy that sets nothing', () => {
    expect(parseYamlPolicy('', FILE)).toMatchObject({ state: 'valid', loaded: { policy: { config: {}, requireCertificateAuth: false } } });
  });

  it('a syntax error is reported with the file, line and column', () => {
    const errors = errorsOf(parseYamlPolicy('config:\n  jobs: [unclosed\n', FILE));
    expect(errors[0]).toMatchObject({ source: FILE, line: expect.any(Number) as unknown, message: expect.stringContaining('YAML') as unknown });
    expect(formatConfigIssues(errors, 'config.yaml')).toMatch(/^\/etc\/backhaul\/policy\.yaml:\d+:\d+: /);
  });

  it('duplicate keys are refused, as in config files', () => {
    expect(errorsOf(parseYamlPolicy('allowLegacyCiphers: false\nallowLegacyCiphers: true\n', FILE))[0]).toMatchObject({ line: 2, message: expect.stringContaining('duplicate key') as unknown });
  });

  it('an unknown top-level key is an error with a suggestion, and a hint that config keys go under config:', () => {
    expect(errorsOf(parseYamlPolicy('requireCertificateAuht: true\n', FILE))).toEqual([
      { path: 'requireCertificateAuht', source: FILE, line: 1, column: 1, message: 'unknown policy key — did you mean "requireCertificateAuth"? (config keys go under "config:")' },
    ]);
    expect(errorsOf(parseYamlPolicy('jobs: {}\n', FILE))[0]?.message).toContain('config keys go under "config:"');
  });

  it('an unknown config key is an error at its line, with the keys valid there', () => {
    const errors = errorsOf(parseYamlPolicy('config:\n  jobs:\n    nightly:\n      strems: 2\n', FILE));
    expect(errors).toEqual([{ path: 'config.jobs.nightly.strems', source: FILE, line: 4, column: 7, message: 'unknown key — did you mean "streams"?' }]);
  });

  it('a wrong type names the key and what it expects', () => {
    const errors = errorsOf(parseYamlPolicy('requireCertificateAuth: "yes"\nconfig:\n  jobs:\n    nightly:\n      streams: lots\n', FILE));
    expect(errors).toEqual([
      { path: 'requireCertificateAuth', source: FILE, line: 1, column: 25, message: 'expected true or false, got "yes"' },
      expect.objectContaining({ path: 'config.jobs.nightly.streams', line: 5, message: expect.stringContaining('must be a whole number 1–32') as unknown }),
    ]);
  });

  it('a value out of the schema\'s range is refused as in a config file', () => {
    expect(errorsOf(parseYamlPolicy('config: { jobs: { nightly: { streams: 64 } } }\n', FILE))[0]?.message).toBe('must be 1–32, got 64');
  });

  it('a secret written into the policy is refused without repeating it', () => {
    const errors = errorsOf(parseYamlPolicy('config: { profiles: { office: { auth: { method: psk, psk: hunter2 } } } }\n', FILE));
    expect(JSON.stringify(errors)).not.toContain('hunter2');
    expect(errors[0]?.message).toContain('secret reference');
  });

  it('a bad job name is refused', () => {
    expect(errorsOf(parseYamlPolicy('config: { jobs: { "Night Ly": { streams: 2 } } }\n', FILE))[0]).toMatchObject({ path: 'config.jobs["Night Ly"]', message: expect.stringContaining('invalid name') as unknown });
  });

  it('MD5 in a proposal is refused even with allowLegacyCiphers, naming the proposal', () => {
    const errors = errorsOf(parseYamlPolicy([
      'allowLegacyCiphers: true',
      'config:',
      '  profiles:',
      '    office:',
      '      ikeProposals: [aes256-md5-modp2048]',
      '',
    ].join('\n'), FILE));
    expect(errors).toEqual([expect.objectContaining({ path: 'config.profiles.office.ikeProposals[0]', line: 5, message: expect.stringMatching(/^md5: MD5 is broken; a managed policy can't allow it, not even with allowLegacyCiphers — remove it from "aes256-md5-modp2048"$/) as unknown })]);
  });

  it('weak (not broken) algorithms need allowLegacyCiphers; unknown ones are refused', () => {
    const weak = 'config: { profiles: { office: { espProposals: [3des-sha1] } } }\n';
    expect(errorsOf(parseYamlPolicy(weak, FILE)).map((e) => e.message).join(' ')).toContain('or set allowLegacyCiphers: true');
    expect(parseYamlPolicy(`allowLegacyCiphers: true\n${weak}`, FILE).state).toBe('valid');
    expect(errorsOf(parseYamlPolicy('allowLegacyCiphers: true\nconfig: { profiles: { office: { espProposals: [aes256-shaa256] } } }\n', FILE))[0]?.message).toContain('not an algorithm Backhaul knows');
  });

  it('a policy that contradicts itself is refused', () => {
    expect(errorsOf(parseYamlPolicy('config: { profiles: { office: { cipherPolicy: legacy } } }\n', FILE))[0]?.message).toContain('without allowLegacyCiphers: true');
    expect(errorsOf(parseYamlPolicy('requireCertificateAuth: true\nconfig: { profiles: { office: { auth: { method: psk, psk: "file:/k" } } } }\n', FILE))[0]?.path).toBe('config.profiles.office.auth.method');
    expect(errorsOf(parseYamlPolicy('limits: { streams: { max: 4 } }\nconfig: { jobs: { nightly: { streams: 8 } } }\n', FILE))[0]?.message).toBe('the policy sets 8 but its own limits.streams is 1–4');
  });

  it('limits: unknown limits, bounds out of the schema\'s range and min above max are refused', () => {
    expect(errorsOf(parseYamlPolicy('limits: { stream: { max: 4 } }\n', FILE))[0]?.message).toContain('did you mean "streams"');
    expect(errorsOf(parseYamlPolicy('limits: { bandwidth: { max: 4 } }\n', FILE))[0]?.message).toBe('unknown limit; limits can be set for: streams, randomDelay');
    expect(errorsOf(parseYamlPolicy('limits: { streams: { max: 64 } }\n', FILE))[0]?.message).toBe('must be a whole number 1–32 (the range jobs.<name>.streams allows), got 64');
    expect(errorsOf(parseYamlPolicy('limits: { streams: { min: 8, max: 2 } }\n', FILE))[0]?.message).toBe('min (8) is above max (2); swap them');
    expect(errorsOf(parseYamlPolicy('limits: { streams: { min: 1, avg: 2 } }\n', FILE))[0]?.path).toBe('limits.streams.avg');
  });

  it('limits.randomDelay: delays as in a schedule, checked against the policy\'s own jobs', () => {
    expect(parseYamlPolicy('limits: { randomDelay: { min: 10m, max: 2h } }\n', FILE)).toMatchObject({ state: 'valid', loaded: { policy: { limits: { randomDelay: { min: 600_000, max: 7_200_000 } } } } });
    expect(errorsOf(parseYamlPolicy('limits: { randomDelay: { max: 13h } }\n', FILE))[0]?.message).toBe('must be a delay such as "15m" between 0 and 12h (the range jobs.<name>.schedule.randomDelay allows), got "13h"');
    expect(errorsOf(parseYamlPolicy('limits: { randomDelay: { min: soon } }\n', FILE))[0]?.path).toBe('limits.randomDelay.min');
    expect(errorsOf(parseYamlPolicy('limits: { randomDelay: { min: 1h, max: 30m } }\n', FILE))[0]?.message).toBe('min (1h) is above max (30m); swap them');
    expect(errorsOf(parseYamlPolicy('limits: { randomDelay: { min: 30m } }\nconfig: { jobs: { a: { schedule: { at: daily at 02:00, randomDelay: 5m } } } }\n', FILE))[0]).toMatchObject({ path: 'config.jobs.a.schedule.randomDelay', message: 'the policy sets 5m but its own limits.randomDelay is 30m–12h' });
  });

  it('only version 1, and only a mapping', () => {
    expect(errorsOf(parseYamlPolicy('version: 2\n', FILE))[0]?.message).toBe('only version 1 is supported, got 2');
    expect(errorsOf(parseYamlPolicy('- a\n- b\n', FILE))[0]?.message).toContain('got a list');
  });

  it('never throws and never accepts garbage silently, whatever the data (fuzz)', () => {
    fc.assert(fc.property(fc.anything(), (data) => {
      const result = validatePolicyData(data, FILE);
      if (result.ok) {
        // Accepted data must have been a mapping of known keys only.
        expect(data === null || data === undefined || (typeof data === 'object' && !Array.isArray(data))).toBe(true);
      } else {
        expect(result.errors.length).toBeGreaterThan(0);
        for (const error of result.errors) expect(error.source).toBe(FILE);
      }
    }), { numRuns: 300 });
  });

  it('policies built from known keys with random values are judged without throwing (fuzz)', () => {
    const value = fc.oneof(fc.boolean(), fc.integer(), fc.string(), fc.array(fc.string(), { maxLength: 3 }), fc.constant(null));
    const arb = fc.record({
      requireCertificateAuth: value,
      limits: fc.record({ streams: fc.record({ min: value, max: value }, { requiredKeys: [] }) }, { requiredKeys: [] }),
      config: fc.record({ jobs: fc.dictionary(fc.constantFrom('a', 'b', 'Bad'), fc.record({ streams: value, sources: value, mirror: value }, { requiredKeys: [] })) }, { requiredKeys: [] }),
    }, { requiredKeys: [] });
    fc.assert(fc.property(arb, (data) => {
      const result = validatePolicyData(data, FILE);
      if (!result.ok) for (const error of result.errors) expect(error.message.length).toBeGreaterThan(0);
    }), { numRuns: 300 });
  });
});
