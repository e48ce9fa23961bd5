import fc from 'fast-check';
import {
  formatReportTime,
  InvalidTimeError,
  isReportTimestamp,
  parseReportTime,
  parseReportTimeMs,
  reportTimeCell,
  wholeDaysBetween,
  wholeDaysBetweenMs,
} from '../../../core/time';

const DAY = 86_400_000;

/** Formats an instant the way IAM writes it, at the given offset in minutes. */
function iamFormat(ms: number, offsetMinutes = 0): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${sign}${hh}:${mm}`;
}

describe('parseReportTime', () => {
  it('returns the instant when given a timestamp as IAM writes it', () => {
    expect(parseReportTime('2024-01-15T10:20:30+00:00')).toEqual(new Date(Date.UTC(2024, 0, 15, 10, 20, 30)));
  });

  it('applies the offset when the timestamp is not in UTC', () => {
    expect(parseReportTime('2024-01-15T12:20:30+02:00')?.toISOString()).toBe('2024-01-15T10:20:30.000Z');
    expect(parseReportTime('2024-01-15T05:20:30-05:00')?.toISOString()).toBe('2024-01-15T10:20:30.000Z');
    expect(parseReportTime('2024-01-15T10:50:30+00:30')?.toISOString()).toBe('2024-01-15T10:20:30.000Z');
  });

  it('accepts Z and fractional seconds', () => {
    expect(parseReportTime('2024-01-15T10:20:30Z')?.toISOString()).toBe('2024-01-15T10:20:30.000Z');
    expect(parseReportTime('2024-01-15T10:20:30.250+00:00')?.toISOString()).toBe('2024-01-15T10:20:30.250Z');
    expect(parseReportTime('2024-01-15T10:20:30.123456Z')?.getTime()).toBe(
      Date.UTC(2024, 0, 15, 10, 20, 30, 123),
    );
  });

  it('accepts 29 February when the year is a leap year', () => {
    expect(parseReportTime('2024-02-29T00:00:00+00:00')?.toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(parseReportTime('2000-02-29T00:00:00+00:00')?.toISOString()).toBe('2000-02-29T00:00:00.000Z');
  });

  it.each(['N/A', 'no_information', 'not_supported', ''])('returns undefined when given %j', (cell) => {
    expect(parseReportTime(cell)).toBeUndefined();
    expect(parseReportTimeMs(cell)).toBeUndefined();
  });

  it.each([
    '2024-02-30T00:00:00+00:00',
    '2023-02-29T00:00:00+00:00',
    '1900-02-29T00:00:00+00:00',
    '2024-04-31T00:00:00+00:00',
    '2024-13-01T00:00:00+00:00',
    '2024-00-10T00:00:00+00:00',
    '2024-01-15T24:00:00+00:00',
    '2024-01-15T10:60:00+00:00',
    '2024-01-15T10:20:60+00:00',
    '2024-01-15T10:20:30+24:00',
    '2024-01-15T10:20:30+0000',
    '2024-01-15T10:20:30',
    '2024-01-15 10:20:30+00:00',
    '2024-01-15',
    '15/01/2024',
    'n/a',
    'NaN',
    ' 2024-01-15T10:20:30+00:00',
    '2024-01-15T10:20:30+00:00\n',
    '2024-01-1xT10:20:30+00:00',
  ])('throws InvalidTimeError when given %j', (cell) => {
    expect(() => parseReportTime(cell)).toThrow(InvalidTimeError);
    expect(isReportTimestamp(cell)).toBe(false);
  });

  it('does not quote the cell when it throws', () => {
    expect(() => parseReportTime('secret-ish text')).toThrow(/^Not an ISO 8601 timestamp \(15 characters\)$/);
  });

  it('round-trips every instant when it is formatted as IAM does, at any offset', () => {
    const instant = fc
      .integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2200, 0, 1) })
      .map((ms) => ms - (ms % 1000));
    const offset = fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 });
    fc.assert(
      fc.property(instant, offset, (ms, off) => {
        const cell = iamFormat(ms, off);
        return (
          parseReportTimeMs(cell) === ms && parseReportTime(cell)?.getTime() === ms && isReportTimestamp(cell)
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with Date.parse whenever it accepts a near-timestamp string', () => {
    // Strings shaped like IAM timestamps with random characters swapped in: exercises both code paths.
    const base = '2024-02-29T23:59:59+00:00';
    const mutated = fc
      .array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.constantFrom(...'0123456789-+:TZ. 3'.split(''))), {
        maxLength: 3,
      })
      .map((edits) => {
        const chars = base.split('');
        for (const [i, ch] of edits) chars[i] = ch;
        return chars.join('');
      });
    fc.assert(
      fc.property(mutated, (cell) => {
        let ms: number | undefined;
        try {
          ms = parseReportTimeMs(cell);
        } catch (err) {
          return err instanceof InvalidTimeError && !isReportTimestamp(cell);
        }
        return ms === Date.parse(cell) && isReportTimestamp(cell);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('wholeDaysBetween', () => {
  const t0 = new Date('2024-01-01T00:00:00Z');
  const at = (ms: number): Date => new Date(t0.getTime() + ms);

  it('rounds down when the interval is not a whole number of days', () => {
    expect(wholeDaysBetween(t0, at(DAY - 1))).toBe(0);
    expect(wholeDaysBetween(t0, at(DAY))).toBe(1);
    expect(wholeDaysBetween(t0, at(2 * DAY - 1))).toBe(1);
    expect(wholeDaysBetween(t0, at(90 * DAY + 3_600_000))).toBe(90);
  });

  it('returns 0 when the dates are equal or in the wrong order', () => {
    expect(wholeDaysBetween(t0, t0)).toBe(0);
    expect(wholeDaysBetween(at(5 * DAY), t0)).toBe(0);
  });

  it('returns 0 when a date is invalid', () => {
    expect(wholeDaysBetweenMs(Number.NaN, t0.getTime())).toBe(0);
  });

  it('is never negative and counts whole days for any pair of instants', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 10_000 }),
        fc.nat({ max: DAY - 1 }),
        fc.integer({ min: -1e12, max: 1e12 }),
        (d, r, s) => {
          const from = new Date(Date.UTC(2020, 0, 1) + s);
          return (
            wholeDaysBetween(from, new Date(from.getTime() + d * DAY + r)) === d &&
            wholeDaysBetween(new Date(from.getTime() + d * DAY + r + 1), from) === 0
          );
        },
      ),
    );
  });
});

describe('reportTimeCell', () => {
  it("writes an SDK time with milliseconds in the credential report's form, to the second", () => {
    expect(reportTimeCell('2026-12-01T06:00:00.789Z')).toBe('2026-12-01T06:00:00+00:00');
    expect(formatReportTime(Date.UTC(2026, 11, 1, 6, 0, 0, 789))).toBe('2026-12-01T06:00:00+00:00');
  });

  it('keeps a time already in that form as it is and converts another offset to UTC', () => {
    expect(reportTimeCell('2024-01-15T10:20:30+00:00')).toBe('2024-01-15T10:20:30+00:00');
    expect(reportTimeCell('2024-01-15T12:20:30+02:00')).toBe('2024-01-15T10:20:30+00:00');
  });

  it("gives undefined for AWS's tokens, empty cells and text that is no time, for the caller to fill", () => {
    for (const cell of ['N/A', 'no_information', 'not_supported', '', 'yesterday', '2024-02-30T00:00:00Z']) {
      expect(reportTimeCell(cell)).toBeUndefined();
    }
    expect(reportTimeCell(undefined)).toBeUndefined();
  });

  it('writes the same instant back whatever form it came in', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2999, 11, 31) }), (ms) => {
        const iso = new Date(ms).toISOString();
        const cell = reportTimeCell(iso) as string;
        expect(cell).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
        expect(parseReportTimeMs(cell)).toBe(Math.floor(ms / 1000) * 1000);
        expect(reportTimeCell(cell)).toBe(cell);
      }),
    );
  });
});
