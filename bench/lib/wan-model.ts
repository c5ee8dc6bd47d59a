/**
 * A WAN model between network namespaces, for the benchmark and its building-block test. This
 * kernel has no netem, so delay, loss and rate are built from what it has (recipe and measurements:
 * shared/reference/wan-model.md):
 *
 *   A (client) va 198.18.1.2 ──veth── ra  R (router)  rb ──veth── vb 198.18.2.2 B (servers)
 *                                      │ ip rule iif ra/rb → TUN ta/tb │
 *                                      ta ⇄ wan-relay.py (holds each packet D ms) ⇄ tb
 *
 * - delay: a userspace delay line over two TUN devices in R (bench/lib/wan-relay.py). Packets, not
 *   streams: TCP is not terminated, so the endpoints see a real RTT of 2·D + ~1 ms.
 * - loss: nftables `numgen random` drop rules on what leaves the relay (single MTU-sized packets;
 *   a rule on the veths would drop whole GSO bursts), per direction, with named counters that say
 *   how many packets passed and how many were dropped.
 * - rate: tc tbf on R's egress veths (the queue sits remote from the sender, as on a real link).
 * - unshaped: the policy rules are removed and R forwards in the kernel: no relay, no loss, no tbf.
 *
 * Everything lives in three namespaces named `<prefix>-a/-r/-b` (prefix `bh6-<pid>-<random>`);
 * `destroy()` kills the relay and deletes them (their TUN devices and veths go with them).
 * `sweepStaleWanModels()` removes namespaces of a bench that died without cleaning up.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stopChild } from '../../test/helpers/sshd-lab.js';

const run = promisify(execFile);

export const ADDR_A = '198.18.1.2';
export const ADDR_B = '198.18.2.2';
const RELAY = fileURLToPath(new URL('./wan-relay.py', import.meta.url));
const LOSS_TABLE = 'bh6wan';

/** One path through the model. */
export interface WanPath {
  /** Short name for tables: `unshaped`, `100M+50ms`, … */
  readonly name: string;
  /** Delay each way, ms (RTT ≈ 2·D + ~1 ms). 0 with no rate and no loss = unshaped (kernel forwarding). */
  readonly delayMs: number;
  /** tbf rate in Mbit/s, both directions; absent = none. */
  readonly rateMbit?: number;
  /** Random loss per direction, in per mille (1 = 0.1 %). */
  readonly lossPerMille?: number;
}

export interface PingResult {
  readonly sent: number;
  readonly received: number;
  readonly minMs: number;
  readonly avgMs: number;
  readonly maxMs: number;
}

/** Packets seen and dropped by the loss rules, per direction, since the last shape(). */
export interface LossCounters {
  readonly aToB: { readonly packets: number; readonly dropped: number };
  readonly bToA: { readonly packets: number; readonly dropped: number };
  /** Packets the TUN devices dropped themselves (relay too slow): loss we did not ask for. */
  readonly tunDropped: number;
}

export interface WanModel {
  readonly prefix: string;
  /** Namespace of the client (sender of backup data). */
  readonly a: string;
  readonly r: string;
  /** Namespace of the servers. */
  readonly b: string;
  /** Applies a path: relay delay, loss rules (counters reset), tbf. */
  shape(path: WanPath): Promise<void>;
  /** Sets the TCP congestion control of a namespace; returns what the kernel then reports. */
  setCongestionControl(ns: string, cc: string): Promise<string>;
  congestionControl(ns: string): Promise<string>;
  /** `ping` from A to B. */
  ping(count: number, intervalSeconds?: number): Promise<PingResult>;
  lossCounters(): Promise<LossCounters>;
  /** Starts a process in a namespace (the caller stops it). */
  spawnIn(ns: string, argv: readonly string[]): ChildProcess;
  /** Runs a command in a namespace to completion; throws with its stderr when it fails. */
  execIn(ns: string, argv: readonly string[]): Promise<string>;
  destroy(): Promise<void>;
}

