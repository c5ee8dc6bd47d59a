/**
 * The Windows service host's configuration: WinSW 1.17 (resources\bin\backhaul-service.exe, staged
 * by scripts/bundle-service-host.mjs) reads `<exe-basename>.xml` from its own folder when the SCM
 * starts it and runs the agent from it. `backhaul service install` writes it there (src/os/service/
 * windows.ts); it is not shipped, because it holds absolute paths (the install folder can be moved
 * with /D=) and WinSW 1.17 can't make them relative: its %BASE% is the exe's path, not its folder
 * (WinSW CHANGELOG, 1.18: "%BASE% contained the executable path instead of the directory path
 * (regression in 1.17)").
 *
 * Only elements WinSW 1.17 reads are used. Sources: the v1 docs (winsw/winsw README.markdown and
 * doc/xmlConfigFile.md: id, name, description, executable, arguments, env, startmode, onfailure,
 * resetfailure, stoptimeout, stopparentprocessfirst, logpath, log mode="roll-by-size" with
 * sizeThreshold (KB) and keepFiles), its ServiceDescriptor.cs of that time, and the element names in
 * the pinned binary's own string table (`strings -el winsw.exe`: startmode, stoptimeout,
 * stopparentprocessfirst, resetfailure, sizeThreshold, keepFiles, …; no delayedAutoStart, which came
 * later). Two traps of 1.x shape the file:
 * - `<stoptimeout>`, `<resetfailure>`, `<waithint>` and `<sleeptime>` are looked up under the
 *   document's *first child* (`dom.FirstChild`), so an `<?xml …?>` declaration or a comment before
 *   `<service>` makes WinSW silently use its defaults (15 s, 1 day) — fixed only in 2.0 (CHANGELOG
 *   issue #159). The file therefore starts with `<service>`; the comment is inside it.
 * - `<arguments>`, `<executable>` and `<env value>` go through ExpandEnvironmentVariables, so a `%`
 *   in a path could be replaced; such paths are refused (see {@link WinswXmlError}).
 *
 * How WinSW 1.x stops the agent (Main.cs StopIt/StopProcessAndChildren, SigIntHelper.cs): without
 * `<stoparguments>` it lists the agent's child processes, then (stopparentprocessfirst) attaches to
 * the agent's console and sends CTRL_C_EVENT — Node turns that into SIGINT, which
 * `backhaul agent` handles like SIGTERM (cancel runs, tear the tunnel down, exit 0) — and waits up
 * to `<stoptimeout>`; after that, or at once when it can't attach to a console, it kills the agent
 * (TerminateProcess) and then stops the children the same way. See docs/install.md ("The Windows
 * service host") for what that means for the packaged app, whose Backhaul.exe has no console.
 */

/** The SCM's name for the service (`sc.exe query Backhaul`), and WinSW's `<id>`. */
export const WINDOWS_SERVICE_NAME = 'Backhaul';
export const WINDOWS_SERVICE_DISPLAY_NAME = 'Backhaul backup agent';
export const WINDOWS_SERVICE_DESCRIPTION = 'Runs scheduled backups over the VPN; the tray and the backhaul CLI talk to it.';
/**
 * Restart after a crash: 5 s, 5 s, then every minute (seconds); the count resets after a day. The
 * same policy goes to `sc.exe failure` and into the XML, so either way of registering agrees.
 */
export const WINDOWS_FAILURE_ACTIONS = [5, 5, 60] as const;
export const WINDOWS_FAILURE_RESET_SECONDS = 86_400;
/** In the XML's comment; uninstall removes only a file that carries it. */
export const WINSW_XML_MARKER = 'Written by "backhaul service install"';

/** The agent gets this long after Ctrl+C before WinSW kills it: launchd's ExitTimeOut and systemd's TimeoutStopSec are the same. */
export const WINSW_STOP_TIMEOUT_SECONDS = 120;

