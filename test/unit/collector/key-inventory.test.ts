import { CREDENTIAL_REPORT_COLUMNS, type CredentialReportRow } from '../../../core/columns';
import { keysNeedingLastUsed, needsKeyListing } from '../../../collector/key-inventory';

function row(slot1: string, slot2: string): CredentialReportRow {
  const cells = Object.fromEntries(CREDENTIAL_REPORT_COLUMNS.map((c) => [c, 'N/A'])) as Record<
    string,
    string
  >;
  return {
    ...cells,
    access_key_1_last_rotated: slot1,
    access_key_2_last_rotated: slot2,
  } as CredentialReportRow;
}

describe('keysNeedingLastUsed', () => {
  it('needs no lookup when each key matches a report slot by creation second', () => {
    const keys = [{ createDate: '2023-01-01T00:00:00.000Z' }, { createDate: '2024-02-02T10:00:00.000Z' }];
    expect(keysNeedingLastUsed(keys, row('2023-01-01T00:00:00+00:00', '2024-02-02T10:00:00+00:00'))).toEqual([
      false,
      false,
    ]);
  });

  it('looks up a key created after the report was generated', () => {
    const keys = [{ createDate: '2023-01-01T00:00:00.000Z' }, { createDate: '2024-05-01T09:00:00.000Z' }];
    expect(keysNeedingLastUsed(keys, row('2023-01-01T00:00:00+00:00', 'N/A'))).toEqual([false, true]);
  });

  it('looks up every key when the user is not in the report', () => {
    expect(keysNeedingLastUsed([{ createDate: '2023-01-01T00:00:00.000Z' }], undefined)).toEqual([true]);
  });

  it('looks up both keys when they were created in the same second', () => {
    const keys = [{ createDate: '2023-01-01T00:00:00.100Z' }, { createDate: '2023-01-01T00:00:00.900Z' }];
    expect(keysNeedingLastUsed(keys, row('2023-01-01T00:00:00+00:00', '2023-01-01T00:00:00+00:00'))).toEqual([
      true,
      true,
    ]);
  });
});

describe('needsKeyListing', () => {
  it('lists a user when the report shows a key in slot 1 or slot 2', () => {
    expect(needsKeyListing(row('2023-01-01T00:00:00+00:00', 'N/A'))).toBe(true);
    expect(needsKeyListing(row('N/A', '2023-01-01T00:00:00+00:00'))).toBe(true);
  });

  it('skips a user when the report shows no key in either slot', () => {
    expect(needsKeyListing(row('N/A', 'N/A'))).toBe(false);
  });

  it('lists a user when the user is not in the report (created after it)', () => {
    expect(needsKeyListing(undefined)).toBe(true);
  });
});
