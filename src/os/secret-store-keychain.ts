/**
 * The OS keychain backend through @napi-rs/keyring: Secret Service on Linux (pinned to it — the
 * kernel keyutils fallback is per-boot, not persistent, and denied in sandboxes), the Keychain on
 * macOS, the Credential Manager on Windows. Each secret is one entry: service `backhaul` (or
 * `backhaul-system`), account NAME. The library talks to the OS directly (D-Bus, Security
 * framework, Win32), so no command line and no secret in argv is involved.
 */
import { AsyncEntry, findCredentialsAsync, type EntryOptions } from '@napi-rs/keyring';
import { checkSecretName } from './secret-name.js';
import type { SecretStore } from './secret-store.js';
import { SecretError } from './secrets.js';

/** Ignored off Linux; on Linux, fail instead of silently using keyutils. */
const ENTRY_OPTIONS: EntryOptions = { linux: { store: 'secret-service' } };

/** An account name no secret can have (names start with a letter or digit). */
const PROBE_ACCOUNT = '(backhaul-probe)';

/** How long the Secret Service may take to answer the probe (D-Bus activation included). */
const PROBE_TIMEOUT_MS = 10_000;

export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Does a Secret Service answer? Reads an entry that never exists: null means the service is there
 * and unlocked enough to search; an error (no bus, no service, locked without a prompt) means no.
 */
export async function probeSecretService(service: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => { resolve({ ok: false, reason: `no answer within ${timeoutMs / 1000} s` }); }, timeoutMs);
  });
  // Without a bus the constructor itself throws, so it runs inside the promise chain.
  const probe = Promise.resolve()
    .then(() => new AsyncEntry(service, PROBE_ACCOUNT, ENTRY_OPTIONS).getPassword())
    .then((): ProbeResult => ({ ok: true }))
    .catch((error: unknown): ProbeResult => ({ ok: false, reason: nativeReason(error) }));
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface KeychainStoreOptions {
  /** From keychainService(mode). */
  readonly service: string;
  readonly mode: 'user' | 'system';
  readonly platform: NodeJS.Platform;
}

export function createKeychainStore(options: KeychainStoreOptions): SecretStore {
  const { service } = options;
  // Inside each try: without a session bus the constructor itself throws.
  const entry = (name: string): AsyncEntry => new AsyncEntry(service, name, ENTRY_OPTIONS);
  const location = keychainLocation(options.platform, service);
  return {
    async get(name) {
      // The same names as the file store, so a config works with either (and none is the probe's).
      checkSecretName(name);
      try {
        return (await entry(name).getPassword()) ?? undefined;
      } catch (error) {
        throw storeError('read', name, location, error);
      }
    },
    async set(name, value) {
      checkSecretName(name);
      try {
        await entry(name).setPassword(value);
      } catch (error) {
        throw storeError('write', name, location, error, value);
      }
    },
    async delete(name) {
      checkSecretName(name);
      try {
        return await entry(name).deleteCredential();
      } catch (error) {
        throw storeError('delete', name, location, error);
      }
    },
    async list() {
      try {
        // findCredentials returns the passwords too; only the names leave this function. It takes no
        // store option: on Linux it asks the Secret Service first, which is why this store is used.
        const found = await findCredentialsAsync(service);
        return [...new Set(found.map((credential) => credential.account))].filter((account) => account !== PROBE_ACCOUNT).sort();
      } catch (error) {
        throw storeError('list', '', location, error);
      }
    },
    describe: () => Promise.resolve({ kind: 'keychain', location, mode: options.mode }),
  };
}

function keychainLocation(platform: NodeJS.Platform, service: string): string {
  if (platform === 'darwin') return `the macOS Keychain (service ${service})`;
  if (platform === 'win32') return `the Windows Credential Manager (service ${service})`;
  return `the Secret Service (service ${service})`;
}

/** The innermost message of a napi error chain: "Platform failure: DBus error: …" → the D-Bus part. */
function nativeReason(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  const text = current instanceof Error ? current.message : String(current);
  return text.split('\n')[0]?.slice(0, 300) ?? 'unknown error';
}

function storeError(action: 'read' | 'write' | 'delete' | 'list', name: string, location: string, error: unknown, value?: string): SecretError {
  // The library never echoes a value, but an error message is no place to find out otherwise.
  const reason = value === undefined || value === '' ? nativeReason(error) : nativeReason(error).replaceAll(value, '[REDACTED]');
  const what = name === '' ? 'the secrets' : `keychain:${name}`;
  return new SecretError(
    'secret.store-unavailable',
    `could not ${action} ${what} in ${location}: ${reason}`,
    'check that the keychain is running and unlocked in this session (on Linux: a Secret Service such as gnome-keyring), or set settings.secretStore: file',
  );
}
