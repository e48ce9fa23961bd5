import { PassThrough, Readable } from 'node:stream';
import type { PreviousRun } from '../../../core/delta';
import { readPreviousRun } from '../../../core/previous-run';
import { MergeInput, MergeResult, runMerge } from '../../../core/merge';
import { buildAccountReport, SampleUser, sampleKeyId } from '../../../core/sample-org';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import { AccountReport } from '../../../core/types';

const NOW = new Date('2024-06-01T06:00:00Z');
const DAY = 86_400_000;
const A = '100000000001';
const B = '100000000002';

async function merge(input: Partial<MergeInput> & Pick<MergeInput, 'reports'>, now = NOW) {
  const outputs = { cr: '', ak: '' };
  const cr = new PassThrough();
  const ak = new PassThrough();
  cr.on('data', (d: Buffer) => (outputs.cr += d.toString('utf8')));
  ak.on('data', (d: Buffer) => (outputs.ak += d.toString('utf8')));
  const result: MergeResult = await runMerge(
    { now, thresholds: DEFAULT_THRESHOLDS, ...input },
    { credentialReport: cr, accessKeys: ak },
  );
  return { result, ...outputs };
}

function report(accountId: string, users: readonly SampleUser[], now = NOW): AccountReport {
  return buildAccountReport({
    accountId,
    generatedMs: now.getTime() - 3_600_000,
    root: { createdDaysAgo: 1000, mfa: true },
    users,
  });
}

const console = (name: string, mfa: boolean): SampleUser => ({
  name,
  createdDaysAgo: 200,
  password: { changedDaysAgo: 10, lastUsedDaysAgo: 1 },
  mfa,
});
const service = (name: string, createdDaysAgo: number): SampleUser => ({
  name,
  createdDaysAgo: 500,
  mfa: false,
  keys: [{ active: true, createdDaysAgo, lastUsedDaysAgo: 0 }],
});

