import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { editProblem } from '../../src/agent/job-edit.js';
import { configBackups, profileInUse, profileViews, unknownProfile } from '../../src/agent/profile-edit.js';
import { builtinDefaults, mergeLayers } from '../../src/config/layers.js';
import { validateConfigData } from '../../src/config/schema.js';

const user = {
  profiles: {
    office: { type: 'l2tp', gateways: ['vpn.example.com'], routes: ['10.99.0.0/24'], auth: { method: 'psk', psk: 'file:/etc/backhaul/office.psk' } },
    lab: { type: 'ikev2', gateways: ['lab.example.com'], fullTunnel: true, mtu: 1400, auth: { method: 'certificate', certificate: '/etc/c.pem', key: 'file:/etc/k.pem' } },
  },
};

describe('the profile view of the API', () => {
  it('has the everyday fields with defaults, no auth, and the locks a policy layer sets', () => {
    const { data, origins } = mergeLayers(builtinDefaults(), { name: 'user', data: user }, { name: 'policy', data: { profiles: { office: { reconnectAttempts: 3 } } } });
    const checked = validateConfigData(data);
    if (!checked.success) throw new Error(JSON.stringify(checked.issues));
    const views = profileViews(checked.data, origins);
    expect(views.map((v) => [v.name, v.type])).toEqual([['office', 'l2tp'], ['lab', 'ikev2']]);
    expect(views[0]?.settings).toEqual({ gateways: ['vpn.example.com'], routes: ['10.99.0.0/24'], fullTunnel: false, driver: 'auto', keepaliveSeconds: 30, keepaliveFailures: 4, stallIntervals: 4, reconnectAttempts: 3, reconnectDeadlineSeconds: 600, mssClamp: false });
    expect(views[0]?.locked).toEqual({ reconnectAttempts: expect.stringContaining("locked by your organisation's policy") as unknown });
    expect(views[1]?.settings).toMatchObject({ fullTunnel: true, mtu: 1400, routes: [] });
    expect(views[1]?.locked).toEqual({});
    expect(JSON.stringify(views)).not.toMatch(/psk|\/etc\/k\.pem|auth/);
  });

  it('answers each refusal with its status', () => {
    expect(editProblem({ code: 'config.unknown-profile', message: 'm', hint: 'h' }).status).toBe(404);
    expect(profileInUse('office', 'nightly', 's1')).toMatchObject({ status: 409, code: 'profile.in-use', message: 'profile "office" is in use by job "nightly" (session s1); its settings can\'t change during a run' });
    const checked = validateConfigData(user);
    if (!checked.success) throw new Error('invalid');
    expect(unknownProfile(checked.data, 'home')).toMatchObject({ status: 404, code: 'config.unknown-profile', hint: 'Known profiles: office, lab.' });
  });

  it('keeps the copies of the config in the state dir', () => {
    expect(configBackups('/var/lib/backhaul')).toEqual({ dir: join('/var/lib/backhaul', 'config-backups'), keep: 10 });
  });
});
