/**
 * What the macOS driver's tests share: the fixtures of test/fixtures/macos (each citing its source
 * in shared/reference/macos.md), two profiles, and `FakeMac` — a stateful fake of scutil, route and
 * ifconfig that answers with those fixtures and fails on any command it doesn't know.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TunnelProfile } from '../../src/connect/driver.js';
import type { CommandResult, CommandRunner, CommandSpec } from '../../src/os/command.js';
import type { ReplayReply } from '../helpers/replaying-runner.js';
import { parseRecording, type Recording } from '../helpers/recorded.js';

export const PSK = 'mac-psk-CANARY-&<"é';
export const PASSWORD = 'mac-pass-CANARY-4kQ';
/** A fixed digest key, so service names are stable across tests. */
export const PROFILE_KEY = new Uint8Array(32).fill(7);

const fixtureDir = fileURLToPath(new URL('../fixtures/macos/', import.meta.url));

/** A fixture as a ReplayingCommandRunner reply (the header's exit code included). */
export function mac(file: string): Recording {
  return parseRecording(readFileSync(`${fixtureDir}${file}`, 'utf8'), `test/fixtures/macos/${file}`);
}

/** The list fixture with its service renamed (`"My VPN"` → Backhaul's name); all else verbatim. */
export function listWith(...names: string[]): ReplayReply {
  const fixture = mac('scutil-nc-list-l2tp.txt');
  const [header, line] = fixture.stdout.split('\n');
  const lines = names.map((name) => (line ?? '').replace('"My VPN"', `"${name}"`));
  return { ...fixture, stdout: `${[header, ...lines].join('\n')}\n` };
}

export const l2tpProfile: TunnelProfile = {
  name: 'office',
  type: 'l2tp',
  gateways: ['203.0.113.2'],
  routes: ['10.99.0.0/24'],
  fullTunnel: false,
  auth: { method: 'psk', psk: PSK, username: 'vpnuser', password: PASSWORD },
  ikeProposals: ['aes256-sha256-modp2048'],
  espProposals: ['aes256-sha256'],
  cipherPolicy: 'legacy',
  keepalive: { intervalSeconds: 30, failures: 4 },
};

export const ikev2Profile: TunnelProfile = {
  name: 'cloud',
  type: 'ikev2',
  gateways: ['vpn.example.net'],
  routes: ['10.42.0.0/16'],
  fullTunnel: false,
  auth: { method: 'psk', psk: PSK, remoteId: 'vpn.example.net' },
  ikeProposals: ['aes256gcm16-prfsha256-ecp256', 'aes256-sha256-modp2048'],
  espProposals: ['aes256gcm16', 'aes256-sha256'],
  cipherPolicy: 'strict',
  keepalive: { intervalSeconds: 30, failures: 4 },
};

/** What the fake Mac's VPN service does when started. */
export type StartBehaviour = 'connects' | 'refused' | 'drops';

/**
 * A Mac with one VPN service (installed or not): `scutil --nc list|status|start|stop`,
 * `ifconfig IF mtu N`, `route -n add|delete -net CIDR -interface IF`. State changes as the real
 * system would (documented in macos.md §3/§5): start → Connecting → Connected (ppp0, the M2
 * capture); stop → Disconnected, and the interface's routes go with it.
 */
export class FakeMac implements CommandRunner {
  readonly calls: { readonly argv: readonly string[]; readonly env?: Readonly<Record<string, string>> | undefined }[] = [];
  readonly #failures: Error[] = [];
  readonly routes = new Set<string>();
  state: 'Disconnected' | 'Connecting' | 'Connected' = 'Disconnected';
  mtu: number | undefined;
  installed: string[] = [];
  start: StartBehaviour = 'connects';

