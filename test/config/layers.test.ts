import { describe, expect, it } from 'vitest';
import { builtinDefaults, LAYER_ORDER, mergeLayers, type ConfigLayer } from '../../src/config/layers.js';
import { validateConfigData } from '../../src/config/schema.js';

const user: ConfigLayer = {
  name: 'user',
  data: {
    jobs: { nightly: { sources: ['/home/me'], repository: '/r', password: 'file:/p', streams: 8 } },
    profiles: { office: { type: 'l2tp', gateways: ['vpn.example.com'], auth: { method: 'psk', psk: 'file:/k' }, routes: ['10.1.0.0/16', '10.2.0.0/16'] } },
  },
};

describe('mergeLayers', () => {
  it('built-in defaults < user file', () => {
    const { data, origins } = mergeLayers(builtinDefaults(), user);
    expect(data).toMatchObject({ version: 1, settings: {}, jobs: { nightly: { streams: 8 } } });
    expect(origins.get('version')).toBe('defaults');
    expect(origins.get('settings')).toBe('defaults');
    expect(origins.get('jobs.nightly.streams')).toBe('user');
    expect(validateConfigData(data).success).toBe(true);
  });

  it('a user value replaces a default', () => {
    const { data, origins } = mergeLayers(builtinDefaults(), { name: 'user', data: { version: 2 } });
    expect(data).toMatchObject({ version: 2 });
    expect(origins.get('version')).toBe('user');
  });

  it('managed policy > user file, key by key; lists are replaced whole', () => {
    const policy: ConfigLayer = {
      name: 'policy',
      data: { jobs: { nightly: { streams: 2 } }, profiles: { office: { routes: ['10.9.0.0/16'] } } },
    };
    const { data, origins } = mergeLayers(builtinDefaults(), user, policy);
    expect(data).toMatchObject({
      jobs: { nightly: { streams: 2, sources: ['/home/me'] } },
      profiles: { office: { routes: ['10.9.0.0/16'], type: 'l2tp' } },
    });
    expect(origins.get('jobs.nightly.streams')).toBe('policy');
    expect(origins.get('jobs.nightly.repository')).toBe('user');
    expect(origins.get('profiles.office.routes')).toBe('policy');
  });

  it('precedence comes from the layer name, not the argument order', () => {
    const policy: ConfigLayer = { name: 'policy', data: { jobs: { nightly: { streams: 2 } } } };
    const forwards = mergeLayers(builtinDefaults(), user, policy);
    const backwards = mergeLayers(policy, user, builtinDefaults());
    expect(backwards).toEqual(forwards);
    expect(LAYER_ORDER).toEqual(['defaults', 'user', 'policy']);
  });

  it('a mapping replaced by a scalar drops the origins under it', () => {
    const { data, origins } = mergeLayers(user, { name: 'policy', data: { jobs: 'locked' } });
    expect(data).toMatchObject({ jobs: 'locked' });
    expect([...origins.keys()].filter((k) => k.startsWith('jobs'))).toEqual(['jobs']);
  });

  it('a non-mapping user file replaces the defaults, so the schema reports it', () => {
    const { data } = mergeLayers(builtinDefaults(), { name: 'user', data: ['a'] });
    expect(data).toEqual(['a']);
  });

  it('does not mutate its inputs and treats __proto__ as a plain key', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "jobs": {}}') as unknown;
    const defaults = builtinDefaults();
    const before = JSON.stringify(defaults);
    const { data } = mergeLayers(defaults, { name: 'user', data: hostile });
    expect(JSON.stringify(defaults)).toBe(before);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(Object.keys(data as object)).toContain('__proto__');
    const result = validateConfigData(data);
    expect(result.success).toBe(false);
  });

  it('skips layers without data', () => {
    expect(mergeLayers(builtinDefaults(), { name: 'user', data: undefined }).data).toEqual(builtinDefaults().data);
    expect(mergeLayers().data).toBeUndefined();
  });
});
