import { describe, expect, it } from 'vitest';
import { encodedForms, MIN_SECRET_LENGTH, REDACTED, SecretRedactor } from '../../src/os/redact.js';

const secret = 'c4n4ry-S3cr3t/+?&';

function base64(text: string): string {
  return Buffer.from(text).toString('base64');
}

describe('SecretRedactor', () => {
  it('replaces every occurrence of a secret', () => {
    const redactor = new SecretRedactor();
    redactor.add(secret);
    expect(redactor.redact(`a ${secret} b ${secret}`)).toBe(`a ${REDACTED} b ${REDACTED}`);
  });

  it('leaves text alone when nothing is registered', () => {
    expect(new SecretRedactor().redact('password=hunter22')).toBe('password=hunter22');
  });

  it.each([
    ['base64', base64(secret)],
    ['base64 without padding', base64(secret).replace(/=+$/, '')],
    ['url-safe base64', base64(secret).replaceAll('+', '-').replaceAll('/', '_')],
    ['url-safe base64 without padding', base64(secret).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')],
    ['lower-case hex', Buffer.from(secret).toString('hex')],
    ['upper-case hex', Buffer.from(secret).toString('hex').toUpperCase()],
    ['URL-encoded', encodeURIComponent(secret)],
    ['JSON-escaped', JSON.stringify('say "hi" \\ now').slice(1, -1)],
  ])('hides the %s form', (_name, form) => {
    const redactor = new SecretRedactor();
    redactor.add(secret);
    redactor.add('say "hi" \\ now');
    const redacted = redactor.redact(`x=${form};`);
    expect(redacted).not.toContain(form);
    expect(redacted).toContain(REDACTED);
  });

  it('hides the secret inside a larger base64 blob at any byte offset (HTTP Basic auth)', () => {
    const redactor = new SecretRedactor();
    redactor.add('correct-horse-battery');
    for (const user of ['u', 'us', 'use', 'user']) {
      const header = `Authorization: Basic ${base64(`${user}:correct-horse-battery`)}`;
      const redacted = redactor.redact(header);
      expect(redacted, user).toContain(REDACTED);
      // What is left of the blob must not decode to the password any more.
      const rest = redacted.split(' ').at(-1)?.replace(REDACTED, '') ?? '';
      expect(Buffer.from(rest, 'base64').toString(), user).not.toContain('battery');
    }
  });

  it('hides NetworkManager-l2tp style "0s<base64>" PSKs (recorded/linux/README.md)', () => {
    const redactor = new SecretRedactor();
    redactor.add('lab-psk-value');
    expect(redactor.redact(`: PSK 0s${base64('lab-psk-value')}`)).toBe(`: PSK 0s${REDACTED}`);
  });

  it('replaces the longest secret first when one contains another', () => {
    const redactor = new SecretRedactor();
    redactor.add('abcd');
    redactor.add('abcdefgh');
    expect(redactor.redact('<abcdefgh>')).toBe(`<${REDACTED}>`);
  });

  it('escapes regular-expression characters in secrets', () => {
    const redactor = new SecretRedactor();
    redactor.add('a.b*c');
    expect(redactor.redact('a.b*c axbbbc')).toBe(`${REDACTED} axbbbc`);
  });

  it(`ignores secrets shorter than ${MIN_SECRET_LENGTH} characters`, () => {
    const redactor = new SecretRedactor();
    expect(redactor.add('')).toBe(false);
    expect(redactor.add('abc')).toBe(false);
    expect(redactor.redact('abc')).toBe('abc');
    expect(redactor.add('abcd')).toBe(true);
    expect(redactor.redact('abcd')).toBe(REDACTED);
  });

  it('hides each line of a multi-line secret (keys), so line-by-line output is covered too', () => {
    const redactor = new SecretRedactor();
    redactor.add('first-line-AAAA\nsecond-line-BBBB');
    expect(redactor.redact('second-line-BBBB')).toBe(REDACTED);
    expect(redactor.redact('first-line-AAAA\nsecond-line-BBBB')).toBe(REDACTED);
  });

  it('a derived redactor adds its own secrets and follows secrets its parent learns later', () => {
    const parent = new SecretRedactor();
    parent.add('parent-secret');
    const child = parent.derive(['child-secret']);
    expect(child.redact('parent-secret child-secret')).toBe(`${REDACTED} ${REDACTED}`);
    expect(parent.redact('child-secret')).toBe('child-secret');
    parent.add('late-secret');
    expect(child.redact('late-secret')).toBe(REDACTED);
  });

  it('does not produce short encoded forms that would shred unrelated output', () => {
    for (const form of encodedForms('abcd')) expect(form.length).toBeGreaterThanOrEqual(MIN_SECRET_LENGTH);
  });

  it('redacts each of many lines against many secrets', () => {
    const redactor = new SecretRedactor();
    for (let i = 0; i < 50; i++) redactor.add(`secret-${i}-end`);
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} secret-${i % 60}-end done`);
    const redacted = lines.map((line) => redactor.redact(line));
    expect(redacted[7]).toBe(`line 7 ${REDACTED} done`);
    expect(redacted[55]).toBe('line 55 secret-55-end done');
  });
});
