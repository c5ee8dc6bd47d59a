/**
 * `backhaul secret set|delete|list|check NAME`: the secrets that `keychain:NAME` references name.
 *
 * The CLI writes to the store itself rather than through the agent's Local API: the store belongs
 * to an account (a user's keychain, or the state dir of the mode), the CLI runs as that account
 * (the user, or root with --system on Linux), and the agent reads the store afresh on every run,
 * so a new value is used by the next run without restarting anything. A value is read from a
 * no-echo prompt on a terminal or from stdin otherwise — never from argv, where every process on
 * the machine could read it.
 */
import { stat } from 'node:fs/promises';
import { MAX_SECRET_BYTES } from '../../os/secrets.js';
import { defaultRedactor } from '../../os/redact.js';
import { checkSecretName, openSecretStore, type SecretStore, type SecretStoreSetting } from '../../os/secret-store.js';
import { cliPaths, loadConfigOrExit, type GlobalOptions } from '../context.js';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Output } from '../run-view.js';

/** Where a secret's value comes from: the terminal without echo, or all of stdin. */
export interface SecretInput {
  readonly isTTY: boolean;
  /** One line typed without echo; rejects with {@link PromptCancelled} on Ctrl-C or end of input. */
  promptHidden(prompt: string): Promise<string>;
  /** All of stdin, up to `limit` bytes (more is an error). */
  readAll(limit: number): Promise<Buffer>;
}

/** The person pressed Ctrl-C (or closed the input) at the prompt. */
export class PromptCancelled extends Error {
  override readonly name = 'PromptCancelled';
}

type Io = { out: Output; err: Output };

/** `backhaul secret set NAME` */
export async function secretSetCommand(name: string, global: GlobalOptions, io: Io, input: SecretInput = processInput()): Promise<ExitCodeValue> {
  checkName(name);
  const store = await cliSecretStore(global, io);
  let value: string;
  try {
    value = input.isTTY ? await promptTwice(name, input) : await readPiped(name, input);
  } catch (error) {
    if (error instanceof PromptCancelled) {
      io.err.write('Cancelled; nothing was stored.\n');
      return ExitCode.cancelled;
    }
    throw error;
  }
  // From here on the value is hidden in anything this process logs or prints.
  defaultRedactor.add(value);
  await store.set(name, value);
  const where = await store.describe();
  io.out.write(`Stored keychain:${name} in ${where.location}.\n`);
  return ExitCode.ok;
}

/** `backhaul secret delete NAME` */
export async function secretDeleteCommand(name: string, global: GlobalOptions, io: Io): Promise<ExitCodeValue> {
  checkName(name);
  const store = await cliSecretStore(global, io);
  const where = await store.describe();
  if (!(await store.delete(name))) {
    throw new CliError(`keychain:${name} not found in ${where.location}; nothing was deleted`, ExitCode.failed, `"backhaul${flag(global)} secret list" shows the names that are there.`);
  }
  io.out.write(`Deleted keychain:${name} from ${where.location}.\n`);
  return ExitCode.ok;
}

/** `backhaul secret list`: names only, one per line, so scripts can read them. */
export async function secretListCommand(global: GlobalOptions, io: Io): Promise<ExitCodeValue> {
  const store = await cliSecretStore(global, io);
  const names = await store.list();
  for (const name of names) io.out.write(`${name}\n`);
  if (names.length === 0) io.err.write(`No secrets in ${(await store.describe()).location}. Add one: backhaul${flag(global)} secret set NAME\n`);
  return ExitCode.ok;
}

/** `backhaul secret check NAME`: exit 0 when it is there, 1 when not; never shows the value. */
export async function secretCheckCommand(name: string, global: GlobalOptions, io: Io): Promise<ExitCodeValue> {
  checkName(name);
  const store = await cliSecretStore(global, io);
  const where = await store.describe();
  const value = await store.get(name);
  if (value === undefined) {
    throw new CliError(`keychain:${name} not found in ${where.location}`, ExitCode.failed, `Store it with: backhaul${flag(global)} secret set ${name}`);
  }
  defaultRedactor.add(value);
  io.out.write(`keychain:${name} is set in ${where.location}.\n`);
  return ExitCode.ok;
}

function flag(global: GlobalOptions): string {
  return global.system === true ? ' --system' : '';
}

function checkName(name: string): void {
  try {
    checkSecretName(name);
  } catch (error) {
    const problem = error as { message: string; hint: string };
    throw new CliError(problem.message, ExitCode.usage, `Use ${problem.hint}.`);
  }
}

