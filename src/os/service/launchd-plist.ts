/**
 * The launchd property lists: the agent's LaunchDaemon (/Library/LaunchDaemons, runs as root at
 * boot) and the tray's LaunchAgent (/Library/LaunchAgents, runs in every user's GUI session at
 * login). Written by hand (a few keys, strings/booleans/integers/arrays only) so the agent has no
 * runtime dependency; tests read them back with the independent `plist` parser, and the copies the
 * pkg installs (packaging/macos/) are checked for drift against these functions.
 */

export const LAUNCHD_AGENT_LABEL = 'com.backhaul.agent';
export const LAUNCHD_AGENT_PLIST = `/Library/LaunchDaemons/${LAUNCHD_AGENT_LABEL}.plist`;
export const LAUNCHD_TRAY_LABEL = 'com.backhaul.tray';
export const LAUNCHD_TRAY_PLIST = `/Library/LaunchAgents/${LAUNCHD_TRAY_LABEL}.plist`;
/** The tray's executable inside the app bundle electron-builder makes (productName Backhaul). */
export const MACOS_TRAY_EXECUTABLE = '/Applications/Backhaul.app/Contents/MacOS/Backhaul';
/**
 * The pkg's agent: the app's own Electron binary in Node mode (ELECTRON_RUN_AS_NODE=1) running the
 * CLI from the app bundle, so a Mac needs no separate Node.js and the agent is signed and notarised
 * with the app.
 */
export const MACOS_PKG_AGENT_ARGV = [MACOS_TRAY_EXECUTABLE, '/Applications/Backhaul.app/Contents/Resources/app.asar/dist/cli/bin.js', '--system', 'agent'] as const;
export const MACOS_PKG_AGENT_ENV = { ELECTRON_RUN_AS_NODE: '1' } as const;

type Value = string | number | boolean | readonly string[] | Readonly<Record<string, string>>;

function xmlText(text: string): string {
  // eslint-disable-next-line no-control-regex -- refusing the characters XML 1.0 cannot carry
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(text)) throw new Error(`${JSON.stringify(text)} has a control character a plist can't hold`);
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

const isList = (v: Value): v is readonly string[] => Array.isArray(v);

function value(v: Value): string {
  if (typeof v === 'boolean') return v ? '<true/>' : '<false/>';
  if (typeof v === 'number') return `<integer>${String(Math.trunc(v))}</integer>`;
  if (typeof v === 'string') return `<string>${xmlText(v)}</string>`;
  if (isList(v)) return `<array>\n${v.map((s) => `\t\t<string>${xmlText(s)}</string>`).join('\n')}\n\t</array>`;
  return `<dict>\n${Object.entries(v).map(([k, s]) => `\t\t<key>${xmlText(k)}</key>\n\t\t<string>${xmlText(s)}</string>`).join('\n')}\n\t</dict>`;
}

function plist(entries: readonly (readonly [string, Value])[]): string {
  const body = entries.map(([k, v]) => `\t<key>${xmlText(k)}</key>\n\t${value(v)}`).join('\n');
  return '<?xml version="1.0" encoding="UTF-8"?>\n'
    + '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
    + `<plist version="1.0">\n<dict>\n${body}\n</dict>\n</plist>\n`;
}

/**
 * The agent's LaunchDaemon. KeepAlive restarts it after a crash; ExitTimeOut gives it 120 s after
 * SIGTERM (launchd's default is 20) to cancel restic and tear the tunnel down before SIGKILL.
 */
export function renderLaunchDaemon(programArguments: readonly string[], environment: Readonly<Record<string, string>> = {}): string {
  return plist([
    ['Label', LAUNCHD_AGENT_LABEL],
    ['ProgramArguments', programArguments],
    ...(Object.keys(environment).length === 0 ? [] : [['EnvironmentVariables', environment] as const]),
    ['RunAtLoad', true],
    ['KeepAlive', true],
    ['ExitTimeOut', 120],
    ['ProcessType', 'Standard'],
    ['StandardOutPath', '/Library/Logs/Backhaul/agent.out.log'],
    ['StandardErrorPath', '/Library/Logs/Backhaul/agent.err.log'],
  ]);
}

/** The tray's LaunchAgent: every user's GUI (Aqua) session at login; the tray finds the agent's socket. */
export function renderTrayLaunchAgent(executable: string = MACOS_TRAY_EXECUTABLE): string {
  return plist([
    ['Label', LAUNCHD_TRAY_LABEL],
    ['ProgramArguments', [executable, '--hidden']],
    ['RunAtLoad', true],
    ['LimitLoadToSessionType', 'Aqua'],
    ['ProcessType', 'Interactive'],
  ]);
}
