import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';
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

/** The log file of a given day: `<logDir>/backhaul-YYYY-MM-DD.log`. */
export function logFileFor(logDir: string, day: Date = new Date()): string {
  return join(logDir, `backhaul-${day.toISOString().slice(0, 10)}.log`);
}

/**
 * JSON lines in `<logDir>/backhaul-YYYY-MM-DD.log` (UTC days), rotated daily and at 20 MiB, kept
 * 14 days, mode 0600. Every line passes the redactor last, whatever field a secret hid in.
 */
export function createFileLogger(options: {
  logDir: string;
  level?: LogLevel;
  redactor?: SecretRedactor;
  /** Also receives every line (already redacted), e.g. the agent's in-memory tail for the API. */
  tap?: (line: string) => void;
}): Logger & { close(): Promise<void> } {
  mkdirSync(options.logDir, { recursive: true, mode: 0o700 });
  const redactor = options.redactor ?? defaultRedactor;
  const transport = new DailyRotateFile({
    dirname: options.logDir,
    filename: 'backhaul-%DATE%.log',
    datePattern: 'YYYY-MM-DD',
    utc: true,
    maxSize: '20m',
    maxFiles: '14d',
    auditFile: join(options.logDir, '.rotation.json'),
    options: { flags: 'a', mode: 0o600 },
  });
  const tap = options.tap;
  const tapFormat = winston.format((info) => {
    const line = (info as unknown as Record<symbol, unknown>)[Symbol.for('message')];
    if (tap !== undefined && typeof line === 'string') tap(line);
    return info;
  })();
  const logger = winston.createLogger({
    level: options.level ?? 'info',
    format: winston.format.combine(winston.format.timestamp(), winston.format.json(), redactLine(redactor), tapFormat),
    // The rotating transport's typings are declared apart from winston's TransportStream base.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
    transports: [transport],
  });
  const wrap = (target: winston.Logger): Logger => ({
    log: (level, message, fields = {}) => target.log(level, message, fields),
    child: (fields) => wrap(target.child(fields)),
  });
  return {
    ...wrap(logger),
    close: async () => {
      await new Promise<void>((resolve) => {
        transport.once('finish', () => { resolve(); });
        logger.end();
      });
      // winston's 'finish' says the transport took the last line, not that the file has it: the
      // rotating file stream opens and writes asynchronously, and a log read right after close
      // found no file (CI, once). Ending that stream and waiting for it does (a stream that has
      // ended already calls back at once).
      await new Promise<void>((resolve) => {
        const stream = (transport as unknown as { logStream?: { end(callback: () => void): void } }).logStream;
        if (stream === undefined) resolve();
        else stream.end(() => { resolve(); });
      });
    },
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
