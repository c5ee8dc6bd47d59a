/**
 * The `linux-swan` driver, for hosts without NetworkManager (NAS, servers): Backhaul runs its own
 * charon (strongSwan) with a private config in a 0700 directory, a private /run (so it never meets
 * the system's charon pid file) and its own vici socket, loads a swanctl.conf and initiates. L2TP:
 * IKEv1 transport mode on UDP/1701, then its own xl2tpd with one `[lac]`, dialled through its
 * control pipe, and pppd with private options; split routes through the ppp interface are added
 * here and removed exactly. IKEv2: tunnel mode with a virtual IP; charon puts the routes in policy
 * table 220. Hosts without kernel ESP run IKEv2 over strongSwan's userspace ESP (kernel-libipsec,
 * a TUN device `ipsec0`). Teardown stops both daemons and removes the directory: nothing stays.
 * From connect to disconnect the split routes are pinned by the kill switch (kill-switch.ts);
 * `reconnect` replaces a lost tunnel's daemons with fresh ones and keeps the pins in place.
 */
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import type { CommandResult, CommandRunner } from '../os/command.js';
import { defaultProposals } from './cipher-policy.js';
import { diagnose, diagnosisError, pppdExitFrom } from './diagnosis.js';
import {
  TunnelError,
  type ConnectOutcome,
  type DriverLog,
  type DriverResource,
  type ProfileChange,
  type ResourceJournal,
  type TunnelDriver,
  type TunnelProfile,
  type TunnelStatus,
} from './driver.js';
import { nodeHostFiles, type HostFacts, type HostFiles } from './host-probe.js';
import {
  addMssClamp,
  addRoute,
  cleanUpCommonResource,
  defaultPacing,
  foreignTunnelStatus,
  interfaces,
  type Pacing,
  pollUntil,
  removeMssClamp,
  removeRoute,
  routeGet,
  type RouteInfo,
  type RouteSpec,
  tunnelCarryingRoutes,
} from './linux-net.js';
import { pinRoutes, unpinRoutes } from './kill-switch.js';
import { computeTunnelMtu } from './mtu.js';
import { pppLinkName, pppOptions, pppSecret, strongswanConf, swanctlConf, swanPaths, SWAN_CONN, USERSPACE_ESP_MTU, xl2tpdConf, type SwanPaths } from './swan-config.js';
import { assertCipherPolicy, verifyTunnel, type TunnelShape } from './tunnel-checks.js';

export interface LinuxSwanOptions {
  readonly runner: CommandRunner;
  readonly host: HostFacts;
  /** Backhaul's state directory: the private config goes to `<stateDir>/tunnels/<profile>`. */
  readonly stateDir: string;
  readonly log?: DriverLog;
  readonly pacing?: Pacing;
  readonly files?: HostFiles;
  /** Where pppd writes `ppp-<linkname>.pid` (default /run). */
  readonly pppPidDir?: string;
}

/** A daemon Backhaul started and supervises until teardown. */
interface Daemon {
  readonly done: Promise<CommandResult | undefined>;
  readonly lines: string[];
  exited(): boolean;
  stop(): Promise<void>;
}

interface Session {
  readonly paths: SwanPaths;
  charon?: Daemon | undefined;
  xl2tpd?: Daemon | undefined;
  routes: RouteSpec[];
  interfaceName?: string;
  localAddress?: string;
  mssClamped: boolean;
  natTraversal: boolean;
  /** How the gateway was reached before the tunnel (full tunnel keeps a host route that way). */
  readonly gatewayRoute?: RouteInfo;
}

/** The private directory of a profile's tunnel. */
export function swanDir(stateDir: string, profile: string): string {
  return `${stateDir}/tunnels/${profile}`;
}

