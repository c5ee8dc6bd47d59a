import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addMssClamp,
  addRoute,
  firstHost,
  pollUntil,
  removeMssClamp,
  removeRoute,
  routeGet,
  stopByPidFile,
  tunnelCarryingRoutes,
} from '../../src/connect/linux-net.js';
import { createCommandRunner } from '../../src/os/command.js';
import { ReplayingCommandRunner } from '../helpers/replaying-runner.js';
import { l2tpPsk, rec, recordingJournal } from './linux-fakes.js';

const signal = new AbortController().signal;

describe('addresses and routes', () => {
  it('firstHost: the first usable address of a subnet', () => {
    expect(firstHost('10.99.0.0/24')).toBe('10.99.0.1');
    expect(firstHost('192.168.42.1/32')).toBe('192.168.42.1');
    expect(firstHost('10.0.0.0/8')).toBe('10.0.0.1');
  });

  it('routeGet reads the recorded ip -j route get', async () => {
    const runner = new ReplayingCommandRunner([{ argv: ['ip', '-j', 'route', 'get', '10.99.0.1'], reply: rec('ip_-j_route_get_10.99.0.1.txt') }]);
    expect(await routeGet(runner, '10.99.0.1', signal)).toEqual({ dst: '10.99.0.1', dev: 'ppp0', prefsrc: '192.168.42.10', table: 'main' });
  });

  it('adds a split route journaled first, removes exactly it, and leaves a route someone else made', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: ['ip', '-j', 'route', 'show', 'exact', '10.99.0.0/24'], reply: { stdout: '[]\n' } },
      { argv: ['ip', 'route', 'add', '10.99.0.0/24', 'dev', 'ppp0', 'proto', 'static'], reply: {} },
      { argv: ['ip', 'route', 'del', '10.99.0.0/24', 'dev', 'ppp0'], reply: {} },
      { argv: ['ip', '-j', 'route', 'show', 'exact', '10.98.0.0/24'], reply: { stdout: '[{"dst":"10.98.0.0/24","dev":"ppp0","protocol":"static","scope":"link","flags":[]}]\n' } },
    ]);
    const journal = recordingJournal();
    const added = await addRoute(runner, journal, { cidr: '10.99.0.0/24', dev: 'ppp0' }, signal);
    expect(added).toEqual({ cidr: '10.99.0.0/24', dev: 'ppp0' });
    if (added !== undefined) await removeRoute(runner, journal, added, signal);
    expect(await addRoute(runner, journal, { cidr: '10.98.0.0/24', dev: 'ppp0' }, signal)).toBeUndefined();
    expect(journal.events).toEqual(['acquire route 10.99.0.0/24 dev ppp0', 'release route 10.99.0.0/24 dev ppp0']);
    runner.assertDone();
  });

  it('finds a tunnel that already carries the split subnet (the user\'s own)', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: ['ip', '-j', 'route', 'get', '10.99.0.1'], reply: rec('ip_-j_route_get_10.99.0.1.txt') },
      { argv: ['ip', '-j', 'addr', 'show', 'dev', 'ppp0'], reply: rec('ip_-j_addr_show_dev_ppp0.txt') },
    ]);
    expect(await tunnelCarryingRoutes(runner, l2tpPsk, signal)).toEqual({ state: 'up', interfaceName: 'ppp0', mtu: 1200, localAddress: '192.168.42.10' });
    runner.assertDone();
  });
});