async function sh(argv: readonly string[]): Promise<string> {
  const [program = '', ...args] = argv;
  try {
    const { stdout } = await run(program, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${argv.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Why the model can't be built here, or undefined. */
export async function wanModelSkipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'the WAN model needs root (namespaces, TUN, nftables)';
  for (const tool of ['ip', 'tc', 'nft', 'ping', 'python3']) {
    try {
      await sh(['sh', '-c', `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed (apt-get install iproute2 nftables iputils-ping python3)`;
    }
  }
  return undefined;
}

/** Deletes `bh6-<pid>-*` namespaces whose bench process is gone. Returns their names. */
export async function sweepStaleWanModels(): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync('/var/run/netns');
  } catch {
    return [];
  }
  const stale = names.filter((n) => {
    const m = /^bh6-(\d+)-[0-9a-f]+-[arb]$/.exec(n);
    if (m === null) return false;
    try {
      process.kill(Number(m[1]), 0);
      return false;
    } catch {
      return true;
    }
  });
  for (const n of stale) await sh(['ip', 'netns', 'del', n]).catch(() => undefined);
  return stale;
}

/** Builds the three namespaces, the veths, the TUN devices and the routing. */
export async function createWanModel(): Promise<WanModel> {
  const prefix = `bh6-${process.pid}-${randomBytes(2).toString('hex')}`;
  const a = `${prefix}-a`;
  const r = `${prefix}-r`;
  const b = `${prefix}-b`;
  const created: string[] = [];
  let relay: ChildProcess | undefined;
  let relayDelay: number | undefined;
  /** The host's tcp_allowed_congestion_control before we widened it; restored by destroy(). */
  let allowedBefore: string | undefined;

  const inNs = (ns: string, argv: readonly string[]): Promise<string> => sh(['ip', 'netns', 'exec', ns, ...argv]);

  async function destroy(): Promise<void> {
    await stopRelay();
    for (const ns of created.reverse()) await sh(['ip', 'netns', 'del', ns]).catch(() => undefined);
    created.length = 0;
    if (allowedBefore !== undefined) {
      await sh(['sysctl', '-qw', `net.ipv4.tcp_allowed_congestion_control=${allowedBefore}`]).catch(() => undefined);
      allowedBefore = undefined;
    }
  }

  /**
   * Outside the initial namespace the kernel only lets a namespace pick an *allowed* congestion
   * control (tcp_set_default_congestion_control: EPERM otherwise), and that list is host-wide
   * (Debian's is "reno bbr" here). Widen it for the bench; destroy() restores it.
   */
  async function allow(cc: string): Promise<void> {
    const allowed = (await sh(['sysctl', '-n', 'net.ipv4.tcp_allowed_congestion_control'])).trim();
    if (allowed.split(/\s+/).includes(cc)) return;
    allowedBefore ??= allowed;
    await sh(['sysctl', '-qw', `net.ipv4.tcp_allowed_congestion_control=${allowed} ${cc}`]);
  }

  async function stopRelay(): Promise<void> {
    const child = relay;
    relay = undefined;
    relayDelay = undefined;
    if (child !== undefined) await stopChild(child);
  }

  async function startRelay(delayMs: number): Promise<void> {
    if (relay !== undefined && relayDelay === delayMs) return;
    await stopRelay();
    // Raised priority: on a busy machine (another job's VM) a starved relay holds packets longer
    // than D and the path's RTT drifts with the load; "RTT in run" in the table shows what is left.
    const child = spawn('ip', ['netns', 'exec', r, 'nice', '-n', '-10', 'python3', RELAY, String(delayMs), 'ta', 'tb'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => {
      errors = (errors + chunk.toString('utf8')).slice(-2000);
    });
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        resolve(false);
      }, 10_000);
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString('utf8').includes('ready')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!ready) {
      child.kill('SIGKILL');
      throw new Error(`the delay relay did not start: ${errors}`);
    }
    relay = child;
    relayDelay = delayMs;
  }

  async function setRules(through: boolean): Promise<void> {
    for (const [iif, table, prio] of [['ra', '100', '100'], ['rb', '101', '101']] as const) {
      await sh(['ip', '-n', r, 'rule', 'del', 'priority', prio]).catch(() => undefined);
      if (through) await sh(['ip', '-n', r, 'rule', 'add', 'iif', iif, 'lookup', table, 'priority', prio]);
    }
  }

  async function setLoss(perMille: number): Promise<void> {
    const n = Math.max(0, Math.min(1000, Math.round(perMille)));
    const drop = (iif: string, counter: string): string =>
      n > 0 ? `    iifname "${iif}" numgen random mod 1000 < ${n} counter name "${counter}" drop\n` : '';
    const rules =
      `table inet ${LOSS_TABLE} {\n` +
      `  counter ab_all {}\n  counter ab_drop {}\n  counter ba_all {}\n  counter ba_drop {}\n` +
      `  chain lossy {\n    type filter hook forward priority 0; policy accept;\n` +
      `    iifname "tb" counter name "ab_all"\n${drop('tb', 'ab_drop')}` +
      `    iifname "ta" counter name "ba_all"\n${drop('ta', 'ba_drop')}` +
      `  }\n}\n`;
    await inNs(r, ['nft', `delete table inet ${LOSS_TABLE}`]).catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', r, 'nft', '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
      child.once('exit', (code) => {
        if (code === 0) resolve();
        else reject(new Error(`nft -f failed: ${err}`));
      });
      child.stdin.end(rules);
    });
  }

  async function setRate(mbit: number | undefined): Promise<void> {
    for (const dev of ['ra', 'rb']) {
      if (mbit === undefined) await sh(['tc', '-n', r, 'qdisc', 'del', 'dev', dev, 'root']).catch(() => undefined);
      else await sh(['tc', '-n', r, 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${mbit}mbit`, 'burst', '64kb', 'latency', '50ms']);
    }
  }

  async function congestionControl(ns: string): Promise<string> {
    return (await inNs(ns, ['sysctl', '-n', 'net.ipv4.tcp_congestion_control'])).trim();
  }

  async function tunDropped(): Promise<number> {
    let total = 0;
    for (const dev of ['ta', 'tb']) {
      const json = JSON.parse(await sh(['ip', '-n', r, '-j', '-s', 'link', 'show', 'dev', dev])) as {
        stats64?: { tx?: { dropped?: number }; rx?: { dropped?: number } };
      }[];
      const s = json[0]?.stats64;
      total += (s?.tx?.dropped ?? 0) + (s?.rx?.dropped ?? 0);
    }
    return total;
  }

  try {
    for (const ns of [a, r, b]) {
      await sh(['ip', 'netns', 'add', ns]);
      created.push(ns);
      await sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await sh(['ip', 'link', 'add', 'va', 'netns', a, 'type', 'veth', 'peer', 'name', 'ra', 'netns', r]);
    await sh(['ip', 'link', 'add', 'vb', 'netns', b, 'type', 'veth', 'peer', 'name', 'rb', 'netns', r]);
    await sh(['ip', '-n', a, 'addr', 'add', `${ADDR_A}/24`, 'dev', 'va']);
    await sh(['ip', '-n', b, 'addr', 'add', `${ADDR_B}/24`, 'dev', 'vb']);
    await sh(['ip', '-n', r, 'addr', 'add', '198.18.1.1/24', 'dev', 'ra']);
    await sh(['ip', '-n', r, 'addr', 'add', '198.18.2.1/24', 'dev', 'rb']);
    for (const [ns, dev] of [[a, 'va'], [b, 'vb'], [r, 'ra'], [r, 'rb']] as const) await sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    await sh(['ip', '-n', a, 'route', 'add', 'default', 'via', '198.18.1.1']);
    await sh(['ip', '-n', b, 'route', 'add', 'default', 'via', '198.18.2.1']);
    for (const dev of ['ta', 'tb']) {
      await sh(['ip', '-n', r, 'tuntap', 'add', 'dev', dev, 'mode', 'tun']);
      // The default 500 overflows when the relay is briefly starved (host-lab.md saw the same on ipsec0).
      await sh(['ip', '-n', r, 'link', 'set', dev, 'txqueuelen', '5000', 'up']);
    }
    await inNs(r, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    // A packet from A re-enters on tb, which is not the route back to A: no reverse-path filter.
    for (const dev of ['all', 'default', 'ra', 'rb', 'ta', 'tb']) await inNs(r, ['sysctl', '-qw', `net.ipv4.conf.${dev}.rp_filter=0`]);
    await sh(['ip', '-n', r, 'route', 'add', 'default', 'dev', 'ta', 'table', '100']);
    await sh(['ip', '-n', r, 'route', 'add', 'default', 'dev', 'tb', 'table', '101']);
    await setLoss(0);
  } catch (error) {
    await destroy();
    throw error;
  }

  return {
    prefix,
    a,
    r,
    b,
    async shape(path) {
      const unshaped = path.delayMs <= 0 && path.rateMbit === undefined && (path.lossPerMille ?? 0) <= 0;
      if (unshaped) {
        await setRules(false);
        await stopRelay();
      } else {
        await startRelay(Math.max(0, path.delayMs));
        await setRules(true);
      }
      await setLoss(path.lossPerMille ?? 0);
      await setRate(path.rateMbit);
    },
    async setCongestionControl(ns, cc) {
      await allow(cc);
      await inNs(ns, ['sysctl', '-qw', `net.ipv4.tcp_congestion_control=${cc}`]);
      return congestionControl(ns);
    },
    congestionControl,
    async ping(count, intervalSeconds = 0.05) {
      const out = await inNs(a, ['ping', '-n', '-q', '-c', String(count), '-i', String(intervalSeconds), '-W', '2', ADDR_B]).catch(
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
      const counts = /(\d+) packets transmitted, (\d+) received/.exec(out);
      const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\//.exec(out);
      return {
        sent: Number(counts?.[1] ?? 0),
        received: Number(counts?.[2] ?? 0),
        minMs: Number(rtt?.[1] ?? Number.NaN),
        avgMs: Number(rtt?.[2] ?? Number.NaN),
        maxMs: Number(rtt?.[3] ?? Number.NaN),
      };
    },
    async lossCounters() {
      const json = JSON.parse(await inNs(r, ['nft', '-j', 'list', 'counters', 'table', 'inet', LOSS_TABLE])) as {
        nftables: { counter?: { name: string; packets: number } }[];
      };
      const value = (name: string): number => json.nftables.find((o) => o.counter?.name === name)?.counter?.packets ?? 0;
      return {
        aToB: { packets: value('ab_all'), dropped: value('ab_drop') },
        bToA: { packets: value('ba_all'), dropped: value('ba_drop') },
        tunDropped: await tunDropped(),
      };
    },
    spawnIn(ns, argv) {
      return spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: 'ignore' });
    },
    execIn: inNs,
    destroy,
  };
}