/**
 * The store the agent of this mode uses: the config's settings.secretStore (auto when there is no
 * config file yet, so secrets can be stored before the first job is written).
 */
async function cliSecretStore(global: GlobalOptions, io: Io): Promise<SecretStore> {
  const paths = cliPaths(global);
  const setting = await configuredSetting(paths.configFile);
  const mode = global.system === true ? 'system' : 'user';
  if (mode === 'system' && setting !== 'file' && (process.platform === 'darwin' || process.platform === 'win32')) {
    // This process would write to the keychain of the person running it, which the service's
    // account (root's System keychain, LocalSystem's Credential Manager) does not read.
    throw new CliError(
      'backhaul --system secret … cannot reach the system service\'s keychain from here yet',
      ExitCode.usage,
      'Use settings.secretStore: file for the system service, or run the agent in user mode.',
    );
  }
  return openSecretStore({
    setting,
    mode,
    stateDir: paths.stateDir,
    onFallback: (warning) => { io.err.write(`warning: ${warning}\n`); },
  });
}

async function configuredSetting(configFile: string): Promise<SecretStoreSetting> {
  const exists = await stat(configFile).then(() => true, () => false);
  if (!exists) return 'auto';
  return (await loadConfigOrExit(configFile)).settings.secretStore ?? 'auto';
}

async function promptTwice(name: string, input: SecretInput): Promise<string> {
  const first = await input.promptHidden(`Secret for keychain:${name} (not shown): `);
  if (first === '') throw new CliError('no secret was typed; nothing was stored', ExitCode.usage, 'Type the secret at the prompt, or pipe it in: … | backhaul secret set NAME');
  const second = await input.promptHidden('Again, to confirm: ');
  if (first !== second) throw new CliError('the two entries differ; nothing was stored', ExitCode.usage, 'Run the command again and type the same secret twice.');
  return first;
}

/** stdin as the value, minus one trailing newline (`echo secret |` adds one). */
async function readPiped(name: string, input: SecretInput): Promise<string> {
  const bytes = await input.readAll(MAX_SECRET_BYTES);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CliError('the secret on stdin is not UTF-8 text; nothing was stored', ExitCode.usage, 'Pipe the secret as text.');
  } finally {
    bytes.fill(0);
  }
  const value = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  if (value === '') {
    throw new CliError(
      'stdin was empty; nothing was stored',
      ExitCode.usage,
      `Pipe the secret in (e.g. from a password manager: pass show office | backhaul secret set ${name}), or run the command in a terminal to be asked for it.`,
    );
  }
  return value;
}

/** The real terminal or pipe. */
export function processInput(stdin: NodeJS.ReadStream = process.stdin, prompts: NodeJS.WriteStream = process.stderr): SecretInput {
  return {
    get isTTY() { return stdin.isTTY; },
    promptHidden: (prompt) => readHiddenLine(stdin, prompts, prompt),
    readAll: async (limit) => {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of stdin) {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
        size += buffer.length;
        chunks.push(buffer);
        if (size > limit) {
          for (const c of chunks) c.fill(0);
          throw new CliError(`the secret on stdin is larger than ${limit / 1024} KiB; nothing was stored`, ExitCode.usage, 'A password or key is a few bytes; pipe only the secret.');
        }
      }
      return Buffer.concat(chunks);
    },
  };
}

/**
 * Reads one line in raw mode so nothing is echoed: Enter ends it, Backspace edits, Ctrl-C and
 * Ctrl-D (on an empty line) cancel. The prompt goes to stderr, keeping stdout for results.
 */
function readHiddenLine(stdin: NodeJS.ReadStream, prompts: NodeJS.WriteStream, prompt: string): Promise<string> {
  // Raw mode first: whatever is typed once the prompt shows must not be echoed by the terminal.
  stdin.setRawMode(true);
  prompts.write(prompt);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    // Code points, so Backspace removes a whole character whatever its UTF-16 length.
    const typed: string[] = [];
    const finish = (error?: Error): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      prompts.write('\n');
      if (error === undefined) resolve(typed.join(''));
      else reject(error);
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') {
          finish();
          return;
        }
        if (char === '\u0003' || (char === '\u0004' && typed.length === 0)) {
          finish(new PromptCancelled('cancelled at the prompt'));
          return;
        }
        if (char === '\u007f' || char === '\b') typed.pop();
        else if (char >= ' ') typed.push(char);
      }
    };
    stdin.on('data', onData);
  });
}
