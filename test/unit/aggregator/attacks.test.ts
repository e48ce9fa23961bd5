/**
 * The attacks of the trust review (issue 11, docs/ARCHITECTURE.md §11), each replayed through the real
 * ingest and then the real digest: nothing is stored for the attacker, the genuine report wins, the
 * refusal is counted in a metric that has an alarm, and it shows in summary.json coverage. Sender
 * authentication itself (only the agent role may put these events on the central bus) is proven by
 * policy simulation over the synthesized templates in test/stacks/hub-stack.test.ts.
 */
import 'aws-sdk-client-mock-jest';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { DigestConfig, runDigest } from '../../../aggregator/digest';
import { IngestDeps, ingestEvent } from '../../../aggregator/ingest';
import { INGEST_METRICS } from '../../../aggregator/telemetry';
import { PartDetail, splitReport } from '../../../core/event-contract';
import { S3_LAYOUT } from '../../../core/names';
import { SAMPLE_ACCOUNTS, sampleOrganization } from '../../../core/sample-org';
import type { Summary } from '../../../core/summary';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import { AccountReport, CoverageEntry } from '../../../core/types';
import { createHubStores } from '../../../store/hub-stores';
import { fakeOrganizationFrom, wireFakeOrganization } from './support/fake-organizations';
import { digestDeps } from './support/digest-deps';
import { MemoryS3, wireMemoryS3 } from './support/memory-s3';
import {
  accountReport,
  metricSum,
  partEvent,
  partsOf,
  recordingMetrics,
  silentLogger,
} from './support/reports';

const s3Mock = mockClient(S3Client);
const orgMock = mockClient(OrganizationsClient);
const sesMock = mockClient(SESv2Client);

const NOW = new Date('2026-11-21T06:00:00Z');
const VICTIM = SAMPLE_ACCOUNTS.payments;
const NEIGHBOUR = SAMPLE_ACCOUNTS.staging;
const OWN = SAMPLE_ACCOUNTS.management;
const BUCKET = 'hub-bucket';

const CONFIG: DigestConfig = {
  bucket: BUCKET,
  organizationId: 'o-example123',
  targetOuIds: ['r-ex12'],
  recipients: ['security@example.com'],
  sender: 'credreport@example.com',
  tagKeys: [],
  breakdownTag: 'Environment',
  thresholds: DEFAULT_THRESHOLDS,
  maxEmailBytes: 10_000_000,
  tagCacheHours: 24,
  region: 'eu-west-1',
  readConcurrency: 4,
};

let memory: MemoryS3;
let ingestDeps: IngestDeps;
let recorded: ReturnType<typeof recordingMetrics>['recorded'];
let sample: ReturnType<typeof sampleOrganization>;

beforeEach(() => {
  s3Mock.reset();
  orgMock.reset();
  sesMock.reset();
  memory = new MemoryS3();
  // Objects are written in the hour before the run, as they would be in the hub.
  memory.epochMs = NOW.getTime() - 3_600_000;
  wireMemoryS3(s3Mock, memory);
  sample = sampleOrganization(NOW);
  wireFakeOrganization(orgMock, fakeOrganizationFrom(sample.metadata));
  sesMock.on(SendEmailCommand).resolves({ MessageId: 'msg-1' });
  // Every other member account reported normally; the victim's report comes through ingest below.
  for (const report of sample.reports) {
    if (report.accountId !== OWN && report.accountId !== VICTIM)
      memory.putRaw(S3_LAYOUT.accountLatest(report.accountId), JSON.stringify(report));
  }
  const m = recordingMetrics();
  recorded = m.recorded;
  const logger = silentLogger();
  ingestDeps = {
    stores: createHubStores(new S3Client({ region: 'us-east-1' }), {
      bucket: BUCKET,
      logger,
      sleep: async () => undefined,
    }),
    logger,
    metrics: m.metrics,
    now: () => NOW,
  };
});

const send = async (
  parts: readonly PartDetail[],
  account: string,
  overrides: Record<string, unknown> = {},
) => {
  const outcomes: unknown[] = [];
  for (const part of parts) outcomes.push(await ingestEvent(partEvent(part, account, overrides), ingestDeps));
  return outcomes;
};
const latestOf = (accountId: string): AccountReport | undefined => {
  const text = memory.text(S3_LAYOUT.accountLatest(accountId));
  return text ? (JSON.parse(text) as AccountReport) : undefined;
};

