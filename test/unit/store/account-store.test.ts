import 'aws-sdk-client-mock-jest';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { reportIdFor } from '../../../core/event-contract';
import { S3_LAYOUT } from '../../../core/names';
import { AccountReport, ReportProblem } from '../../../core/types';
import { AccountStore, AccountStoreOptions, decodeHistory } from '../../../store/account-store';
import { s3Error } from '../aggregator/support/memory-s3';
import { accountReport } from '../aggregator/support/reports';
import { NOW, SHA_1, client, ids, storeOptions, useMemoryBucket } from './support';

const { s3Mock, memory } = useMemoryBucket();
const store = (opts: Partial<AccountStoreOptions> = {}): AccountStore =>
  new AccountStore(client(), { ...storeOptions, ...opts });

async function collect(iterable: AsyncIterable<AccountReport>): Promise<AccountReport[]> {
  const out: AccountReport[] = [];
  for await (const r of iterable) out.push(r);
  return out;
}

describe('AccountStore', () => {
  it('lists each account once with its latest and rejected objects, rolling history up with the delimiter', async () => {
    const [a, b] = ids(2) as [string, string];
    memory().putRaw(S3_LAYOUT.accountLatest(a), '{}');
    memory().putRaw(S3_LAYOUT.accountRejected(a), '{}');
    for (let i = 0; i < 30; i++)
      memory().putRaw(
        S3_LAYOUT.accountHistory(a, `2026-01-${String(i + 1).padStart(2, '0')}T00:00:00Z`),
        'x',
      );
    memory().putRaw(S3_LAYOUT.accountRejected(b), '{}');
    const index = await store().listAccounts();
    expect([...index.keys()].sort()).toEqual([a, b]);
    expect(index.get(a)?.latest?.key).toBe(S3_LAYOUT.accountLatest(a));
    expect(index.get(a)?.rejected?.lastModified).toBeInstanceOf(Date);
    expect(index.get(b)?.latest).toBeUndefined();
    expect(s3Mock).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Prefix: 'accounts/',
      Delimiter: '/history/',
    });
  });

  it('reads many reports with bounded concurrency and yields every readable one', async () => {
    const accounts = ids(20);
    for (const id of accounts)
      memory().putRaw(S3_LAYOUT.accountLatest(id), JSON.stringify(accountReport(id, NOW, 2, 2)));
    memory().getLatencyMs = 5;
    const problems: ReportProblem[] = [];
    const got = await collect(
      store().readAccountReports(accounts, (p) => problems.push(p), { concurrency: 4 }),
    );
    expect(got.map((r) => r.accountId).sort()).toEqual(accounts);
    expect(memory().maxInFlightGets).toBe(4);
    expect(problems).toEqual([]);
  });

  it('reports an account whose report is unreadable or invalid and still yields the others', async () => {
    const [good, broken, foreign, failing] = ids(4) as [string, string, string, string];
    memory().putRaw(S3_LAYOUT.accountLatest(good), JSON.stringify(accountReport(good, NOW)));
    memory().putRaw(S3_LAYOUT.accountLatest(broken), '{"schemaVersion":1');
    memory().putRaw(S3_LAYOUT.accountLatest(foreign), JSON.stringify(accountReport(good, NOW)));
    memory().putRaw(S3_LAYOUT.accountLatest(failing), JSON.stringify(accountReport(failing, NOW)));
    memory().hooks.push((op, input) => {
      if (op === 'GetObject' && input.Key === S3_LAYOUT.accountLatest(failing))
        throw s3Error('SlowDown', 503);
    });
    const problems: ReportProblem[] = [];
    const got = await collect(
      store().readAccountReports([good, broken, foreign, failing], (p) => problems.push(p), { now: NOW }),
    );
    expect(got.map((r) => r.accountId)).toEqual([good]);
    expect(problems.map((p) => [p.accountId, p.reason]).sort()).toEqual(
      [broken, foreign, failing].map((id) => [id, 'unreadable']).sort(),
    );
    expect(problems.find((p) => p.accountId === foreign)?.detail).toMatch(/holds a report of account/);
    expect(problems.every((p) => p.at === NOW.toISOString())).toBe(true);
  });

  it('keeps a rejected report aside in its own object and names it in the record', async () => {
    const [a] = ids(1) as [string];
    const report = accountReport(a, NOW);
    const record = await store().putRejected(
      {
        schemaVersion: 1,
        accountId: a,
        reason: 'invalid-report',
        detail: 'line 2: bad',
        at: NOW.toISOString(),
        reportId: reportIdFor(a, report.generatedTime),
      },
      { report, sha256: SHA_1 },
    );
    expect(record.reportKey).toBe(
      `accounts/${a}/history/rejected/${reportIdFor(a, report.generatedTime)}-${SHA_1.slice(0, 16)}.json.gz`,
    );
    expect(JSON.parse(memory().text(S3_LAYOUT.accountRejected(a)) as string)).toEqual(record);
    expect(decodeHistory(memory().objects.get(record.reportKey as string)?.body as Buffer)).toEqual(report);
    // The digest's account listing rolls the set-aside report up with history/.
    expect([...(await store().listAccounts()).keys()]).toEqual([a]);
    expect(await store().readRejected(a)).toEqual(record);
  });

  it('gives up with a retryable error when a conditional write keeps conflicting', async () => {
    memory().hooks.push((op) => {
      if (op === 'PutObject') throw s3Error('ConditionalRequestConflict', 409);
    });
    await expect(
      store({ maxConditionalAttempts: 3 }).storeLatest(accountReport(ids(1)[0] as string, NOW), NOW),
    ).rejects.toThrow(/Gave up storing the report/);
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 3);
  });

  it('moves the stored report to history/ when a newer one replaces it, and keeps a newer stored one', async () => {
    const [a] = ids(1) as [string];
    const older = accountReport(a, new Date('2026-11-20T06:00:00Z'));
    const newer = accountReport(a, NOW);
    expect(await store().storeLatest(older, NOW)).toBe('stored');
    expect(await store().latestTimes(a)).toEqual({
      generatedTime: older.generatedTime,
      collectedTime: older.collectedTime,
    });
    expect(await store().storeLatest(newer, NOW)).toBe('stored');
    expect(await store().storeLatest(older, NOW)).toBe('not-newer');
    expect(await store().readAccountReport(a)).toEqual(newer);
    const history = memory().objects.get(S3_LAYOUT.accountHistory(a, older.generatedTime));
    expect(decodeHistory(history?.body as Buffer)).toEqual(older);
  });

  it('re-reads and decides again when latest.json changes between its read and its write', async () => {
    const [a] = ids(1) as [string];
    const first = accountReport(a, new Date('2026-11-20T06:00:00Z'));
    const racer = accountReport(a, new Date('2026-11-21T07:00:00Z'));
    await store().storeLatest(first, NOW);
    let raced = false;
    memory().hooks.push((op, input) => {
      // The first replacement attempt loses: a newer report lands just before its If-Match write.
      if (op === 'PutObject' && input.IfMatch && !raced) {
        raced = true;
        memory().putRaw(S3_LAYOUT.accountLatest(a), JSON.stringify(racer));
      }
    });
    expect(await store().storeLatest(accountReport(a, NOW), NOW)).toBe('not-newer');
    expect(raced).toBe(true);
    expect(await store().readAccountReport(a)).toEqual(racer);
  });
});
