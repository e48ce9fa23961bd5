import { PassThrough, Readable } from 'node:stream';
import { DeltaTracker, userIdentity, type PreviousRun } from '../../../core/delta';
import { findingMask } from '../../../core/finding-ids';
import type { Summary } from '../../../core/summary';
import { readPreviousRun } from '../../../core/previous-run';
import { MergeInput, MergeResult, runMerge } from '../../../core/merge';
import { buildAccountReport, SampleUser, sampleKeyId } from '../../../core/sample-org';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import { AccountReport } from '../../../core/types';

const NOW = new Date('2024-06-01T06:00:00Z');
const DAY = 86_400_000;
const NEXT_DAY = new Date(NOW.getTime() + DAY);
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
    const rotated = report(
      A,
      [
        console('carol', false),
        console('dave', true),
        service('svc', 0),
        console('=eve', false),
        console('frank', true),
      ],
      NEXT_DAY,
    );
    const withNewKeyId = {
      ...rotated,
      accessKeys: rotated.accessKeys.map((k) => ({ ...k, accessKeyId: sampleKeyId(A, k.userName, 7) })),
    };
    ({ result } = await merge({ reports: [withNewKeyId], expectedAccountIds: [A, B], previous }, NEXT_DAY));
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
    // A new finding is first seen now; a resolved one was open since the previous run (read from CSVs: its time).
    expect(delta.newFindings.items).toEqual([
      {
        accountId: A,
        userName: 'carol',
        finding: 'console-without-mfa',
        severity: 'high',
        firstSeen: NEXT_DAY.toISOString(),
        ageDays: 0,
      },
    ]);
    expect(delta.newFindings.byFinding).toEqual({ 'console-without-mfa': { users: 1, keys: 0 } });
    expect(delta.resolvedFindings.items).toEqual([
      {
        accountId: A,
        userName: 'dave',
        finding: 'console-without-mfa',
        severity: 'high',
        firstSeen: NOW.toISOString(),
        ageDays: 1,
      },
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
        expect.objectContaining({ accountId: A, userName: 'new-svc', finding: 'key-not-rotated' }),
        expect.objectContaining({
          accountId: A,
          userName: 'new-svc',
          accessKeyId: sampleKeyId(A, 'new-svc', 1),
          keySlot: 1,
          finding: 'key-not-rotated',
          severity: 'medium',
        }),
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

describe('DeltaTracker finding lists', () => {
  const finishOf = (tracker: DeltaTracker, accounts: readonly string[]) =>
    tracker.finish(new Set(accounts), {
      byAccount: [],
      coverage: { entries: [] } as unknown as Summary['coverage'],
    });
  const empty = (): PreviousRun => ({
    users: new Map(),
    keys: new Map(),
    accounts: new Set([A, B]),
    reportingAccounts: new Set(),
    generatedAt: new Date(NOW.getTime() - DAY).toISOString(),
  });
  const feed = (tracker: DeltaTracker): void => {
    // Output order: account A's users, then B's (the merge writes accounts ascending).
    tracker.user(A, 'low-user', ['user-direct-policies']);
    tracker.user(A, 'medium-user', ['key-not-rotated']);
    tracker.user(A, 'high-a', ['console-without-mfa']);
    tracker.user(B, '<root_account>', ['root-mfa-disabled']);
    tracker.user(B, 'high-b', ['console-without-mfa']);
  };

  it('lists new critical and high findings first, then by severity, then by account, then in output order', () => {
    const tracker = new DeltaTracker(empty(), NOW);
    feed(tracker);
    const items = finishOf(tracker, [A, B]).newFindings.items;
    expect(items.map((i) => [i.severity, i.accountId, i.userName])).toEqual([
      ['critical', B, '<root_account>'],
      ['high', A, 'high-a'],
      ['high', B, 'high-b'],
      ['medium', A, 'medium-user'],
      ['low', A, 'low-user'],
    ]);
  });

  it('keeps the most severe changes when the list is capped, and counts every change', () => {
    const tracker = new DeltaTracker(empty(), NOW, 2);
    feed(tracker);
    const list = finishOf(tracker, [A, B]).newFindings;
    expect(list.count).toBe(5);
    expect(list.items.map((i) => [i.finding, i.accountId])).toEqual([
      ['root-mfa-disabled', B],
      ['console-without-mfa', A],
    ]);
  });

  it('dates a new finding to now and a resolved one to its first sighting in the previous state, so its age is the time it stayed open', () => {
    const firstSeen = '2024-05-02T06:00:00.000Z';
    const previous: PreviousRun = {
      ...empty(),
      users: new Map([
        [userIdentity(A, 'dave'), findingMask(['console-without-mfa'])],
        [userIdentity(A, 'bob'), findingMask(['credential-unused'])],
      ]),
      firstSeen: new Map([
        [userIdentity(A, 'dave'), { 'console-without-mfa': firstSeen }],
        [userIdentity(A, 'bob'), { 'credential-unused': '2024-05-21T06:00:00.000Z' }],
      ]),
    };
    const tracker = new DeltaTracker(previous, NOW);
    tracker.user(A, 'dave', ['key-not-rotated']);
    // bob is gone: his finding is resolved in finish, dated the same way.
    const delta = finishOf(tracker, [A]);
    expect(delta.newFindings.items).toEqual([
      expect.objectContaining({ finding: 'key-not-rotated', firstSeen: NOW.toISOString(), ageDays: 0 }),
    ]);
    expect(delta.resolvedFindings.items).toEqual([
      expect.objectContaining({ userName: 'dave', severity: 'high', firstSeen, ageDays: 30 }),
      expect.objectContaining({ userName: 'bob', severity: 'medium', ageDays: 11 }),
    ]);
  });

  it("dates a resolved finding to the previous run's time when the previous run has no state (read from CSVs)", () => {
    const previous: PreviousRun = {
      ...empty(),
      users: new Map([[userIdentity(A, 'dave'), findingMask(['console-without-mfa'])]]),
    };
    const tracker = new DeltaTracker(previous, NOW);
    tracker.user(A, 'dave', []);
    expect(finishOf(tracker, [A]).resolvedFindings.items).toEqual([
      expect.objectContaining({ firstSeen: previous.generatedAt, ageDays: 1 }),
    ]);
  });
});
