import 'aws-sdk-client-mock-jest';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { reportIdFor } from '../../../core/event-contract';
import { S3_LAYOUT } from '../../../core/names';
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
    expect(sets).toEqual([
      {
        accountId: b,
        count: 2,
        // Newest first: SHA_2's parts were written last.
        newest: [
          { accountId: b, reportId: rb, parts: 3, received: 2, lastModified: expect.any(Date) },
          { accountId: b, reportId: rb, parts: 3, received: 1, lastModified: expect.any(Date) },
        ],
      },
    ]);
  });

  it('lists incoming/ page by page, grouping a report whose parts straddle a page boundary', async () => {
    const [a, b] = ids(2) as [string, string];
    const ra = reportIdFor(a, '2026-11-21T01:00:00Z');
    const rb = reportIdFor(b, '2026-11-21T01:00:00Z');
    // 998 complete one-part reports of a, then a 4-part report of a (keys 999–1002 of the listing: the
    // first page of 1,000 ends inside it) with 3 parts, then b's complete report.
    for (let i = 0; i < 998; i++) {
      const r = reportIdFor(a, new Date(Date.UTC(2026, 10, 19) + i * 60_000).toISOString());
      memory().putRaw(S3_LAYOUT.incomingPart(a, r, SHA_1, 1, 1), '{}');
    }
    for (const n of [1, 2, 4]) memory().putRaw(S3_LAYOUT.incomingPart(a, ra, SHA_1, n, 4), '{}');
    memory().putRaw(S3_LAYOUT.incomingPart(a, ra, SHA_2, 1, 1), '{}');
    memory().putRaw(S3_LAYOUT.incomingPart(b, rb, SHA_1, 1, 2), '{}');
    memory().putRaw(S3_LAYOUT.incomingPart(b, rb, SHA_1, 2, 2), '{}');
    expect(
      memory()
        .keys('incoming/')
        .indexOf(S3_LAYOUT.incomingPart(a, ra, SHA_1, 2, 4)),
    ).toBe(999);

    // a's report has a complete collection (SHA_2, on the second page): nothing is incomplete.
    expect(await store().listIncompletePartSets()).toEqual([]);
    expect(s3Mock).toHaveReceivedCommandTimes(ListObjectsV2Command, 2);

    memory().objects.delete(S3_LAYOUT.incomingPart(a, ra, SHA_2, 1, 1));
    expect(await store().listIncompletePartSets()).toEqual([
      {
        accountId: a,
        count: 1,
        newest: [{ accountId: a, reportId: ra, parts: 4, received: 3, lastModified: expect.any(Date) }],
      },
    ]);
  });

  it('lists a collection with the size of each part', async () => {
    const [first] = partsOf(accountReport(ids(1)[0] as string, NOW));
    if (!first) throw new Error('expected a part');
    await store().putPart(first);
    const [ref] = await store().listParts(first.accountId, first.reportId, first.sha256);
    expect(ref?.size).toBe(Buffer.byteLength(JSON.stringify(first)));
  });

  it('refuses to weigh a collection from a listing without sizes', async () => {
    const [first] = partsOf(accountReport(ids(1)[0] as string, NOW));
    if (!first) throw new Error('expected a part');
    s3Mock.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: S3_LAYOUT.incomingPart(first.accountId, first.reportId, first.sha256, 1, 2) }],
    });
    await expect(store().listParts(first.accountId, first.reportId, first.sha256)).rejects.toThrow(
      /gave objects without a size/,
    );
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
