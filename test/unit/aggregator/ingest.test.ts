import 'aws-sdk-client-mock-jest';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { IngestDeps, ingestEvent } from '../../../aggregator/ingest';
import { RejectionRecord } from '../../../core/rejection';
import { decodeHistory } from '../../../store/account-store';
import { createHubStores } from '../../../store/hub-stores';
import { StoreError } from '../../../store/s3';
import { PartDetail, reportIdFor } from '../../../core/event-contract';
import { maxStoredPartSetBytes } from '../../../core/ingest-decision';
import { S3_LAYOUT } from '../../../core/names';
import { AccountReport } from '../../../core/types';
import { MemoryS3, s3Error, wireMemoryS3 } from './support/memory-s3';
import {
  accountReport,
  metricSum,
  partEvent,
  partsOf,
  recordingMetrics,
  silentLogger,
} from './support/reports';

const s3Mock = mockClient(S3Client);
const NOW = new Date('2026-11-21T06:00:00Z');
const ACCOUNT = '222222222222';
const OTHER = '333333333333';
const noSleep = async (): Promise<void> => undefined;

let memory: MemoryS3;
let deps: IngestDeps;
let recorded: ReturnType<typeof recordingMetrics>['recorded'];

beforeEach(() => {
  s3Mock.reset();
  memory = new MemoryS3();
  wireMemoryS3(s3Mock, memory);
  const m = recordingMetrics();
  recorded = m.recorded;
  const logger = silentLogger();
  deps = {
    stores: createHubStores(new S3Client({ region: 'us-east-1' }), {
      bucket: 'hub-bucket',
      logger,
      sleep: noSleep,
    }),
    logger,
    metrics: m.metrics,
    now: () => NOW,
  };
});

const latestOf = (accountId: string): AccountReport | undefined => {
  const text = memory.text(S3_LAYOUT.accountLatest(accountId));
  return text ? (JSON.parse(text) as AccountReport) : undefined;
};
const rejectedOf = (accountId: string): RejectionRecord | undefined => {
  const text = memory.text(S3_LAYOUT.accountRejected(accountId));
  return text ? (JSON.parse(text) as RejectionRecord) : undefined;
};
const send = (parts: readonly PartDetail[], account = ACCOUNT) =>
  parts.reduce<Promise<unknown[]>>(
    async (acc, p) => [...(await acc), await ingestEvent(partEvent(p, account), deps)],
    Promise.resolve([]),
  );

