/**
 * PowerShell for the windows driver: values become literals that PowerShell can only read as
 * data, and scripts travel on standard input, never in argv — `Add-VpnConnection -L2tpPsk` takes
 * the PSK only as a parameter (`../shared/reference/windows.md` §1), so the PSK is inside the
 * script text and the script is piped to `powershell.exe -Command -`.
 *
 * Why the literal is ASCII only: powershell.exe decodes a redirected stdin with the console's
 * input code page (OEM, not UTF-8), so a non-ASCII character typed as itself could arrive as
 * another one. Each non-ASCII UTF-16 unit is written as `[char]0xNNNN` and concatenated instead,
 * which reads the same under any code page.
 */
import type { CommandRunner } from '../os/command.js';
import { TunnelError } from './driver.js';

/** The program and flags of every PowerShell call: no profile scripts, never a prompt, script on stdin. */
export const POWERSHELL_ARGV: readonly string[] = ['powershell.exe', '-NoProfile', '-NonInteractive', '-Command', '-'];

/**
 * Written as themselves inside '…'. PowerShell also ends a single-quoted string at the typographic
 * quotes U+2018–U+201B; being non-ASCII they always become [char]s, so only ' needs doubling.
 */
const PRINTABLE_ASCII = /^[\x20-\x7e]$/;

/**
 * `value` as a PowerShell expression that evaluates to exactly `value`: a single-quoted literal
 * (`'` doubled) for printable ASCII, with every other UTF-16 unit as `[char]0xNNNN`. Nothing
 * inside is ever expanded: single-quoted strings know no `$`, backtick or subexpression.
 */
export function psLiteral(value: string): string {
  const parts: string[] = [];
  let run = '';
  for (const unit of splitUnits(value)) {
    if (PRINTABLE_ASCII.test(unit)) {
      run += unit === "'" ? "''" : unit;
      continue;
    }
    if (run !== '') parts.push(`'${run}'`);
    run = '';
    parts.push(`[char]0x${unit.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
  }
  if (run !== '' || parts.length === 0) parts.push(`'${run}'`);
  if (parts.length === 1 && parts[0]?.startsWith("'") === true) return parts[0];
  // A leading '' makes the first + a string concatenation, not [char] + [char] arithmetic.
  return `(${parts[0]?.startsWith("'") === true ? '' : "''+"}${parts.join('+')})`;
}

/** UTF-16 code units, one string each (so a surrogate pair becomes two [char]s, as .NET strings hold it). */
function splitUnits(value: string): string[] {
  const units: string[] = [];
  for (let i = 0; i < value.length; i++) units.push(value.charAt(i));
  return units;
}

/**
 * Refuses a value Windows can't hold in a VPN entry, user name or secret: NUL ends a C string and
 * a line break would split what rasdial and netsh read. The message names the field, never the value.
 */
export function checkField(field: string, value: string): string {
  if (value === '') throw new TunnelError('tunnel.bad-value', `${field} is empty`, `Set ${field} to a non-empty value.`);
  const bad = /\0/.test(value) ? 'a NUL character' : /[\r\n]/.test(value) ? 'a line break' : undefined;
  if (bad !== undefined) throw new TunnelError('tunnel.bad-value', `${field} contains ${bad}, which Windows can't store`, `Remove it from ${field}.`);
  return value;
}

/**
 * One script on one line: PowerShell reads `-Command -` line by line and runs each line as it
 * comes, so a failure in one line would not stop the next; inside one try the first error ends it.
 * Success prints `{"ok":true,…}` (the body's `$o` merged in), failure `{"ok":false,"error":…,"id":…}`.
 */
export function psScript(statements: readonly string[]): string {
  const body = statements.join('; ');
  return "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; $o = @{}; " +
    `try { ${body}; $o['ok'] = $true; ConvertTo-Json -Compress -Depth 5 -InputObject $o } ` +
    'catch { ConvertTo-Json -Compress -InputObject @{ ok = $false; error = [string]$_.Exception.Message; id = [string]$_.FullyQualifiedErrorId }; exit 1 }\n';
}

/** What a script printed: its JSON object, or the raw text when there was none (never a crash). */
export type PsOutcome =
  | { readonly kind: 'ok'; readonly data: Readonly<Record<string, unknown>> }
  | { readonly kind: 'failed'; readonly error: string; readonly errorId: string }
  | { readonly kind: 'unknown'; readonly raw: string };

/** Reads the last JSON object line of stdout; anything else is `unknown` with the raw text kept. */
export function parsePsOutput(stdout: string, stderr = ''): PsOutcome {
  const line = stdout.split('\n').map((text) => text.trim()).reverse().find((text) => text.startsWith('{'));
  const raw = `${stdout}${stderr === '' ? '' : `\n${stderr}`}`.trim();
  if (line === undefined) return { kind: 'unknown', raw };
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    return { kind: 'unknown', raw };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { kind: 'unknown', raw };
  const record = data as Record<string, unknown>;
  if (record['ok'] === true) return { kind: 'ok', data: record };
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  if (record['ok'] === false) return { kind: 'failed', error: text(record['error']), errorId: text(record['id']) };
  return { kind: 'unknown', raw };
}

/** Runs one script through PowerShell; a PowerShell that can't be started is a TunnelError. */
export async function runPowerShell(runner: CommandRunner, script: string, signal: AbortSignal, secrets: readonly string[] = []): Promise<PsOutcome> {
  try {
    const result = await runner.run({ argv: POWERSHELL_ARGV, stdin: script, okExitCodes: 'any', timeoutMs: 60_000, signal, secrets });
    return parsePsOutput(result.stdout, result.stderr);
  } catch (error) {
    if (signal.aborted) throw error;
    throw new TunnelError('tunnel.windows-powershell', `Windows PowerShell could not be run: ${error instanceof Error ? error.message : String(error)}`,
      'Backhaul needs powershell.exe (Windows PowerShell 5.1, part of Windows) on PATH.');
  }
}
