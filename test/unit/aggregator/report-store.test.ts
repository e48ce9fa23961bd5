import 'aws-sdk-client-mock-jest';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import {
  CONTENT_TYPES,
  ReportStore,
  ReportStoreError,
  decodeHistory,
  isNewerReport,
} from '../../../aggregator/report-store';
import { reportIdFor } from '../../../core/event-contract';
import { S3_LAYOUT } from '../../../core/names';
import { AccountReport, ReportProblem } from '../../../core/types';
import { MemoryS3, s3Error, wireMemoryS3 } from './support/memory-s3';
import { accountReport, silentLogger } from './support/reports';

const s3Mock = mockClient(S3Client);
const NOW = new Date('2026-11-21T06:00:00Z');
let memory: MemoryS3;

const store = (opts: Partial<ConstructorParameters<typeof ReportStore>[1]> = {}): ReportStore =>
  new ReportStore(new S3Client({ region: 'us-east-1' }), {
    bucket: 'hub-bucket',
    logger: silentLogger(),
    sleep: async () => undefined,
    ...opts,
  });

const SHA_1 = '1'.repeat(64);
const SHA_2 = '2'.repeat(64);
const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => String(100_000_000_000 + i));

async function collect(iterable: AsyncIterable<AccountReport>): Promise<AccountReport[]> {
  const out: AccountReport[] = [];
  for await (const r of iterable) out.push(r);
  return out;
}

beforeEach(() => {
  s3Mock.reset();
  memory = new MemoryS3();
  wireMemoryS3(s3Mock, memory);
});

