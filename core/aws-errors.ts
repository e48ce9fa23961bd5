/**
 * The one classification of AWS errors (docs/ARCHITECTURE.md §12): every adapter, retry loop and CLI
 * message asks these functions, so "throttled", "retryable", "access denied" and "not found" mean the
 * same thing everywhere. Pure and SDK-free: it reads the fields SDK v3 exceptions carry (`name`,
 * `$metadata.httpStatusCode`, `$retryable`) and the wire codes (`Code`, `code`) older shapes use.
 */

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'LimitExceeded',
  'LimitExceededException',
  'ReportGenerationLimitExceeded',
  'ReportGenerationLimitExceededException',
]);

const TRANSIENT = new Set([
  'ServiceFailure',
  'ServiceFailureException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalServerError',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AccessDeniedForDependencyException',
  'UnauthorizedOperation',
  'AuthorizationError',
]);

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchEntity', 'NoSuchEntityException']);

/** Name of an error: the SDK v3 exception name, else a wire code, else `Error`. */
export function errorName(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const e = error as { name?: unknown; Code?: unknown; code?: unknown };
    for (const v of [e.name, e.Code, e.code])
      if (typeof v === 'string' && v !== '' && v !== 'Error') return v;
  }
  return 'Error';
}

/** The message of an error, or the value as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Names of the error and of every error in its `cause` chain, outermost first (at most 10). */
export function errorNames(error: unknown): string[] {
  const names: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    names.push(errorName(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return names;
}

/** The HTTP status the service answered, when the error carries one. */
export function httpStatusOf(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null | undefined)?.$metadata
    ?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The service asked the caller to slow down. */
export function isThrottling(error: unknown): boolean {
  const e = error as { $retryable?: { throttling?: boolean } } | null | undefined;
  return (
    THROTTLING.has(errorName(error)) || e?.$retryable?.throttling === true || httpStatusOf(error) === 429
  );
}

/** Throttling or a transient service/network fault that is worth retrying. */
export function isRetryable(error: unknown): boolean {
  if (isThrottling(error) || TRANSIENT.has(errorName(error))) return true;
  const e = error as { $retryable?: unknown } | null | undefined;
  const status = httpStatusOf(error);
  return e?.$retryable !== undefined || (status !== undefined && status >= 500);
}

/** The error, or one of its causes, is an AWS access-denied error. */
export function isAccessDenied(error: unknown): boolean {
  return errorNames(error).some((name) => ACCESS_DENIED.has(name));
}

/** The addressed object or entity does not exist (S3 NoSuchKey / 404, IAM NoSuchEntity). */
export function isNotFound(error: unknown): boolean {
  return NOT_FOUND.has(errorName(error)) || httpStatusOf(error) === 404;
}

/** A conditional write lost: the object changed (S3 `If-Match`/`If-None-Match`, HTTP 412). */
export function isPreconditionFailed(error: unknown): boolean {
  return errorName(error) === 'PreconditionFailed' || httpStatusOf(error) === 412;
}

/** Two conditional writes raced on the same key (S3 HTTP 409); retry the read-modify-write. */
export function isConditionalConflict(error: unknown): boolean {
  return errorName(error) === 'ConditionalRequestConflict' || httpStatusOf(error) === 409;
}
