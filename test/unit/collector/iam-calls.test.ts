import { CallContext, CollectError } from '../../../collector/iam-calls';

const throttled = (): Error =>
  Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });

/** A CallContext over a fake clock that `sleep` advances. */
function context(opts: { budgetMs: number; maxAttempts?: number }) {
  let now = 0;
  const slept: number[] = [];
  const debug = jest.fn();
  const ctx = new CallContext({
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    clock: () => new Date(now),
    deadline: opts.budgetMs,
    budgetMs: opts.budgetMs,
    maxAttempts: opts.maxAttempts,
    baseDelayMs: 250,
    maxDelayMs: 8_000,
    logger: { debug } as never,
  });
  return { ctx, slept, debug };
}

describe('CallContext.call', () => {
  it('counts every attempt and retries throttling with bounded exponential backoff', async () => {
    const { ctx, slept, debug } = context({ budgetMs: 60_000 });
    let calls = 0;
    const result = await ctx.call('ListUsers', async () => {
      if (++calls < 4) throw throttled();
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(ctx.apiCalls).toEqual({ ListUsers: 4 });
    expect(slept).toEqual([250, 500, 1_000]);
    expect(debug).toHaveBeenCalledTimes(3);
    expect(debug).toHaveBeenLastCalledWith('Retrying throttled IAM call', {
      operation: 'ListUsers',
      attempt: 3,
      delayMs: 1_000,
    });
  });

  it('rethrows a non-retryable error at once', async () => {
    const { ctx, slept } = context({ budgetMs: 60_000 });
    const denied = Object.assign(new Error('no'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(ctx.call('ListUsers', () => Promise.reject(denied))).rejects.toBe(denied);
    expect(ctx.apiCalls).toEqual({ ListUsers: 1 });
    expect(slept).toEqual([]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const { ctx } = context({ budgetMs: 600_000, maxAttempts: 3 });
    await expect(ctx.call('ListUsers', () => Promise.reject(throttled()))).rejects.toThrow('Rate exceeded');
    expect(ctx.apiCalls).toEqual({ ListUsers: 3 });
  });

  it('throws the budget error, with the throttling as its cause, rather than wait past the deadline', async () => {
    const { ctx, slept } = context({ budgetMs: 1_000 });
    const error = (await ctx
      .call('ListUsers', () => Promise.reject(throttled()))
      .catch((e: unknown) => e)) as CollectError;
    expect(error).toBeInstanceOf(CollectError);
    expect(error.message).toBe('ListUsers: collection time budget of 1 s exhausted (last error: Throttling)');
    expect((error.cause as Error).name).toBe('Throttling');
    // 250 + 500 fit in the budget; the next wait (1,000 ms) would pass it.
    expect(slept).toEqual([250, 500]);
    expect(ctx.apiCalls).toEqual({ ListUsers: 3 });
  });

  it('does not start a call once the budget is spent', async () => {
    const { ctx } = context({ budgetMs: -1 });
    const send = jest.fn(() => Promise.resolve('ok'));
    await expect(ctx.call('ListUsers', send)).rejects.toThrow(
      'ListUsers: collection time budget of 0 s exhausted',
    );
    expect(send).not.toHaveBeenCalled();
    expect(ctx.apiCalls).toEqual({});
  });
});
