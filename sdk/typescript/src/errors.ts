/**
 * The SDK's errors, the same tree as the Python SDK's. Catch the level you care about:
 *
 * ```text
 * DaytonaError                      everything the SDK throws
 * ├── DaytonaApiError               the server answered with an error (statusCode, message, body)
 * │   ├── DaytonaBadRequestError        400 / 422: invalid input
 * │   ├── DaytonaAuthenticationError    401: missing or wrong API key
 * │   ├── DaytonaForbiddenError         403
 * │   ├── DaytonaNotFoundError          404
 * │   ├── DaytonaConflictError          409: exists already, or wrong state for the operation
 * │   ├── DaytonaRateLimitError         429
 * │   └── DaytonaServerError            5xx
 * ├── DaytonaConnectionError        the server could not be reached
 * ├── DaytonaTimeoutError           an operation did not finish in time
 * └── ProcessExecutionError         a command failed (check: true) or timed out
 * ```
 * @module
 */

/** Base error of the Daytona SDK. */
export class DaytonaError extends Error {
  /** The HTTP status of the server's answer, when there was one. */
  readonly statusCode: number | undefined;

  constructor(message: string, statusCode?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.statusCode = statusCode;
  }
}

/** The server answered with an error status; `body` is its decoded JSON (or text). */
export class DaytonaApiError extends DaytonaError {
  declare readonly statusCode: number;
  readonly body: unknown;

  constructor(message: string, statusCode: number, body?: unknown) {
    super(message, statusCode);
    this.body = body;
  }
}

/** 400 or 422: the request was invalid. */
export class DaytonaBadRequestError extends DaytonaApiError {}
/** 401: missing or wrong API key. */
export class DaytonaAuthenticationError extends DaytonaApiError {}
/** 403: not allowed. */
export class DaytonaForbiddenError extends DaytonaApiError {}
/** 404: no such sandbox, file, session, ... */
export class DaytonaNotFoundError extends DaytonaApiError {}
/** 409: exists already, or the sandbox is in the wrong state for the operation. */
export class DaytonaConflictError extends DaytonaApiError {}
/** 429: too many requests. */
export class DaytonaRateLimitError extends DaytonaApiError {}
/** 5xx: the server failed. */
export class DaytonaServerError extends DaytonaApiError {}

/** The server could not be reached. */
export class DaytonaConnectionError extends DaytonaError {}

/** An operation (a request, or waiting for a state) did not finish in time. */
export class DaytonaTimeoutError extends DaytonaError {}

/** A command exited non-zero (when the caller asked to check) or ran past its timeout. */
export class ProcessExecutionError extends DaytonaError {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;

  constructor(message: string, exitCode: number, stdout: string, stderr: string, timedOut = false) {
    super(message);
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
    this.timedOut = timedOut;
  }
}

const BY_STATUS: Record<number, new (message: string, statusCode: number, body?: unknown) => DaytonaApiError> = {
  400: DaytonaBadRequestError,
  401: DaytonaAuthenticationError,
  403: DaytonaForbiddenError,
  404: DaytonaNotFoundError,
  409: DaytonaConflictError,
  422: DaytonaBadRequestError,
  429: DaytonaRateLimitError,
};

/** The error class for an HTTP status: one class per status, DaytonaServerError for any 5xx. */
export function errorForStatus(status: number, message: string, body?: unknown): DaytonaApiError {
  const cls = BY_STATUS[status] ?? (status >= 500 ? DaytonaServerError : DaytonaApiError);
  return new cls(message, status, body);
}
