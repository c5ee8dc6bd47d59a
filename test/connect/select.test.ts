import { describe, expect, it } from 'vitest';
import { selectDriver, type HostDescription, type TunnelType } from '../../src/connect/select.js';

const bareLinux: HostDescription = {
  platform: 'linux',
  networkManagerRunning: false,
  networkManagerPlugins: [],
  hasStrongSwan: false,
  hasXl2tpd: false,
};

const rows: { name: string; host: HostDescription; type: TunnelType; want: string }[] = [
  { name: 'windows always uses its own client', host: { ...bareLinux, platform: 'win32' }, type: 'l2tp', want: 'windows' },
  { name: 'macOS always uses its own client', host: { ...bareLinux, platform: 'darwin' }, type: 'ikev2', want: 'macos' },
  {
    name: 'desktop with NM and the l2tp plugin',
    host: { ...bareLinux, networkManagerRunning: true, networkManagerPlugins: ['l2tp'], hasStrongSwan: true, hasXl2tpd: true },
    type: 'l2tp',
    want: 'linux-nm',
  },
  {
    name: 'NM with only the l2tp plugin falls back to strongSwan for IKEv2',
    host: { ...bareLinux, networkManagerRunning: true, networkManagerPlugins: ['l2tp'], hasStrongSwan: true },
    type: 'ikev2',
    want: 'linux-swan',
  },
  {
    name: 'NM with the strongswan plugin for IKEv2',
    host: { ...bareLinux, networkManagerRunning: true, networkManagerPlugins: ['strongswan'] },
    type: 'ikev2',
    want: 'linux-nm',
  },
  {
    name: 'NM installed but not running: strongSwan + xl2tpd',
    host: { ...bareLinux, networkManagerPlugins: ['l2tp'], hasStrongSwan: true, hasXl2tpd: true },
    type: 'l2tp',
    want: 'linux-swan',
  },
  { name: 'server with strongSwan + xl2tpd', host: { ...bareLinux, hasStrongSwan: true, hasXl2tpd: true }, type: 'l2tp', want: 'linux-swan' },
  { name: 'strongSwan alone is enough for IKEv2', host: { ...bareLinux, hasStrongSwan: true }, type: 'ikev2', want: 'linux-swan' },
  { name: 'L2TP needs xl2tpd next to strongSwan', host: { ...bareLinux, hasStrongSwan: true }, type: 'l2tp', want: 'error: no L2TP/IPsec client found (neither NetworkManager nor strongSwan + xl2tpd)' },
  { name: 'nothing installed', host: bareLinux, type: 'l2tp', want: 'error: no L2TP/IPsec client found (neither NetworkManager nor strongSwan + xl2tpd)' },
  {
    name: 'NM running without the plugin says which package',
    host: { ...bareLinux, networkManagerRunning: true },
    type: 'l2tp',
    want: 'error: NetworkManager is running but its l2tp VPN plugin is not installed',
  },
  { name: 'unsupported OS', host: { ...bareLinux, platform: 'freebsd' }, type: 'l2tp', want: 'error: freebsd has no supported VPN client' },
];

describe('selectDriver', () => {
  it.each(rows)('$name', ({ host, type, want }) => {
    const got = selectDriver(host, type);
    expect(got.ok ? got.driver : `error: ${got.reason}`).toBe(want);
  });

  it('names the package to install in every failure hint', () => {
    const nm = selectDriver({ ...bareLinux, networkManagerRunning: true }, 'ikev2');
    expect(nm.ok).toBe(false);
    if (!nm.ok) expect(nm.hint).toContain('apt-get install -y network-manager-strongswan');
    const bare = selectDriver(bareLinux, 'l2tp');
    if (!bare.ok) expect(bare.hint).toContain('xl2tpd');
  });
});
