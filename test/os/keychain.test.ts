/**
 * The keychain backend against a real Secret Service: gnome-keyring on a private D-Bus session bus
 * started by this file (test/helpers/secret-service.ts). Skipped, with the reason in the title,
 * only where gnome-keyring or dbus isn't installed (scripts/setup-system.sh --test installs them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeychainStore, probeSecretService } from '../../src/os/secret-store-keychain.js';
import { keychainService, openSecretStore, type SecretStore } from '../../src/os/secret-store.js';
import { resolveSecret, SecretError } from '../../src/os/secrets.js';
import { secretServiceUnavailable, startSecretService, type SecretService } from '../helpers/secret-service.js';

const unavailable = secretServiceUnavailable();
const CANARY = 'canary-3b9e1f-Keychain-S3cret';

describe.skipIf(unavailable !== undefined)(`keychain store on a real Secret Service${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`, () => {
  let service: SecretService | undefined;
  let previousBus: string | undefined;
  let user: SecretStore;
  let system: SecretStore;

  beforeAll(async () => {
    const started = await startSecretService();
    service = started;
    // Before the first keyring call in this process: the library keeps its first connection.
    previousBus = process.env.DBUS_SESSION_BUS_ADDRESS;
    process.env.DBUS_SESSION_BUS_ADDRESS = started.address;
    user = createKeychainStore({ service: keychainService('user'), mode: 'user', platform: 'linux' });
    system = createKeychainStore({ service: keychainService('system'), mode: 'system', platform: 'linux' });
  });
  afterAll(async () => {
    if (previousBus === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
    else process.env.DBUS_SESSION_BUS_ADDRESS = previousBus;
    await service?.stop();
  });

  it('the probe finds the Secret Service', async () => {
    expect(await probeSecretService(keychainService('user'))).toEqual({ ok: true });
  });

  it('sets, gets, replaces and deletes a secret', async () => {
    expect(await user.get('office-psk')).toBeUndefined();
    await user.set('office-psk', CANARY);
    expect(await user.get('office-psk')).toBe(CANARY);
    await user.set('office-psk', `${CANARY}-replaced`);
    expect(await user.get('office-psk')).toBe(`${CANARY}-replaced`);
    expect(await user.delete('office-psk')).toBe(true);
    expect(await user.get('office-psk')).toBeUndefined();
    expect(await user.delete('office-psk')).toBe(false);
  });

  it('keeps values byte-exact: spaces, newlines and non-ASCII survive', async () => {
    const value = ` ${CANARY} ünïcødé\nline two\n`;
    await user.set('exact', value);
    expect(await user.get('exact')).toBe(value);
    await user.delete('exact');
  });

  it('lists names only, and the user and system stores are separate', async () => {
    await user.set('b-user', CANARY);
    await user.set('a-user', CANARY);
    await system.set('only-system', CANARY);
    expect(await user.list()).toEqual(['a-user', 'b-user']);
    expect(await system.list()).toEqual(['only-system']);
    expect(await system.get('a-user')).toBeUndefined();
    expect(await user.get('only-system')).toBeUndefined();
    for (const name of ['a-user', 'b-user']) await user.delete(name);
    await system.delete('only-system');
    expect(await user.list()).toEqual([]);
  });

  it('resolves keychain:NAME through the auto-chosen store and registers the value with the redactor', async () => {
    const warnings: string[] = [];
    const store = openSecretStore({ setting: 'auto', mode: 'user', stateDir: '/nonexistent-state', platform: 'linux', onFallback: (w) => warnings.push(w) });
    expect(await store.describe()).toEqual({ kind: 'keychain', location: 'the Secret Service (service backhaul)', mode: 'user' });
    await store.set('repo-password', CANARY);
    const added: string[] = [];
    expect(await resolveSecret({ kind: 'keychain', name: 'repo-password' }, { store, redactor: { add: (s) => added.push(s) } })).toBe(CANARY);
    expect(added).toEqual([CANARY]);
    expect(warnings).toEqual([]);
    await store.delete('repo-password');
  });

  it('a missing secret names the reference, the store and the command that adds it', async () => {
    const error = await resolveSecret({ kind: 'keychain', name: 'not-there' }, { store: user }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretError);
    expect(error).toMatchObject({
      code: 'secret.not-found',
      message: 'keychain:not-there not found in the Secret Service (service backhaul)',
      hint: 'store it with: backhaul secret set not-there',
    });
    const systemError = await resolveSecret({ kind: 'keychain', name: 'not-there' }, { store: system }).catch((e: unknown) => e);
    expect(systemError).toMatchObject({ hint: 'store it with: backhaul --system secret set not-there' });
  });
});
