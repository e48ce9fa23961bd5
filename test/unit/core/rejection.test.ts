import { REJECTION_REASONS, RejectionRecordSchema } from '../../../core/rejection';

describe('RejectionRecordSchema', () => {
  const record = {
    schemaVersion: 1,
    accountId: '222222222222',
    reason: 'forged-account',
    detail: 'detail.accountId "333333333333" differs from the sending account 222222222222',
    at: '2026-11-21T06:00:00.000Z',
    claimedAccountId: '333333333333',
  };

  it('accepts every reason ingest records', () => {
    for (const reason of REJECTION_REASONS)
      expect(RejectionRecordSchema.parse({ ...record, reason })).toEqual({ ...record, reason });
  });

  it('refuses an unknown reason, another schema version or a missing time', () => {
    expect(RejectionRecordSchema.safeParse({ ...record, reason: 'bored' }).success).toBe(false);
    expect(RejectionRecordSchema.safeParse({ ...record, schemaVersion: 2 }).success).toBe(false);
    expect(RejectionRecordSchema.safeParse({ ...record, at: undefined }).success).toBe(false);
  });
});
