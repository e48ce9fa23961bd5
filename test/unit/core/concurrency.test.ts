import { backoffDelay, mapLimit, retry } from '../../../core/concurrency';

describe('backoffDelay', () => {
  it('doubles from the base on each attempt until it reaches the cap', () => {
    const delays = [0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, { baseMs: 100, capMs: 1_000 }));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('takes a uniform share of the capped delay when given a random source (full jitter)', () => {
    expect(backoffDelay(3, { baseMs: 100, capMs: 1_000, random: () => 0.5 })).toBe(400);
    expect(backoffDelay(10, { baseMs: 100, capMs: 1_000, random: () => 0.25 })).toBe(250);
    expect(backoffDelay(2, { baseMs: 100, capMs: 1_000, random: () => 0 })).toBe(0);
  });
});

describe('mapLimit', () => {
  it('keeps input order and never runs more than the limit at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, n));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });

  it('rejects a limit that is not a positive integer', async () => {
    await expect(mapLimit([1], 0, async (n) => n)).rejects.toThrow(/limit must be a positive integer/);
  });
});

describe('retry', () => {
  const noSleep = async (): Promise<void> => undefined;

  it('retries a retryable failure with growing delays, then succeeds', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await retry(
      async () => {
        calls++;
        if (calls < 3) throw new Error('transient');
        return 'ok';
      },
      {
        attempts: 5,
        baseMs: 100,
        capMs: 1_000,
        retryIf: () => true,
        sleep: noSleep,
        beforeWait: ({ delayMs }) => void waits.push(delayMs),
      },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(waits).toEqual([100, 200]);
  });

  it('rethrows at once when retryIf says no, and after the last attempt otherwise', async () => {
    let calls = 0;
    const final = new Error('final');
    await expect(
      retry(
        async () => {
          calls++;
          throw final;
        },
        { attempts: 5, baseMs: 1, capMs: 1, retryIf: () => false, sleep: noSleep },
      ),
    ).rejects.toBe(final);
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw final;
        },
        { attempts: 3, baseMs: 1, capMs: 1, retryIf: () => true, sleep: noSleep },
      ),
    ).rejects.toBe(final);
    expect(calls).toBe(3);
  });

  it('ends the retries with the error beforeWait throws', async () => {
    const budget = new Error('over budget');
    await expect(
      retry(
        async () => {
          throw new Error('slow');
        },
        {
          attempts: 5,
          baseMs: 1,
          capMs: 1,
          retryIf: () => true,
          sleep: noSleep,
          beforeWait: () => {
            throw budget;
          },
        },
      ),
    ).rejects.toBe(budget);
  });
});
