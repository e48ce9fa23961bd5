/**
 * Every IAM call of a collection goes through `CallContext.call`: it counts the call per operation (for
 * CollectStats), retries throttling and transient faults with bounded exponential backoff on top of the
 * SDK's own (adaptive) retries, and never sleeps past the collection's time budget.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { errorName, isRetryable } from '../core/aws-errors';
import { backoffDelay, retry } from '../core/concurrency';
import { CredreportError } from '../core/errors';

/** The collection failed as a whole (no report is produced). */
export class CollectError extends CredreportError {}

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

  /**
   * Sends one IAM request (counted under `operation`), retrying throttling and transient faults with the
   * shared `retry` (docs/ARCHITECTURE.md §12); a wait that would pass the deadline ends the retries with
   * the budget error, keeping the fault being retried as its cause.
   */
  async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    return retry(
      () => {
        this.checkBudget(operation);
        this.apiCalls[operation] = (this.apiCalls[operation] ?? 0) + 1;
        return send();
      },
      {
        attempts: this.maxAttempts,
        baseMs: this.baseDelayMs,
        capMs: this.maxDelayMs,
        // The budget error is final, whatever it wraps.
        retryIf: (error) => !(error instanceof CollectError) && isRetryable(error),
        sleep: this.options.sleep,
        beforeWait: ({ attempt, delayMs, error }) => {
          this.options.logger?.debug('Retrying throttled IAM call', {
            operation,
            attempt: attempt + 1,
            delayMs,
          });
          if (this.now() + delayMs > this.options.deadline) throw this.budgetError(operation, error);
        },
      },
    );
  }
}
