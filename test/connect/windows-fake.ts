/**
 * A stateful fake of the Windows pieces the windows driver drives: the phone books (VPN entries
 * with their settings, PSK, IPsec policy, routes and connection state), rasdial, netsh and reg.
 * It reads the driver's PowerShell scripts statement by statement (only the statements the driver
 * is meant to write; anything else fails the test), evaluating each literal with `evalPsLiteral`
 * — a reading of PowerShell's single-quoted string rules — and answers with the fixtures in
 * test/fixtures/windows (each cites its source in shared/reference/windows.md).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { acceptResult, type CommandResult, type CommandRunner, type CommandSpec } from '../../src/os/command.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/windows/', import.meta.url));

export interface Fixture {
  readonly file: string;
  readonly header: Readonly<Record<string, string>>;
  readonly stdout: string;
  readonly stderr: string;
  /** From the `exit:` header; undefined when the source did not show it. */
  readonly exitCode?: number;
}

/** Reads a fixture: `# key: value` header lines, then `# --- stdout ---` / `# --- stderr ---` sections. */
export function loadFixture(file: string): Fixture {
  const text = readFileSync(`${FIXTURES}${file}`, 'utf8');
  const header: Record<string, string> = {};
  let section: 'header' | 'stdout' | 'stderr' = 'header';
  const out: Record<'stdout' | 'stderr', string[]> = { stdout: [], stderr: [] };
  for (const line of text.split('\n')) {
    const marker = /^# --- (stdout|stderr) ---$/.exec(line);
    if (marker !== null) section = marker[1] as 'stdout' | 'stderr';
    else if (section === 'header') {
      const field = /^# (\w+): (.*)$/.exec(line);
      if (field?.[1] !== undefined) header[field[1]] = field[2] ?? '';
    } else out[section].push(line);
  }
  const exit = /^(\d+)/.exec(header['exit'] ?? '');
  const join = (lines: string[]): string => lines.join('\n').replace(/\n$/, '');
  return { file, header, stdout: join(out.stdout), stderr: join(out.stderr), ...(exit === null ? {} : { exitCode: Number(exit[1]) }) };
}

/** PowerShell's single-quote characters: ' and the typographic U+2018–U+201B. */
const QUOTES = new Set(["'", '\u2018', '\u2019', '\u201a', '\u201b']);

/**
 * Evaluates what `psLiteral` writes the way PowerShell reads it: `'…'` (a quote character inside
 * is written twice) or `('…'+[char]0xNNNN+…)`. Throws on anything else — a `$`, a backtick, a
 * `;` outside quotes would be code, not data.
 */
export function evalPsLiteral(expression: string): string {
  const parts = expression.startsWith('(') && expression.endsWith(')') ? splitTop(expression.slice(1, -1), '+') : [expression];
  let value = '';
  for (const part of parts) {
    const char = /^\[char\]0x([0-9A-F]{4})$/.exec(part);
    if (char?.[1] !== undefined) value += String.fromCharCode(Number.parseInt(char[1], 16));
    else value += singleQuoted(part);
  }
  return value;
}

function singleQuoted(token: string): string {
  if (!QUOTES.has(token.charAt(0))) throw new Error(`not a literal: ${token}`);
  let value = '';
  let i = 1;
  for (;;) {
    if (i >= token.length) throw new Error(`unterminated literal: ${token}`);
    const ch = token.charAt(i);
    if (QUOTES.has(ch)) {
      if (QUOTES.has(token.charAt(i + 1))) {
        value += ch;
        i += 2;
        continue;
      }
      if (i !== token.length - 1) throw new Error(`text after the literal: ${token}`);
      return value;
    }
    value += ch;
    i += 1;
  }
}

/** Splits at `separator` outside quotes, parentheses and braces. */
export function splitTop(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (QUOTES.has(ch)) quoted = !quoted;
    else if (!quoted && (ch === '(' || ch === '{')) depth++;
    else if (!quoted && (ch === ')' || ch === '}')) depth--;
    else if (!quoted && depth === 0 && ch === separator) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter((part) => part !== '');
}

