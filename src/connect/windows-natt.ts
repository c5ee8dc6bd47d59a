/**
 * L2TP/IPsec to a gateway behind NAT: Windows does not use NAT traversal towards a responder
 * behind NAT unless HKLM\SYSTEM\CurrentControlSet\Services\PolicyAgent\
 * AssumeUDPEncapsulationContextOnSendRule is 2 (REG_DWORD; 0 or absent = off), and the change needs
 * a reboot (`../shared/reference/windows.md` §8). Backhaul only reads it and says what to do:
 * writing HKLM behind an administrator's back, and a reboot, are not a backup agent's call.
 */
import type { CommandRunner } from '../os/command.js';

export const NATT_KEY = 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent';
export const NATT_VALUE = 'AssumeUDPEncapsulationContextOnSendRule';
export const NATT_QUERY_ARGV: readonly string[] = ['reg', 'query', NATT_KEY, '/v', NATT_VALUE];

export interface NattRule {
  /** The value, or undefined when it is absent (Windows then behaves as 0) or unreadable. */
  readonly value: number | undefined;
  /** True only for 2: NAT-T both when the gateway and when this machine is behind NAT. */
  readonly ok: boolean;
  /** What to do when not ok; empty when ok. */
  readonly explanation: string;
}

/** `    AssumeUDPEncapsulationContextOnSendRule    REG_DWORD    0x2` → 2. */
export function parseNattQuery(stdout: string): number | undefined {
  const match = new RegExp(`^\\s*${NATT_VALUE}\\s+REG_DWORD\\s+0x([0-9a-f]+)\\s*$`, 'im').exec(stdout);
  return match?.[1] === undefined ? undefined : Number.parseInt(match[1], 16);
}

/** Reads the value through the runner; never changes it. */
export async function checkNattRule(runner: CommandRunner, signal: AbortSignal): Promise<NattRule> {
  const result = await runner.run({ argv: NATT_QUERY_ARGV, okExitCodes: 'any', timeoutMs: 15_000, signal });
  const value = result.exitCode === 0 ? parseNattQuery(result.stdout) : undefined;
  if (value === 2) return { value, ok: true, explanation: '' };
  return {
    value,
    ok: false,
    explanation: `${NATT_KEY}\\${NATT_VALUE} is ${value === undefined ? 'not set' : String(value)}: Windows will not use NAT traversal for L2TP/IPsec ` +
      'when the gateway or this machine is behind NAT, and the connection fails with error 809. Backhaul does not change it. ' +
      `If NAT is in the way, an administrator runs: REG ADD ${NATT_KEY} /v ${NATT_VALUE} /t REG_DWORD /d 0x2 /f — and reboots.`,
  };
}
