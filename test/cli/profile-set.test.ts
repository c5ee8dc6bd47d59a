import { describe, expect, it } from 'vitest';
import { formatProfile, profilePatchFor } from '../../src/cli/commands/profile.js';
import { CliError } from '../../src/cli/exit-codes.js';

describe('backhaul profile set: the patch sent to the agent', () => {
  it('lists take every value, numbers and true/false are converted, driver is text', () => {
    expect(profilePatchFor('gateways', ['a.example.com', 'b.example.com'])).toEqual({ gateways: ['a.example.com', 'b.example.com'] });
    expect(profilePatchFor('routes', [])).toEqual({ routes: [] });
    expect(profilePatchFor('mtu', ['1380'])).toEqual({ mtu: 1380 });
    expect(profilePatchFor('fullTunnel', ['true'])).toEqual({ fullTunnel: true });
    expect(profilePatchFor('mssClamp', ['false'])).toEqual({ mssClamp: false });
    expect(profilePatchFor('driver', ['linux-swan'])).toEqual({ driver: 'linux-swan' });
  });

  it('what does not convert goes to the agent as text, so its validator words the error', () => {
    expect(profilePatchFor('keepaliveSeconds', ['often'])).toEqual({ keepaliveSeconds: 'often' });
    expect(profilePatchFor('fullTunnel', ['yes'])).toEqual({ fullTunnel: 'yes' });
  });

  it('several values for a one-value field are a usage error', () => {
    expect(() => profilePatchFor('mtu', ['1380', '1400'])).toThrow(CliError);
    expect(() => profilePatchFor('mtu', ['1380', '1400'])).toThrow('mtu takes one value, got 2');
  });

  it('shows every field, the computed MTU, and the lock with its reason', () => {
    const text = formatProfile({
      name: 'office', type: 'ikev2',
      settings: { gateways: ['vpn.example.com'], routes: [], fullTunnel: true, driver: 'auto', keepaliveSeconds: 20, keepaliveFailures: 4, stallIntervals: 4, reconnectAttempts: 10, reconnectDeadlineSeconds: 600, mssClamp: false },
      locked: { keepaliveSeconds: "locked by your organisation's policy, which sets this value; ask your administrator to change it" },
    });
    expect(text.split('\n')).toEqual([
      'office (ikev2)',
      '  gateways                  vpn.example.com',
      '  routes                    (none)',
      '  fullTunnel                true',
      '  mtu                       (computed)',
      '  driver                    auto',
      "  keepaliveSeconds          20   🔒 locked by your organisation's policy, which sets this value; ask your administrator to change it",
      '  keepaliveFailures         4',
      '  stallIntervals            4',
      '  reconnectAttempts         10',
      '  reconnectDeadlineSeconds  600',
      '  mssClamp                  false',
      '',
    ]);
  });
});
