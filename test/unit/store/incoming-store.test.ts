import 'aws-sdk-client-mock-jest';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { reportIdFor } from '../../../core/event-contract';
import { IncomingStore, IncomingStoreOptions } from '../../../store/incoming-store';
import { StoreError } from '../../../store/s3';
import { s3Error } from '../aggregator/support/memory-s3';
import { accountReport, partsOf } from '../aggregator/support/reports';
import { NOW, SHA_1, SHA_2, client, ids, storeOptions, useMemoryBucket } from './support';

const { s3Mock, memory } = useMemoryBucket();
const store = (opts: Partial<IncomingStoreOptions> = {}): IncomingStore =>
  new IncomingStore(client(), { ...storeOptions, ...opts });

describe('IncomingStore', () => {
  it('lists only part sets that are incomplete, one entry per collection', async () => {
    const [a, b] = ids(2) as [string, string];
    const ra = reportIdFor(a, '2026-11-21T01:00:00Z');
    const rb = reportIdFor(b, '2026-11-21T01:00:00Z');
    const part = (account: string, reportId: string, sha: string, n: number, of: number): string =>
      `${store().partsPrefix(account, reportId, sha)}part-${n}-of-${of}`;
    memory().putRaw(part(a, ra, SHA_1, 1, 2), '{}');
    memory().putRaw(part(a, ra, SHA_1, 2, 2), '{}');
    // Another collection of a's report (or a resend with another part count) that never completed does
    // not make the report incomplete: a complete collection of it was assembled.
    memory().putRaw(part(a, ra, SHA_2, 1, 2), '{}');
    memory().putRaw(part(a, ra, SHA_1, 1, 3), '{}');
    // b: two collections, neither complete → one entry each.
    memory().putRaw(part(b, rb, SHA_1, 2, 3), '{}');
    memory().putRaw(part(b, rb, SHA_2, 1, 3), '{}');
    memory().putRaw(part(b, rb, SHA_2, 3, 3), '{}');
    const sets = await store().listIncompletePartSets();
    expect(sets.sort((x, y) => x.received - y.received)).toEqual([
      { accountId: b, reportId: rb, parts: 3, received: 1, lastModified: expect.any(Date) },
      { accountId: b, reportId: rb, parts: 3, received: 2, lastModified: expect.any(Date) },
    ]);
  });

  it('stores a part once: a duplicate delivery changes nothing', async () => {
    const [first, second] = partsOf(accountReport(ids(1)[0] as string, NOW));
    if (!first || !second) throw new Error('expected two parts');
    expect(await store().putPart(second)).toBe('stored');
    expect(await store().putPart(first)).toBe('stored');
    expect(await store().putPart(first)).toBe('duplicate');
    const refs = await store().listParts(first.accountId, first.reportId, first.sha256);
    expect(refs.map((r) => r.part)).toEqual([1, 2]);
    expect(await store().readParts(refs)).toEqual([first, second]);
  });

  it('retries a part whose write races another, and gives up with a retryable error', async () => {
    const [part] = partsOf(accountReport(ids(1)[0] as string, NOW));
    if (!part) throw new Error('expected a part');
    let conflicts = 1;
    memory().hooks.push((op) => {
      if (op === 'PutObject' && conflicts-- > 0) throw s3Error('ConditionalRequestConflict', 409);
    });
    expect(await store().putPart(part)).toBe('stored');
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 2);

    memory().hooks.push((op) => {
      if (op === 'PutObject') throw s3Error('ConditionalRequestConflict', 409);
    });
    const error = await store({ maxConditionalAttempts: 3 })
      .putPart(part)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toMatch(/Gave up storing part 1\/\d+ of .* after 3 conflicting writes/);
  });

  it('fails at once on a write error that is not a race', async () => {
    const [part] = partsOf(accountReport(ids(1)[0] as string, NOW));
    if (!part) throw new Error('expected a part');
    memory().hooks.push((op) => {
      if (op === 'PutObject') throw s3Error('InternalError', 500);
    });
    await expect(store().putPart(part)).rejects.toThrow(/Could not store part 1\//);
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  });
});
