import {
  incompletePartSets,
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
  it('keeps the part keys, sorted by part count then part number', () => {
    const refs = partRefsOf([
      { key: key('r1', SHA_1, 2, 2) },
      { key: `${incomingPartsPrefix(A, 'r1', SHA_1)}stray.json` },
      { key: key('r1', SHA_1, 3, 3) },
      { key: key('r1', SHA_1, 1, 2) },
    ]);
    expect(refs.map((r) => [r.part, r.parts])).toEqual([
      [1, 2],
      [2, 2],
      [3, 3],
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

describe('incompletePartSets', () => {
  const t = (minute: number): Date => new Date(Date.UTC(2026, 10, 21, 6, minute));

  it('groups by collection and part count, with the newest write of each set', () => {
    const sets = incompletePartSets([
      { key: key('r1', SHA_1, 1, 3), lastModified: t(5) },
      { key: key('r1', SHA_1, 3, 3), lastModified: t(1) },
      { key: key('r1', SHA_1, 3, 3), lastModified: t(2) },
      { key: key('r1', SHA_2, 1, 2) },
      { key: 'incoming/not-a-part' },
    ]);
    expect(sets).toEqual([
      { accountId: A, reportId: 'r1', parts: 3, received: 2, lastModified: t(5) },
      { accountId: A, reportId: 'r1', parts: 2, received: 1 },
    ]);
  });

  it('leaves out a report of which one collection is complete', () => {
    expect(
      incompletePartSets([
        { key: key('r1', SHA_1, 1, 1) },
        { key: key('r1', SHA_2, 1, 2) },
        { key: key('r2', SHA_2, 1, 2) },
      ]),
    ).toEqual([{ accountId: A, reportId: 'r2', parts: 2, received: 1 }]);
  });
});
