/**
 * The one table that turns how an rsync run ended (exit code, what rsync and ssh printed, whether
 * we stopped it) into a failure class, a plain sentence, what to do, and whether running it again
 * can help (STYLE.md point 9).
 *
 * Exit codes from rsync.1 "EXIT VALUES" (shared/reference/rsync.md). Over ssh, a failing ssh shows
 * up as 255 (ssh's own code, rsync passes it on) or 12 (rsync saw the connection close): measured
 * with rsync 3.5.0 and OpenSSH 9.2 (test/fixtures/rsync/): an unknown host key gave 12, a changed
 * one 255, a refused connection 255 in one recording and 12 in the next (rsync sees the pipe close
 * before or after ssh exits), a missing remote rsync 12. So ssh's own words decide before the code. 23/24 mean some files were not copied: a warning, never retried.
 */
import type { BackupFailureClass, BackupFailureDetail } from './engine.js';

/** What we know about one rsync run that did not exit 0. */
export interface RsyncExitFacts {
  /** null when killed by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** What rsync and ssh printed besides progress (stderr, and stdout's non-progress lines). */
  readonly output: string;
  /** We stopped it (the user or the system cancelled, or a sibling failed for good). */
  readonly stoppedByUs: boolean;
  /** The ssh endpoint and known_hosts file, for messages and fixes. */
  readonly target: { readonly user: string; readonly host: string; readonly port: number; readonly knownHostsFile?: string };
  /** The remote directory, for messages. */
  readonly destination: string;
}

export interface RsyncDiagnosis {
  readonly class: BackupFailureClass;
  readonly detail: BackupFailureDetail;
  /** One plain sentence for the user. */
  readonly message: string;
  readonly fix?: string;
  /** Running the same command again may succeed (network trouble, a killed worker). */
  readonly retryable: boolean;
}

interface Row {
  readonly class: BackupFailureClass;
  readonly detail: BackupFailureDetail;
  readonly retryable: boolean;
  readonly when: {
    readonly exitCodes?: readonly number[];
    readonly pattern?: RegExp;
    readonly stoppedByUs?: boolean;
    readonly killedBySignal?: boolean;
  };
  readonly message: (facts: RsyncExitFacts) => string;
  readonly fix?: (facts: RsyncExitFacts) => string;
}

const where = (f: RsyncExitFacts): string => `${f.target.host}:${f.target.port}`;
const knownHosts = (f: RsyncExitFacts): string => f.target.knownHostsFile ?? '~/.ssh/known_hosts';
const keyscan = (f: RsyncExitFacts): string =>
  `ssh-keyscan -p ${f.target.port} ${f.target.host} >> ${knownHosts(f)}`;

/** Network trouble as ssh words it (connect errors, resets, DNS). */
const NETWORK =
  /ssh: connect to host .* port \d+: |Connection (?:refused|timed out|reset|closed by)|Network is unreachable|No route to host|Could not resolve hostname|Broken pipe|kex_exchange_identification|Connection to .* closed|Operation timed out|client_loop: send disconnect/;

/**
 * First match wins. Our own stop beats everything; ssh's words beat the exit code; a destination
 * that can't be written (full, no permission) is a failure even when rsync calls it partial (23);
 * the partial codes come before the network codes because rsync decides them after the transfer.
 */