/** `-Name 'x' -TunnelType L2tp -Force` → { Name: 'x', TunnelType: 'L2tp', Force: true }. */
export function parseParameters(text: string): Record<string, string | true> {
  const parameters: Record<string, string | true> = {};
  let i = 0;
  const skipBlanks = () => { while (text.charAt(i) === ' ') i++; };
  while (i < text.length) {
    skipBlanks();
    const name = /^-(\w+)/.exec(text.slice(i));
    if (name?.[1] === undefined) throw new Error(`expected a parameter at: ${text.slice(i)}`);
    i += name[0].length;
    skipBlanks();
    if (i >= text.length || text.charAt(i) === '-') {
      parameters[name[1]] = true;
      continue;
    }
    const start = i;
    if (text.charAt(i) === '(') {
      const close = splitTopEnd(text, i);
      i = close + 1;
    } else if (QUOTES.has(text.charAt(i))) {
      i++;
      while (i < text.length && !(QUOTES.has(text.charAt(i)) && !QUOTES.has(text.charAt(i + 1)))) i += QUOTES.has(text.charAt(i)) ? 2 : 1;
      i++;
    } else {
      while (i < text.length && text.charAt(i) !== ' ') i++;
    }
    const raw = text.slice(start, i);
    parameters[name[1]] = /^[('\u2018-\u201b]/.test(raw) ? evalPsLiteral(raw) : raw;
  }
  return parameters;
}

/** The index of the `)` closing the `(` at `open`, outside quotes. */
function splitTopEnd(text: string, open: number): number {
  let depth = 0;
  let quoted = false;
  for (let i = open; i < text.length; i++) {
    const ch = text.charAt(i);
    if (QUOTES.has(ch)) quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')' && --depth === 0) return i;
  }
  throw new Error(`unbalanced parentheses: ${text}`);
}

export interface FakeEntry {
  name: string;
  allUsers: boolean;
  serverAddress: string;
  tunnelType: string;
  authenticationMethod: string[];
  encryptionLevel: string;
  psk: string | undefined;
  splitTunneling: boolean;
  ipsec: Record<string, string> | undefined;
  routes: string[];
  status: 'Connected' | 'Disconnected';
}

/** One command the driver ran, as it ran it (test data: not redacted). */
export interface WindowsCall {
  readonly argv: readonly string[];
  readonly stdin: string | null;
  readonly pty: boolean;
  readonly answers: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

const SCRIPT_PREFIX = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; $o = @{}; try { ";
const SCRIPT_BODY_END = "; $o['ok'] = $true; ";

export class FakeWindows implements CommandRunner {
  readonly calls: WindowsCall[] = [];
  /** By phone book and name: `all|backhaul-office`, `user|…`. */
  readonly entries = new Map<string, FakeEntry>();
  /** The value of AssumeUDPEncapsulationContextOnSendRule; undefined = absent. */
  natt: number | undefined = 2;
  /** The next dial fails with this fixture (rasdial-809.txt …) instead of connecting. */
  dialFailure: string | undefined;
  /** The password rasdial accepts (the pty answer must be exactly this). */
  password: string | undefined;
  /** The next script fails like PowerShell's catch block would (ps-failed.json). */
  scriptFailure: string | undefined;
  readonly mtu = new Map<string, number>();
  readonly failures: Error[] = [];

  run(spec: CommandSpec): Promise<CommandResult> {
    return Promise.resolve().then(() => {
      this.calls.push({
        argv: [...spec.argv],
        stdin: spec.stdin ?? null,
        pty: spec.pty !== undefined,
        answers: (spec.pty?.answers ?? []).map((answer) => answer.answer),
        ...(spec.env === undefined ? {} : { env: spec.env }),
      });
      try {
        return acceptResult(this.#answer(spec), spec);
      } catch (error) {
        if (error instanceof Error && !(error.name === 'CommandError')) this.failures.push(error);
        throw error;
      }
    });
  }

  /** Fails when any command or statement was not one the fake knows. */
  assertDone(): void {
    const failure = this.failures[0];
    if (failure !== undefined) throw failure;
  }

  entry(name: string, allUsers = true): FakeEntry | undefined {
    return this.entries.get(`${allUsers ? 'all' : 'user'}|${name}`);
  }

  /** Entries still connected, as "connected NAME" lines (for the contract's leftovers). */
  connected(): string[] {
    return [...this.entries.values()].filter((entry) => entry.status === 'Connected').map((entry) => `connected ${entry.name}`);
  }

  #answer(spec: CommandSpec): CommandResult {
    const argv = spec.argv;
    const program = argv[0];
    if (program === 'powershell.exe' && argv.join(' ') === 'powershell.exe -NoProfile -NonInteractive -Command -' && spec.stdin !== undefined) return this.#script(spec.stdin);
    if (program === 'reg' && argv.join(' ') === 'reg query HKLM\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent /v AssumeUDPEncapsulationContextOnSendRule') {
      if (this.natt === undefined) return reply(loadFixture('reg-query-natt-missing.txt'));
      const fixture = loadFixture('reg-query-natt-2.txt');
      return reply({ ...fixture, stdout: fixture.stdout.replace('0x2', `0x${this.natt.toString(16)}`) });
    }
    if (program === 'rasdial' && argv.length === 3 && argv[2] === '/disconnect') return this.#hangUp(argv[1] ?? '');
    if (program === 'rasdial' && spec.pty !== undefined && (argv.length === 2 || (argv.length === 4 && argv[3] === '*'))) return this.#dial(argv, spec);
    if (program === 'netsh' && argv.length === 8 && argv.slice(1, 5).join(' ') === 'interface ipv4 set subinterface' && argv[7] === 'store=active') {
      const name = argv[5] ?? '';
      if (this.entry(name)?.status !== 'Connected' && this.entry(name, false)?.status !== 'Connected') {
        return reply({ file: 'netsh', header: {}, stdout: 'Element not found.\n', stderr: '', exitCode: 1 });
      }
      this.mtu.set(name, Number((argv[6] ?? '').replace('mtu=', '')));
      return reply(loadFixture('netsh-set-subinterface.txt'));
    }
    throw new Error(`FakeWindows: unexpected command ${JSON.stringify(argv)}`);
  }

  #dial(argv: readonly string[], spec: CommandSpec): CommandResult {
    const name = argv[1] ?? '';
    const entry = this.entry(name) ?? this.entry(name, false);
    const fill = (fixture: Fixture): Fixture => ({ ...fixture, stdout: fixture.stdout.replaceAll('{NAME}', name).replaceAll('{USER}', argv[2] ?? '') });
    if (entry === undefined) return reply({ ...fill(loadFixture('rasdial-800.txt')), stdout: `Connecting to ${name}...\n\nRemote Access error 623 - The system could not find the phone book entry for this connection.\n`, exitCode: 623 });
    const failure = this.dialFailure;
    this.dialFailure = undefined;
    if (failure !== undefined) {
      const fixture = fill(loadFixture(failure));
      return reply({ ...fixture, exitCode: fixture.exitCode ?? 1 });
    }
    const typed = spec.pty?.answers?.[0]?.answer;
    if (this.password !== undefined && typed !== this.password) return reply({ ...fill(loadFixture('rasdial-691.txt')), exitCode: 691 });
    entry.status = 'Connected';
    return reply(fill(loadFixture('rasdial-success.txt')));
  }

  #hangUp(name: string): CommandResult {
    for (const entry of this.entries.values()) if (entry.name === name) entry.status = 'Disconnected';
    return reply(loadFixture('rasdial-disconnect.txt'));
  }

  #script(stdin: string): CommandResult {
    if (!stdin.startsWith(SCRIPT_PREFIX) || !stdin.endsWith('\n') || stdin.slice(0, -1).includes('\n')) throw new Error(`FakeWindows: not a one-line Backhaul script: ${stdin}`);
    const end = stdin.indexOf(SCRIPT_BODY_END);
    if (end < 0) throw new Error(`FakeWindows: no body in ${stdin}`);
    if (this.scriptFailure !== undefined) {
      const fixture = loadFixture(this.scriptFailure);
      this.scriptFailure = undefined;
      return reply(fixture);
    }
    const output: Record<string, unknown> = {};
    const statements = splitTop(stdin.slice(SCRIPT_PREFIX.length, end), ';');
    for (let i = 0; i < statements.length; i++) {
      const statement = statements[i] ?? '';
      if (statement.startsWith('try { $c = Get-VpnConnection ')) {
        const next = statements[++i] ?? '';
        if (!next.startsWith("if ($null -eq $c) { $o['found'] = $false } else {")) throw new Error(`FakeWindows: a read without its report: ${next}`);
        this.#read(statement, output);
      } else if (statement.startsWith('try { Remove-VpnConnection ')) {
        const parameters = parseParameters(/^try \{ Remove-VpnConnection (.*?) \} catch/.exec(statement)?.[1] ?? '');
        const key = `${parameters['AllUserConnection'] === true ? 'all' : 'user'}|${String(parameters['Name'])}`;
        if (this.entries.get(key)?.status === 'Connected') return failed('Cannot delete a connection while it is connected.', 'VPN 817,Remove-VpnConnection');
        this.entries.delete(key);
      } else {
        const problem = this.#cmdlet(statement);
        if (problem !== undefined) return problem;
      }
    }
    return reply({ file: 'script', header: {}, stdout: `${JSON.stringify({ ...output, ok: true })}\n`, stderr: '', exitCode: 0 });
  }

  #read(statement: string, output: Record<string, unknown>): void {
    const parameters = parseParameters(/^try \{ \$c = Get-VpnConnection (.*?) \} catch/.exec(statement)?.[1] ?? '');
    const entry = this.entry(String(parameters['Name']), parameters['AllUserConnection'] === true);
    if (entry === undefined) {
      output['found'] = false;
      return;
    }
    Object.assign(output, {
      found: true,
      name: entry.name,
      serverAddress: entry.serverAddress,
      tunnelType: entry.tunnelType,
      authenticationMethod: entry.authenticationMethod,
      encryptionLevel: entry.encryptionLevel,
      l2tpIPsecAuth: entry.tunnelType === 'L2tp' ? (entry.psk === undefined ? 'Certificate' : 'Psk') : '',
      splitTunneling: entry.splitTunneling,
      connectionStatus: entry.status,
      routes: entry.routes,
      ...(entry.ipsec === undefined ? {} : { ipsec: entry.ipsec }),
    });
  }

  /** Applies one VpnClient cmdlet; returns a failure reply when Windows would refuse it. */
  #cmdlet(statement: string): CommandResult | undefined {
    const [cmdlet = '', ...rest] = statement.split(' ');
    const p = parseParameters(rest.join(' '));
    const book = p['AllUserConnection'] === true;
    const str = (key: string): string => {
      const value = p[key];
      if (typeof value !== 'string') throw new Error(`FakeWindows: ${cmdlet} without -${key}: ${statement}`);
      return value;
    };
    const existing = (key: string): FakeEntry => {
      const entry = this.entry(str(key), book);
      if (entry === undefined) throw new Error(`FakeWindows: ${cmdlet} on a missing entry: ${statement}`);
      return entry;
    };
    switch (cmdlet) {
      case 'Add-VpnConnection': {
        if (this.entry(str('Name'), book) !== undefined) return failed(`A VPN connection with the name ${str('Name')} already exists.`, 'VPN 183,Add-VpnConnection');
        this.entries.set(`${book ? 'all' : 'user'}|${str('Name')}`, {
          name: str('Name'), allUsers: book, serverAddress: str('ServerAddress'), tunnelType: str('TunnelType'),
          authenticationMethod: [str('AuthenticationMethod')], encryptionLevel: str('EncryptionLevel'),
          psk: typeof p['L2tpPsk'] === 'string' ? p['L2tpPsk'] : undefined, splitTunneling: p['SplitTunneling'] === true,
          ipsec: undefined, routes: [], status: 'Disconnected',
        });
        return undefined;
      }
      case 'Set-VpnConnection': {
        const entry = existing('Name');
        if (typeof p['ServerAddress'] === 'string') entry.serverAddress = p['ServerAddress'];
        if (typeof p['TunnelType'] === 'string') entry.tunnelType = p['TunnelType'];
        if (typeof p['AuthenticationMethod'] === 'string') entry.authenticationMethod = [p['AuthenticationMethod']];
        if (typeof p['SplitTunneling'] === 'string') entry.splitTunneling = p['SplitTunneling'] === '$true';
        if (typeof p['L2tpPsk'] === 'string') entry.psk = p['L2tpPsk'];
        return undefined;
      }
      case 'Set-VpnConnectionIPsecConfiguration': {
        const entry = existing('ConnectionName');
        const keys = ['AuthenticationTransformConstants', 'CipherTransformConstants', 'EncryptionMethod', 'IntegrityCheckMethod', 'DHGroup', 'PfsGroup'];
        entry.ipsec = Object.fromEntries(keys.map((key) => [key, str(key)]));
        return undefined;
      }
      case 'Add-VpnConnectionRoute':
        existing('ConnectionName').routes.push(str('DestinationPrefix'));
        return undefined;
      case 'Remove-VpnConnectionRoute': {
        const entry = existing('ConnectionName');
        entry.routes = entry.routes.filter((route) => route !== str('DestinationPrefix'));
        return undefined;
      }
      default:
        throw new Error(`FakeWindows: unexpected statement ${statement}`);
    }
  }
}

function reply(fixture: Fixture): CommandResult {
  if (fixture.exitCode === undefined) throw new Error(`${fixture.file} has no exit code: give one`);
  return { argv: [], exitCode: fixture.exitCode, signal: null, stdout: fixture.stdout, stderr: fixture.stderr, truncated: false, aborted: false, timedOut: false, durationMs: 0 };
}

function failed(error: string, id: string): CommandResult {
  return reply({ file: 'script', header: {}, stdout: `${JSON.stringify({ ok: false, error, id })}\n`, stderr: '', exitCode: 1 });
}