describe('ReportStore', () => {
  it('lists each account once with its latest and rejected objects, rolling history up with the delimiter', async () => {
    const [a, b] = ids(2) as [string, string];
    memory.putRaw(S3_LAYOUT.accountLatest(a), '{}');
    memory.putRaw(S3_LAYOUT.accountRejected(a), '{}');
    for (let i = 0; i < 30; i++)
      memory.putRaw(S3_LAYOUT.accountHistory(a, `2026-01-${String(i + 1).padStart(2, '0')}T00:00:00Z`), 'x');
    memory.putRaw(S3_LAYOUT.accountRejected(b), '{}');
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
      memory.putRaw(S3_LAYOUT.accountLatest(id), JSON.stringify(accountReport(id, NOW, 2, 2)));
    memory.getLatencyMs = 5;
    const problems: ReportProblem[] = [];
    const got = await collect(
      store().readAccountReports(accounts, (p) => problems.push(p), { concurrency: 4 }),
    );
    expect(got.map((r) => r.accountId).sort()).toEqual(accounts);
    expect(memory.maxInFlightGets).toBe(4);
    expect(problems).toEqual([]);
  });

  it('reports an account whose report is unreadable or invalid and still yields the others', async () => {
    const [good, broken, foreign, failing] = ids(4) as [string, string, string, string];
    memory.putRaw(S3_LAYOUT.accountLatest(good), JSON.stringify(accountReport(good, NOW)));
    memory.putRaw(S3_LAYOUT.accountLatest(broken), '{"schemaVersion":1');
    memory.putRaw(S3_LAYOUT.accountLatest(foreign), JSON.stringify(accountReport(good, NOW)));
    memory.putRaw(S3_LAYOUT.accountLatest(failing), JSON.stringify(accountReport(failing, NOW)));
    memory.hooks.push((op, input) => {
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

  it('streams a large CSV as a multipart upload with its content type and encryption', async () => {
    const { stream, done } = store().uploadStream('latest/credential-report.csv', CONTENT_TYPES.csv, {
      partSize: 5 * 1024 * 1024,
    });
    const line = `${'x'.repeat(1023)}\n`;
    const writes = (async () => {
      for (let i = 0; i < 11 * 1024; i++) {
        if (!stream.write(line)) await new Promise((r) => stream.once('drain', r));
      }
      stream.end();
    })();
    await Promise.all([writes, done]);
    expect(s3Mock).toHaveReceivedCommandWith(CreateMultipartUploadCommand, {
      Key: 'latest/credential-report.csv',
      ContentType: 'text/csv; charset=utf-8',
      ServerSideEncryption: 'AES256',
    });
    expect(s3Mock).toHaveReceivedCommandTimes(UploadPartCommand, 3);
    expect(s3Mock).toHaveReceivedCommandTimes(CompleteMultipartUploadCommand, 1);
    expect(memory.objects.get('latest/credential-report.csv')?.body.length).toBe(11 * 1024 * 1024);
  });

  it('rejects the upload and destroys the stream when a part fails', async () => {
    memory.hooks.push((op) => {
      if (op === 'UploadPart') throw s3Error('InternalError', 500);
    });
    const { stream, done } = store().uploadStream('latest/access-keys.csv', CONTENT_TYPES.csv, {
      partSize: 5 * 1024 * 1024,
    });
    stream.on('error', () => undefined);
    stream.end(Buffer.alloc(12 * 1024 * 1024, 97));
    await expect(done).rejects.toThrow(ReportStoreError);
    expect(stream.destroyed).toBe(true);
    expect(memory.objects.has('latest/access-keys.csv')).toBe(false);
  });

  it('opens a lazy stream only when it is first read', async () => {
    memory.putRaw('latest/access-keys.csv', 'a,b\n1,2\n');
    const stream = store().lazyStream('latest/access-keys.csv');
    await new Promise((r) => setTimeout(r, 10));
    expect(memory.calls.GetObject ?? 0).toBe(0);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    expect(Buffer.concat(chunks).toString('utf8')).toBe('a,b\n1,2\n');
    expect(memory.calls.GetObject).toBe(1);
  });

  it('sets SSE-KMS with the key id when configured for KMS', async () => {
    await store({ sse: { mode: 'aws:kms', kmsKeyId: 'arn:aws:kms:us-east-1:111111111111:key/abc' } }).putText(
      'latest/summary.json',
      '{}',
      CONTENT_TYPES.json,
    );
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'arn:aws:kms:us-east-1:111111111111:key/abc',
    });
  });

  it('ignores an unreadable org/metadata.json rather than trusting it', async () => {
    memory.putRaw(S3_LAYOUT.orgMetadata, JSON.stringify({ accounts: 'nope' }));
    expect(await store().readOrgMetadata()).toBeUndefined();
  });

  it('ignores an org/metadata.json that is not JSON (truncated write) instead of failing the digest', async () => {
    memory.putRaw(S3_LAYOUT.orgMetadata, '{"fetchedAt":"2026-11-21T00:00:00Z","accounts":[');
    expect(await store().readOrgMetadata()).toBeUndefined();
  });

  it('lists only part sets that are incomplete, one entry per collection', async () => {
    const [a, b] = ids(2) as [string, string];
    const ra = reportIdFor(a, '2026-11-21T01:00:00Z');
    const rb = reportIdFor(b, '2026-11-21T01:00:00Z');
    const part = (account: string, reportId: string, sha: string, n: number, of: number): string =>
      `${store().partsPrefix(account, reportId, sha)}part-${n}-of-${of}`;
    memory.putRaw(part(a, ra, SHA_1, 1, 2), '{}');
    memory.putRaw(part(a, ra, SHA_1, 2, 2), '{}');
    // Another collection of a's report (or a resend with another part count) that never completed does
    // not make the report incomplete: a complete collection of it was assembled.
    memory.putRaw(part(a, ra, SHA_2, 1, 2), '{}');
    memory.putRaw(part(a, ra, SHA_1, 1, 3), '{}');
    // b: two collections, neither complete → one entry each.
    memory.putRaw(part(b, rb, SHA_1, 2, 3), '{}');
    memory.putRaw(part(b, rb, SHA_2, 1, 3), '{}');
    memory.putRaw(part(b, rb, SHA_2, 3, 3), '{}');
    const sets = await store().listIncompletePartSets();
    expect(sets.sort((x, y) => x.received - y.received)).toEqual([
      { accountId: b, reportId: rb, parts: 3, received: 1, lastModified: expect.any(Date) },
      { accountId: b, reportId: rb, parts: 3, received: 2, lastModified: expect.any(Date) },
    ]);
  });

  it('streams an object in the chunks S3 sends rather than buffering it whole', async () => {
    memory.putRaw('latest/credential-report.csv', Buffer.alloc(300 * 1024, 97));
    const stream = await store().getStream('latest/credential-report.csv');
    const sizes: number[] = [];
    for await (const chunk of stream ?? []) sizes.push((chunk as Buffer).length);
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64 * 1024);
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(300 * 1024);
    expect(await store().getStream('latest/missing.csv')).toBeUndefined();
  });

  it('fails a lazy stream whose object does not exist when it is read', async () => {
    const stream = store().lazyStream('latest/access-keys.csv');
    await expect(
      (async () => {
        for await (const chunk of stream) expect(chunk).toBeUndefined();
      })(),
    ).rejects.toThrow(/latest\/access-keys.csv does not exist/);
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
    expect(JSON.parse(memory.text(S3_LAYOUT.accountRejected(a)) as string)).toEqual(record);
    expect(decodeHistory(memory.objects.get(record.reportKey as string)?.body as Buffer)).toEqual(report);
    // The digest's account listing rolls the set-aside report up with history/.
    expect([...(await store().listAccounts()).keys()]).toEqual([a]);
  });

  it('gives up with a retryable error when a conditional write keeps conflicting', async () => {
    memory.hooks.push((op) => {
      if (op === 'PutObject') throw s3Error('ConditionalRequestConflict', 409);
    });
    await expect(
      store({ maxConditionalAttempts: 3 }).storeLatest(accountReport(ids(1)[0] as string, NOW), NOW),
    ).rejects.toThrow(/Gave up storing the report/);
  });
});

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