describe('TCP MSS clamp', () => {
  it('loads one nftables table per profile through stdin, journaled, and deletes it', async () => {
    const runner = new ReplayingCommandRunner([
      { argv: ['nft', '-f', '-'], reply: {} },
      { argv: ['nft', 'delete', 'table', 'inet', 'backhaul_p_swan_l2tp'], reply: {} },
    ]);
    const journal = recordingJournal();
    await addMssClamp(runner, journal, 'p-swan-l2tp', 'ppp0', signal);
    await removeMssClamp(runner, journal, 'p-swan-l2tp', signal);
    expect(runner.calls[0]?.stdin).toContain('oifname "ppp0" tcp flags syn tcp option maxseg size set rt mtu');
    expect(journal.events).toEqual(['acquire nft-table inet backhaul_p_swan_l2tp', 'release nft-table inet backhaul_p_swan_l2tp']);
    runner.assertDone();
  });

  it.skipIf(process.getuid?.() !== 0 || !existsSync('/usr/sbin/nft'))('the ruleset is valid for the real nft (checked, not loaded)', async () => {
    const replay = new ReplayingCommandRunner([{ argv: ['nft', '-f', '-'], reply: {} }]);
    await addMssClamp(replay, recordingJournal(), 'office', 'ppp0', signal);
    const check = await createCommandRunner().run({ argv: ['nft', '-c', '-f', '-'], stdin: replay.calls[0]?.stdin ?? '', okExitCodes: 'any', timeoutMs: 20_000 });
    expect({ exit: check.exitCode, stderr: check.stderr }).toEqual({ exit: 0, stderr: '' });
  });

  it('says what to do when nft refuses', async () => {
    const runner = new ReplayingCommandRunner([{ argv: ['nft', '-f', '-'], reply: { exitCode: 1, stderr: 'Error: syntax error\n' } }]);
    await expect(addMssClamp(runner, recordingJournal(), 'office', 'ppp0', signal)).rejects.toMatchObject({ code: 'tunnel.mss-clamp' });
  });
});

describe('pollUntil', () => {
  it('stops at the first value and gives up after its bound', async () => {
    let calls = 0;
    expect(await pollUntil(() => Promise.resolve(++calls === 3 ? 'done' : undefined), 10, { pollMs: 0 }, signal)).toBe('done');
    calls = 0;
    const never = await pollUntil<string>(() => { calls++; return Promise.resolve(undefined); }, 5, { pollMs: 0 }, signal);
    expect(never).toBeUndefined();
    expect(calls).toBe(5);
  });
});

describe('stopByPidFile (crash recovery)', () => {
  /** A real daemon whose environment names its private dir, as charon's does; ready once it printed. */
  const daemons: { dir: string; pid: number }[] = [];
  afterEach(() => {
    for (const daemon of daemons.splice(0)) {
      try {
        process.kill(daemon.pid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
      rmSync(daemon.dir, { recursive: true, force: true });
    }
  });
  async function leftoverDaemon(onTerm: 'exit' | 'ignore'): Promise<{ dir: string; pid: number; exited: Promise<NodeJS.Signals | null> }> {
    const dir = mkdtempSync(join(tmpdir(), 'backhaul-pidfile-'));
    const script = `process.on('SIGTERM', () => { ${onTerm === 'exit' ? "setTimeout(() => process.exit(0), 200)" : ''} }); console.log('ready'); setInterval(() => undefined, 1000);`;
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, STRONGSWAN_CONF: `${dir}/strongswan.conf` }, stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => { resolve(signal); }));
    await new Promise((resolve) => child.stdout.once('data', resolve));
    writeFileSync(join(dir, 'daemon.pid'), `${child.pid ?? 0}\n`);
    daemons.push({ dir, pid: child.pid ?? 0 });
    return { dir, pid: child.pid ?? 0, exited };
  }
  const stillRunning = (pid: number): boolean => {
    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
    return stat !== '' && !stat.includes(') Z ');
  };

  it('returns only once the daemon has exited (it may still be removing the tunnel after SIGTERM)', async () => {
    const daemon = await leftoverDaemon('exit');
    await stopByPidFile(createCommandRunner(), join(daemon.dir, 'daemon.pid'), signal, 10_000, { pollMs: 20 });
    expect(stillRunning(daemon.pid)).toBe(false);
    expect(await daemon.exited).toBeNull();
  });

  it('kills a daemon that ignores SIGTERM once the grace is over, instead of leaving it running', async () => {
    const daemon = await leftoverDaemon('ignore');
    await stopByPidFile(createCommandRunner(), join(daemon.dir, 'daemon.pid'), signal, 300, { pollMs: 20 });
    expect(stillRunning(daemon.pid)).toBe(false);
    expect(await daemon.exited).toBe('SIGKILL');
  });
});
