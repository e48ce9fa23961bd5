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
