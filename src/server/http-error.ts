/**
 * The one error type the HTTP layer turns into `{"error":{"code","message"}}` with a status
 * (docs/api.md). Runtimes and the store throw it for anything a client caused or can act on.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  /** Seconds a client should wait before retrying (sent as Retry-After with a 503). */
  readonly retryAfterS: number | undefined;

  constructor(status: number, code: string, message: string, options: { retryAfterS?: number } = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.retryAfterS = options.retryAfterS;
  }
}

/** 404 for a function or one of its artifacts that is not deployed. */
export function notFound(message: string): HttpError {
  return new HttpError(404, 'not-found', message);
}

/** 422 for an uploaded artifact that fails validation. */
export function invalidArtifact(message: string): HttpError {
  return new HttpError(422, 'invalid-artifact', message);
}
