/**
 * Runs `fn` over `items` with at most `limit` calls in flight and returns the results in input order.
 * A rejected call rejects the whole run only if `fn` lets it; callers that must not lose the other
 * items catch inside `fn` and return a result value instead.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`mapLimit: limit must be a positive integer, got ${limit}`);
  }
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Delay before retry `attempt` (0-based): `baseMs * 2^attempt`, capped at `capMs`. With `random`, "full
 * jitter" — a uniform share of that — which spreads retries of many callers hitting the same throttle.
 */
export function backoffDelay(
  attempt: number,
  opts: { readonly baseMs: number; readonly capMs: number; readonly random?: () => number },
): number {
  const ceiling = Math.min(opts.capMs, opts.baseMs * 2 ** attempt);
  return opts.random ? Math.round(opts.random() * ceiling) : ceiling;
}

/** How {@link retry} retries. */
export interface RetryOptions {
  /** Total attempts, the first included (≥ 1). */
  readonly attempts: number;
  readonly baseMs: number;
  readonly capMs: number;
  /** Whether a failure is worth another attempt; a `false` rethrows it at once. */
  readonly retryIf: (error: unknown, attempt: number) => boolean;
  /** Full jitter when given (see {@link backoffDelay}). */
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Called before each wait; may throw (for example when the wait would pass a time budget), which ends
   * the retries with that error.
   */
  readonly beforeWait?: (info: {
    readonly attempt: number;
    readonly delayMs: number;
    readonly error: unknown;
  }) => void | Promise<void>;
}

/**
 * The one retry loop (docs/ARCHITECTURE.md §12): runs `fn(attempt)` until it resolves, `retryIf` says
 * no, or `attempts` are spent; waits `backoffDelay(attempt)` between attempts. Rethrows the last error.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  if (!Number.isInteger(opts.attempts) || opts.attempts < 1) {
    throw new RangeError(`retry: attempts must be a positive integer, got ${opts.attempts}`);
  }
  const wait = opts.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt + 1 >= opts.attempts || !opts.retryIf(error, attempt)) throw error;
      const delayMs = backoffDelay(attempt, opts);
      await opts.beforeWait?.({ attempt, delayMs, error });
      await wait(delayMs);
    }
  }
}
