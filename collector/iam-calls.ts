/**
 * Every IAM call of a collection goes through `CallContext.call`: it counts the call per operation (for
 * CollectStats), retries throttling and transient faults with bounded exponential backoff on top of the
 * SDK's own (adaptive) retries, and never sleeps past the collection's time budget.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { backoffDelay } from '../core/concurrency';
import { CredreportError } from '../core/errors';

/** The collection failed as a whole (no report is produced). */
export class CollectError extends CredreportError {}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
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
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

/** Name (SDK v3 exception name, or wire code) of an error. */
export function errorName(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const e = error as { name?: unknown; Code?: unknown; code?: unknown };
    for (const v of [e.name, e.Code, e.code]) if (typeof v === 'string' && v !== 'Error') return v;
  }
  return 'Error';
}

/** Throttling or a transient service/network fault that is worth retrying. */
export function isRetryable(error: unknown): boolean {
  const name = errorName(error);
  if (THROTTLING.has(name) || TRANSIENT.has(name)) return true;
  const e = error as {
    $retryable?: { throttling?: boolean };
    $metadata?: { httpStatusCode?: number };
  } | null;
  const status = e?.$metadata?.httpStatusCode;
  return e?.$retryable !== undefined || status === 429 || (status !== undefined && status >= 500);
}

export interface CallOptions {
  readonly sleep: (ms: number) => Promise<void>;
  readonly clock: () => Date;
  /** Epoch ms after which no further call or wait starts. */
  readonly deadline: number;
  readonly budgetMs: number;
  readonly logger?: Logger;
  /** Attempts per call when throttled (besides the SDK's own retries). */
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
}

export class CallContext {
  readonly apiCalls: Record<string, number> = {};
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(readonly options: CallOptions) {
    this.maxAttempts = options.maxAttempts ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 8_000;
  }

  now(): number {
    return this.options.clock().getTime();
  }

  /** Throws CollectError if the budget is spent. */
  checkBudget(stage: string): void {
    if (this.now() > this.options.deadline) throw this.budgetError(stage);
  }

  /** `lastError`: what was being retried when the budget ran out (kept as the cause). */
  budgetError(stage: string, lastError?: unknown): CollectError {
    const budget = `${stage}: collection time budget of ${Math.round(this.options.budgetMs / 1000)} s exhausted`;
    return lastError === undefined
      ? new CollectError(budget)
      : new CollectError(`${budget} (last error: ${errorName(lastError)})`, { cause: lastError });
  }

  /** Sleeps `ms`, or throws CollectError when that would pass the deadline. */
  async wait(ms: number, stage: string, lastError?: unknown): Promise<void> {
    if (this.now() + ms > this.options.deadline) throw this.budgetError(stage, lastError);
    await this.options.sleep(ms);
  }

  /** Bounded exponential backoff for attempt `n` (0-based). */
  backoff(n: number): number {
    return backoffDelay(n, { baseMs: this.baseDelayMs, capMs: this.maxDelayMs });
  }

  /** Sends one IAM request (counted under `operation`), retrying throttling and transient faults. */
  async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      this.checkBudget(operation);
      this.apiCalls[operation] = (this.apiCalls[operation] ?? 0) + 1;
      try {
        return await send();
      } catch (error) {
        if (!isRetryable(error) || attempt + 1 >= this.maxAttempts) throw error;
        const delay = this.backoff(attempt);
        this.options.logger?.debug('Retrying throttled IAM call', {
          operation,
          attempt: attempt + 1,
          delayMs: delay,
        });
        await this.wait(delay, operation, error);
      }
    }
  }
}