describe('ingestEvent', () => {
  it('stores the report once every part has arrived', async () => {
    const report = accountReport(ACCOUNT, NOW);
    const parts = partsOf(report);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    const outcomes = await send(parts);
    expect(outcomes.slice(0, -1)).toEqual(
      parts
        .slice(0, -1)
        .map((_, i) => expect.objectContaining({ status: 'waiting', received: i + 1, parts: parts.length })),
    );
    expect(outcomes.at(-1)).toEqual({
      status: 'stored',
      reportId: reportIdFor(ACCOUNT, report.generatedTime),
    });
    expect(latestOf(ACCOUNT)).toEqual(report);
    const stored = memory.objects.get(S3_LAYOUT.accountLatest(ACCOUNT));
    expect(stored?.serverSideEncryption).toBe('AES256');
    expect(stored?.contentType).toBe('application/json');
    expect(stored?.metadata['generated-time']).toBe(report.generatedTime);
    expect(metricSum(recorded, 'ReportsStored')).toBe(1);
    expect(metricSum(recorded, 'PartsReceived')).toBe(parts.length);
  });

  it('rejects a forged event whose detail claims another account, recording it under the real sender', async () => {
    const parts = partsOf(accountReport(OTHER, NOW));
    const outcome = await ingestEvent(partEvent(parts[0], ACCOUNT), deps);
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'forged-account' });
    // Nothing was written for the claimed account, neither parts nor report.
    expect(memory.keys(`incoming/${OTHER}/`)).toEqual([]);
    expect(memory.keys(`accounts/${OTHER}/`)).toEqual([]);
    expect(rejectedOf(ACCOUNT)).toMatchObject({
      accountId: ACCOUNT,
      reason: 'forged-account',
      claimedAccountId: OTHER,
      at: NOW.toISOString(),
      eventId: expect.stringMatching(/^evt-/),
    });
    expect(metricSum(recorded, 'RejectedParts')).toBe(1);
    expect(metricSum(recorded, 'ForgedParts')).toBe(1);
  });

  it('rejects as forged a detail that claims another account even when the rest of it is malformed', async () => {
    const [part] = partsOf(accountReport(OTHER, NOW));
    const outcome = await ingestEvent(
      partEvent({ ...part, schemaVersion: 99, payload: '!!not base64!!', extra: 1 }, ACCOUNT),
      deps,
    );
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'forged-account' });
    expect(rejectedOf(ACCOUNT)).toMatchObject({ reason: 'forged-account', claimedAccountId: OTHER });
    expect(metricSum(recorded, 'ForgedParts')).toBe(1);
    expect(memory.keys('incoming/')).toEqual([]);
  });

  it('rejects as forged a detail whose accountId is not even an account id, recording no claimed id', async () => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    const outcome = await ingestEvent(partEvent({ ...part, accountId: { $ne: ACCOUNT } }, ACCOUNT), deps);
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'forged-account' });
    expect(rejectedOf(ACCOUNT)?.claimedAccountId).toBeUndefined();
    expect(metricSum(recorded, 'ForgedParts')).toBe(1);
  });

  it('rejects a forged event even when every part of a complete report is sent', async () => {
    const parts = partsOf(accountReport(OTHER, NOW));
    const outcomes = await send(parts, ACCOUNT);
    expect(outcomes.every((o) => (o as { status: string }).status === 'rejected')).toBe(true);
    expect(latestOf(OTHER)).toBeUndefined();
  });

  it('rejects a detail that does not match the schema, without throwing', async () => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    const outcome = await ingestEvent(partEvent({ ...part, schemaVersion: 4, extra: true }, ACCOUNT), deps);
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'invalid-part' });
    expect(rejectedOf(ACCOUNT)?.detail).toMatch(/schemaVersion/);
    expect(memory.keys('incoming/')).toEqual([]);
  });

  it('rejects an event from an unexpected source or detail-type', async () => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    const outcome = await ingestEvent(partEvent(part, ACCOUNT, { source: 'aws.iam' }), deps);
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'invalid-envelope' });
    expect(rejectedOf(ACCOUNT)?.reason).toBe('invalid-envelope');
  });

  it('records a sender-chosen source quoted and shortened, never verbatim', async () => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    const source = `evil\n${'x'.repeat(10_000)}`;
    const outcome = await ingestEvent(partEvent(part, ACCOUNT, { source }), deps);
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'invalid-envelope' });
    const detail = rejectedOf(ACCOUNT)?.detail ?? '';
    expect(detail).toContain('"evil\\n');
    expect(detail.length).toBeLessThan(300);
  });

  it('rejects an event without a usable account and records nothing', async () => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    const outcome = await ingestEvent(partEvent(part, 'not-an-account'), deps);
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'invalid-envelope' });
    expect(memory.keys()).toEqual([]);
  });

  it('rejects a reportId that does not derive from account and generatedTime', async () => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    const outcome = await ingestEvent(partEvent({ ...part, reportId: `${ACCOUNT}-other` }, ACCOUNT), deps);
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'invalid-part' });
  });

  it('rejects a report generated in the future, which would otherwise stay latest forever', async () => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW, -2));
    const outcome = await ingestEvent(partEvent(part, ACCOUNT), deps);
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'invalid-part' });
    expect(rejectedOf(ACCOUNT)?.detail).toMatch(/is later than the event time .* or the hub's clock/);
    expect(memory.keys('incoming/')).toEqual([]);
  });

  it('waits and stores nothing under accounts/ while a part is missing', async () => {
    const parts = partsOf(accountReport(ACCOUNT, NOW));
    await send([...parts.slice(0, 1), ...parts.slice(2)]);
    expect(latestOf(ACCOUNT)).toBeUndefined();
    expect(memory.keys(`incoming/${ACCOUNT}/`)).toHaveLength(parts.length - 1);
  });

  it('treats a duplicate delivery as a no-op and never writes the report twice', async () => {
    const parts = partsOf(accountReport(ACCOUNT, NOW));
    await send([parts[0] as PartDetail, parts[0] as PartDetail, ...parts.slice(1)]);
    const again = await send([parts.at(-1) as PartDetail]);
    expect(again).toEqual([expect.objectContaining({ status: 'superseded' })]);
    expect(metricSum(recorded, 'DuplicateParts')).toBe(1);
    expect(metricSum(recorded, 'ReportsStored')).toBe(1);
    const latestPuts = s3Mock
      .commandCalls(PutObjectCommand)
      .filter((c) => c.args[0].input.Key === S3_LAYOUT.accountLatest(ACCOUNT));
    expect(latestPuts).toHaveLength(1);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Key: expect.stringMatching(/part-1-of-/),
      IfNoneMatch: '*',
    });
  });

  it('records a different payload in an occupied part slot as a rejection, not as a duplicate', async () => {
    const parts = partsOf(accountReport(ACCOUNT, NOW));
    const first = parts[0] as PartDetail;
    await send([first]);
    // Same collection (sha256) and part number, other bytes: base64 that decodes to something else.
    const other = { ...first, payload: first.payload.split('').reverse().join('') };
    const [outcome] = await send([other]);
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'conflicting-part' });
    expect(rejectedOf(ACCOUNT)).toMatchObject({ reason: 'conflicting-part', reportId: first.reportId });
    expect(metricSum(recorded, 'RejectedParts')).toBe(1);
    expect(metricSum(recorded, 'DuplicateParts')).toBe(0);
    // The stored copy is untouched: re-delivering the genuine part is still a plain duplicate.
    const [again] = await send([first]);
    expect(again).toMatchObject({ status: 'waiting' });
    expect(metricSum(recorded, 'DuplicateParts')).toBe(1);
  });

  it('refuses a part that would open more incomplete part sets than the cap, and never stores it', async () => {
    deps = { ...deps, maxOpenPartSets: 3 };
    // Four collections of four different reports, each sent without its last part.
    const reports = [5, 4, 3, 2].map((hoursAgo) => accountReport(ACCOUNT, NOW, hoursAgo));
    const sets = reports.map((r) => partsOf(r));
    for (const parts of sets.slice(0, 3)) await send(parts.slice(0, -1));
    const [fourth] = await send([sets[3]![0]!]);
    expect(fourth).toMatchObject({ status: 'rejected', reason: 'too-many-part-sets' });
    expect(rejectedOf(ACCOUNT)).toMatchObject({
      reason: 'too-many-part-sets',
      reportId: sets[3]![0]!.reportId,
    });
    expect(metricSum(recorded, 'RejectedParts')).toBe(1);
    expect(memory.keys(`incoming/${ACCOUNT}/${sets[3]![0]!.reportId}/`)).toEqual([]);
    // An open set still takes its remaining parts, and completing it makes room for a new one.
    const [done] = await send([sets[2]!.at(-1)!]);
    expect(done).toMatchObject({ status: 'stored' });
    const [again] = await send([sets[3]![0]!]);
    expect(again).toMatchObject({ status: expect.stringMatching(/waiting|stored/) });
    // Another account is not affected by this one's open sets.
    const [other] = await send([partsOf(accountReport('999988887777', NOW))[0]!], '999988887777');
    expect(other).toMatchObject({ status: expect.stringMatching(/waiting|stored/) });
  });

  it('refuses a part that declares an oversized set at once, reading and storing nothing', async () => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    if (!part) throw new Error('expected a part');
    const hostile = { ...part, part: 1, parts: 512, payload: 'A'.repeat(1_048_576) };
    const outcome = await ingestEvent(partEvent(hostile, ACCOUNT), deps);
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'too-large' });
    // Refused before any S3 read: only the rejection record was written.
    expect(memory.log.map((c) => `${c.operation} ${c.key}`)).toEqual([
      `PutObject ${S3_LAYOUT.accountRejected(ACCOUNT)}`,
    ]);
    expect(rejectedOf(ACCOUNT)).toMatchObject({ reason: 'too-large', reportId: part.reportId });
    expect(metricSum(recorded, 'RejectedParts')).toBe(1);
  });

  it('weighs a complete stored set by its listing and refuses it unread when too large; the genuine report still wins', async () => {
    const genuine = accountReport(ACCOUNT, NOW, 1);
    const parts = partsOf(genuine);
    // A hostile first part already in incoming/ (stored before the declared-size check existed): its
    // object alone is larger than a whole report may be. The attacker's last part completes the set.
    const [first, second] = partsOf(accountReport(ACCOUNT, NOW, 3)) as [PartDetail, PartDetail];
    const last = { ...second, part: 2, parts: 2 };
    memory.putRaw(
      S3_LAYOUT.incomingPart(ACCOUNT, first.reportId, first.sha256, 1, 2),
      JSON.stringify({ ...first, parts: 2, payload: 'A'.repeat(maxStoredPartSetBytes(2)) }),
    );
    memory.log.length = 0;
    const [outcome] = await send([last]);
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'too-large' });
    expect(memory.log.filter((c) => c.operation === 'GetObject' && c.key.startsWith('incoming/'))).toEqual(
      [],
    );
    expect(rejectedOf(ACCOUNT)).toMatchObject({
      reason: 'too-large',
      reportId: first.reportId,
      partsPrefix: `incoming/${ACCOUNT}/${first.reportId}/${first.sha256}/`,
    });
    expect(rejectedOf(ACCOUNT)?.detail).toMatch(/no part was read/);
    expect(latestOf(ACCOUNT)).toBeUndefined();
    expect(metricSum(recorded, 'RejectedParts')).toBe(1);
    expect(metricSum(recorded, 'RejectedReports')).toBe(0);

    expect((await send(parts)).at(-1)).toMatchObject({ status: 'stored' });
    expect(latestOf(ACCOUNT)).toEqual(genuine);
  });

  it('assembles parts that arrive out of order', async () => {
    const report = accountReport(ACCOUNT, NOW);
    const parts = partsOf(report);
    const outcomes = await send([...parts].reverse());
    expect(outcomes.at(-1)).toMatchObject({ status: 'stored' });
    expect(latestOf(ACCOUNT)).toEqual(report);
  });

  it('rejects a part set whose payload does not match its sha256 and keeps the previous report', async () => {
    const previous = accountReport(ACCOUNT, NOW, 30);
    await send(partsOf(previous));
    const tampered = partsOf(accountReport(ACCOUNT, NOW, 2)).map((p) => ({ ...p, sha256: 'a'.repeat(64) }));
    const outcomes = await send(tampered);
    expect(outcomes.at(-1)).toMatchObject({ status: 'rejected', reason: 'assembly-failed' });
    expect(rejectedOf(ACCOUNT)?.detail).toMatch(/sha256/);
    expect(rejectedOf(ACCOUNT)?.partsPrefix).toMatch(
      new RegExp(`^incoming/${ACCOUNT}/${ACCOUNT}-\\d{8}T\\d{6}Z/[0-9a-f]{64}/$`),
    );
    expect(latestOf(ACCOUNT)).toEqual(previous);
    expect(metricSum(recorded, 'RejectedReports')).toBe(1);
  });

  it('keeps a report that fails validation aside with its reason and leaves the previous one in place', async () => {
    const previous = accountReport(ACCOUNT, NOW, 30);
    await send(partsOf(previous));
    const bad: AccountReport = {
      ...accountReport(ACCOUNT, NOW, 2),
      credentialReportCsv: 'user,arn\nbob,x\n',
    };
    const outcomes = await send(partsOf(bad));
    expect(outcomes.at(-1)).toMatchObject({ status: 'rejected', reason: 'invalid-report' });
    const record = rejectedOf(ACCOUNT);
    expect(record?.detail).toMatch(/Credential report of account 222222222222 rejected/);
    expect(record?.generatedTime).toBe(bad.generatedTime);
    // The report is kept aside whole in its own object (under history/, so listings roll it up); the
    // record the digest reads stays small.
    expect(record?.reportKey).toMatch(new RegExp(`^accounts/${ACCOUNT}/history/rejected/`));
    const kept = memory.objects.get(record?.reportKey as string);
    expect(kept?.contentType).toBe('application/gzip');
    expect(kept?.serverSideEncryption).toBe('AES256');
    expect(decodeHistory(kept?.body as Buffer)).toEqual(bad);
    expect(memory.text(S3_LAYOUT.accountRejected(ACCOUNT))?.length).toBeLessThan(2_000);
    expect(latestOf(ACCOUNT)).toEqual(previous);
  });

  it('keeps the set-aside report when a later refusal replaces the record', async () => {
    const bad: AccountReport = {
      ...accountReport(ACCOUNT, NOW, 2),
      credentialReportCsv: 'user,arn\nbob,x\n',
    };
    await send(partsOf(bad));
    const reportKey = rejectedOf(ACCOUNT)?.reportKey as string;
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    await ingestEvent(partEvent({ ...part, encoding: 'zip' }, ACCOUNT), deps);
    expect(rejectedOf(ACCOUNT)?.reason).toBe('invalid-part');
    expect(decodeHistory(memory.objects.get(reportKey)?.body as Buffer)).toEqual(bad);
  });

  it('replaces an older stored report with a newer one and moves the older to history', async () => {
    const older = accountReport(ACCOUNT, NOW, 30);
    const newer = accountReport(ACCOUNT, NOW, 2);
    await send(partsOf(older));
    const outcomes = await send(partsOf(newer));
    expect(outcomes.at(-1)).toMatchObject({ status: 'stored' });
    expect(latestOf(ACCOUNT)).toEqual(newer);
    const history = memory.objects.get(S3_LAYOUT.accountHistory(ACCOUNT, older.generatedTime));
    expect(history?.contentType).toBe('application/gzip');
    expect(decodeHistory(history?.body as Buffer)).toEqual(older);
  });

  it('ignores the parts of a report older than the stored one', async () => {
    const newer = accountReport(ACCOUNT, NOW, 2);
    const older = accountReport(ACCOUNT, NOW, 30);
    await send(partsOf(newer));
    const outcomes = await send(partsOf(older));
    expect(outcomes.every((o) => (o as { status: string }).status === 'superseded')).toBe(true);
    expect(latestOf(ACCOUNT)).toEqual(newer);
    expect(memory.keys(`accounts/${ACCOUNT}/history/`)).toEqual([]);
  });

  it('stores exactly once when two invocations complete the same report concurrently', async () => {
    const report = accountReport(ACCOUNT, NOW);
    const parts = partsOf(report);
    await send(parts.slice(0, -2));
    // The last two parts arrive at once; both invocations see a complete set and race on latest.json.
    const outcomes = await Promise.all(parts.slice(-2).map((p) => ingestEvent(partEvent(p, ACCOUNT), deps)));
    // Both reach latest.json: one creates it, the other's If-None-Match put gets 412 and re-reads.
    expect(outcomes.map((o) => o.status).sort()).toEqual(['not-newer', 'stored']);
    expect(latestOf(ACCOUNT)).toEqual(report);
    expect(metricSum(recorded, 'ReportsStored')).toBe(1);
  });

  it('handles a 412 on latest.json by re-reading and keeping the newest report', async () => {
    const mine = accountReport(ACCOUNT, NOW, 5);
    const competitor = accountReport(ACCOUNT, NOW, 1);
    const parts = partsOf(mine);
    await send(parts.slice(0, -1));
    // Another invocation stores a newer report between our HEAD and our conditional PUT.
    let injected = false;
    memory.hooks.push((operation, input, s3) => {
      if (!injected && operation === 'PutObject' && input.Key === S3_LAYOUT.accountLatest(ACCOUNT)) {
        injected = true;
        s3.putRaw(S3_LAYOUT.accountLatest(ACCOUNT), JSON.stringify(competitor), {
          metadata: { 'generated-time': competitor.generatedTime },
        });
      }
    });
    const outcome = await ingestEvent(partEvent(parts.at(-1), ACCOUNT), deps);
    expect(outcome).toMatchObject({ status: 'not-newer' });
    expect(latestOf(ACCOUNT)).toEqual(competitor);
  });

  it('retries after a 412 when the competitor stored an older report, and moves that one to history', async () => {
    const mine = accountReport(ACCOUNT, NOW, 1);
    const competitor = accountReport(ACCOUNT, NOW, 5);
    const parts = partsOf(mine);
    await send(parts.slice(0, -1));
    let injected = false;
    memory.hooks.push((operation, input, s3) => {
      if (!injected && operation === 'PutObject' && input.Key === S3_LAYOUT.accountLatest(ACCOUNT)) {
        injected = true;
        s3.putRaw(S3_LAYOUT.accountLatest(ACCOUNT), JSON.stringify(competitor), {
          metadata: { 'generated-time': competitor.generatedTime },
        });
      }
    });
    const outcome = await ingestEvent(partEvent(parts.at(-1), ACCOUNT), deps);
    expect(outcome).toMatchObject({ status: 'stored' });
    expect(latestOf(ACCOUNT)).toEqual(mine);
    expect(memory.keys(`accounts/${ACCOUNT}/history/`)).toEqual([
      S3_LAYOUT.accountHistory(ACCOUNT, competitor.generatedTime),
    ]);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Key: S3_LAYOUT.accountLatest(ACCOUNT),
      IfMatch: expect.any(String),
    });
  });

  it('retries a part write that meets 409 ConditionalRequestConflict', async () => {
    let conflicts = 1;
    memory.hooks.push((operation) => {
      if (operation === 'PutObject' && conflicts > 0) {
        conflicts--;
        throw s3Error('ConditionalRequestConflict', 409);
      }
    });
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    const outcome = await ingestEvent(partEvent(part, ACCOUNT), deps);
    expect(outcome).toMatchObject({ status: 'waiting', received: 1 });
  });

  it('keeps two collections of the same IAM report apart and ends with the later collection', async () => {
    const a = accountReport(ACCOUNT, NOW);
    const b: AccountReport = {
      ...a,
      collectedTime: new Date(Date.parse(a.collectedTime) + 60_000).toISOString(),
    };
    const partsA = partsOf(a);
    const partsB = partsOf(b);
    expect(partsA.length).toBe(partsB.length);
    expect(partsA[0]?.reportId).toBe(partsB[0]?.reportId);
    // Interleaved slot by slot: with parts keyed by reportId alone they would share (and fight over) slots.
    const order = partsA.flatMap((p, i) => [p, partsB[i] as PartDetail]);
    const outcomes = [];
    for (const p of order) outcomes.push(await ingestEvent(partEvent(p, ACCOUNT), deps));
    expect(outcomes.some((o) => o.status === 'rejected')).toBe(false);
    expect(outcomes.filter((o) => o.status === 'stored')).toHaveLength(2);
    expect(latestOf(ACCOUNT)).toEqual(b);
    // Each collection's parts under its own sha256.
    const shas = new Set(memory.keys(`incoming/${ACCOUNT}/`).map((k) => k.split('/')[3]));
    expect(shas).toEqual(new Set([partsA[0]?.sha256, partsB[0]?.sha256]));
  });

  it('stores a complete collection even though another collection of the same report lost a part', async () => {
    const a = accountReport(ACCOUNT, NOW);
    const b: AccountReport = {
      ...a,
      collectedTime: new Date(Date.parse(a.collectedTime) - 60_000).toISOString(),
    };
    const partsA = partsOf(a);
    await send(partsA.filter((p) => p.part !== 2));
    const outcomes = await send(partsOf(b));
    expect(outcomes.at(-1)).toMatchObject({ status: 'stored' });
    expect(latestOf(ACCOUNT)).toEqual(b);
    // The late part completes A, collected after B: it replaces B.
    const late = await send(partsA.filter((p) => p.part === 2));
    expect(late).toEqual([expect.objectContaining({ status: 'stored' })]);
    expect(latestOf(ACCOUNT)).toEqual(a);
  });

  it('ignores the parts of an earlier collection of the report already stored', async () => {
    const later = accountReport(ACCOUNT, NOW);
    const earlier: AccountReport = {
      ...later,
      collectedTime: new Date(Date.parse(later.collectedTime) - 60_000).toISOString(),
    };
    await send(partsOf(later));
    const outcomes = await send(partsOf(earlier));
    expect(outcomes.every((o) => (o as { status: string }).status === 'superseded')).toBe(true);
    expect(latestOf(ACCOUNT)).toEqual(later);
  });

  it('decides a part is not newer from latest.json metadata alone, without downloading the report', async () => {
    const report = accountReport(ACCOUNT, NOW);
    await send(partsOf(report));
    memory.log.length = 0;
    await send(partsOf(report).slice(0, 1));
    expect(memory.log).toEqual([{ operation: 'HeadObject', key: S3_LAYOUT.accountLatest(ACCOUNT) }]);
  });

  it('replaces a latest.json that is not a report instead of failing on it forever', async () => {
    memory.putRaw(S3_LAYOUT.accountLatest(ACCOUNT), 'not json');
    const report = accountReport(ACCOUNT, NOW);
    const outcomes = await send(partsOf(report));
    expect(outcomes.at(-1)).toMatchObject({ status: 'stored' });
    expect(latestOf(ACCOUNT)).toEqual(report);
  });

  it('logs no report contents, not even when it rejects a report', async () => {
    const lines: unknown[][] = [];
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      jest.spyOn(deps.logger, level).mockImplementation((...args: unknown[]) => {
        lines.push(args);
      });
    }
    const good = accountReport(ACCOUNT, NOW, 30);
    const bad: AccountReport = {
      ...accountReport(ACCOUNT, NOW, 2),
      credentialReportCsv: `${good.credentialReportCsv.split('\n')[0]}\nsecret-user,not-an-arn\n`,
    };
    const parts = [...partsOf(good), ...partsOf(bad)];
    const outcomes = await send(parts);
    expect(outcomes.at(-1)).toMatchObject({ status: 'rejected', reason: 'invalid-report' });
    expect(lines.map(([message]) => message)).toEqual(
      expect.arrayContaining(['Stored account report', 'Rejected credential report event']),
    );
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain('secret-user');
    for (const key of good.accessKeys) expect(logged).not.toContain(key.accessKeyId);
    for (const part of parts) expect(logged).not.toContain(part.payload.slice(0, 40));
  });

  it('throws a retryable error when S3 fails', async () => {
    memory.hooks.push((operation) => {
      if (operation === 'PutObject') throw s3Error('InternalError', 500);
    });
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    await expect(ingestEvent(partEvent(part, ACCOUNT), deps)).rejects.toThrow(StoreError);
  });
});
