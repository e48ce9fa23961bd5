import {
  errorName,
  errorNames,
  isAccessDenied,
  isConditionalConflict,
  isNotFound,
  isPreconditionFailed,
  isRetryable,
  isThrottling,
} from '../../../core/aws-errors';

const sdkError = (name: string, status?: number, extra: object = {}): Error =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status }, ...extra });

describe('aws-errors', () => {
  it('names an SDK exception, a wire code, or falls back to Error', () => {
    expect(errorName(sdkError('NoSuchKey'))).toBe('NoSuchKey');
    expect(errorName({ Code: 'Throttling' })).toBe('Throttling');
    expect(errorName({ code: 'ECONNRESET' })).toBe('ECONNRESET');
    expect(errorName(new Error('plain'))).toBe('Error');
    expect(errorName(undefined)).toBe('Error');
  });

  it('lists the names of the cause chain, outermost first', () => {
    const inner = sdkError('AccessDenied', 403);
    const outer = Object.assign(new Error('wrapped', { cause: inner }), { name: 'OrgMetadataError' });
    expect(errorNames(outer)).toEqual(['OrgMetadataError', 'AccessDenied']);
    expect(isAccessDenied(outer)).toBe(true);
    expect(isAccessDenied(sdkError('NoSuchKey', 404))).toBe(false);
  });

  it('tells throttling from other retryable faults and from final ones', () => {
    expect(isThrottling(sdkError('TooManyRequestsException', 400))).toBe(true);
    expect(isThrottling(sdkError('Whatever', 429))).toBe(true);
    expect(isThrottling(sdkError('ServiceUnavailable', 503))).toBe(false);
    expect(isRetryable(sdkError('ServiceUnavailable', 503))).toBe(true);
    expect(isRetryable(sdkError('Unknown', 500))).toBe(true);
    expect(isRetryable(sdkError('ValidationError', 400))).toBe(false);
    expect(isRetryable(sdkError('AccessDenied', 403))).toBe(false);
  });

  it('recognises not-found and the two conditional-write outcomes', () => {
    expect(isNotFound(sdkError('NoSuchKey', 404))).toBe(true);
    expect(isNotFound(sdkError('Unknown', 404))).toBe(true);
    expect(isNotFound(sdkError('NoSuchEntity', 404))).toBe(true);
    expect(isNotFound(sdkError('AccessDenied', 403))).toBe(false);
    expect(isPreconditionFailed(sdkError('PreconditionFailed', 412))).toBe(true);
    expect(isPreconditionFailed(sdkError('ConditionalRequestConflict', 409))).toBe(false);
    expect(isConditionalConflict(sdkError('ConditionalRequestConflict', 409))).toBe(true);
  });
});
