import 'aws-sdk-client-mock-jest';
import { GenerateCredentialReportCommand, IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { handler as IngestHandler } from '../../../aggregator/ingest-handler';
import type { handler as DigestHandler } from '../../../aggregator/digest-handler';
import { S3_LAYOUT } from '../../../core/names';
import { SAMPLE_ACCOUNTS, sampleOrganization } from '../../../core/sample-org';
import type { Summary } from '../../../core/summary';
import { fakeOrganizationFrom, wireFakeOrganization } from './support/fake-organizations';
import { MemoryS3, s3Error, wireMemoryS3 } from './support/memory-s3';
import { accountReport, partEvent, partsOf } from './support/reports';

const s3Mock = mockClient(S3Client);
const orgMock = mockClient(OrganizationsClient);
const sesMock = mockClient(SESv2Client);
const iamMock = mockClient(IAMClient);
const NOW = new Date('2026-11-21T06:00:00Z');
let memory: MemoryS3;
let ingest: typeof IngestHandler;
let digest: typeof DigestHandler;

const context = (account: string): Context =>
  ({
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:${account}:function:credreport-digest`,
    functionName: 'credreport-digest',
    awsRequestId: 'req-1',
    getRemainingTimeInMillis: () => 600_000,
  }) as unknown as Context;

beforeAll(async () => {
  Object.assign(process.env, {
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    AWS_REGION: 'eu-west-1',
    REPORT_BUCKET: 'hub-bucket',
    ORGANIZATION_ID: 'o-example123',
    TARGET_OU_IDS: 'r-ex12',
    DIGEST_RECIPIENTS: 'security@example.com',
    DIGEST_SENDER: 'credreport@example.com',
  });
  ingest = (await import('../../../aggregator/ingest-handler')).handler;
  digest = (await import('../../../aggregator/digest-handler')).handler;
});

beforeEach(() => {
  for (const m of [s3Mock, orgMock, sesMock, iamMock]) m.reset();
  memory = new MemoryS3();
  wireMemoryS3(s3Mock, memory);
});

describe('ingest handler', () => {
  it('returns (no retry) and records the rejection when the event is forged', async () => {
    const [part] = partsOf(accountReport('333333333333', NOW));
    const outcome = await ingest(partEvent(part, '222222222222'));
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'forged-account' });
    expect(memory.text(S3_LAYOUT.accountRejected('222222222222'))).toContain('forged-account');
  });

  it('throws so that EventBridge/Lambda retry when S3 fails', async () => {
    memory.hooks.push(() => {
      throw s3Error('ServiceUnavailable', 503);
    });
    const [part] = partsOf(accountReport('222222222222', NOW));
    await expect(ingest(partEvent(part, '222222222222'))).rejects.toThrow();
  });
});

describe('digest handler', () => {
  beforeEach(() => {
    const sample = sampleOrganization(NOW);
    wireFakeOrganization(orgMock, fakeOrganizationFrom(sample.metadata));
    for (const r of sample.reports) {
      if (r.accountId !== SAMPLE_ACCOUNTS.management)
        memory.putRaw(S3_LAYOUT.accountLatest(r.accountId), JSON.stringify(r));
    }
    sesMock.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
    iamMock
      .on(GenerateCredentialReportCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
  });

  it('runs on demand with the given now and reports the hub account it could not collect', async () => {
    const result = await digest({ now: NOW.toISOString() }, context(SAMPLE_ACCOUNTS.management));
    expect(result).toMatchObject({
      ok: true,
      email: 'sent',
      summaryKey: 'runs/date=2026-11-21/summary.json',
    });
    const summary = JSON.parse(memory.text('latest/summary.json') as string) as Summary;
    expect(summary.generatedAt).toBe(NOW.toISOString());
    expect(summary.coverage.entries.find((e) => e.accountId === SAMPLE_ACCOUNTS.management)).toMatchObject({
      reason: 'collection-failed',
    });
  });

  it('refuses an invocation payload whose now is not a time', async () => {
    await expect(digest({ now: 'yesterday' }, context(SAMPLE_ACCOUNTS.management))).rejects.toThrow(
      /Invalid digest invocation/,
    );
  });
});
