import fc from 'fast-check';
import {
  MAX_START_WINDOW_MS,
  StartWindowError,
  startDelayMs,
  startOffsetMs,
} from '../../../core/start-window';

const WINDOW_MS = 4 * 60_000;
const BUCKETS = 60;
const accountIdArb = fc.stringMatching(/^\d{12}$/);

/** mulberry32: deterministic ids, so the distribution checks cannot flake. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pearson's chi-square of the offsets of `ids` over `BUCKETS` equal slices of the window. */
function chiSquare(ids: readonly string[]): { statistic: number; counts: number[] } {
  const counts = new Array<number>(BUCKETS).fill(0);
  for (const id of ids) {
    const bucket = Math.floor((startOffsetMs(id, WINDOW_MS) / WINDOW_MS) * BUCKETS);
    counts[bucket] = (counts[bucket] ?? 0) + 1;
  }
  const expected = ids.length / BUCKETS;
  const statistic = counts.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
  return { statistic, counts };
}
/** Chi-square with 59 degrees of freedom exceeds this with probability 0.001. */
const CHI_SQUARE_59_P001 = 98.32;

describe('startOffsetMs', () => {
  it('gives an account the same offset every time', () => {
    fc.assert(
      fc.property(accountIdArb, (id) => {
        expect(startOffsetMs(id, WINDOW_MS)).toBe(startOffsetMs(id, WINDOW_MS));
      }),
    );
    expect(startOffsetMs('123456789012', WINDOW_MS)).toBe(startOffsetMs('123456789012', WINDOW_MS));
  });

  it('stays a whole number of milliseconds inside the window for any account and window', () => {
    fc.assert(
      fc.property(accountIdArb, fc.integer({ min: 1, max: MAX_START_WINDOW_MS }), (id, windowMs) => {
        const offset = startOffsetMs(id, windowMs);
        expect(Number.isInteger(offset)).toBe(true);
        expect(offset).toBeGreaterThanOrEqual(0);
        expect(offset).toBeLessThan(windowMs);
      }),
    );
  });

  it('is 0 for every account when the window is 0 (spreading turned off)', () => {
    fc.assert(fc.property(accountIdArb, (id) => expect(startOffsetMs(id, 0)).toBe(0)));
  });

  it('spreads 10,000 random account ids near-uniformly over 60 slices of the window', () => {
    const rand = prng(11);
    const ids = Array.from({ length: 10_000 }, () => String(Math.floor(rand() * 1e12)).padStart(12, '0'));
    const { statistic, counts } = chiSquare(ids);
    expect(statistic).toBeLessThan(CHI_SQUARE_59_P001);
    // No slice holds even twice its share (166.7): nothing arrives "at once".
    expect(Math.max(...counts)).toBeLessThan(250);
    expect(Math.min(...counts)).toBeGreaterThan(100);
  });

  it('spreads consecutive account ids as evenly as random ones', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => String(200_000_000_000 + i * 7));
    expect(chiSquare(ids).statistic).toBeLessThan(CHI_SQUARE_59_P001);
  });

  it('refuses a window that is negative, fractional or longer than 15 minutes', () => {
    for (const bad of [-1, 1.5, MAX_START_WINDOW_MS + 1, Number.NaN]) {
      expect(() => startOffsetMs('123456789012', bad)).toThrow(StartWindowError);
    }
    expect(() => startOffsetMs('123456789012', -1)).toThrow(/from 0 to 900000 \(got -1\)/);
  });
});

describe('startDelayMs', () => {
  const ID = '123456789012';
  const offset = startOffsetMs(ID, WINDOW_MS);
  const SCHEDULED = '2026-11-21T06:00:00Z';
  const at = (ms: number) => new Date(Date.parse(SCHEDULED) + ms);

  it('waits until the scheduled time plus the account offset', () => {
    expect(offset).toBeGreaterThan(1_000);
    expect(startDelayMs(ID, WINDOW_MS, SCHEDULED, at(0))).toBe(offset);
    expect(startDelayMs(ID, WINDOW_MS, SCHEDULED, at(700))).toBe(offset - 700);
  });

  it('does not wait when the run starts after its slot (a late or retried invocation)', () => {
    expect(startDelayMs(ID, WINDOW_MS, SCHEDULED, at(offset))).toBe(0);
    expect(startDelayMs(ID, WINDOW_MS, SCHEDULED, at(3_600_000))).toBe(0);
  });

  it('never waits longer than the offset, even for a schedule time in the future', () => {
    expect(startDelayMs(ID, WINDOW_MS, SCHEDULED, at(-3_600_000))).toBe(offset);
  });

  it('waits the offset from now when the event carries no usable time', () => {
    expect(startDelayMs(ID, WINDOW_MS, undefined, at(5_000))).toBe(offset);
    expect(startDelayMs(ID, WINDOW_MS, 'yesterday', at(5_000))).toBe(offset);
  });

  it('never waits when the window is 0', () => {
    expect(startDelayMs(ID, 0, SCHEDULED, at(0))).toBe(0);
  });
});
