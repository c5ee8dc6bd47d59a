/**
 * Where `keychain:NAME` secrets live: the OS keychain (Secret Service on Linux, Keychain on macOS,
 * Credential Manager on Windows) or, where a Linux host has no Secret Service (a headless box, a
 * system service), private files in Backhaul's state dir. One interface; the backend is chosen once
 * per process, on first use, so commands that never touch a `keychain:` secret never probe D-Bus or
 * print the fallback warning.
 */
import { join } from 'node:path';
import { createFileSecretStore } from './secret-store-file.js';
import { createKeychainStore, probeSecretService, type ProbeResult } from './secret-store-keychain.js';

export { checkSecretName, SECRET_NAME } from './secret-name.js';

/** A named-secret store. Values go in and out; nothing here logs or returns them in errors. */
export interface SecretStore {
  /** The value, or undefined when there is no secret of that name. @throws SecretError */
  get(name: string): Promise<string | undefined>;
  /** Creates or replaces. @throws SecretError */
  set(name: string, value: string): Promise<void>;
  /** @returns whether a secret was there to delete. @throws SecretError */
  delete(name: string): Promise<boolean>;
  /** Names only, sorted. @throws SecretError */
  list(): Promise<string[]>;
  /** Which backend holds the secrets, for messages. */
  describe(): Promise<SecretStoreDescription>;
}

export interface SecretStoreDescription {
  readonly kind: 'keychain' | 'file';
  /** Human-readable: "the Secret Service (service backhaul)", "/var/lib/backhaul/secrets". */
  readonly location: string;
  readonly mode: 'user' | 'system';
}

/** `settings.secretStore`: `auto` picks the keychain where one answers, else the file store. */
export type SecretStoreSetting = 'auto' | 'keychain' | 'file';

/**
 * The keychain service the secrets are filed under. System and user mode get different services,
 * so root running both (or a macOS admin's login keychain) never mixes the two sets.
 */
export function keychainService(mode: 'user' | 'system'): string {
  return mode === 'system' ? 'backhaul-system' : 'backhaul';
}

/** The file store's directory: private, under the mode's state dir. */
export function fileStoreDir(stateDir: string): string {
  return join(stateDir, 'secrets');
}

/** What the choice depends on: a plain description, so the table is tested on any machine. */
export interface SecretBackendInput {
  readonly setting: SecretStoreSetting;
  readonly platform: NodeJS.Platform;
  readonly mode: 'user' | 'system';
  /** Does a Secret Service answer on this session bus? Only asked on Linux in user mode. */
  readonly probe: () => Promise<ProbeResult>;
}

export type SecretBackendChoice =
  | { readonly backend: 'keychain' }
  /** `fallback`: why the keychain was not used (the user asked for auto); absent when asked for `file`. */
  | { readonly backend: 'file'; readonly fallback?: string };

/**
 * Picks the backend. macOS and Windows always have their keychain. On Linux a user agent uses the
 * Secret Service of its desktop session when it answers; a system service never does — the Secret
 * Service belongs to a user's session, and the CLI run with sudo and the service must agree on one
 * store without depending on whose session happens to be around.
 */
export async function chooseSecretBackend(input: SecretBackendInput): Promise<SecretBackendChoice> {
  if (input.setting === 'file') return { backend: 'file' };
  if (input.setting === 'keychain' || input.platform === 'darwin' || input.platform === 'win32') return { backend: 'keychain' };
  if (input.mode === 'system') {
    return { backend: 'file', fallback: 'a system service has no Secret Service (that belongs to a user\'s desktop session)' };
  }
  const probe = await input.probe();
  return probe.ok ? { backend: 'keychain' } : { backend: 'file', fallback: `no Secret Service answered (${probe.reason})` };
}

export interface OpenSecretStoreOptions {
  readonly setting: SecretStoreSetting;
  readonly mode: 'user' | 'system';
  /** The mode's state dir (src/os/paths.ts): the file store lives in its `secrets/` folder. */
  readonly stateDir: string;
  readonly platform?: NodeJS.Platform;
  /**
   * Told once, when `auto` falls back to the file store: the agent logs it and raises a health
   * item, the CLI prints it. The text names the folder and how to get a keychain.
   */
  readonly onFallback?: (warning: string) => void;
  /** Tests: a different probe than asking D-Bus. */
  readonly probe?: () => Promise<ProbeResult>;
}

/**
 * The store for this process. The backend is chosen on first use and kept: @napi-rs/keyring keeps
 * its first D-Bus failure for the life of the process, so a later retry could not succeed anyway
 * (restart the agent after starting a Secret Service).
 */
export function openSecretStore(options: OpenSecretStoreOptions): SecretStore {
  let chosen: Promise<SecretStore> | undefined;
  const backend = (): Promise<SecretStore> => {
    chosen ??= (async () => {
      const platform = options.platform ?? process.platform;
      const service = keychainService(options.mode);
      const choice = await chooseSecretBackend({
        setting: options.setting,
        platform,
        mode: options.mode,
        probe: options.probe ?? (() => probeSecretService(service)),
      });
      if (choice.backend === 'keychain') return createKeychainStore({ service, mode: options.mode, platform });
      const dir = fileStoreDir(options.stateDir);
      if (choice.fallback !== undefined) options.onFallback?.(fallbackWarning(dir, choice.fallback));
      return createFileSecretStore({ dir, mode: options.mode });
    })();
    return chosen;
  };
  return {
    get: async (name) => (await backend()).get(name),
    set: async (name, value) => { await (await backend()).set(name, value); },
    delete: async (name) => (await backend()).delete(name),
    list: async () => (await backend()).list(),
    describe: async () => (await backend()).describe(),
  };
}

/** The one warning for a fallback: where the secrets are, why, and what would change it. */
export function fallbackWarning(dir: string, reason: string): string {
  return (
    `keychain: secrets are kept in files in ${dir} (mode 0600, readable by this account and root), not in an OS keychain: ${reason}. ` +
    'Run a Secret Service (gnome-keyring, KeePassXC) in the session to use it, or set settings.secretStore: file to make this choice explicit.'
  );
}

/**
 * A store per `settings.secretStore` value, each opened once: a long-running agent re-reads its
 * config, and a changed setting must take effect without repeating a warning for an unchanged one.
 */
export function secretStoresBySetting(options: Omit<OpenSecretStoreOptions, 'setting'>): (setting: SecretStoreSetting | undefined) => SecretStore {
  const stores = new Map<SecretStoreSetting, SecretStore>();
  return (setting = 'auto') => {
    let store = stores.get(setting);
    if (store === undefined) {
      store = openSecretStore({ ...options, setting });
      stores.set(setting, store);
    }
    return store;
  };
}
