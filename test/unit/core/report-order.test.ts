import { isNewerReport, reportTimesOfJson } from '../../../core/report-order';

describe('isNewerReport', () => {
  const at = (generatedTime: string, collectedTime?: string) => ({
    generatedTime,
    ...(collectedTime ? { collectedTime } : {}),
  });

  it('orders by generatedTime first, whatever the collected times', () => {
    expect(
      isNewerReport(
        at('2026-11-21T02:00:00Z', '2026-11-21T02:00:01Z'),
        at('2026-11-21T01:00:00Z', '2026-11-21T05:00:00Z'),
      ),
    ).toBe(true);
    expect(
      isNewerReport(at('2026-11-21T01:00:00Z', '2026-11-21T05:00:00Z'), at('2026-11-21T02:00:00Z')),
    ).toBe(false);
  });

  it('takes a later collection of the same IAM report as newer, and an equal one as not newer', () => {
    const stored = at('2026-11-21T01:00:00Z', '2026-11-21T01:00:05Z');
    expect(isNewerReport(at('2026-11-21T01:00:00.000Z', '2026-11-21T03:00:00Z'), stored)).toBe(true);
    expect(isNewerReport(at('2026-11-21T01:00:00Z', '2026-11-21T01:00:05Z'), stored)).toBe(false);
    expect(isNewerReport(at('2026-11-21T01:00:00Z', '2026-11-21T01:00:04Z'), stored)).toBe(false);
    // Stored without a collected time (older metadata): the same report is not newer.
    expect(
      isNewerReport(at('2026-11-21T01:00:00Z', '2026-11-21T03:00:00Z'), at('2026-11-21T01:00:00Z')),
    ).toBe(false);
  });

  it('never lets a stored time that does not parse block a valid report', () => {
    expect(isNewerReport(at('2026-11-21T01:00:00Z'), at('garbage'))).toBe(true);
  });
});

describe('reportTimesOfJson', () => {
  it('reads the times of a stored report', () => {
    expect(
      reportTimesOfJson('{"generatedTime":"2026-11-21T01:00:00Z","collectedTime":"2026-11-21T01:00:05Z"}'),
    ).toEqual({ generatedTime: '2026-11-21T01:00:00Z', collectedTime: '2026-11-21T01:00:05Z' });
    expect(reportTimesOfJson('{"generatedTime":"2026-11-21T01:00:00Z","collectedTime":5}')).toEqual({
      generatedTime: '2026-11-21T01:00:00Z',
    });
  });

  it('reads nothing from a body that is not a report', () => {
    for (const text of ['', 'null', '[]', '{"generatedTime":1}', '{"schemaVersion":1'])
      expect(reportTimesOfJson(text)).toBeUndefined();
  });
});
