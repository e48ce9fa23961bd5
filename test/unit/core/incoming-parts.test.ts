import {
  AccountIncompleteSets,
  INCOMPLETE_SETS_KEPT_PER_ACCOUNT,
  IncompletePartSetGrouper,
  ListedKey,
  ListingOrderError,
  incomingPartsPrefix,
  partRefsOf,
  openPartSetIds,
} from '../../../core/incoming-parts';
import { S3_LAYOUT } from '../../../core/names';

const A = '111111111111';
const SHA_1 = '1'.repeat(64);
const SHA_2 = '2'.repeat(64);
const key = (reportId: string, sha: string, n: number, of: number): string =>
  S3_LAYOUT.incomingPart(A, reportId, sha, n, of);

describe('incomingPartsPrefix', () => {
  it('is the prefix of every part key of that collection', () => {
    expect(key('r1', SHA_1, 2, 3).startsWith(incomingPartsPrefix(A, 'r1', SHA_1))).toBe(true);
    expect(key('r1', SHA_2, 2, 3).startsWith(incomingPartsPrefix(A, 'r1', SHA_1))).toBe(false);
  });
});

describe('partRefsOf', () => {
  it('keeps the part keys with their sizes, sorted by part count then part number', () => {
    const refs = partRefsOf([
      { key: key('r1', SHA_1, 2, 2), size: 20 },
      { key: `${incomingPartsPrefix(A, 'r1', SHA_1)}stray.json`, size: 5 },
      { key: key('r1', SHA_1, 3, 3), size: 30 },
      { key: key('r1', SHA_1, 1, 2), size: 10 },
    ]);
    expect(refs.map((r) => [r.part, r.parts, r.size])).toEqual([
      [1, 2, 10],
      [2, 2, 20],
      [3, 3, 30],
    ]);
  });
});

describe('openPartSetIds', () => {
  it('names each collection that still misses parts, and no complete one', () => {
    const key = (report: string, sha: string, n: number, of: number) => ({
      key: `incoming/111122223333/${report}/${sha.repeat(64)}/part-${n}-of-${of}`,
    });
    const ids = openPartSetIds([
      key('r1', 'a', 1, 2),
      key('r1', 'b', 1, 1),
      key('r2', 'c', 2, 3),
      { key: 'incoming/x' },
    ]);
    expect([...ids].sort()).toEqual([`r1/${'a'.repeat(64)}`, `r2/${'c'.repeat(64)}`]);
  });
});

/** Feeds `listed` to a grouper in S3's order (sorted by key), as a listing would. */
const group = (listed: readonly ListedKey[], keep?: number): AccountIncompleteSets[] => {
  const grouper = new IncompletePartSetGrouper(keep);
  for (const o of [...listed].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))) grouper.add(o);
  return grouper.finish();
};