export function createLinuxSwanDriver(options: LinuxSwanOptions): TunnelDriver {
  const { runner, host } = options;
  const pacing = options.pacing ?? defaultPacing;
  const files = options.files ?? nodeHostFiles;
  const log = options.log ?? (() => undefined);
  const pppPidDir = options.pppPidDir ?? '/run';
  const charon = host.charonPath ?? '/usr/lib/ipsec/charon';
  let session: Session | undefined;
  let adopted = false;
  /** The kill switch: up from connect to disconnect, across reconnects. */
  let pinned: DriverResource[] = [];

  const userspace = (profile: TunnelProfile): boolean => profile.type === 'ikev2' && !host.kernelEsp;
  const swanctl = (paths: SwanPaths, args: readonly string[], signal: AbortSignal, timeoutMs = 30_000) =>
    runner.run({ argv: ['swanctl', ...args, '--uri', `unix://${paths.vici}`], okExitCodes: 'any', timeoutMs, signal });

  const startDaemon = async (journal: ResourceJournal, pidFile: string, argv: readonly string[], env?: Record<string, string>): Promise<Daemon> => {
    await journal.acquire({ kind: 'process', id: pidFile });
    const controller = new AbortController();
    const lines: string[] = [];
    let finished = false;
    const keep = (line: string): void => {
      lines.push(line);
      if (lines.length > 400) lines.shift();
    };
    const done = runner
      .run({ argv, okExitCodes: 'any', signal: controller.signal, killGraceMs: 5_000, onStdoutLine: keep, onStderrLine: keep, ...(env === undefined ? {} : { env }) })
      .then((result) => result, (error: unknown) => { keep(error instanceof Error ? error.message : String(error)); return undefined; })
      .finally(() => { finished = true; });
    return {
      done,
      lines,
      exited: () => finished,
      stop: async () => {
        controller.abort();
        await done;
        await journal.release({ kind: 'process', id: pidFile });
      },
    };
  };

  /** Everything the stack said so far: charon's log, pppd's log, the daemons' own output. */
  const evidenceLines = async (current: Session, extra: readonly string[] = []): Promise<string[]> => {
    const charonLog = (await files.readText(current.paths.charonLog)) ?? '';
    const pppLog = (await files.readText(current.paths.pppLog)) ?? '';
    return [...charonLog.split('\n'), ...(current.charon?.lines ?? []), ...extra, ...(current.xl2tpd?.lines ?? []), ...pppLog.split('\n')].filter((line) => line.trim() !== '');
  };

  /** The diagnosed TunnelError for a failed bring-up, from everything the stack logged. */
  const failure = async (profile: TunnelProfile, current: Session, extra: readonly string[] = []): Promise<TunnelError> => {
    const lines = await evidenceLines(current, extra);
    const pppdExit = pppdExitFrom(lines);
    return diagnosisError(profile.name, diagnose({ logLines: lines, ...(pppdExit === undefined ? {} : { pppdExit }) }));
  };

  /**
   * Stops what this session started, in reverse order; each step tolerates "already gone". Not
   * graceful when repairing a lost tunnel: the peer can't be told, so don't wait for it.
   */
  const tearDown = async (profile: TunnelProfile, current: Session, journal: ResourceJournal, signal: AbortSignal, graceful = true): Promise<void> => {
    // Every step runs even when one before it failed: a route that would not go (or a swanctl that
    // timed out on a loaded machine) must not leave charon running. The first error is rethrown.
    const errors: unknown[] = [];
    const step = async (action: () => Promise<unknown>): Promise<void> => {
      try {
        await action();
      } catch (error) {
        errors.push(error);
      }
    };
    for (const route of [...current.routes].reverse()) await step(() => removeRoute(runner, journal, route, signal));
    current.routes = [];
    if (current.mssClamped) await step(() => removeMssClamp(runner, journal, profile.name, signal));
    current.mssClamped = false;
    const xl2tpd = current.xl2tpd;
    if (xl2tpd !== undefined) {
      if (graceful && !xl2tpd.exited()) await step(() => controlPipe(current.paths, `d ${SWAN_CONN}`, signal));
      const device = current.interfaceName;
      if (graceful && profile.type === 'l2tp' && device !== undefined) {
        await step(() => pollUntil(async () => ((await interfaces(runner, signal, device)).length === 0 ? true : undefined), 15_000, pacing, signal));
      }
      await step(() => xl2tpd.stop());
      current.xl2tpd = undefined;
    }
    const charon = current.charon;
    if (charon !== undefined) {
      if (graceful && !charon.exited()) await step(() => swanctl(current.paths, ['--terminate', '--ike', SWAN_CONN, '--timeout', '10'], signal, 20_000));
      await step(() => charon.stop());
      current.charon = undefined;
    }
    await step(() => rm(current.paths.dir, { recursive: true, force: true }));
    await step(() => journal.release({ kind: 'config-dir', id: current.paths.dir }));
    if (errors.length > 0) throw errors[0];
  };

  const controlPipe = async (paths: SwanPaths, command: string, signal: AbortSignal): Promise<void> => {
    await runner.run({ argv: ['sh', '-c', 'printf "%s\\n" "$1" > "$2"', 'sh', command, paths.control], timeoutMs: 10_000, okExitCodes: 'any', signal });
  };

  const writePrivate = async (path: string, text: string): Promise<void> => {
    await writeFile(path, text, { mode: 0o600 });
    await chmod(path, 0o600);
  };

  const prepareDir = async (profile: TunnelProfile, journal: ResourceJournal, mtu: number): Promise<SwanPaths> => {
    const paths = swanPaths(swanDir(options.stateDir, profile.name));
    await mkdir(`${options.stateDir}/tunnels`, { recursive: true, mode: 0o700 });
    await journal.acquire({ kind: 'config-dir', id: paths.dir });
    await rm(paths.dir, { recursive: true, force: true });
    await mkdir(paths.dir, { mode: 0o700 });
    for (const sub of [paths.run, paths.swanctlDir, `${paths.swanctlDir}/x509`, `${paths.swanctlDir}/x509ca`, `${paths.swanctlDir}/private`]) await mkdir(sub, { mode: 0o700 });
    await writePrivate(paths.strongswanConf, strongswanConf(paths, userspace(profile)));
    await writePrivate(paths.swanctlConf, swanctlConf(profile));
    const auth = profile.auth;
    if (auth?.method === 'certificate') {
      await writePrivate(paths.clientCert, (await files.readText(auth.certificate)) ?? '');
      await writePrivate(paths.clientKey, auth.key);
      if (auth.ca !== undefined) await writePrivate(paths.caCert, (await files.readText(auth.ca)) ?? '');
    }
    if (profile.type === 'l2tp') {
      await writePrivate(paths.xl2tpdConf, xl2tpdConf(profile, paths));
      await writePrivate(paths.pppOptions, pppOptions(profile, paths, mtu));
      if (auth?.password !== undefined) await writePrivate(paths.pppSecret, pppSecret(auth.password));
    }
    return paths;
  };

  const l2tpMtu = (profile: TunnelProfile): number =>
    profile.mtu ?? computeTunnelMtu({ type: 'l2tp', espProposals: profile.espProposals ?? defaultProposals.l2tp.esp, natTraversal: true });
  const ikev2Mtu = (profile: TunnelProfile, natTraversal: boolean): number => {
    const computed = profile.mtu ?? computeTunnelMtu({ type: 'ikev2', espProposals: profile.espProposals ?? defaultProposals.ikev2.esp, natTraversal });
    return userspace(profile) ? Math.min(computed, USERSPACE_ESP_MTU) : computed;
  };

  /** pppd's interface, from its link pid file (`PID\nppp0\n`), once it has an IPv4 address. */
  const pppInterface = async (profile: TunnelProfile, signal: AbortSignal): Promise<{ name: string; local: string } | undefined> => {
    const text = await files.readText(`${pppPidDir}/ppp-${pppLinkName(profile.name)}.pid`);
    const name = text?.split('\n')[1]?.trim();
    if (name === undefined || name === '') return undefined;
    const [link] = await interfaces(runner, signal, name);
    const local = link?.addresses[0]?.local;
    return link?.up === true && local !== undefined ? { name, local } : undefined;
  };

  const ikev2State = async (paths: SwanPaths, signal: AbortSignal): Promise<{ answered: boolean; installed: boolean; vip?: string; nat: boolean; states: string[] }> => {
    const result = await swanctl(paths, ['--list-sas', '--ike', SWAN_CONN, '--raw'], signal);
    const raw = result.stdout;
    const vip = /local-vips=\[([\d.]+)/.exec(raw)?.[1];
    return {
      // swanctl exits non-zero when it can't reach charon's vici socket (charon gone or too busy).
      answered: result.exitCode === 0,
      installed: /state=INSTALLED/.test(raw),
      nat: /nat-local=yes|nat-any=yes/.test(raw),
      states: [...raw.matchAll(/\bstate=([A-Z_]+)/g)].map((m) => m[1] ?? ''),
      ...(vip === undefined ? {} : { vip }),
    };
  };

  const bringUp = async (profile: TunnelProfile, current: Session, journal: ResourceJournal, signal: AbortSignal): Promise<TunnelStatus> => {
    const { paths } = current;
    current.charon = await startDaemon(journal, paths.charonPid,
      ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$1" /run && exec "$2"', 'sh', paths.run, charon],
      { STRONGSWAN_CONF: paths.strongswanConf });
    const started = await pollUntil(async () => (current.charon?.exited() === true ? false : (await files.exists(paths.vici)) ? true : undefined), 20_000, pacing, signal);
    if (started !== true) {
      if (current.charon.exited()) throw await failure(profile, current);
      throw new TunnelError('tunnel.ike-daemon', `profile ${profile.name}: strongSwan's charon did not start within 20 s`, `Check ${charon} and its log; run backhaul doctor.`);
    }
    const load = await swanctl(paths, ['--load-all', '--noprompt', '--file', paths.swanctlConf], signal);
    // charon holds the secrets now: the files that carried them go at once.
    await rm(paths.swanctlConf, { force: true });
    await rm(paths.clientKey, { force: true });
    if (load.exitCode !== 0) {
      // swanctl names the reason on the line of the item that failed; "opening directory" lines are noise.
      const reasons = `${load.stdout}\n${load.stderr}`.split('\n').filter((line) => /failed|invalid|error/i.test(line) && !/opening directory/.test(line));
      throw new TunnelError('tunnel.swan-config', `profile ${profile.name}: strongSwan refused the generated configuration: ${reasons.join('; ')}`,
        'Check the profile\'s proposals, certificates and gateway; the session log has swanctl\'s output.');
    }
    const initiate = await swanctl(paths, ['--initiate', '--child', SWAN_CONN, '--ike', SWAN_CONN, '--timeout', '45'], signal, 60_000);
    signal.throwIfAborted();
    const initiateLines = [...initiate.stdout.split('\n'), ...initiate.stderr.split('\n')];
    if (initiate.exitCode !== 0 || !/initiate completed successfully/.test(initiate.stdout)) throw await failure(profile, current, initiateLines);

    if (profile.type === 'ikev2') {
      const state = await ikev2State(paths, signal);
      current.natTraversal = state.nat;
      if (state.vip !== undefined) current.localAddress = state.vip;
      if (userspace(profile)) {
        // kernel-libipsec's TUN device (MTU fixed at USERSPACE_ESP_MTU). Its default queue of 500
        // drops packets under load (shared/reference/host-lab.md pitfall 3).
        current.interfaceName = 'ipsec0';
        await runner.run({ argv: ['ip', 'link', 'set', 'dev', 'ipsec0', 'txqueuelen', '5000'], okExitCodes: 'any', timeoutMs: 10_000, signal });
      }
      return { state: 'up', ...optionalStatus(current) };
    }

    current.xl2tpd = await startDaemon(journal, paths.xl2tpdPid, ['xl2tpd', '-D', '-c', paths.xl2tpdConf, '-p', paths.xl2tpdPid, '-C', paths.control]);
    const ready = await pollUntil(async () => (current.xl2tpd?.exited() === true ? false : (await files.exists(paths.control)) ? true : undefined), 15_000, pacing, signal);
    if (ready !== true) throw await failure(profile, current);
    await controlPipe(paths, `c ${SWAN_CONN}`, signal);
    const link = await pollUntil(async () => {
      const found = await pppInterface(profile, signal);
      if (found !== undefined) return found;
      const lines = await evidenceLines(current);
      const finished = current.xl2tpd?.exited() === true || lines.some((line) => /pppd exited|Maximum retries exceeded|authentication failed|Connection terminated/.test(line));
      return finished ? null : undefined;
    }, 40_000, pacing, signal);
    if (link === undefined || link === null) throw await failure(profile, current);
    await rm(paths.pppSecret, { force: true });
    current.interfaceName = link.name;
    current.localAddress = link.local;
    const xfrm = await runner.run({ argv: ['ip', 'xfrm', 'state'], okExitCodes: 'any', timeoutMs: 10_000, signal });
    current.natTraversal = /encap type espinudp/.test(xfrm.stdout);
    await addTunnelRoutes(profile, current, journal, signal);
    const [info] = await interfaces(runner, signal, link.name);
    return { state: 'up', interfaceName: link.name, localAddress: link.local, ...(info === undefined ? {} : { mtu: info.mtu }) };
  };

  /** A fresh private dir, daemons and routes; on failure everything it started is gone again. */
  const start = async (profile: TunnelProfile, journal: ResourceJournal, signal: AbortSignal): Promise<ConnectOutcome> => {
    const gatewayRoute = profile.fullTunnel ? await routeGet(runner, profile.gateways[0] ?? '', signal) : undefined;
    const paths = await prepareDir(profile, journal, l2tpMtu(profile));
    const current: Session = { paths, routes: [], mssClamped: false, natTraversal: true, ...(gatewayRoute === undefined ? {} : { gatewayRoute }) };
    session = current;
    try {
      const status = await bringUp(profile, current, journal, signal);
      if (profile.mssClamp === true && current.interfaceName !== undefined) {
        await addMssClamp(runner, journal, profile.name, current.interfaceName, signal);
        current.mssClamped = true;
      }
      return { broughtUp: true, status };
    } catch (error) {
      await tearDown(profile, current, journal, AbortSignal.timeout(60_000)).catch(() => undefined);
      session = undefined;
      throw error;
    }
  };

  /** Split routes through the ppp interface; full tunnel: two /1 routes plus the gateway's host route. */
  const addTunnelRoutes = async (profile: TunnelProfile, current: Session, journal: ResourceJournal, signal: AbortSignal): Promise<void> => {
    const dev = current.interfaceName;
    if (dev === undefined) return;
    const wanted: RouteSpec[] = [];
    if (profile.fullTunnel) {
      const gateway = profile.gateways[0] ?? '';
      const outside = current.gatewayRoute;
      if (outside?.dev !== undefined) wanted.push({ cidr: gateway, dev: outside.dev, ...(outside.gateway === undefined ? {} : { via: outside.gateway }) });
      wanted.push({ cidr: '0.0.0.0/1', dev }, { cidr: '128.0.0.0/1', dev });
    } else {
      for (const cidr of profile.routes) wanted.push({ cidr, dev });
    }
    for (const route of wanted) {
      const added = await addRoute(runner, journal, route, signal);
      if (added !== undefined) current.routes.push(added);
    }
  };

  const statusOf = async (profile: TunnelProfile, signal: AbortSignal): Promise<TunnelStatus> => {
    if (session === undefined) return { state: 'down' };
    if (profile.type === 'ikev2') {
      const current = session;
      const state = await ikev2State(current.paths, signal);
      if (state.installed) return { state: 'up', ...optionalStatus(current) };
      // Not knowing is not "down": the supervisor then asks the backup server before repairing.
      if (!state.answered) throw new TunnelError('tunnel.status-unavailable', `profile ${profile.name}: charon did not answer the status query`, 'If this repeats, check the agent log for charon exiting.');
      // Why the SA went is in charon's own log, which goes with the tunnel's dir at teardown.
      const charonSays = ((await files.readText(current.paths.charonLog)) ?? '').split('\n').filter((line) => line.trim() !== '').slice(-25);
      log('warn', `profile ${profile.name}: no installed CHILD_SA (SA states: ${state.states.join(', ') || 'none'}); charon's last lines:\n${charonSays.join('\n')}`);
      return { state: 'down' };
    }
    const device = session.interfaceName;
    if (device === undefined) return { state: 'down' };
    const [link] = await interfaces(runner, signal, device);
    return link?.up === true ? { state: 'up', interfaceName: device, mtu: link.mtu, ...(session.localAddress === undefined ? {} : { localAddress: session.localAddress }) } : { state: 'down' };
  };

  return {
    name: 'linux-swan',

    ensureProfile(profile): Promise<ProfileChange> {
      assertCipherPolicy(profile);
      checkSupported(profile, host);
      // Nothing native to create: the private configuration is written per session.
      return Promise.resolve('unchanged');
    },

    async connect(profile, signal, journal): Promise<ConnectOutcome> {
      assertCipherPolicy(profile);
      checkSupported(profile, host);
      const existing = await tunnelCarryingRoutes(runner, profile, signal);
      if (existing !== undefined) {
        adopted = true;
        log('info', `the ${profile.name} subnet is already routed through ${existing.interfaceName ?? 'a tunnel'}: using that tunnel and leaving it up`);
        return { broughtUp: false, status: existing };
      }
      // The kill switch goes up first, so no backup packet can ever take the default route.
      pinned = await pinRoutes(runner, journal, profile, signal, log);
      try {
        return await start(profile, journal, signal);
      } catch (error) {
        // A failed connect leaves nothing behind: the session only disconnects what came up.
        await unpinRoutes(runner, journal, pinned, AbortSignal.timeout(60_000)).catch(() => undefined);
        pinned = [];
        throw error;
      }
    },

    async reconnect(profile, signal, journal): Promise<ConnectOutcome> {
      if (adopted) throw new TunnelError('tunnel.not-ours', `the ${profile.name} tunnel was already up before Backhaul`, 'Reconnect it with the tool that brought it up.');
      // What is left of the lost tunnel goes (charon may still hold a dead SA); the kill switch stays.
      if (session !== undefined) await tearDown(profile, session, journal, signal, false);
      session = undefined;
      return start(profile, journal, signal);
    },

    status(profile, signal): Promise<TunnelStatus> {
      if (adopted) return foreignTunnelStatus(runner, profile, signal);
      return statusOf(profile, signal);
    },

    async verify(profile, repositoryHost, signal): Promise<void> {
      const status = adopted ? await foreignTunnelStatus(runner, profile, signal) : await statusOf(profile, signal);
      const device = adopted ? status.interfaceName : session?.interfaceName;
      const expectedMtu = profile.type === 'l2tp' ? l2tpMtu(profile) : ikev2Mtu(profile, session?.natTraversal ?? true);
      const shape: TunnelShape = {
        ...(device === undefined ? {} : {
          interfaceName: device,
          applyMtu: async (mtu: number) => {
            await runner.run({ argv: ['ip', 'link', 'set', 'dev', device, 'mtu', String(mtu)], timeoutMs: 10_000, signal });
          },
        }),
        ...(status.localAddress === undefined ? {} : { localAddress: status.localAddress }),
        expectedMtu,
        kernelEsp: host.kernelEsp,
      };
      await verifyTunnel({ runner, profile, status, shape, repositoryHost, signal, log });
    },

    async disconnect(profile, signal, journal): Promise<void> {
      if (session !== undefined) await tearDown(profile, session, journal, signal);
      session = undefined;
      // Last: until the tunnel's own routes are gone, the pins keep backup traffic in.
      await unpinRoutes(runner, journal, pinned, signal);
      pinned = [];
    },

    async cleanUp(leftovers, signal): Promise<void> {
      // Daemons first (they hold the tunnel), then routes and tables, then the directory.
      const order = ['process', 'route', 'nft-table', 'kill-switch', 'config-dir'];
      const sorted = [...leftovers.resources].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
      for (const resource of sorted) await cleanUpCommonResource(runner, resource, signal);
    },
  };
}

function optionalStatus(current: Session): { interfaceName?: string; localAddress?: string } {
  return {
    ...(current.interfaceName === undefined ? {} : { interfaceName: current.interfaceName }),
    ...(current.localAddress === undefined ? {} : { localAddress: current.localAddress }),
  };
}

/** What this driver can't do on this host, refused before anything is written or sent. */
function checkSupported(profile: TunnelProfile, host: HostFacts): void {
  if (profile.auth === undefined) throw new TunnelError('tunnel.no-auth', `profile ${profile.name} has no auth settings`, 'Add auth: to the profile.');
  if (!host.hasStrongSwan) throw new TunnelError('tunnel.swan-missing', 'strongSwan (charon + swanctl) is not installed', 'Install it: sudo apt-get install -y strongswan-charon strongswan-swanctl libstrongswan-standard-plugins');
  if (profile.type === 'l2tp') {
    if (!host.hasXl2tpd) throw new TunnelError('tunnel.swan-missing', 'xl2tpd is not installed', 'Install it: sudo apt-get install -y xl2tpd ppp');
    if (!host.kernelEsp || !host.kernelL2tp) {
      throw new TunnelError('tunnel.no-kernel-l2tp', 'this kernel can\'t carry L2TP/IPsec (it needs esp4, l2tp_ppp and ppp_generic)',
        'Use an IKEv2 profile (it also runs over strongSwan\'s userspace ESP), or a kernel with L2TP/PPP/ESP support.');
    }
  } else if (!host.kernelEsp && !host.userspaceEsp) {
    throw new TunnelError('tunnel.no-esp', 'this kernel has no ESP and strongSwan\'s userspace ESP (kernel-libipsec) is not available',
      'Install it: sudo apt-get install -y libcharon-extra-plugins (and make sure /dev/net/tun exists).');
  }
}