const TABLE: readonly Row[] = [
  {
    class: 'cancelled',
    detail: 'cancelled',
    retryable: false,
    when: { stoppedByUs: true },
    message: () => 'The backup was cancelled.',
  },
  {
    class: 'unknown',
    detail: 'ssh-host-key-changed',
    retryable: false,
    when: { pattern: /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/ },
    message: (f) =>
      `The SSH host key of ${where(f)} does not match the one in ${knownHosts(f)}: the server was reinstalled, or someone is in between. Backhaul did not connect.`,
    fix: (f) =>
      `Ask the server's administrator for its new key fingerprint; only if it matches, remove the old key (ssh-keygen -f ${knownHosts(f)} -R '[${f.target.host}]:${f.target.port}') and add the new one.`,
  },
  {
    class: 'unknown',
    detail: 'ssh-host-key-unknown',
    retryable: false,
    when: { pattern: /No \S+ host key is known for|Host key verification failed/ },
    message: (f) => `The SSH host key of ${where(f)} is not in ${knownHosts(f)}, so Backhaul did not connect (host key checking is on).`,
    fix: (f) =>
      `Add the server's key after checking its fingerprint with the server's administrator: ${keyscan(f)} (or set jobs.<name>.ssh.knownHosts to a file that has it).`,
  },
  {
    class: 'unknown',
    detail: 'ssh-key-unusable',
    retryable: false,
    when: { pattern: /UNPROTECTED PRIVATE KEY FILE|Load key ".*": |no such identity: / },
    message: (f) => `ssh could not use the private key for ${f.target.user}@${where(f)}: ${sshLine(f.output, /UNPROTECTED|Load key|no such identity/)}.`,
    fix: () => 'Point jobs.<name>.ssh.identity at a private key file (file:/path) readable only by the agent\'s user (chmod 600).',
  },
  {
    class: 'unknown',
    detail: 'ssh-auth',
    retryable: false,
    when: { pattern: /Permission denied \((?:publickey|password|keyboard-interactive)|Too many authentication failures/ },
    message: (f) => `The SSH server ${where(f)} refused the key for user ${f.target.user}.`,
    fix: (f) => `Add the public half of jobs.<name>.ssh.identity to ~${f.target.user}/.ssh/authorized_keys on ${f.target.host}, and check jobs.<name>.ssh.user.`,
  },
  {
    class: 'engine-missing',
    detail: 'remote-rsync-missing',
    retryable: false,
    when: { pattern: /rsync: (?:command )?not found|(?:sh|bash|zsh): .*rsync.*(?:not found|No such file or directory)|Failed to exec rsync/ },
    message: (f) => `rsync is not installed on ${f.target.host} (the remote side needs it too).`,
    fix: (f) => `Install rsync on ${f.target.host} (Debian/Ubuntu: apt-get install rsync; Synology: enable rsync in File Services).`,
  },
  {
    class: 'engine-missing',
    detail: 'ssh-missing',
    retryable: false,
    when: { pattern: /Failed to exec ssh/ },
    message: () => 'rsync could not start ssh on this machine.',
    fix: () => 'Install the OpenSSH client (Debian/Ubuntu: apt-get install openssh-client).',
  },
  {
    class: 'no-repository',
    detail: 'destination-missing',
    retryable: false,
    when: { exitCodes: [3, 11], pattern: /mkdir ".*" failed: No such file or directory|change_dir#?\d* ".*" failed: No such file or directory/ },
    message: (f) => `The destination ${f.destination} does not exist on ${f.target.host} (nor its parent directory).`,
    fix: (f) => `Create it on the server (ssh -p ${f.target.port} ${f.target.user}@${f.target.host} mkdir -p '${f.destination}'), or correct jobs.<name>.repository.`,
  },
  {
    class: 'unknown',
    detail: 'disk-full',
    retryable: false,
    when: { pattern: /No space left on device|Disk quota exceeded/ },
    message: (f) => `The disk holding ${f.destination} on ${f.target.host} is full.`,
    fix: () => 'Free space on the server, or move the destination to a larger disk.',
  },
  {
    class: 'unknown',
    detail: 'destination-denied',
    retryable: false,
    when: { exitCodes: [3, 11, 23], pattern: /\[(?:Receiver|receiver|generator)\] .*Permission denied \(13\)/ },
    message: (f) => `User ${f.target.user} may not write to ${f.destination} on ${f.target.host}.`,
    fix: () => 'Give the ssh user write permission on the destination directory.',
  },
  {
    class: 'partial',
    detail: 'partial',
    retryable: false,
    when: { exitCodes: [23, 24] },
    message: (f) =>
      f.exitCode === 24 ? 'Some files vanished before they could be copied.' : 'Some files or attributes could not be copied.',
    fix: () => 'Check the files listed (permissions, or files removed during the run); everything else was copied.',
  },
  {
    class: 'network',
    detail: 'ssh-unreachable',
    retryable: true,
    when: { exitCodes: [255, 12, 10, 5], pattern: NETWORK },
    message: (f) => `The SSH server ${where(f)} could not be reached: ${sshLine(f.output, NETWORK)}.`,
    fix: () => 'Check the VPN tunnel, and that the server is up and its SSH port is reachable through it.',
  },
  {
    class: 'network',
    detail: 'timeout',
    retryable: true,
    when: { exitCodes: [30] },
    message: () => 'No data moved for longer than the I/O timeout (rsync --timeout), so rsync gave up.',
    fix: () => 'Check the VPN tunnel; raise jobs.<name>.timeouts.ioSeconds if the server is just slow.',
  },
  {
    class: 'network',
    detail: 'timeout',
    retryable: true,
    when: { exitCodes: [35] },
    message: (f) => `The connection to ${where(f)} timed out.`,
    fix: () => 'Check the VPN tunnel and the server.',
  },
  {
    class: 'network',
    detail: 'connection-lost',
    retryable: true,
    when: { exitCodes: [255, 12, 10] },
    message: (f) =>
      f.exitCode === 255
        ? `The SSH connection to ${where(f)} failed or was lost (ssh exit 255).`
        : `The connection to ${where(f)} was lost in the middle of the transfer (rsync exit ${f.exitCode ?? '?'}).`,
    fix: () => 'Check the VPN tunnel and the server; the next run resumes from the partial files.',
  },
  {
    class: 'unknown',
    detail: 'killed',
    retryable: true,
    when: { killedBySignal: true },
    message: (f) => `rsync was stopped by ${f.signal ?? 'a signal'}, which Backhaul did not send.`,
  },
  {
    class: 'unknown',
    detail: 'killed',
    retryable: true,
    when: { exitCodes: [15, 16, 19, 20, 124, 125] },
    message: (f) => `rsync or ssh was stopped by a signal Backhaul did not send (rsync exit ${f.exitCode ?? '?'}).`,
  },
  {
    class: 'unknown',
    detail: 'protocol',
    retryable: false,
    when: { exitCodes: [1, 2, 4] },
    message: (f) =>
      `rsync refused the command (exit ${f.exitCode ?? '?'}: ${f.exitCode === 2 ? 'protocol incompatibility' : f.exitCode === 4 ? 'an option the remote rsync does not support' : 'syntax or usage error'})${lastLine(f.output)}.`,
    fix: (f) => `Update rsync on ${f.target.host} to 3.1 or newer; if it already is, this is a bug in Backhaul: please report it.`,
  },
];

/** The last row: always matches. */
const UNKNOWN: Row = {
  class: 'unknown',
  detail: 'unknown',
  retryable: false,
  when: {},
  message: (f) => `rsync failed (exit ${f.exitCode ?? 'unknown'})${lastLine(f.output)}.`,
  fix: () => "See the log for rsync's full output.",
};

function matches(row: Row, facts: RsyncExitFacts): boolean {
  const w = row.when;
  if (w.stoppedByUs !== undefined && facts.stoppedByUs !== w.stoppedByUs) return false;
  if (w.killedBySignal !== undefined && (facts.exitCode === null) !== w.killedBySignal) return false;
  if (w.exitCodes !== undefined && (facts.exitCode === null || !w.exitCodes.includes(facts.exitCode))) return false;
  if (w.pattern !== undefined && !w.pattern.test(facts.output)) return false;
  return true;
}

/** Classifies an rsync run that did not exit 0. Pure. */
export function classifyRsyncExit(facts: RsyncExitFacts): RsyncDiagnosis {
  const row = TABLE.find((r) => matches(r, facts)) ?? UNKNOWN;
  const fix = row.fix?.(facts);
  return {
    class: row.class,
    detail: row.detail,
    message: row.message(facts),
    retryable: row.retryable,
    ...(fix !== undefined ? { fix } : {}),
  };
}

/** The first line matching `pattern`, trimmed of rsync/ssh prefixes. */
function sshLine(output: string, pattern: RegExp): string {
  const line = output.split(/\r?\n|\r/).find((l) => pattern.test(l)) ?? 'network error';
  return line.replace(/^ssh: /, '').trim().replace(/\.$/, '');
}

/** `: <last meaningful line>` or '' (rsync's own "rsync error: … (code N) at …" lines skipped). */
function lastLine(output: string): string {
  const lines = output
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^rsync error: .*\(code \d+\)/.test(l));
  const last = lines.at(-1);
  return last === undefined ? '' : `: ${last.replace(/\.$/, '')}`;
}
