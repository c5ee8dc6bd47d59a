/** A user-facing error with a stable code and a hint (the shape the session and CLI print). */
export class JobError extends Error {
  override readonly name = 'JobError';
  constructor(
    readonly code: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}
