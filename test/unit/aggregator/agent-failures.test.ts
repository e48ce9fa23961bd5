/**
 * Agent failures (issue 11 item 5, docs/ARCHITECTURE.md §4, §12) through the real ingest and then the real
 * digest: a failure the agent reports is recorded beside (never over) the account's report, counted, and
 * shown as `collection-failed` until a newer report arrives; a hostile one is refused and counted, and
 * nothing is recorded for the account it names. Which principal may put these events on the central bus
 * is proven by policy simulation in test/stacks/hub-stack.test.ts.
 */
import 'aws-sdk-client-mock-jest';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { DigestConfig, runDigest } from '../../../aggregator/digest';
import { IngestDeps, ingestEvent } from '../../../aggregator/ingest';
import { INGEST_METRICS } from '../../../aggregator/telemetry';
import { AGENT_FAILURE_DETAIL_TYPE, S3_LAYOUT } from '../../../core/names';
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
import { AGENT_FAILURE_BOUNDS } from '../../../core/event-contract';

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

const sendReport = async (report: AccountReport, account = report.accountId) => {
  const outcomes: unknown[] = [];
  for (const part of partsOf(report)) outcomes.push(await ingestEvent(partEvent(part, account), ingestDeps));
  return outcomes.at(-1);
};
/** A failure event as EventBridge delivers it: `account` is the sender, `time` one second after the failure. */
const failureEvent = (account: string, detail: Record<string, unknown> = {}) => {
  const failedTime =
    (detail.failedTime as string | undefined) ?? new Date(NOW.getTime() - 60_000).toISOString();
  return {
    version: '0',
    id: `fail-${account}`,
    source: 'credreport.member-agent',
    'detail-type': AGENT_FAILURE_DETAIL_TYPE,
    account,
    time: new Date(Date.parse(failedTime) + 1000).toISOString(),
    region: 'eu-west-1',
    resources: [],
    detail: {
      schemaVersion: 1,
      accountId: account,
      runId: 'req-1234',
      failedTime,
      stage: 'publish',
      errorName: 'PublishError',
      message: '3 of 3 part(s) could not be put on the central bus after 6 attempts (ThrottlingException)',
      agentVersion: '0123456789ab',
      ...detail,
    },
  };
};

/** Runs the digest and returns summary.json's coverage entry for `accountId`. */
async function coverageOf(accountId: string): Promise<CoverageEntry | undefined> {
  const own = sample.reports.find((r) => r.accountId === OWN) as AccountReport;
  const result = await runDigest(CONFIG, digestDeps({ bucket: BUCKET, own }), NOW);
  expect(result.ok).toBe(true);
  const summary = JSON.parse(memory.text(`latest/${S3_LAYOUT.outputFiles.summary}`) as string) as Summary;
  return summary.coverage.entries.find((e) => e.accountId === accountId);
}