describe('IncompletePartSetGrouper', () => {
  const t = (minute: number): Date => new Date(Date.UTC(2026, 10, 21, 6, minute));

  it('groups by collection and part count, with the newest write of each set, newest set first', () => {
    const sets = group([
      { key: key('r1', SHA_1, 1, 3), lastModified: t(5) },
      { key: key('r1', SHA_1, 3, 3), lastModified: t(1) },
      { key: key('r1', SHA_1, 3, 3), lastModified: t(2) },
      { key: key('r1', SHA_2, 1, 2) },
      { key: 'incoming/not-a-part' },
    ]);
    expect(sets).toEqual([
      {
        accountId: A,
        count: 2,
        newest: [
          { accountId: A, reportId: 'r1', parts: 3, received: 2, lastModified: t(5) },
          { accountId: A, reportId: 'r1', parts: 2, received: 1 },
        ],
      },
    ]);
  });

  it('leaves out a report of which one collection is complete, listed before or after the incomplete one', () => {
    // r1: the complete collection (SHA_1) is listed first; r2: the complete one (SHA_2) is listed last,
    // after an incomplete collection and an incomplete resend of the same collection with another count.
    expect(
      group([
        { key: key('r1', SHA_1, 1, 1) },
        { key: key('r1', SHA_2, 1, 2) },
        { key: key('r2', SHA_1, 1, 2) },
        { key: key('r2', SHA_2, 1, 3) },
        { key: key('r2', SHA_2, 1, 2) },
        { key: key('r2', SHA_2, 2, 2) },
        { key: key('r3', SHA_2, 1, 2) },
      ]),
    ).toEqual([
      { accountId: A, count: 1, newest: [{ accountId: A, reportId: 'r3', parts: 2, received: 1 }] },
    ]);
  });

  it('keeps reports apart whose ids share a prefix, though S3 lists them out of their natural order', () => {
    // "r1-b/…" and "r1.c/…" sort before "r1/…" ("-" and "." come before "/").
    const sets = group([
      { key: key('r1', SHA_1, 1, 1) },
      { key: key('r1-b', SHA_1, 1, 2) },
      { key: key('r1.c', SHA_1, 2, 2) },
    ]);
    expect(sets[0]?.newest.map((s) => s.reportId).sort()).toEqual(['r1-b', 'r1.c']);
    expect(sets[0]?.count).toBe(2);
  });

  it('keeps the count of a flood of sets but only the newest few per account', () => {
    const flood = Array.from({ length: 50 }, (_, i) => ({
      key: key(`r${String(i).padStart(2, '0')}`, SHA_1, 1, 2),
      // Written in an order unrelated to the key order.
      lastModified: t((i * 7) % 50),
    }));
    const other = { key: S3_LAYOUT.incomingPart('999999999999', 'x', SHA_2, 1, 2), lastModified: t(0) };
    const sets = group([...flood, other]);
    expect(sets.map((s) => [s.accountId, s.count, s.newest.length])).toEqual([
      [A, 50, INCOMPLETE_SETS_KEPT_PER_ACCOUNT],
      ['999999999999', 1, 1],
    ]);
    expect(sets[0]?.newest.map((s) => s.lastModified)).toEqual([t(49), t(48), t(47)]);
  });

  it('settles each report as the next one begins, whatever the page boundaries', () => {
    const listed = [
      { key: key('r1', SHA_1, 1, 3), lastModified: t(1) },
      { key: key('r1', SHA_1, 2, 3), lastModified: t(2) },
      { key: key('r1', SHA_1, 3, 3), lastModified: t(3) },
      { key: key('r2', SHA_1, 1, 3), lastModified: t(4) },
      { key: key('r2', SHA_1, 2, 3), lastModified: t(5) },
    ];
    const whole = group(listed);
    // Every split of the listing into two pages (fed in order, one grouper) gives the same answer.
    for (let cut = 0; cut <= listed.length; cut++) {
      const grouper = new IncompletePartSetGrouper();
      for (const page of [listed.slice(0, cut), listed.slice(cut)]) for (const o of page) grouper.add(o);
      expect(grouper.finish()).toEqual(whole);
    }
    expect(whole).toEqual([
      {
        accountId: A,
        count: 1,
        newest: [{ accountId: A, reportId: 'r2', parts: 3, received: 2, lastModified: t(5) }],
      },
    ]);
  });

  it('ignores part keys that no valid part could have written', () => {
    expect(
      group([
        { key: key('r1', SHA_1, 4, 3) },
        { key: key('r2', SHA_1, 0, 3) },
        { key: key('r3', SHA_1, 1, 513) },
      ]),
    ).toEqual([]);
  });

  it('refuses keys fed out of order rather than mis-grouping them', () => {
    const grouper = new IncompletePartSetGrouper();
    grouper.add({ key: key('r2', SHA_1, 1, 2) });
    expect(() => grouper.add({ key: key('r1', SHA_1, 1, 2) })).toThrow(ListingOrderError);
  });

  it('refuses to keep no set at all', () => {
    expect(() => new IncompletePartSetGrouper(0)).toThrow(/keep must be a positive integer/);
  });
});
