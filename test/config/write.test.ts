import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { renderConfigYaml, toConfigInput } from '../../src/config/write.js';

const demo: ConfigInput = {
  version: 1,
  jobs: {
    demo: { sources: ['/home/me/backhaul-demo'], repository: '/home/me/.local/state/backhaul/demo-repo', password: 'file:/home/me/.local/state/backhaul/demo.pw' },
  },
};

describe('renderConfigYaml', () => {
  it('writes a header comment and YAML that loads back to the same config', () => {
    const text = renderConfigYaml(demo);
    expect(text.startsWith('# Backhaul configuration. Every key is described in docs/configuration.md.\n')).toBe(true);
    expect(text).toContain('password: file:/home/me/.local/state/backhaul/demo.pw');
    const loaded = parseConfigText(text, 'demo.yaml');
    expect(loaded).toMatchObject({ ok: true, config: { jobs: { demo: { streams: 4, profile: 'direct' } } } });
  });

  it('takes a custom header, or none', () => {
    expect(renderConfigYaml(demo, { header: 'Made by backhaul demo\nEdit freely' })).toMatch(/^# Made by backhaul demo\n# Edit freely\n/);
    expect(renderConfigYaml(demo, { header: '' })).toMatch(/^version: 1\n/);
  });

  it('round-trips a validated config through toConfigInput', () => {
    const source = `jobs:
  nightly:
    sources: [/a, 'C:\\Users\\me']
    repository: rest:http://10.99.0.1:8000/office
    password: keychain:office-repo
    profile: office
    bandwidthLimit: 2 MiB/s
profiles:
  office:
    type: ikev2
    gateways: [vpn.example.com, 10.0.0.1]
    auth: { method: certificate, certificate: /c.pem, key: 'file:/c.key', username: me, password: 'file:/u.pw' }
    mtu: 1400
    routes: [10.99.0.0/24]
  other:
    type: l2tp
    gateways: [vpn2.example.com]
    auth: { method: psk, psk: 'file:/psk' }
`;
    const first = parseConfigText(source, 'a.yaml');
    if (!first.ok) throw new Error(JSON.stringify(first.errors));
    const again = parseConfigText(renderConfigYaml(toConfigInput(first.config)), 'b.yaml');
    if (!again.ok) throw new Error(JSON.stringify(again.errors));
    expect(again.config).toEqual(first.config);
  });
});