export interface WinswConfig {
  /** The agent: program and arguments, absolute (e.g. Backhaul.exe, …\app.asar\dist\cli\bin.js, --system, agent). */
  readonly argv: readonly string[];
  readonly environment?: Readonly<Record<string, string>>;
  /** Where WinSW writes backhaul-service.{out,err,wrapper}.log (the agent's own log is beside them). */
  readonly logDir: string;
}

/** A path or value the XML can't carry faithfully. */
export class WinswXmlError extends Error {
  override readonly name = 'WinswXmlError';
}

function xmlText(text: string): string {
  // eslint-disable-next-line no-control-regex -- refusing the characters XML 1.0 cannot carry
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(text)) throw new WinswXmlError(`${JSON.stringify(text)} has a control character XML can't hold`);
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** WinSW expands %NAME% in these values; a literal % could turn into something else. */
function literal(what: string, value: string): string {
  if (value.includes('%')) throw new WinswXmlError(`${what} ${JSON.stringify(value)} contains "%", which WinSW would expand as an environment variable`);
  return xmlText(value);
}

/** The same, inside a double-quoted attribute. */
const literalAttribute = (what: string, value: string): string => literal(what, value).replaceAll('"', '&quot;');

/**
 * A Windows command line from argv (the CommandLineToArgvW rules: quotes around spaces, backslashes
 * doubled before a quote): sc.exe's binPath and WinSW's `<arguments>` are each one such string.
 */
export function windowsCommandLine(argv: readonly string[]): string {
  return argv.map((word) => {
    if (word !== '' && !/[\s"]/.test(word)) return word;
    return `"${word.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`;
  }).join(' ');
}

/** WinSW 1.x time spans: a number and a unit ("5 sec", "1 day"; its ParseTimeSpan suffixes). */
const span = (s: number): string => (s % 86_400 === 0 ? `${String(s / 86_400)} day` : `${String(s)} sec`);

/** The host's XML for the agent. Starts with `<service>` (no declaration): see the file comment. */
export function renderWinswXml(config: WinswConfig): string {
  const [program, ...args] = config.argv;
  if (program === undefined) throw new WinswXmlError('no agent command for the service host');
  const env = Object.entries(config.environment ?? {});
  const lines = [
    '<service>',
    `  <!-- ${WINSW_XML_MARKER} (src/os/service/winsw-xml.ts) for WinSW 1.17; run it again instead of editing. -->`,
    `  <id>${WINDOWS_SERVICE_NAME}</id>`,
    `  <name>${xmlText(WINDOWS_SERVICE_DISPLAY_NAME)}</name>`,
    `  <description>${xmlText(WINDOWS_SERVICE_DESCRIPTION)}</description>`,
    `  <executable>${literal('the agent program', program)}</executable>`,
    `  <arguments>${literal('an agent argument', windowsCommandLine(args))}</arguments>`,
    ...env.map(([name, value]) => `  <env name="${literalAttribute('the variable', name)}" value="${literalAttribute(`the value of ${name}`, value)}"/>`),
    '  <startmode>Automatic</startmode>',
    ...WINDOWS_FAILURE_ACTIONS.map((delay) => `  <onfailure action="restart" delay="${span(delay)}"/>`),
    `  <resetfailure>${span(WINDOWS_FAILURE_RESET_SECONDS)}</resetfailure>`,
    `  <stoptimeout>${String(WINSW_STOP_TIMEOUT_SECONDS)} sec</stoptimeout>`,
    // The agent first: it cancels restic and tears the tunnel down itself; its children are gone by
    // the time WinSW would stop them (WinSW 1.x's default is children first, which would make a
    // cancel look like restic failing on its own).
    '  <stopparentprocessfirst>true</stopparentprocessfirst>',
    `  <logpath>${literal('the log folder', config.logDir)}</logpath>`,
    '  <log mode="roll-by-size">',
    '    <sizeThreshold>10240</sizeThreshold>',
    '    <keepFiles>8</keepFiles>',
    '  </log>',
    '</service>',
  ];
  return `${lines.join('\r\n')}\r\n`;
}