/** Runs the digest and returns summary.json's coverage entry for `accountId`. */
async function coverageOf(accountId: string): Promise<CoverageEntry | undefined> {
  const own = sample.reports.find((r) => r.accountId === OWN) as AccountReport;
  const result = await runDigest(CONFIG, digestDeps({ bucket: BUCKET, own }), NOW);
  expect(result.ok).toBe(true);
  const summary = JSON.parse(memory.text(`latest/${S3_LAYOUT.outputFiles.summary}`) as string) as Summary;
  return summary.coverage.entries.find((e) => e.accountId === accountId);
}

describe('attacks from inside a member account fail safely', () => {
  it('a report dated ahead of its own event, to supersede the agent, is refused and the agent report wins', async () => {
    // The forger dates the report 10 minutes ahead and its collection a year ahead; EventBridge stamps the
    // event with the real time, which ingest trusts over anything in the detail.
    const forged = accountReport(VICTIM, NOW, -10 / 60, 1);
    const [outcome] = await send(
      splitReport({ ...forged, collectedTime: '2027-11-21T06:00:00Z' }, { maxEntryBytes: 200_000 }).map(
        (p) => ({ ...p, collectedTime: '2027-11-21T06:00:00Z' }),
      ),
      VICTIM,
      { time: NOW.toISOString() },
    );
    expect(outcome).toMatchObject({ status: 'rejected' });
    expect(latestOf(VICTIM)).toBeUndefined();
    expect(memory.keys(`incoming/${VICTIM}/`)).toEqual([]);

    const genuine = accountReport(VICTIM, NOW, 1);
    const outcomes = await send(partsOf(genuine), VICTIM);
    expect(outcomes.at(-1)).toMatchObject({ status: 'stored' });
    expect(latestOf(VICTIM)?.generatedTime).toBe(genuine.generatedTime);
    expect(metricSum(recorded, INGEST_METRICS.rejectedParts)).toBe(1);

    const entry = await coverageOf(VICTIM);
    expect(entry).toMatchObject({ status: 'reporting', reason: 'rejected' });
    expect(entry?.detail).toMatch(/later than the event time/);
  });

  it('a flood of part sets is capped per account and never stalls another account', async () => {
    ingestDeps = { ...ingestDeps, maxOpenPartSets: 4 };
    // Ten distinct collections, each missing its last part: only four stay open.
    const sets = Array.from({ length: 10 }, (_, i) => partsOf(accountReport(VICTIM, NOW, 3 + i / 10)));
    // One at a time: concurrent invocations can each pass the check before the others store, so the
    // bound under a race is the cap plus the ingest's reserved concurrency (docs/ARCHITECTURE.md §11).
    const outcomes: unknown[] = [];
    for (const parts of sets) outcomes.push(...(await send([parts[0] as PartDetail], VICTIM)));
    const refused = outcomes.filter((o) => (o as { reason?: string }).reason === 'too-many-part-sets');
    expect(refused).toHaveLength(6);
    expect(
      new Set(memory.keys(`incoming/${VICTIM}/`).map((k) => k.split('/').slice(2, 4).join('/'))).size,
    ).toBe(4);
    expect(metricSum(recorded, INGEST_METRICS.rejectedParts)).toBe(6);

    const neighbour = accountReport(NEIGHBOUR, NOW, 1);
    expect((await send(partsOf(neighbour), NEIGHBOUR)).at(-1)).toMatchObject({ status: 'stored' });
    expect(latestOf(NEIGHBOUR)?.generatedTime).toBe(neighbour.generatedTime);

    const entry = await coverageOf(VICTIM);
    expect(entry).toMatchObject({ reason: 'rejected' });
    expect(entry?.detail).toMatch(/^too-many-part-sets/);
    expect((await coverageOf(NEIGHBOUR))?.reason).toBeUndefined();
  });

  it('concurrent floods stay within the cap plus the ingest concurrency', async () => {
    ingestDeps = { ...ingestDeps, maxOpenPartSets: 4 };
    const concurrency = 10;
    const sets = Array.from({ length: 40 }, (_, i) => partsOf(accountReport(VICTIM, NOW, 3 + i / 100)));
    for (let i = 0; i < sets.length; i += concurrency) {
      await Promise.all(
        sets.slice(i, i + concurrency).map((parts) => send([parts[0] as PartDetail], VICTIM)),
      );
    }
    const open = new Set(memory.keys(`incoming/${VICTIM}/`).map((k) => k.split('/').slice(2, 4).join('/')));
    expect(open.size).toBeGreaterThanOrEqual(4);
    expect(open.size).toBeLessThanOrEqual(4 + concurrency - 1);
  });

  it('a set of 512 parts of 1 MB is refused part by part before any is stored or read; the agent report wins', async () => {
    const [template] = partsOf(accountReport(VICTIM, NOW, 1 / 60));
    if (!template) throw new Error('expected a part');
    const payload = 'A'.repeat(1_048_576);
    const hostile = Array.from({ length: 512 }, (_, i) => ({
      ...template,
      part: i + 1,
      parts: 512,
      payload,
    }));
    const outcomes = (await send(hostile, VICTIM)) as { status: string; reason?: string }[];
    // Every part but the last declares a set larger than a report may be; the last (1 MB, alone) is
    // stored and waits for parts that were all refused, until the 7-day lifecycle removes it.
    expect(outcomes.slice(0, -1).every((o) => o.reason === 'too-large')).toBe(true);
    expect(outcomes.at(-1)).toMatchObject({ status: 'waiting', received: 1, parts: 512 });
    expect(memory.keys(`incoming/${VICTIM}/`)).toEqual([
      S3_LAYOUT.incomingPart(VICTIM, template.reportId, template.sha256, 512, 512),
    ]);
    expect(memory.log.filter((c) => c.operation === 'GetObject' && c.key.startsWith('incoming/'))).toEqual(
      [],
    );
    expect(metricSum(recorded, INGEST_METRICS.rejectedParts)).toBe(511);
    expect(latestOf(VICTIM)).toBeUndefined();

    const genuine = accountReport(VICTIM, NOW, 0.5);
    expect((await send(partsOf(genuine), VICTIM)).at(-1)).toMatchObject({ status: 'stored' });
    expect(latestOf(VICTIM)?.generatedTime).toBe(genuine.generatedTime);

    const entry = await coverageOf(VICTIM);
    expect(entry).toMatchObject({ status: 'reporting', reason: 'rejected' });
    expect(entry?.detail).toMatch(/^too-large: part 511\/512 of 1048576 base64 characters declares a set/);
    // 512 MiB of payload strings pass through the handler: about 4 s alone, longer on a loaded machine.
  }, 30_000);

  it('a megabyte user name is refused with a reason and the previous good report stays', async () => {
    const good = accountReport(VICTIM, NOW, 5);
    expect((await send(partsOf(good), VICTIM)).at(-1)).toMatchObject({ status: 'stored' });
    const [header = '', ...rows] = good.credentialReportCsv.trimEnd().split('\n');
    const long = 'a'.repeat(1_000_000);
    const hostile: AccountReport = {
      ...accountReport(VICTIM, NOW, 1),
      credentialReportCsv: `${[header, ...rows, rows[0]!.replace(/^[^,]+/, long)].join('\n')}\n`,
    };
    const outcomes = await send(splitReport(hostile, { maxEntryBytes: 200_000 }), VICTIM);
    expect(outcomes.at(-1)).toMatchObject({ status: 'rejected' });
    expect(latestOf(VICTIM)?.generatedTime).toBe(good.generatedTime);
    expect(metricSum(recorded, INGEST_METRICS.rejectedReports)).toBe(1);
    const entry = await coverageOf(VICTIM);
    expect(entry).toMatchObject({ status: 'reporting', reason: 'rejected' });
    // The refusal names the bound, never the megabyte of text.
    expect(entry?.detail?.length).toBeLessThanOrEqual(500);
    expect(JSON.stringify(memory.text(`latest/${S3_LAYOUT.outputFiles.summary}`))).not.toContain(
      long.slice(0, 100),
    );
  });

  it('a different payload in an occupied part slot is recorded as a rejection, not swallowed as a duplicate', async () => {
    const genuine = partsOf(accountReport(VICTIM, NOW, 1));
    const first = genuine[0] as PartDetail;
    await send([{ ...first, payload: first.payload.split('').reverse().join('') }], VICTIM);
    const outcomes = await send(genuine, VICTIM);
    expect(outcomes[0]).toMatchObject({ status: 'rejected', reason: 'conflicting-part' });
    expect(latestOf(VICTIM)).toBeUndefined();
    expect(metricSum(recorded, INGEST_METRICS.rejectedParts)).toBeGreaterThanOrEqual(1);
    const entry = await coverageOf(VICTIM);
    expect(entry?.status).not.toBe('reporting');
    expect(entry?.reason).toMatch(/rejected|never-reported|assembly-incomplete/);
  });
});
