/**
 * The TunnelDriver contract, one suite for every driver (STYLE.md 12): what the session relies on,
 * whatever native client sits underneath.
 *
 * - ensureProfile is idempotent: called again on a machine it already set up, it answers
 *   'unchanged' and issues no command that changes anything;
 * - connect brings a down tunnel up (broughtUp), status then says 'up'; disconnect takes it down,
 *   status then says 'down', and every journaled resource has been released;
 * - a tunnel the user already had up is used, not touched (broughtUp false, still up, nothing held);
 * - after a crash, a restarted driver's cleanUp, given what the journal still holds, removes
 *   exactly that (and the fake OS, where it can tell, holds nothing the session made);
 * - no secret ever appears in a command's argv or environment (stdin and pty answers are fine).
 *
 * A driver plugs in with `describeDriverContract(name, makeHarness)`: `makeHarness(scenario)`
 * returns a fresh driver over a fake OS prepared for that scenario. A stateful fake (windows) can
 * use one fake per scenario; a replaying fake (Linux) scripts the commands of each scenario, so an
 * unexpected command fails the test (`runner.assertDone()`).
 */
import { describe, expect, it } from 'vitest';
import type { DriverResource, ResourceJournal, TunnelDriver, TunnelProfile } from '../../src/connect/driver.js';

/** One command as the fake saw it. */
export interface ContractCall {
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** What went to its stdin (a PowerShell script, an nmcli edit); null or absent for none. */
  readonly stdin?: string | null;
}

/** What the contract reads from a fake runner: the ReplayingCommandRunner fits as is. */
export interface ContractRunner {
  /** Every command issued so far, in order. */
  readonly calls: readonly ContractCall[];
  /** Throws when an expected command was never issued or an unexpected one was. */
  assertDone(): void;
}

/**
 * The situations the contract checks; a harness prepares its fake OS for exactly one.
 * - `ensure-twice`: ensureProfile, then ensureProfile again (the second must change nothing).
 * - `connect-disconnect`: tunnel down; connect, status, disconnect, status.
 * - `pre-existing`: the user already has this tunnel up; connect, status.
 * - `crash-cleanup`: tunnel down; connect, then the agent dies; a restarted driver's cleanUp
 *   gets the journal's leftovers with tunnelUp = true.
 */
export type ContractScenario = 'ensure-twice' | 'connect-disconnect' | 'pre-existing' | 'crash-cleanup';

export const contractScenarios: readonly ContractScenario[] = ['ensure-twice', 'connect-disconnect', 'pre-existing', 'crash-cleanup'];

export interface DriverHarness {
  /** A fresh driver over the scenario's fake OS. */
  readonly driver: TunnelDriver;
  /** The profile to use, with its secrets resolved. */
  readonly profile: TunnelProfile;
  readonly runner: ContractRunner;
  /** Secret values that must never appear in argv or env (PSK, passwords, key content). */
  readonly secrets: readonly string[];
  /**
   * Whether a command changes the machine (creates, modifies, connects, removes ...). `call`
   * adds what argv can't tell, e.g. the PowerShell script on stdin.
   */
  isChange(argv: readonly string[], call: ContractCall): boolean;
  /** crash-cleanup: the driver the restarted agent builds over the same fake OS. Default: `driver`. */
  readonly restarted?: () => TunnelDriver;
  /**
   * Stateful fakes only: what the fake OS still holds that a session created and should have
   * removed (a connected tunnel, a half-made profile ...). Checked empty after teardown.
   */
  readonly leftovers?: () => readonly string[];
}

export type MakeHarness = (scenario: ContractScenario) => DriverHarness | Promise<DriverHarness>;

/** A journal that keeps what is held (acquired, not yet released), as the session's does. */
export function contractJournal(): ResourceJournal & { held(): DriverResource[] } {
  const held = new Map<string, DriverResource>();
  return {
    held: () => [...held.values()],
    acquire: (resource) => {
      held.set(`${resource.kind} ${resource.id}`, resource);
      return Promise.resolve();
    },
    release: (resource) => {
      held.delete(`${resource.kind} ${resource.id}`);
      return Promise.resolve();
    },
  };
}

const signal = new AbortController().signal;

/** Registers the contract's tests for one driver (call inside or outside a describe). */
export function describeDriverContract(name: string, makeHarness: MakeHarness): void {
  describe(`TunnelDriver contract: ${name}`, () => {
    it('ensureProfile is idempotent: the second call answers unchanged and changes nothing', async () => {
      const h = await makeHarness('ensure-twice');
      const journal = contractJournal();
      await h.driver.ensureProfile(h.profile, signal, journal);
      const before = h.runner.calls.length;
      expect(await h.driver.ensureProfile(h.profile, signal, journal)).toBe('unchanged');
      expect(h.runner.calls.slice(before).filter((call) => h.isChange(call.argv, call)).map((call) => call.argv)).toEqual([]);
      expect(journal.held()).toEqual([]);
      finish(h);
    });

    it('connect brings a down tunnel up; disconnect takes it down and releases everything', async () => {
      const h = await makeHarness('connect-disconnect');
      const journal = contractJournal();
      const outcome = await h.driver.connect(h.profile, signal, journal);
      expect(outcome.broughtUp).toBe(true);
      expect(outcome.status.state).toBe('up');
      expect((await h.driver.status(h.profile, signal)).state).toBe('up');
      await h.driver.disconnect(h.profile, signal, journal);
      expect((await h.driver.status(h.profile, signal)).state).toBe('down');
      expect(journal.held()).toEqual([]);
      expect(h.leftovers?.() ?? []).toEqual([]);
      finish(h);
    });

    it('a tunnel the user already had up is used and left up', async () => {
      const h = await makeHarness('pre-existing');
      const journal = contractJournal();
      const outcome = await h.driver.connect(h.profile, signal, journal);
      expect(outcome.broughtUp).toBe(false);
      expect(h.runner.calls.filter((call) => h.isChange(call.argv, call)).map((call) => call.argv)).toEqual([]);
      expect((await h.driver.status(h.profile, signal)).state).toBe('up');
      expect(journal.held()).toEqual([]);
      finish(h);
    });

    it('after a crash, cleanUp from the journal removes exactly what the session created', async () => {
      const h = await makeHarness('crash-cleanup');
      const journal = contractJournal();
      expect((await h.driver.connect(h.profile, signal, journal)).broughtUp).toBe(true);
      const restarted = h.restarted?.() ?? h.driver;
      await restarted.cleanUp?.({ profile: h.profile.name, tunnelUp: true, resources: journal.held() }, signal);
      expect(h.leftovers?.() ?? []).toEqual([]);
      finish(h);
    });
  });
}

/** Every command was expected, and no secret reached an argv or the environment. */
function finish(h: DriverHarness): void {
  h.runner.assertDone();
  const visible = h.runner.calls.map((call) => [...call.argv, ...Object.values(call.env ?? {})].join('\n')).join('\n');
  for (const secret of h.secrets) expect(visible.includes(secret), 'a secret appeared in argv or env').toBe(false);
}
