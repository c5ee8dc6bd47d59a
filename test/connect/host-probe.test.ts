import { describe, expect, it } from 'vitest';
import { compareVersions, hostRequirements, probeHost } from '../../src/connect/host-probe.js';
import { selectDriver } from '../../src/connect/select.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';
import { fakeFiles, labHost } from './linux-fakes.js';

const signal = new AbortController().signal;

/** The lab guest's plugin files (contents as Debian 12 installs them). */
const l2tpName = '[VPN Connection]\nname=l2tp\nservice=org.freedesktop.NetworkManager.l2tp\nprogram=/usr/lib/NetworkManager/nm-l2tp-service\n\n[GNOME]\nauth-dialog=/usr/lib/NetworkManager/nm-l2tp-auth-dialog\nsupports-external-ui-mode=true\n';
const swanName = '[VPN Connection]\nname=strongswan\nservice=org.freedesktop.NetworkManager.strongswan\nprogram=/usr/lib/ipsec/charon-nm\n';

describe('probeHost', () => {
  it('describes the lab guest: NetworkManager with both plugins, l2tp 1.20.8 and its auth dialog, strongSwan, xl2tpd, kernel ESP', async () => {
    const files = fakeFiles({
      '/usr/lib/NetworkManager/VPN/nm-l2tp-service.name': l2tpName,
      '/usr/lib/NetworkManager/VPN/nm-strongswan-service.name': swanName,
      '/usr/lib/NetworkManager/nm-l2tp-service': '',
      '/usr/lib/NetworkManager/nm-l2tp-auth-dialog': '',
      '/usr/lib/ipsec/charon-nm': '',
      '/usr/lib/ipsec/charon': '',
      '/usr/sbin/swanctl': '',
      '/usr/sbin/xl2tpd': '',
      '/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so': '',
      '/dev/net/tun': '',
    });
    const runner = new ReplayingCommandRunner([
      { argv: ['nmcli', '-t', '-f', 'RUNNING', 'general'], reply: { stdout: 'running\n' } },
      { argv: ['dpkg-query', '-W', '-f', '${Version}', 'network-manager-l2tp'], reply: { stdout: '1.20.8-1+deb12u1' } },
      { argv: ['modprobe', '-n', '-q', 'esp4'], reply: {} },
      { argv: ['modprobe', '-n', '-q', 'l2tp_ppp'], reply: {} },
    ]);
    expect(await probeHost(runner, signal, files)).toEqual(labHost);
    runner.assertDone();
  });

  it('describes this kind of CI host: no NetworkManager, strongSwan with userspace ESP only', async () => {
    const files = fakeFiles({ '/usr/lib/ipsec/charon': '', '/usr/sbin/swanctl': '', '/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so': '', '/dev/net/tun': '' });
    const runner = new ReplayingCommandRunner([
      { argv: ['nmcli', '-t', '-f', 'RUNNING', 'general'], reply: { spawnError: 'ENOENT' } },
      { argv: ['modprobe', '-n', '-q', 'esp4'], reply: { exitCode: 1 } },
      { argv: ['modprobe', '-n', '-q', 'l2tp_ppp'], reply: { exitCode: 1 } },
    ]);
    const facts = await probeHost(runner, signal, files);
    expect(facts).toMatchObject({ networkManagerRunning: false, networkManagerPlugins: [], hasStrongSwan: true, hasXl2tpd: false, kernelEsp: false, userspaceEsp: true });
    expect(selectDriver(facts, 'ikev2')).toEqual({ ok: true, driver: 'linux-swan' });
    expect(hostRequirements(facts, 'l2tp', 'psk')).toEqual([
      'xl2tpd and pppd: sudo apt-get install -y xl2tpd ppp',
      "kernel L2TP/PPP support (l2tp_ppp): install the distribution kernel's modules or load them (modprobe l2tp_ppp)",
      'kernel ESP (esp4): L2TP/IPsec transport mode needs it; userspace ESP only carries IKEv2',
    ]);
    expect(hostRequirements(facts, 'ikev2', 'certificate')).toEqual([]);
    runner.assertDone();
  });
});

describe('hostRequirements on a desktop', () => {
  it('names the auth dialog for an L2TP PSK and refuses an IKEv2 PSK', () => {
    const desktop = { ...labHost, nmL2tpAuthDialog: false, networkManagerPlugins: ['l2tp' as const] };
    expect(hostRequirements(desktop, 'l2tp', 'psk')[0]).toContain('sudo apt-get install -y network-manager-l2tp-gnome');
    expect(hostRequirements(desktop, 'ikev2', 'certificate')).toEqual([
      "NetworkManager's strongSwan plugin (charon-nm): sudo apt-get install -y network-manager-strongswan strongswan-nm",
    ]);
  });
});

describe('compareVersions', () => {
  it('orders dotted versions numerically', () => {
    expect(compareVersions('1.20.8', '1.52.2')).toBeLessThan(0);
    expect(compareVersions('1.52.10', '1.52.2')).toBeGreaterThan(0);
    expect(compareVersions('1.52', '1.52.0')).toBe(0);
  });
});
