/**
 * The rule for a stored secret's name — the NAME of `keychain:NAME` — shared by every store backend
 * and the CLI. It matches the config schema's rule (src/config/schema.ts; a test keeps the two
 * equal) and keeps names safe as file names: no separators, no leading dot.
 */
import { SecretError } from './secrets.js';

/** 1–128 letters, digits, ".", "_", "@" and "-", starting with a letter or digit. */
export const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/** @throws SecretError secret.invalid-reference naming the rule (the name is not a secret). */
export function checkSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new SecretError(
      'secret.invalid-reference',
      `${JSON.stringify(name.slice(0, 140))} is not a valid secret name`,
      'use 1–128 letters, digits, ".", "_", "@" and "-", starting with a letter or digit (as in keychain:NAME)',
    );
  }
}
