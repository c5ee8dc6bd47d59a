/**
 * The exit codes of `backhaul`, stable for scripts and schedulers (documented in docs/cli.md).
 */
export const ExitCode = {
  /** The backup (or command) succeeded. */
  ok: 0,
  /** The backup failed: the message and hint say why. */
  failed: 1,
  /** Bad usage or an invalid config file: nothing was run. */
  usage: 2,
  /** The backup finished with a warning, e.g. some files could not be read. A snapshot exists. */
  warning: 3,
  /** Cancelled (Ctrl-C, SIGTERM). */
  cancelled: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI prints as `error: message` + `hint: …` and exits with `exitCode`, no stack. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    readonly hint?: string,
    /** Extra lines printed after the message (e.g. every config issue). */
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}
