import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import { defaultRedactor, type SecretRedactor } from './redact.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFields = Readonly<Record<string, unknown>>;

/** The logger every module gets injected. Fields are structured; secrets are redacted at the sink. */
export interface Logger {
  log(level: LogLevel, message: string, fields?: LogFields): void;
  /** A logger that adds `fields` (e.g. the session id) to every line. */
  child(fields: LogFields): Logger;
}

/**
 * winston's final format: the line is serialised to JSON first, then every known secret form is
 * removed from the text — whatever field it hid in, nested or not.
 */
function redactLine(redactor: SecretRedactor): winston.Logform.Format {
  const MESSAGE = Symbol.for('message');
  return winston.format((info) => {
    const line = (info as unknown as Record<symbol, unknown>)[MESSAGE];
    if (typeof line === 'string') (info as unknown as Record<symbol, unknown>)[MESSAGE] = redactor.redact(line);
    return info;
  })();
}

/** JSON lines in `<logDir>/backhaul.log`, rotated by size (5 × 10 MiB), mode 0600. */
export function createFileLogger(options: { logDir: string; level?: LogLevel; redactor?: SecretRedactor }): Logger & { close(): Promise<void> } {
  mkdirSync(options.logDir, { recursive: true, mode: 0o700 });
  const redactor = options.redactor ?? defaultRedactor;
  const transport = new winston.transports.File({
    filename: join(options.logDir, 'backhaul.log'),
    maxsize: 10 * 1024 * 1024,
    maxFiles: 5,
    tailable: true,
    options: { flags: 'a', mode: 0o600 },
  });
  const logger = winston.createLogger({
    level: options.level ?? 'info',
    format: winston.format.combine(winston.format.timestamp(), winston.format.json(), redactLine(redactor)),
    // winston's File transport is declared apart from the TransportStream base its typings expect.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
    transports: [transport],
  });
  const wrap = (target: winston.Logger): Logger => ({
    log: (level, message, fields = {}) => target.log(level, message, fields),
    child: (fields) => wrap(target.child(fields)),
  });
  return {
    ...wrap(logger),
    close: () =>
      new Promise<void>((resolve) => {
        transport.once('finish', () => { resolve(); });
        logger.end();
      }),
  };
}

/** For tests and for commands that must not write a log file: keeps redacted lines in memory. */
export function createMemoryLogger(redactor: SecretRedactor = defaultRedactor): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const make = (base: LogFields): Logger => ({
    log: (level, message, fields = {}) => {
      lines.push(redactor.redact(JSON.stringify({ level, message, ...base, ...fields })));
    },
    child: (fields) => make({ ...base, ...fields }),
  });
  return Object.assign(make({}), { lines });
}
