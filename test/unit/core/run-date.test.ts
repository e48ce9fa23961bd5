import { newestRunDates, runDate, runDateOfPrefix } from '../../../core/run-date';

describe('run dates', () => {
  it('partitions runs by the UTC day', () => {
    expect(runDate(new Date('2026-11-21T23:59:59.999Z'))).toBe('2026-11-21');
    expect(runDate(new Date('2026-11-22T00:30:00+01:00'))).toBe('2026-11-21');
  });

  it('reads the date of a runs/ prefix and nothing else', () => {
    expect(runDateOfPrefix('runs/date=2026-01-02/')).toBe('2026-01-02');
    expect(runDateOfPrefix('runs/date=2026-01-02')).toBeUndefined();
    expect(runDateOfPrefix('runs/other/')).toBeUndefined();
  });

  it('keeps the newest dates, newest first', () => {
    expect(newestRunDates(['2025-12-30', '2026-01-01', '2025-12-31'], 2)).toEqual([
      '2026-01-01',
      '2025-12-31',
    ]);
    expect(newestRunDates([], 5)).toEqual([]);
  });
});