describe('delta', () => {
  let previous: PreviousRun;
  let result: MergeResult;

  beforeAll(async () => {
    const before = await merge({
      reports: [
        report(A, [
          console('carol', true),
          console('dave', false),
          console('bob', true),
          service('svc', 10),
          console('=eve', false),
        ]),
        report(B, [console('zed', false)]),
      ],
    });
    previous = await readPreviousRun({
      credentialReport: Readable.from([before.cr]),
      accessKeys: Readable.from([before.ak]),
      summary: before.result.summary,
    });
    // Next day: carol lost MFA, dave enabled it, bob left, frank joined, svc's key was rotated (a new
    // key id, and the key is now shown from a report that sees it), =eve unchanged; B stopped reporting.
    const rotated = report(A, [
      console('carol', false),
      console('dave', true),
      service('svc', 0),
      console('=eve', false),
      console('frank', true),
    ]);
    const withNewKeyId = {
      ...rotated,
      accessKeys: rotated.accessKeys.map((k) => ({ ...k, accessKeyId: sampleKeyId(A, k.userName, 7) })),
    };
    ({ result } = await merge({ reports: [withNewKeyId], expectedAccountIds: [A, B], previous }));
  });

  it('lists new and removed users of accounts that still report', () => {
    const delta = result.summary.delta!;
    expect(delta.newUsers).toEqual({ count: 1, items: [{ accountId: A, userName: 'frank' }] });
    expect(delta.removedUsers).toEqual({ count: 1, items: [{ accountId: A, userName: 'bob' }] });
  });

  it('does not count users of an account that stopped reporting as removed, and lists the account', () => {
    const delta = result.summary.delta!;
    expect(delta.removedUsers.items.some((u) => u.accountId === B)).toBe(false);
    expect(delta.accountsStoppedReporting).toEqual({
      count: 1,
      items: [{ accountId: B, status: 'missing', reason: 'never-reported', detail: 'no report received' }],
    });
  });

  it('lists a rotated key as one new and one removed key', () => {
    const delta = result.summary.delta!;
    expect(delta.newKeys.items).toEqual([
      { accountId: A, userName: 'svc', accessKeyId: sampleKeyId(A, 'svc', 7), keySlot: 1 },
    ]);
    // The previous run is known by key id only: no slot for removed keys.
    expect(delta.removedKeys.items).toEqual([
      { accountId: A, userName: 'svc', accessKeyId: sampleKeyId(A, 'svc', 1) },
    ]);
  });

  it('lists new and resolved findings per user and counts them per finding', () => {
    const delta = result.summary.delta!;
    expect(delta.newFindings.items).toEqual([
      { accountId: A, userName: 'carol', finding: 'console-without-mfa' },
    ]);
    expect(delta.newFindings.byFinding).toEqual({ 'console-without-mfa': { users: 1, keys: 0 } });
    expect(delta.resolvedFindings.items).toEqual([
      { accountId: A, userName: 'dave', finding: 'console-without-mfa' },
    ]);
    expect(delta.resolvedFindings.count).toBe(1);
  });

  it('matches a user whose name was neutralised in the previous CSV', () => {
    const delta = result.summary.delta!;
    expect(delta.newUsers.items.some((u) => u.userName.includes('eve'))).toBe(false);
    expect(delta.removedUsers.items.some((u) => u.userName.includes('eve'))).toBe(false);
  });

  it('counts findings of new keys and users as new, and of removed ones as resolved', async () => {
    const before = await merge({ reports: [report(A, [service('old-svc', 200)])] });
    const prev = await readPreviousRun({
      credentialReport: Readable.from([before.cr]),
      accessKeys: Readable.from([before.ak]),
    });
    const { result: after } = await merge({
      reports: [report(A, [service('new-svc', 200)])],
      previous: prev,
    });
    const d = after.summary.delta!;
    expect(d.newFindings.byFinding['key-not-rotated']).toEqual({ users: 1, keys: 1 });
    expect(d.resolvedFindings.byFinding['key-not-rotated']).toEqual({ users: 1, keys: 1 });
    expect(d.newFindings.items).toEqual(
      expect.arrayContaining([
        { accountId: A, userName: 'new-svc', finding: 'key-not-rotated' },
        {
          accountId: A,
          userName: 'new-svc',
          accessKeyId: sampleKeyId(A, 'new-svc', 1),
          keySlot: 1,
          finding: 'key-not-rotated',
        },
      ]),
    );
  });

  it('tells a replaced root key, which has no key id, from the same key by its creation time', async () => {
    const withRootKey = (createdDaysAgo: number): AccountReport =>
      buildAccountReport({
        accountId: A,
        generatedMs: NOW.getTime() - 3_600_000,
        root: {
          createdDaysAgo: 1000,
          mfa: true,
          keys: [{ active: true, createdDaysAgo, lastUsedDaysAgo: 1 }],
        },
        users: [],
      });
    const before = await merge({ reports: [withRootKey(400)] });
    const prev = await readPreviousRun({
      credentialReport: Readable.from([before.cr]),
      accessKeys: Readable.from([before.ak]),
    });
    const same = (await merge({ reports: [withRootKey(400)], previous: prev })).result.summary.delta!;
    expect([same.newKeys.count, same.removedKeys.count, same.newFindings.count]).toEqual([0, 0, 0]);

    const replaced = (await merge({ reports: [withRootKey(2)], previous: prev })).result.summary.delta!;
    const rootKey = { accountId: A, userName: '<root_account>', keySlot: 1 };
    expect(replaced.newKeys).toEqual({ count: 1, items: [rootKey] });
    expect(replaced.removedKeys).toEqual({ count: 1, items: [rootKey] });
    expect(replaced.resolvedFindings.byFinding['key-not-rotated']).toEqual({ users: 1, keys: 1 });
    expect(replaced.newFindings.byFinding['root-access-key']).toEqual({ users: 0, keys: 1 });
  });

  it('gives the same delta when the same previous run is used twice', async () => {
    const again = await merge({ reports: [report(A, [console('carol', false)])], previous });
    const twice = await merge({ reports: [report(A, [console('carol', false)])], previous });
    expect(twice.result.summary.delta).toEqual(again.result.summary.delta);
  });

  it('caps the item lists and keeps the full counts', async () => {
    const many = Array.from({ length: 150 }, (_, i) => console(`user-${String(i).padStart(3, '0')}`, true));
    const empty = await merge({ reports: [report(A, [])] });
    const prev = await readPreviousRun({ credentialReport: Readable.from([empty.cr]) });
    const { result: r } = await merge({ reports: [report(A, many)], previous: prev });
    expect(r.summary.delta!.newUsers.count).toBe(150);
    expect(r.summary.delta!.newUsers.items).toHaveLength(100);
    expect(r.summary.delta!.newUsers.items[0]?.userName).toBe('user-000');
  });

  it('takes the previously reporting accounts from the rows when no previous summary is given', async () => {
    const before = await merge({ reports: [report(A, []), report(B, [])] });
    const prev = await readPreviousRun({ credentialReport: Readable.from([before.cr]) });
    expect([...prev.reportingAccounts].sort()).toEqual([A, B]);
    expect(prev.keys).toBeUndefined();
    const stale = buildAccountReport({
      accountId: B,
      generatedMs: NOW.getTime() - 3 * DAY,
      root: { createdDaysAgo: 1000, mfa: true },
      users: [],
    });
    const { result: r } = await merge({ reports: [report(A, []), stale], previous: prev });
    expect(r.summary.delta!.accountsStoppedReporting.items).toEqual([
      expect.objectContaining({ accountId: B, status: 'stale', reason: 'stale' }),
    ]);
    expect(r.summary.delta!.newKeys.count).toBe(0);
  });
});
