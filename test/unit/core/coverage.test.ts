import { coverageVerdict, isStale, reportCoverageStatus, reportStatusCell } from '../../../core/coverage';

const NOW = new Date('2026-11-21T06:00:00Z');
const hoursAgo = (h: number): string => new Date(NOW.getTime() - h * 3_600_000).toISOString();

describe('isStale', () => {
  it('keeps a report exactly staleHours old fresh and one a millisecond older stale', () => {
    expect(isStale({ generatedTime: hoursAgo(26) }, NOW, 26)).toBe(false);
    expect(
      isStale({ generatedTime: new Date(NOW.getTime() - 26 * 3_600_000 - 1).toISOString() }, NOW, 26),
    ).toBe(true);
    expect(isStale({ generatedTime: hoursAgo(1) }, NOW, 26)).toBe(false);
  });

  it('treats a report from the future as fresh and an unparsable time as stale', () => {
    expect(isStale({ generatedTime: hoursAgo(-2) }, NOW, 26)).toBe(false);
    expect(isStale({ generatedTime: 'yesterday' }, NOW, 26)).toBe(true);
    expect(isStale({ generatedTime: '' }, NOW, 26)).toBe(true);
  });
});

describe('reportStatusCell', () => {
  it('says current exactly when the coverage status is reporting, at the same staleHours edge', () => {
    expect(reportStatusCell(hoursAgo(26), NOW, 26)).toBe('current');
    expect(reportCoverageStatus(hoursAgo(26), NOW, 26)).toBe('reporting');
    const older = new Date(NOW.getTime() - 26 * 3_600_000 - 1).toISOString();
    expect(reportCoverageStatus(older, NOW, 26)).toBe('stale');
    expect(reportStatusCell(older, NOW, 26)).toBe('stale (26 hours)');
  });

  it('gives a stale report its age in hours below two days and in whole days from then on', () => {
    expect(reportStatusCell(hoursAgo(47), NOW, 26)).toBe('stale (47 hours)');
    expect(reportStatusCell(hoursAgo(48), NOW, 26)).toBe('stale (2 days)');
    expect(reportStatusCell(hoursAgo(24 * 9 + 23), NOW, 26)).toBe('stale (9 days)');
    expect(reportStatusCell(hoursAgo(2), NOW, 1)).toBe('stale (2 hours)');
  });

  it('says stale without an age when the report time does not parse', () => {
    expect(reportStatusCell('yesterday', NOW, 26)).toBe('stale');
  });
});

describe('coverageVerdict', () => {
  const base = { expected: 3, reporting: 3, stale: 0, unexpected: 0, entries: [] };

  it('is complete with nothing missing and no unattributed problem', () => {
    expect(coverageVerdict(base)).toEqual({
      complete: true,
      expected: 3,
      reporting: 3,
      missing: 0,
      stale: 0,
      unexpected: 0,
      unattributed: 0,
    });
  });

  it('counts every account with an entry as missing: never reported, stale, rejected, incomplete', () => {
    const verdict = coverageVerdict({
      expected: 5,
      reporting: 2,
      stale: 1,
      entries: [
        { accountId: '1' }, // never reported
        { accountId: '2' }, // stale
        { accountId: '3' }, // rejected, no report
        { accountId: '4' }, // reporting, but a newer attempt was incomplete
      ],
    });
    expect(verdict).toMatchObject({ complete: false, missing: 4, stale: 1, reporting: 2, unexpected: 0 });
  });

  it('counts an account once however many entries name it', () => {
    expect(coverageVerdict({ ...base, entries: [{ accountId: '1' }, { accountId: '1' }] }).missing).toBe(1);
  });

  it('is incomplete when a problem names no account, even with every account reporting', () => {
    expect(coverageVerdict({ ...base, unattributed: 1 })).toMatchObject({
      complete: false,
      missing: 0,
      unattributed: 1,
    });
  });

  it('gives the same verdict when re-derived from its own output (summary.json coverage)', () => {
    const first = coverageVerdict({ ...base, stale: 1, entries: [{ accountId: '9' }], unattributed: 2 });
    expect(coverageVerdict({ ...first, entries: [{ accountId: '9' }] })).toEqual(first);
  });
});
