/**
 * The `backhaul` group's gid, from where each OS keeps its groups, so the system agent can hand its
 * socket to the group (docs/install.md, "The backhaul group and the tray"):
 * - Linux (and other Unix-likes): /etc/group, where `groupadd --system backhaul` puts it.
 * - macOS: Directory Services. `dseditgroup -o create` (the pkg's postinstall, `backhaul service
 *   install`) writes the group there and not to /etc/group, which only lists a few built-in groups.
 *   Read with `dscl . -read /Groups/backhaul PrimaryGroupID`, which prints `PrimaryGroupID: 501`
 *   (dscl(1), "-read": `attribute: value` lines); a group that doesn't exist makes dscl exit
 *   non-zero with `DS Error: -14136 (eDSRecordNotFound)` on stderr. No recording of either exists
 *   here (shared/reference/macos.md has no dscl); the tests' outputs are synthetic in that format.
 * - Windows: not applicable — the agent's named pipe is guarded by its own ACL, not a group.
 */
import { readFile } from 'node:fs/promises';
import type { CommandRunner } from '../command.js';
import { SERVICE_GROUP } from './types.js';

export type ServiceGroupLookup =
  | { readonly kind: 'found'; readonly gid: number }
  | { readonly kind: 'missing' }
  /** The lookup itself failed (dscl broke, /etc/group unreadable): why, for the log. */
  | { readonly kind: 'failed'; readonly detail: string }
  | { readonly kind: 'not-applicable' };

export interface ServiceGroupHost {
  readonly platform: NodeJS.Platform;
  readonly runner: CommandRunner;
  /** /etc/group's text; tests pass their own. */
  readonly readGroupFile?: () => Promise<string>;
}

/** The gid of `group` in /etc/group text (`name:password:gid:members`). */
export function gidFromGroupFile(text: string, group: string = SERVICE_GROUP): number | undefined {
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

/** The gid in `dscl . -read /Groups/NAME PrimaryGroupID` output. */
export function gidFromDscl(stdout: string): number | undefined {
  const m = /^PrimaryGroupID:\s*(\d+)\s*$/m.exec(stdout);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

export async function lookupServiceGroup(host: ServiceGroupHost): Promise<ServiceGroupLookup> {
  if (host.platform === 'win32') return { kind: 'not-applicable' };
  if (host.platform === 'darwin') {
    let result;
    try {
      result = await host.runner.run({ argv: ['dscl', '.', '-read', `/Groups/${SERVICE_GROUP}`, 'PrimaryGroupID'], timeoutMs: 15_000, okExitCodes: 'any' });
    } catch (error) {
      return { kind: 'failed', detail: `dscl could not run: ${(error as Error).message}` }; // not started, or timed out
    }
    if (result.exitCode === 0) {
      const gid = gidFromDscl(result.stdout);
      return gid === undefined ? { kind: 'failed', detail: `dscl printed no PrimaryGroupID for /Groups/${SERVICE_GROUP}` } : { kind: 'found', gid };
    }
    if (/eDSRecordNotFound/.test(`${result.stderr}\n${result.stdout}`)) return { kind: 'missing' };
    return { kind: 'failed', detail: `dscl . -read /Groups/${SERVICE_GROUP} exited ${String(result.exitCode)}: ${result.stderr.trim().slice(0, 200)}` };
  }
  let text: string;
  try {
    text = await (host.readGroupFile ?? (() => readFile('/etc/group', 'utf8')))();
  } catch (error) {
    return { kind: 'failed', detail: `can't read /etc/group: ${(error as Error).message}` };
  }
  const gid = gidFromGroupFile(text);
  return gid === undefined ? { kind: 'missing' } : { kind: 'found', gid };
}
