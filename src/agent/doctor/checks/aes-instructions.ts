/**
 * host.aes: AES in hardware (AES-NI on x86, the ARMv8 crypto extensions), which IPsec's AES-GCM
 * and restic's AES-CTR need to run at line speed. Linux: the `aes` flag in /proc/cpuinfo. macOS:
 * Apple silicon always has it; Intel Macs list AES in `sysctl -n machdep.cpu.features`. Windows:
 * .NET's Aes.IsSupported through PowerShell 7 (Windows PowerShell 5.1 has no such API).
 */
import type { CheckOutcome, DoctorCheck, DoctorContext } from '../types.js';

const SLOW = 'Expect IPsec and restic to be CPU-bound (several times slower); if the gateway offers it, chacha20poly1305 is faster without AES instructions.';

/** The `aes` flag on the first CPU of /proc/cpuinfo (x86 `flags`, ARM `Features`). */
export function cpuinfoHasAes(cpuinfo: string): boolean | undefined {
  const line = /^(flags|Features)\s*:(.*)$/m.exec(cpuinfo);
  return line === null ? undefined : (line[2] ?? '').split(/\s+/).includes('aes');
}

async function linux(ctx: DoctorContext): Promise<CheckOutcome> {
  const has = cpuinfoHasAes(await ctx.readText('/proc/cpuinfo'));
  if (has === undefined) return { status: 'warn', evidence: '/proc/cpuinfo has no flags/Features line', fix: SLOW };
  return has ? { status: 'pass', evidence: 'the CPU flags in /proc/cpuinfo include aes' } : { status: 'warn', evidence: 'the CPU flags in /proc/cpuinfo do not include aes', fix: SLOW };
}

async function macos(ctx: DoctorContext): Promise<CheckOutcome> {
  if (ctx.arch === 'arm64') return { status: 'pass', evidence: 'Apple silicon: the ARMv8 crypto extensions are always present' };
  const result = await ctx.runner.run({ argv: ['sysctl', '-n', 'machdep.cpu.features'], okExitCodes: 'any', timeoutMs: 10_000, signal: ctx.signal });
  const features = result.stdout.trim().split(/\s+/);
  if (result.exitCode !== 0) return { status: 'warn', evidence: `sysctl -n machdep.cpu.features exited with ${result.exitCode}`, fix: SLOW };
  return features.includes('AES') ? { status: 'pass', evidence: 'machdep.cpu.features includes AES' } : { status: 'warn', evidence: 'machdep.cpu.features does not include AES', fix: SLOW };
}

async function windows(ctx: DoctorContext): Promise<CheckOutcome> {
  const result = await ctx.runner.run({
    argv: ['pwsh', '-NoProfile', '-NonInteractive', '-Command', '[System.Runtime.Intrinsics.X86.Aes]::IsSupported -or [System.Runtime.Intrinsics.Arm.Aes]::IsSupported'],
    okExitCodes: 'any', timeoutMs: 30_000, signal: ctx.signal,
  }).catch(() => undefined);
  const answer = result?.stdout.trim();
  if (answer === 'True') return { status: 'pass', evidence: '.NET reports AES instructions (System.Runtime.Intrinsics Aes.IsSupported)' };
  if (answer === 'False') return { status: 'warn', evidence: '.NET reports no AES instructions (System.Runtime.Intrinsics Aes.IsSupported is False)', fix: SLOW };
  return { status: 'skip', evidence: 'PowerShell 7 (pwsh) is not installed, and Windows PowerShell 5.1 can\'t ask the CPU; practically every x64 CPU since 2010 has AES-NI' };
}

export const aesInstructionsCheck: DoctorCheck = {
  id: 'host.aes',
  title: 'AES instructions (AES-NI or equivalent)',
  group: 'host',
  scope: 'host',
  run(ctx) {
    if (ctx.platform === 'linux') return linux(ctx);
    if (ctx.platform === 'darwin') return macos(ctx);
    if (ctx.platform === 'win32') return windows(ctx);
    return Promise.resolve({ status: 'skip', evidence: `not checked on ${ctx.platform}` });
  },
};