describe('agent failures', () => {
  it('records a reported failure beside the report, counts it, and shows the account as collection-failed', async () => {
    const older = accountReport(VICTIM, NOW, 20);
    expect(await sendReport(older)).toMatchObject({ status: 'stored' });
    const latestBefore = memory.text(S3_LAYOUT.accountLatest(VICTIM));

    expect(await ingestEvent(failureEvent(VICTIM), ingestDeps)).toEqual({
      status: 'agent-failure-recorded',
      runId: 'req-1234',
    });
    expect(metricSum(recorded, INGEST_METRICS.agentFailures)).toBe(1);
    expect(memory.text(S3_LAYOUT.accountLatest(VICTIM))).toBe(latestBefore);
    expect(JSON.parse(memory.text(S3_LAYOUT.accountAgentFailure(VICTIM)) as string)).toMatchObject({
      accountId: VICTIM,
      stage: 'publish',
      errorName: 'PublishError',
    });

    // The older report is still fresh and still used; the failure of the newer run is the coverage entry.
    const entry = await coverageOf(VICTIM);
    expect(entry).toMatchObject({ status: 'reporting', reason: 'collection-failed' });
    expect(entry?.detail).toMatch(/^agent run req-1234 failed \(publish\) at .*: PublishError: 3 of 3 part/);
    const summary = JSON.parse(memory.text(`latest/${S3_LAYOUT.outputFiles.summary}`) as string) as Summary;
    expect(summary.coverage.entries.map((e) => e.accountId)).toContain(VICTIM);
    // And in the digest.
    const html = memory.text(`latest/${S3_LAYOUT.outputFiles.digest}`) as string;
    expect(html).toContain('collection failed');
    expect(html).toContain('agent run req-1234 failed (publish)');
  });

  it('clears the entry once a newer report arrives', async () => {
    await ingestEvent(failureEvent(VICTIM), ingestDeps);
    expect(await sendReport(accountReport(VICTIM, NOW, 0.5))).toMatchObject({ status: 'stored' });
    expect(memory.text(S3_LAYOUT.accountAgentFailure(VICTIM))).toBeDefined();
    expect((await coverageOf(VICTIM))?.reason).toBeUndefined();
  });

  it('shows an account that never reported but failed as missing, collection-failed', async () => {
    await ingestEvent(failureEvent(VICTIM, { stage: 'timeout', errorName: 'AgentTimeout' }), ingestDeps);
    expect(await coverageOf(VICTIM)).toMatchObject({ status: 'missing', reason: 'collection-failed' });
  });

  it('refuses a failure forged for another account: nothing recorded for it, the refusal counted and shown for the sender', async () => {
    const genuine = accountReport(VICTIM, NOW, 1);
    await sendReport(genuine);
    const outcome = await ingestEvent(
      { ...failureEvent(NEIGHBOUR), detail: { ...failureEvent(NEIGHBOUR).detail, accountId: VICTIM } },
      ingestDeps,
    );
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'forged-account' });
    expect(memory.text(S3_LAYOUT.accountAgentFailure(VICTIM))).toBeUndefined();
    expect(memory.text(S3_LAYOUT.accountAgentFailure(NEIGHBOUR))).toBeUndefined();
    expect(metricSum(recorded, INGEST_METRICS.forgedParts)).toBe(1);
    expect(metricSum(recorded, INGEST_METRICS.rejectedParts)).toBe(1);
    expect(metricSum(recorded, INGEST_METRICS.agentFailures)).toBe(0);
    expect((await coverageOf(VICTIM))?.reason).toBeUndefined();
    expect(await coverageOf(NEIGHBOUR)).toMatchObject({ reason: 'rejected' });
  });

  it('refuses an oversized or unknown-field failure, records the refusal only, and never touches the report', async () => {
    await sendReport(accountReport(VICTIM, NOW, 1));
    const latestBefore = memory.text(S3_LAYOUT.accountLatest(VICTIM));
    for (const detail of [
      { message: 'x'.repeat(AGENT_FAILURE_BOUNDS.message + 1) },
      { credentialReportCsv: 'user,arn\nalice,arn:aws:iam::1:user/alice' },
      { failedTime: '2027-01-01T00:00:00.000Z' },
    ]) {
      const event = failureEvent(VICTIM, detail);
      // The time of the event is EventBridge's, not the sender's choice.
      expect(await ingestEvent({ ...event, time: '2026-11-21T05:59:00Z' }, ingestDeps)).toMatchObject({
        status: 'rejected',
        reason: 'invalid-agent-failure',
      });
    }
    expect(memory.text(S3_LAYOUT.accountAgentFailure(VICTIM))).toBeUndefined();
    expect(memory.text(S3_LAYOUT.accountLatest(VICTIM))).toBe(latestBefore);
    expect(metricSum(recorded, INGEST_METRICS.rejectedParts)).toBe(3);
    const rejected = JSON.parse(memory.text(S3_LAYOUT.accountRejected(VICTIM)) as string) as {
      detail: string;
    };
    expect(rejected.detail).not.toContain('alice');
    expect(await coverageOf(VICTIM)).toMatchObject({ status: 'reporting', reason: 'rejected' });
  });
});