  run(spec: CommandSpec): Promise<CommandResult> {
    const argv = [...spec.argv];
    this.calls.push({ argv, env: spec.env });
    try {
      return Promise.resolve(this.#answer(argv));
    } catch (error) {
      // Kept, so a driver that swallows the error still fails the test in assertDone().
      const failure = error instanceof Error ? error : new Error(String(error));
      this.#failures.push(failure);
      return Promise.reject(failure);
    }
  }

  /** Throws the first unexpected command, if any (the contract's ContractRunner). */
  assertDone(): void {
    const failure = this.#failures[0];
    if (failure !== undefined) throw failure;
  }

  /** What a session left on this Mac: a connected or connecting VPN, routes, a changed MTU. */
  leftovers(): string[] {
    return [...(this.state === 'Disconnected' ? [] : [`vpn ${this.state}`]), ...[...this.routes].map((id) => `route ${id}`), ...(this.mtu === undefined ? [] : [`mtu ${this.mtu}`])];
  }

  #answer(argv: string[]): CommandResult {
    const [program, ...rest] = argv;
    const key = rest.join(' ');
    if (program === 'scutil' && rest[0] === '--nc') return this.#scutil(rest.slice(1));
    if (program === 'ifconfig' && rest.length === 3 && rest[1] === 'mtu' && rest[0] === 'ppp0' && this.state === 'Connected') {
      this.mtu = Number(rest[2]);
      return result(argv, mac('ifconfig-mtu-ok.txt'));
    }
    const route = /^-n (add|delete) -net (\S+) -interface (\S+)$/.exec(key);
    if (program === 'route' && route !== null) {
      const id = `${route[2]} ${route[3]}`;
      if (route[1] === 'add') {
        if (this.routes.has(id) || this.state !== 'Connected') return result(argv, mac('route-add-exists.txt'));
        this.routes.add(id);
        return result(argv, mac('route-add-ok.txt'));
      }
      this.routes.delete(id);
      return result(argv, mac('route-delete-ok.txt'));
    }
    throw new Error(`FakeMac: unexpected command ${JSON.stringify(argv)}`);
  }

  #scutil([verb, name, ...extra]: string[]): CommandResult {
    const argv = ['scutil', '--nc', verb ?? '', ...(name === undefined ? [] : [name])];
    if (extra.length > 0) throw new Error(`FakeMac: scutil --nc ${verb ?? ''} got extra arguments (secrets belong in the profile): ${JSON.stringify(extra)}`);
    if (verb === 'list') return result(argv, this.installed.length === 0 ? mac('scutil-nc-list-ikev2-only.txt') : listWith(...this.installed));
    if (name === undefined || !this.installed.includes(name)) {
      return result(argv, mac(verb === 'start' ? 'scutil-nc-start-no-service.txt' : 'scutil-nc-status-no-service.txt'));
    }
    switch (verb) {
      case 'status': {
        if (this.state === 'Connecting') {
          // The start settles on the next read, as the real service moves on in the background.
          this.state = this.start === 'drops' ? 'Disconnected' : 'Connected';
          return result(argv, mac('scutil-nc-status-connecting.txt'));
        }
        return result(argv, mac(this.state === 'Connected' ? 'scutil-nc-status-l2tp-connected.txt' : 'scutil-nc-status-disconnected.txt'));
      }
      case 'start':
        if (this.start === 'refused') return result(argv, mac('scutil-nc-start-refused.txt'));
        if (this.state === 'Disconnected') this.state = 'Connecting';
        return result(argv, mac('scutil-nc-start-accepted.txt'));
      case 'stop':
        this.state = 'Disconnected';
        this.mtu = undefined;
        for (const id of [...this.routes]) if (id.endsWith(' ppp0')) this.routes.delete(id);
        return result(argv, mac('scutil-nc-stop-ok.txt'));
      default:
        throw new Error(`FakeMac: unexpected scutil --nc ${verb ?? ''}`);
    }
  }
}

function result(argv: readonly string[], reply: ReplayReply): CommandResult {
  return {
    argv,
    exitCode: reply.exitCode ?? 0,
    signal: null,
    stdout: reply.stdout ?? '',
    stderr: reply.stderr ?? '',
    truncated: false,
    aborted: false,
    timedOut: false,
    durationMs: 0,
  };
}
