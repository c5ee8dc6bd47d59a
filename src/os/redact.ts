/**
 * Secret redaction for everything Backhaul logs, shows or returns from an OS command. A secret
 * is hidden together with the encodings tools commonly print it in (base64, hex, URL-encoding),
 * because NetworkManager, curl, rclone and friends echo credentials in those forms too.
 */

/** What a secret is replaced with. */
export const REDACTED = '[REDACTED]';

/**
 * Secrets shorter than this are not registered: redacting a 1–3 character string would shred
 * every log line (and such a secret protects nothing anyway). `add` returns false for them.
 */
export const MIN_SECRET_LENGTH = 4;

/**
 * Offset-shifted base64 fragments (a secret in the middle of a larger base64 blob, e.g. HTTP
 * Basic auth `user:password`) are only registered when at least this long, to keep short
 * secrets from matching random base64/hex such as restic snapshot IDs.
 */
const MIN_SHIFTED_FRAGMENT_LENGTH = 8;

/**
 * Replaces registered secrets, and their encoded forms, with `[REDACTED]`.
 *
 * A redactor may have a parent (see `derive`): it then hides its own secrets and every secret
 * the parent has, including ones the parent learns later. The matcher is compiled once per
 * change, so `redact` costs one regular-expression pass per call.
 */
export class SecretRedactor {
  readonly #parent: SecretRedactor | undefined;
  readonly #variants = new Set<string>();
  #version = 0;
  #compiled: { readonly key: string; readonly pattern: RegExp | null } | undefined;

  constructor(parent?: SecretRedactor) {
    this.#parent = parent;
  }

  /**
   * Registers a secret (and each of its lines, for multi-line secrets such as keys). Returns
   * false when it is too short to be redacted sensibly (see MIN_SECRET_LENGTH).
   */
  add(secret: string): boolean {
    const parts = [secret, ...secret.split(/\r?\n/).map((line) => line.trim())];
    let added = false;
    for (const part of new Set(parts)) {
      if (part.length < MIN_SECRET_LENGTH) continue;
      for (const variant of encodedForms(part)) this.#variants.add(variant);
      added = true;
    }
    if (added) this.#version++;
    return added;
  }

  /** A redactor that hides `secrets` on top of everything this one hides (now and later). */
  derive(secrets: Iterable<string> = []): SecretRedactor {
    const child = new SecretRedactor(this);
    for (const secret of secrets) child.add(secret);
    return child;
  }

  /** `text` with every occurrence of every registered secret form replaced by `[REDACTED]`. */
  redact(text: string): string {
    const pattern = this.#matcher();
    if (pattern === null || text === '') return text;
    return text.replace(pattern, REDACTED);
  }

  /** Changes whenever this redactor or an ancestor learns a secret. */
  #key(): string {
    const parent = this.#parent;
    return parent === undefined ? String(this.#version) : `${this.#version}.${parent.#key()}`;
  }

  #allVariants(): Set<string> {
    const parent = this.#parent;
    const all = parent === undefined ? new Set<string>() : parent.#allVariants();
    for (const variant of this.#variants) all.add(variant);
    return all;
  }

  #matcher(): RegExp | null {
    const key = this.#key();
    if (this.#compiled?.key !== key) this.#compiled = { key, pattern: compile(this.#allVariants()) };
    return this.#compiled.pattern;
  }
}

/**
 * One alternation, longest first: at any position the longest registered form wins, so a
 * secret that contains another secret is hidden whole.
 */
function compile(variants: ReadonlySet<string>): RegExp | null {
  if (variants.size === 0) return null;
  const sorted = [...variants].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  return new RegExp(sorted.map(escapeRegExp).join('|'), 'g');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * The secret itself and the forms it is printed in: base64 (standard, url-safe), hex, URL-encoded,
 * and JSON-escaped (the log writes JSON lines).
 */
export function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const hex = bytes.toString('hex');
  const uri = encodeURIComponent(secret);
  const json = JSON.stringify(secret).slice(1, -1);
  const forms = [secret, hex, hex.toUpperCase(), uri, uri.replaceAll('%20', '+'), json, ...base64Forms(bytes)];
  return [...new Set(forms)].filter((form) => form.length >= MIN_SECRET_LENGTH);
}

/**
 * base64 of the secret with and without padding, standard and url-safe, plus the characters that
 * are fixed whatever surrounds the secret when it sits at byte offset 0, 1 or 2 of a larger blob.
 */
function base64Forms(bytes: Buffer): string[] {
  const padded = bytes.toString('base64');
  const forms = [padded, padded.replace(/=+$/, '')];
  for (const offset of [0, 1, 2]) {
    const fragment = stableBase64Fragment(bytes, offset);
    if (offset === 0 || fragment.length >= MIN_SHIFTED_FRAGMENT_LENGTH) forms.push(fragment);
  }
  return forms.flatMap((form) => [form, toUrlSafe(form)]);
}

/** The base64 characters determined only by `bytes` when `offset` unknown bytes precede them. */
function stableBase64Fragment(bytes: Buffer, offset: number): string {
  const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
  const first = Math.ceil((8 * offset) / 6);
  const end = Math.floor((8 * (offset + bytes.length)) / 6);
  return encoded.slice(first, end);
}

function toUrlSafe(base64: string): string {
  return base64.replaceAll('+', '-').replaceAll('/', '_');
}

/**
 * The process-wide redactor: code that resolves a secret (keyring, config, prompt) registers it
 * here, and the CommandRunner and the log format redact with it by default.
 */
export const defaultRedactor = new SecretRedactor();
