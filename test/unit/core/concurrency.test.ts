import { backoffDelay, mapLimit } from '../../../core/concurrency';

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
