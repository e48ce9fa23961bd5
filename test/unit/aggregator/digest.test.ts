import { formatReportTime } from '../../../core/time';
import 'aws-sdk-client-mock-jest';
import { gunzipSync, gzipSync } from 'node:zlib';
import { IAMClient, ListOrganizationsFeaturesCommand } from '@aws-sdk/client-iam';
import {
  AWSOrganizationsNotInUseException,
  DescribeOrganizationCommand,
  ListTagsForResourceCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { CopyObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SESv2Client, SendEmailCommand, SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { parse as parseCsv } from 'csv-parse/sync';
import { CustomNotificationSchema, FindingEventDetailSchema } from '../../../core/notifications';
import { DigestConfig, DigestDeps, DigestError, runDigest } from '../../../aggregator/digest';
import { CollectError } from '../../../collector/account-collector';
import { reportIdFor } from '../../../core/event-contract';
import { S3_LAYOUT } from '../../../core/names';
import { SAMPLE_ACCOUNTS, SAMPLE_DENY_SCP, sampleOrganization } from '../../../core/sample-org';
import type { Summary } from '../../../core/summary';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import { AccountReport, FINDING_IDS } from '../../../core/types';
import {
  FakeOrganization,
  fakeOrganizationFrom,
  wireFakeOrganization,
  wireFakeRootAccess,
} from './support/fake-organizations';
import { digestDeps } from './support/digest-deps';
import { MemoryS3, s3Error, wireMemoryS3 } from './support/memory-s3';
import { accountReport, metricSum, recordingMetrics } from './support/reports';

const s3Mock = mockClient(S3Client);
const orgMock = mockClient(OrganizationsClient);
const sesMock = mockClient(SESv2Client);
const iamMock = mockClient(IAMClient);
const snsMock = mockClient(SNSClient);
const eventsMock = mockClient(EventBridgeClient);

const NOW = new Date('2026-11-21T06:00:00Z');
const DATE = '2026-11-21';
const BUCKET = 'hub-bucket';
const OWN = SAMPLE_ACCOUNTS.management;

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
let org: FakeOrganization;
let reports: AccountReport[];
let recorded: ReturnType<typeof recordingMetrics>['recorded'];

function deps(overrides: Partial<DigestDeps> = {}): DigestDeps {
  const m = recordingMetrics();
  recorded = m.recorded;
  const own = reports.find((r) => r.accountId === OWN) as AccountReport;
  return digestDeps({ bucket: BUCKET, own, metrics: m.metrics }, overrides);
}

const sentEmail = (): SendEmailCommandInput =>
  sesMock.commandCalls(SendEmailCommand)[0]?.args[0].input as SendEmailCommandInput;
const summaryOf = (key = `latest/${S3_LAYOUT.outputFiles.summary}`): Summary =>
  JSON.parse(memory.text(key) as string) as Summary;
/** A stored part's key, as ingest writes it (one collection: a fixed sha256). */
const partKey = (accountId: string, reportId: string, part: number, parts: number): string =>
  S3_LAYOUT.incomingPart(accountId, reportId, 'ab'.repeat(32), part, parts);
const csvRowsOf = (accountId: string): number =>
  (memory.text('latest/credential-report.csv') ?? '')
    .split('\n')
    .filter((line) => line.startsWith(`${accountId},`)).length;

beforeEach(() => {
  s3Mock.reset();
  orgMock.reset();
  sesMock.reset();
  memory = new MemoryS3();
  wireMemoryS3(s3Mock, memory);
  const sample = sampleOrganization(NOW);
  reports = sample.reports;
  org = fakeOrganizationFrom(sample.metadata);
  wireFakeOrganization(orgMock, org);
  iamMock.reset();
  org.rootAccessFeatures = ['RootCredentialsManagement', 'RootSessions'];
  org.trustedServices.add('iam.amazonaws.com');
  wireFakeRootAccess(iamMock, org);
  sesMock.on(SendEmailCommand).resolves({ MessageId: 'msg-1' });
  // Every member account's report as ingest stored it; the management account is collected in-process.
  for (const report of reports) {
    if (report.accountId !== OWN)
      memory.putRaw(S3_LAYOUT.accountLatest(report.accountId), JSON.stringify(report));
  }
});

describe('runDigest: centralized root access', () => {
  it('reads root access from its own account, caches it with the metadata and reports members still holding root credentials', async () => {
    await runDigest(CONFIG, deps(), NOW);
    expect(iamMock).toHaveReceivedCommandTimes(ListOrganizationsFeaturesCommand, 1);
    const cached = JSON.parse(memory.text(S3_LAYOUT.orgMetadata) as string) as { rootAccess?: unknown };
    expect(cached.rootAccess).toEqual({
      status: 'read',
      enabledFeatures: ['RootCredentialsManagement', 'RootSessions'],
      iamTrustedAccess: true,
      fetchedAt: NOW.toISOString(),
    });
    const summary = summaryOf();
    expect(summary.organization?.rootAccess.state).toBe('centralized');
    expect(summary.organization?.findings.map((f) => [f.id, f.accountId])).toEqual([
      ['member-root-credentials-present', SAMPLE_ACCOUNTS.devSandbox],
    ]);
    const csv = memory.text('latest/findings.csv') as string;
    expect(csv.split('\n').filter((l) => l.includes('member-root-credentials-present'))).toHaveLength(1);
    expect(sentEmail().Content?.Simple?.Body?.Text?.Data).toContain(
      'Root access: centrally managed · 1 member account still holds root credentials',
    );
  });

  it('shows "not readable from this account" in coverage, and no root-access finding, from an account IAM refuses', async () => {
    org.rootAccessError = 'AccountNotManagementOrDelegatedAdministratorException';
    await runDigest(CONFIG, deps(), NOW);
    const summary = summaryOf();
    expect(summary.organization?.rootAccess).toMatchObject({ state: 'unreadable', iamTrustedAccess: true });
    expect(summary.organization?.findings).toEqual([]);
    const text = sentEmail().Content?.Simple?.Body?.Text?.Data ?? '';
    expect(text).toContain('Root access: not readable from this account');
    expect(text).toMatch(
      /Centralized root access \(IAM ListOrganizationsFeatures\): not readable from this account/,
    );
    expect(memory.text('latest/digest.html')).toContain('not readable from this account');
  });

  it('raises root-access-not-centralized when the feature is off', async () => {
    org.rootAccessFeatures = [];
    await runDigest(CONFIG, deps(), NOW);
    const summary = summaryOf();
    expect(summary.organization?.findings.map((f) => f.id)).toEqual(['root-access-not-centralized']);
    expect(summary.totals.openFindings.high).toBeGreaterThanOrEqual(1);
  });
});

describe('runDigest', () => {
  it('applies the SCPs it reads to the v2 reports by default: a cleared flag names the SCP in its path column', async () => {
    const deny = sampleOrganization(NOW).metadata.controlPolicies?.policies[SAMPLE_DENY_SCP.id];
    org.policies.set(SAMPLE_DENY_SCP.id, {
      id: SAMPLE_DENY_SCP.id,
      name: SAMPLE_DENY_SCP.name,
      type: 'SERVICE_CONTROL_POLICY',
      content: deny?.content ?? '',
    });
    org.attached.set('ou-ex12-dev00001', [SAMPLE_DENY_SCP.id]);
    await runDigest(CONFIG, deps(), NOW);
    const header = (memory.text('latest/credential-report.csv') ?? '').split('\n')[0]?.split(',') ?? [];
    const carol = (memory.text('latest/credential-report.csv') ?? '')
      .split('\n')
      .find((line) => line.startsWith(`${SAMPLE_ACCOUNTS.devSandbox},`) && line.includes(',carol,'))
      ?.split(',');
    const cell = (name: string) => carol?.[header.indexOf(name)];
    expect(cell('s3_read')).toBe('false');
    expect(cell('data_read_path')).toBe(`s3: blocked by SCP ${SAMPLE_DENY_SCP.id} ${SAMPLE_DENY_SCP.name}`);
    expect(summaryOf().controlPolicies?.flagsCleared).toMatchObject({ s3Read: 1, rdsRead: 1 });
  });

  it("copies the three CSVs to the Athena tables' folders only when athenaTables is on", async () => {
    await runDigest(CONFIG, deps(), NOW);
    expect([...memory.objects.keys()].filter((k) => k.startsWith('tables/'))).toEqual([]);

    await runDigest({ ...CONFIG, athenaTables: true }, deps(), NOW);
    const tables = [...memory.objects.keys()].filter((k) => k.startsWith('tables/')).sort();
    expect(tables).toEqual([
      `tables/access_keys/date=${DATE}/access-keys.csv`,
      `tables/credential_report/date=${DATE}/credential-report.csv`,
      `tables/findings/date=${DATE}/findings.csv`,
    ]);
    for (const key of tables) {
      const file = key.slice(key.lastIndexOf('/') + 1);
      expect(memory.objects.get(key)?.body).toEqual(memory.objects.get(`latest/${file}`)?.body);
    }
  });

  it('writes the outputs to latest/ and runs/date=…/ and mails the digest with the CSV attached', async () => {
    const result = await runDigest(CONFIG, deps(), NOW);

    expect(result).toMatchObject({ ok: true, email: 'sent', summaryKey: `runs/date=${DATE}/summary.json` });
    for (const name of Object.values(S3_LAYOUT.outputFiles)) {
      expect(memory.objects.get(`latest/${name}`)?.serverSideEncryption).toBe('AES256');
      expect(memory.objects.get(`runs/date=${DATE}/${name}`)?.body).toEqual(
        memory.objects.get(`latest/${name}`)?.body,
      );
    }
    expect(memory.objects.get('latest/credential-report.csv')?.contentType).toBe('text/csv; charset=utf-8');
    expect(memory.objects.get('latest/access-keys.csv')?.contentType).toBe('text/csv; charset=utf-8');
    expect(memory.objects.get('latest/summary.json')?.contentType).toBe('application/json');
    expect(memory.objects.get('latest/digest.html')?.contentType).toBe('text/html; charset=utf-8');
    expect(memory.objects.get('latest/findings.ocsf.json')?.contentType).toBe('application/x-ndjson');
    // findings.ocsf.json: one OCSF 1.3.0 Compliance Finding per findings.csv row, each naming its account.
    const ocsf = (memory.text('latest/findings.ocsf.json') as string).split('\n').filter((l) => l !== '');
    const findingRows = (memory.text('latest/findings.csv') as string).split('\n').filter((l) => l !== '');
    expect(ocsf.length).toBe(findingRows.length - 1);
    expect(ocsf.length).toBeGreaterThan(0);
    for (const line of ocsf) {
      expect(JSON.parse(line)).toMatchObject({
        class_uid: 2003,
        metadata: { version: '1.3.0' },
        cloud: { provider: 'AWS' },
      });
    }
    expect(s3Mock).toHaveReceivedCommandWith(CopyObjectCommand, {
      Key: `runs/date=${DATE}/credential-report.csv`,
      CopySource: `${BUCKET}/latest/credential-report.csv`,
      ServerSideEncryption: 'AES256',
    });

    // Every reporting account has rows, the in-process one included.
    for (const id of [OWN, SAMPLE_ACCOUNTS.payments, SAMPLE_ACCOUNTS.devSandbox])
      expect(csvRowsOf(id)).toBeGreaterThan(0);
    const summary = summaryOf();
    expect(result.coverage).toEqual({
      expected: summary.coverage.expected,
      reporting: summary.coverage.reporting,
      missing: summary.coverage.missing,
      complete: false,
    });
    expect(result.coverage.expected).toBe(9);
    expect(result.findings['root-access-key']).toBe(summary.findings['root-access-key'].users);
    expect(result.findings['root-access-key']).toBeGreaterThanOrEqual(1);

    const email = sentEmail();
    expect(email.FromEmailAddress).toBe('credreport@example.com');
    expect(email.Destination?.ToAddresses).toEqual(['security@example.com']);
    const simple = email.Content?.Simple;
    expect(simple?.Subject?.Data).toMatch(
      /^credreport o-example123 2026-11-21: \d+ root keys?, \d+ findings?, coverage \d+\/9$/,
    );
    expect(simple?.Body?.Html?.Data).toContain('credential-report.csv.gz');
    expect(simple?.Body?.Text?.Data).toContain(`s3://${BUCKET}/runs/date=${DATE}/credential-report.csv`);
    const attachment = simple?.Attachments?.[0];
    expect(attachment).toMatchObject({
      FileName: 'credential-report.csv.gz',
      ContentType: 'application/gzip',
      ContentDisposition: 'ATTACHMENT',
    });
    expect(gunzipSync(attachment?.RawContent as Uint8Array).toString('utf8')).toBe(
      memory.text('latest/credential-report.csv'),
    );

    expect(JSON.parse(memory.text(S3_LAYOUT.orgMetadata) as string)).toMatchObject({
      organizationId: 'o-example123',
    });
    expect(metricSum(recorded, 'AccountsExpected')).toBe(9);
    expect(metricSum(recorded, 'AccountsReporting')).toBe(result.coverage.reporting);
    expect(metricSum(recorded, 'AccountsMissing')).toBe(result.coverage.missing);
    expect(metricSum(recorded, 'OrganizationsCalls')).toBe(
      Object.values(org.calls).reduce((a, b) => a + b, 0),
    );
    expect(recorded.filter((m) => m.name === 'DurationMs')).toHaveLength(1);
    expect(metricSum(recorded, 'EmailFailed')).toBe(0);
    expect(recorded.filter((m) => m.name === 'DigestSucceeded')).toEqual([
      { name: 'DigestSucceeded', value: 1 },
    ]);
    expect(recorded.filter((m) => m.name === 'Findings')).toHaveLength(FINDING_IDS.length); // one per finding id, zero included
    expect(
      recorded.find((m) => m.name === 'Findings' && m.dimensions?.FindingId === 'root-access-key')?.value,
    ).toBe(result.findings['root-access-key']);
  });

  it('merges the other accounts and shows one as unreadable when its S3 read fails', async () => {
    memory.hooks.push((operation, input) => {
      if (operation === 'GetObject' && input.Key === S3_LAYOUT.accountLatest(SAMPLE_ACCOUNTS.payments)) {
        throw s3Error('InternalError', 500);
      }
    });
    const result = await runDigest(CONFIG, deps(), NOW);
    expect(result.ok).toBe(true);
    expect(csvRowsOf(SAMPLE_ACCOUNTS.payments)).toBe(0);
    expect(csvRowsOf(SAMPLE_ACCOUNTS.devSandbox)).toBeGreaterThan(0);
    expect(csvRowsOf(SAMPLE_ACCOUNTS.security)).toBeGreaterThan(0);
    const entry = summaryOf().coverage.entries.find((e) => e.accountId === SAMPLE_ACCOUNTS.payments);
    expect(entry).toMatchObject({ status: 'missing', reason: 'unreadable' });
    expect(entry?.detail).toMatch(/could not be read/);
    expect(metricSum(recorded, 'UnreadableReports')).toBe(1);
  });

  it('returns ok:false with email failed and an EmailFailed metric when SES fails after the S3 writes', async () => {
    sesMock
      .on(SendEmailCommand)
      .rejects(Object.assign(new Error('Email address is not verified.'), { name: 'MessageRejected' }));
    const result = await runDigest(CONFIG, deps(), NOW);
    expect(result).toMatchObject({
      ok: false,
      email: 'failed',
      summaryKey: `runs/date=${DATE}/summary.json`,
    });
    expect(result.error).toMatch(/MessageRejected/);
    expect(memory.text(`runs/date=${DATE}/credential-report.csv`)).toBeDefined();
    expect(memory.text('latest/summary.json')).toBeDefined();
    expect(metricSum(recorded, 'EmailFailed')).toBe(1);
    // The outputs were written: the heartbeat counts the run (EmailFailed reports the email).
    expect(metricSum(recorded, 'DigestSucceeded')).toBe(1);
  });

  it('links the CSV in S3 instead of attaching it when the message would be too large', async () => {
    // 4,000 users in one account: a CSV whose gzip alone passes the limit while the digest itself fits.
    const big = accountReport(SAMPLE_ACCOUNTS.payments, NOW, 2, 4_000);
    memory.putRaw(S3_LAYOUT.accountLatest(SAMPLE_ACCOUNTS.payments), JSON.stringify(big));
    const result = await runDigest({ ...CONFIG, maxEmailBytes: 80_000 }, deps(), NOW);
    const gzipped = gzipSync(memory.objects.get('latest/credential-report.csv')?.body as Buffer).length;
    expect(gzipped).toBeGreaterThan(80_000 * 0.75);
    expect(result.email).toBe('sent');
    const simple = sentEmail().Content?.Simple;
    expect(simple?.Attachments).toBeUndefined();
    expect(simple?.Body?.Html?.Data).toContain(`s3://${BUCKET}/runs/date=${DATE}/credential-report.csv`);
    expect(simple?.Body?.Html?.Data).toContain(
      `https://s3.console.aws.amazon.com/s3/object/${BUCKET}?region=eu-west-1&amp;bucketType=general&amp;prefix=runs%2Fdate%3D${DATE}%2Fcredential-report.csv`,
    );
    expect(simple?.Body?.Text?.Data).toMatch(/too large to attach/);
    // 4,000 users stream three CSVs (≈5 s on a loaded 2-core machine): more than jest's default 5 s.
  }, 20_000);

  it('mails "and N more" naming the attached CSV, while digest.html in S3 names the file beside it', async () => {
    // 200 users with an active key each: more keys with findings than the top-risks list shows.
    const big = accountReport(SAMPLE_ACCOUNTS.payments, NOW, 2, 200);
    memory.putRaw(S3_LAYOUT.accountLatest(SAMPLE_ACCOUNTS.payments), JSON.stringify(big));
    const result = await runDigest(CONFIG, deps(), NOW);
    expect(result.email).toBe('sent');
    const simple = sentEmail().Content?.Simple;
    expect(simple?.Attachments).toHaveLength(1);
    const keys = summaryOf().totals.activeKeysWithFindings - summaryOf().riskiestKeys.length;
    expect(keys).toBeGreaterThan(0);
    // The email names the attachment; digest.html in S3 names the files beside it.
    expect(simple?.Body?.Html?.Data).toContain(`… and ${keys} more — see the attached CSV.`);
    expect(simple?.Body?.Text?.Data).toContain(`… and ${keys} more — see the attached CSV.`);
    expect(memory.text('latest/digest.html')).toContain(`… and ${keys} more — see credential-report.csv.`);
  });

  it('fails the email visibly, sending nothing, when maxEmailBytes cannot hold even the short notice', async () => {
    const result = await runDigest({ ...CONFIG, maxEmailBytes: 5_000 }, deps(), NOW);
    expect(result).toMatchObject({ ok: false, email: 'failed' });
    expect(result.error).toMatch(/MailerError: maxEmailBytes \(5000\) is too small/);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    expect(metricSum(recorded, 'EmailFailed')).toBe(1);
    expect(memory.text(`runs/date=${DATE}/summary.json`)).toBeDefined();
  });

  it('skips the email when no recipients are configured', async () => {
    const result = await runDigest({ ...CONFIG, recipients: [] }, deps(), NOW);
    expect(result).toMatchObject({ ok: true, email: 'skipped' });
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
  });

  it('reports the hub account as collection-failed instead of crashing when in-process collection fails', async () => {
    const result = await runDigest(
      CONFIG,
      deps({
        collect: async () => {
          throw new CollectError('GenerateCredentialReport failed: AccessDenied');
        },
      }),
      NOW,
    );
    expect(result.ok).toBe(true);
    expect(csvRowsOf(OWN)).toBe(0);
    expect(summaryOf().coverage.entries.find((e) => e.accountId === OWN)).toMatchObject({
      status: 'missing',
      reason: 'collection-failed',
    });
    expect(metricSum(recorded, 'OwnCollectionFailed')).toBe(1);
  });

  it('shows rejected reports and incomplete part sets in coverage', async () => {
    memory.putRaw(
      S3_LAYOUT.accountRejected(SAMPLE_ACCOUNTS.newAccount),
      JSON.stringify({
        schemaVersion: 1,
        accountId: SAMPLE_ACCOUNTS.newAccount,
        reason: 'forged-account',
        detail: 'detail.accountId 222222222222 differs from the sending account 777777777777',
        at: NOW.toISOString(),
      }),
    );
    const reportId = reportIdFor(SAMPLE_ACCOUNTS.logArchive, '2026-11-21T04:00:00Z');
    memory.putRaw(partKey(SAMPLE_ACCOUNTS.logArchive, reportId, 1, 3), '{}');
    memory.putRaw(partKey(SAMPLE_ACCOUNTS.logArchive, reportId, 3, 3), '{}');
    await runDigest(CONFIG, deps(), NOW);
    const entries = summaryOf().coverage.entries;
    expect(entries.find((e) => e.accountId === SAMPLE_ACCOUNTS.newAccount)).toMatchObject({
      reason: 'rejected',
    });
    expect(entries.find((e) => e.accountId === SAMPLE_ACCOUNTS.newAccount)?.detail).toMatch(/forged-account/);
    expect(entries.find((e) => e.accountId === SAMPLE_ACCOUNTS.logArchive)).toMatchObject({
      reason: 'assembly-incomplete',
    });
    expect(entries.find((e) => e.accountId === SAMPLE_ACCOUNTS.logArchive)?.detail).toMatch(/2 of 3 parts/);
  });

  it('shows the newest of a flood of incomplete part sets in coverage, with how many there are', async () => {
    // 1,500 incomplete sets of one account (more than one listing page), written oldest first, after
    // the account's last good report; the newest is not the last in key order.
    for (let i = 0; i < 1_500; i++) {
      const generated = new Date(Date.UTC(2026, 10, 20) + i * 60_000).toISOString();
      const reportId = reportIdFor(SAMPLE_ACCOUNTS.logArchive, generated);
      memory.putRaw(
        S3_LAYOUT.incomingPart(SAMPLE_ACCOUNTS.logArchive, reportId, 'cd'.repeat(32), 1, 2),
        '{}',
      );
    }
    // Listed first (an earlier reportId), written last.
    const newest = reportIdFor(SAMPLE_ACCOUNTS.logArchive, '2026-11-19T00:00:00Z');
    memory.putRaw(partKey(SAMPLE_ACCOUNTS.logArchive, newest, 2, 5), '{}');
    await runDigest(CONFIG, deps(), NOW);
    const entry = summaryOf().coverage.entries.find((e) => e.accountId === SAMPLE_ACCOUNTS.logArchive);
    expect(entry).toMatchObject({ reason: 'assembly-incomplete' });
    expect(entry?.detail).toMatch(
      new RegExp(
        `^report ${newest}: 1 of 5 parts received \\(last at .*\\); 1501 incomplete part sets listed for the account(;|$)`,
      ),
    );
  });

  it('ignores a rejection and an incomplete set that a newer stored report superseded', async () => {
    const reportId = reportIdFor(SAMPLE_ACCOUNTS.devSandbox, '2026-11-19T04:00:00Z');
    memory.putRaw(partKey(SAMPLE_ACCOUNTS.devSandbox, reportId, 1, 2), '{}');
    memory.putRaw(
      S3_LAYOUT.accountRejected(SAMPLE_ACCOUNTS.devSandbox),
      JSON.stringify({
        schemaVersion: 1,
        accountId: SAMPLE_ACCOUNTS.devSandbox,
        reason: 'invalid-part',
        detail: 'x',
        at: '2026-11-19T04:00:00Z',
      }),
    );
    // Stored afterwards (LastModified later than both).
    const dev = reports.find((r) => r.accountId === SAMPLE_ACCOUNTS.devSandbox);
    memory.putRaw(S3_LAYOUT.accountLatest(SAMPLE_ACCOUNTS.devSandbox), JSON.stringify(dev));
    await runDigest(CONFIG, deps(), NOW);
    expect(
      summaryOf().coverage.entries.find((e) => e.accountId === SAMPLE_ACCOUNTS.devSandbox),
    ).toBeUndefined();
    expect(csvRowsOf(SAMPLE_ACCOUNTS.devSandbox)).toBeGreaterThan(0);
  });

  it('computes the delta against the previous run, replaces the same day and reuses the metadata cache', async () => {
    await runDigest(CONFIG, deps(), NOW);
    const firstSummary = memory.text(`runs/date=${DATE}/summary.json`);
    // Every ACTIVE account's tags once (the suspended account is not asked).
    expect(org.calls.ListTagsForResource).toBe(9);

    // The payments report gains a user with a console password and no MFA.
    const later = new Date(NOW.getTime() + 3_600_000);
    const payments = reports.find((r) => r.accountId === SAMPLE_ACCOUNTS.payments) as AccountReport;
    const lines = payments.credentialReportCsv.trimEnd().split('\n');
    const template = (lines[lines.length - 1] as string).split(',');
    template[0] = 'new-console-user';
    template[1] = `arn:aws:iam::${SAMPLE_ACCOUNTS.payments}:user/new-console-user`;
    template[3] = 'true';
    template[4] = 'no_information';
    template[5] = payments.generatedTime.replace(/\.\d+Z$/, '+00:00').replace('Z', '+00:00');
    template[7] = 'false';
    memory.putRaw(
      S3_LAYOUT.accountLatest(SAMPLE_ACCOUNTS.payments),
      JSON.stringify({
        ...payments,
        credentialReportCsv: `${payments.credentialReportCsv.trimEnd()}\n${template.join(',')}\n`,
      }),
    );
    orgMock.resetHistory();
    const result = await runDigest(CONFIG, deps(), later);

    expect(org.calls.ListTagsForResource).toBe(9); // warm cache: no new tag calls
    expect(orgMock).not.toHaveReceivedCommand(ListTagsForResourceCommand);
    const summary = summaryOf();
    expect(summary.delta?.newUsers.count).toBe(1);
    expect(summary.delta?.newFindings.count).toBeGreaterThanOrEqual(1);
    expect(memory.text(`runs/date=${DATE}/summary.json`)).not.toEqual(firstSummary);
    expect(memory.keys('runs/')).toHaveLength(Object.keys(S3_LAYOUT.outputFiles).length);
    expect(sesMock.commandCalls(SendEmailCommand)[1]?.args[0].input.Content?.Simple?.Subject?.Data).toMatch(
      /\(\+\d+\/\u2212\d+\)/,
    );
    expect(result.ok).toBe(true);
  });

  it('falls back to the cached metadata when Organizations is unavailable', async () => {
    await runDigest(CONFIG, deps(), NOW);
    orgMock
      .on(DescribeOrganizationCommand)
      .rejects(new AWSOrganizationsNotInUseException({ $metadata: {}, message: 'not in use' }));
    const result = await runDigest(CONFIG, deps(), new Date(NOW.getTime() + 3_600_000));
    expect(result.coverage.expected).toBe(9);
    expect(summaryOf().byAccount.find((a) => a.accountId === SAMPLE_ACCOUNTS.payments)?.ouPath).toBe(
      'Root/Workloads/Prod',
    );
    // The reader of the digest learns the metadata is from the cache.
    expect(summaryOf().warnings.join('\n')).toMatch(
      new RegExp(`Organizations could not be read .*from the cache of ${NOW.toISOString()}`),
    );
  });

  it('names the gaps of the organization metadata in the summary', async () => {
    org.deniedTags.add(SAMPLE_ACCOUNTS.payments);
    await runDigest(CONFIG, deps(), NOW);
    expect(summaryOf().warnings.join('\n')).toMatch(/ListTagsForResource was denied for 1 account/);
  });

  it('reads the previous run from its state and summary.json only, each once, with no HeadObject', async () => {
    await runDigest(CONFIG, deps(), NOW);
    memory.log.length = 0;
    await runDigest(CONFIG, deps(), new Date(NOW.getTime() + 3_600_000));
    const reads = memory.log.filter(
      (c) => (c.operation === 'GetObject' || c.operation === 'HeadObject') && c.key.startsWith('latest/'),
    );
    expect(reads.map((c) => `${c.operation} ${c.key}`).sort()).toEqual(
      ['state.json.gz', 'summary.json'].map((f) => `GetObject latest/${f}`),
    );
    expect(summaryOf().delta).toBeDefined();
  });

  it('reads each object of a previous run without state (an older run) once, streaming the CSVs', async () => {
    await runDigest(CONFIG, deps(), NOW);
    memory.objects.delete('latest/state.json.gz');
    memory.log.length = 0;
    await runDigest(CONFIG, deps(), new Date(NOW.getTime() + 3_600_000));
    const reads = memory.log.filter(
      (c) => (c.operation === 'GetObject' || c.operation === 'HeadObject') && c.key.startsWith('latest/'),
    );
    expect(reads.map((c) => `${c.operation} ${c.key}`).sort()).toEqual(
      ['access-keys.csv', 'credential-report.csv', 'state.json.gz', 'summary.json'].map(
        (f) => `GetObject latest/${f}`,
      ),
    );
    // No S3 object at all is read twice in one digest.
    const gets = memory.log.filter((c) => c.operation === 'GetObject').map((c) => c.key);
    expect(gets.length).toBe(new Set(gets).size);
    // …and the previous run was read before the first write under latest/.
    const firstWrite = memory.log.findIndex(
      (c) => c.key.startsWith('latest/') && c.operation !== 'GetObject',
    );
    const lastRead = memory.log
      .map((c) => c.operation === 'GetObject' && c.key.startsWith('latest/'))
      .lastIndexOf(true);
    expect(lastRead).toBeLessThan(firstWrite);
    expect(summaryOf().delta).toBeDefined();
  });

  it('runs without a delta, and says why in the logs and the summary, when the previous run is not readable', async () => {
    memory.putRaw('latest/credential-report.csv', 'this,is,not\na,credreport,csv\n');
    memory.putRaw(
      'latest/summary.json',
      JSON.stringify({ schemaVersion: 1, generatedAt: NOW.toISOString(), byAccount: [] }),
    );
    const d = deps();
    const warn = jest.spyOn(d.logger, 'warn');
    const result = await runDigest(CONFIG, d, NOW);
    expect(result.ok).toBe(true);
    expect(warn).toHaveBeenCalledWith(
      'Previous run unreadable; no delta this run',
      expect.objectContaining({ error: expect.stringMatching(/account_id/) }),
    );
    expect(summaryOf().delta).toBeUndefined();
    expect(summaryOf().warnings.join('\n')).toMatch(/previous run in latest\/ could not be read/);
    expect(memory.text('latest/credential-report.csv')).toMatch(/^account_id,/);
  });

  it('validates the previous summary.json from S3 with the core schema (as merge --previous does)', async () => {
    memory.putRaw('latest/credential-report.csv', 'account_id,user,findings\n');
    memory.putRaw('latest/summary.json', JSON.stringify({ schemaVersion: 2, byAccount: [] }));
    const d = deps();
    const warn = jest.spyOn(d.logger, 'warn');
    const result = await runDigest(CONFIG, d, NOW);
    expect(result.ok).toBe(true);
    expect(warn).toHaveBeenCalledWith(
      'Previous run unreadable; no delta this run',
      expect.objectContaining({ error: expect.stringMatching(/summary\.json has schemaVersion 2/) }),
    );
    expect(summaryOf().delta).toBeUndefined();
  });

  it('ignores cached metadata written for another organization', async () => {
    await runDigest(CONFIG, deps(), NOW);
    const cached = JSON.parse(memory.text('org/metadata.json') ?? '') as { organizationId?: string };
    memory.putRaw('org/metadata.json', JSON.stringify({ ...cached, organizationId: 'o-someoneelse1' }));
    orgMock
      .on(DescribeOrganizationCommand)
      .rejects(new AWSOrganizationsNotInUseException({ $metadata: {}, message: 'not in use' }));
    await runDigest(CONFIG, deps(), new Date(NOW.getTime() + 3_600_000));
    expect(summaryOf().warnings.join('\n')).toMatch(/no cached metadata exists/);
  });

  it('shows an expected account without any report as never-reported and an old report as stale', async () => {
    memory.objects.delete(S3_LAYOUT.accountLatest(SAMPLE_ACCOUNTS.staging));
    memory.putRaw(
      S3_LAYOUT.accountLatest(SAMPLE_ACCOUNTS.security),
      JSON.stringify(accountReport(SAMPLE_ACCOUNTS.security, NOW, 72)),
    );
    const result = await runDigest(CONFIG, deps(), NOW);
    const entries = summaryOf().coverage.entries;
    expect(entries.find((e) => e.accountId === SAMPLE_ACCOUNTS.staging)).toMatchObject({
      status: 'missing',
      reason: 'never-reported',
    });
    expect(entries.find((e) => e.accountId === SAMPLE_ACCOUNTS.security)).toMatchObject({
      status: 'stale',
      reason: 'stale',
    });
    // A stale report still contributes its rows; the result counts it as missing coverage.
    expect(csvRowsOf(SAMPLE_ACCOUNTS.security)).toBeGreaterThan(0);
    expect(result.coverage.complete).toBe(false);
    expect(metricSum(recorded, 'AccountsMissing')).toBe(result.coverage.missing);
  });

  it('expects the management account like any member in delegated-admin mode: missing until its agent reports', async () => {
    // Workloads only, so the security account is outside the targets; say it is the management account.
    const config = {
      ...CONFIG,
      targetOuIds: ['ou-ex12-wkld0001'],
      managementAccountId: SAMPLE_ACCOUNTS.security,
    };
    memory.objects.delete(S3_LAYOUT.accountLatest(SAMPLE_ACCOUNTS.security));
    const missing = await runDigest(config, deps(), NOW);
    expect(summaryOf().coverage.entries.find((e) => e.accountId === SAMPLE_ACCOUNTS.security)).toMatchObject({
      status: 'missing',
      reason: 'never-reported',
    });
    expect(missing.coverage.complete).toBe(false);

    // Without managementAccountId the account is simply not expected.
    await runDigest({ ...config, managementAccountId: undefined }, deps(), NOW);
    expect(summaryOf().coverage.entries.map((e) => e.accountId)).not.toContain(SAMPLE_ACCOUNTS.security);

    // Once its agent's report is stored, it is reporting like any member.
    memory.putRaw(
      S3_LAYOUT.accountLatest(SAMPLE_ACCOUNTS.security),
      JSON.stringify(accountReport(SAMPLE_ACCOUNTS.security, NOW, 2)),
    );
    const reporting = await runDigest(config, deps(), NOW);
    expect(summaryOf().coverage.entries.map((e) => e.accountId)).not.toContain(SAMPLE_ACCOUNTS.security);
    expect(reporting.coverage.expected).toBe(missing.coverage.expected);
    expect(reporting.coverage.missing).toBe(missing.coverage.missing - 1);
  });

  it('logs structured lines that carry no report contents', async () => {
    const d = deps();
    const lines: unknown[][] = [];
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      jest.spyOn(d.logger, level).mockImplementation((...args: unknown[]) => {
        lines.push(args);
      });
    }
    memory.hooks.push((operation, input) => {
      if (operation === 'GetObject' && input.Key === S3_LAYOUT.accountLatest(SAMPLE_ACCOUNTS.payments)) {
        throw s3Error('InternalError', 500);
      }
    });
    await runDigest(CONFIG, d, NOW);
    expect(lines.length).toBeGreaterThan(3);
    const logged = JSON.stringify(lines);
    for (const report of reports) {
      for (const line of report.credentialReportCsv.split('\n').slice(1)) {
        const user = line.split(',')[0];
        if (user && user !== '<root_account>') expect(logged).not.toContain(user);
      }
      for (const key of report.accessKeys) expect(logged).not.toContain(key.accessKeyId);
    }
    // Every line is a constant message plus a data object.
    for (const [message, data] of lines) {
      expect(typeof message).toBe('string');
      if (data !== undefined) expect(typeof data).toBe('object');
    }
  });

  it('fails when Organizations answers for another organization than configured', async () => {
    await expect(runDigest({ ...CONFIG, organizationId: 'o-otherorg99' }, deps(), NOW)).rejects.toThrow(
      DigestError,
    );
  });

  it('throws when the outputs cannot be written to S3', async () => {
    memory.hooks.push((operation, input) => {
      if (operation === 'PutObject' && String(input.Key).startsWith('latest/'))
        throw s3Error('AccessDenied', 403);
    });
    await expect(runDigest(CONFIG, deps(), NOW)).rejects.toThrow(/latest\//);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    // No heartbeat: after staleHours of this, the heartbeat alarm fires.
    expect(recorded.filter((m) => m.name === 'DigestSucceeded')).toEqual([]);
  });

  it('emits no heartbeat when Organizations answers for another organization than configured', async () => {
    await expect(runDigest({ ...CONFIG, organizationId: 'o-otherorg99' }, deps(), NOW)).rejects.toThrow(
      DigestError,
    );
    expect(recorded.filter((m) => m.name === 'DigestSucceeded')).toEqual([]);
  });
});

describe('runDigest: chat and routing', () => {
  const TOPIC = 'arn:aws:sns:eu-west-1:111111111111:security-chat';
  const BUS = 'arn:aws:events:eu-west-1:111111111111:event-bus/credreport-central';
  const NOTIFYING: DigestConfig = {
    ...CONFIG,
    chatTopicArn: TOPIC,
    findingEventsBusArn: BUS,
    maxFindingEvents: 500,
  };
  const LATER = new Date(NOW.getTime() + 3_600_000);
  const chatDeps = () =>
    deps({
      sns: new SNSClient({ region: 'eu-west-1' }),
      eventBridge: new EventBridgeClient({ region: 'eu-west-1' }),
      sleep: async () => undefined,
    });

  /** The payments report gains a user with a console password and no MFA: one new high finding. */
  function addConsoleUserWithoutMfa(): void {
    const payments = reports.find((r) => r.accountId === SAMPLE_ACCOUNTS.payments) as AccountReport;
    const lines = payments.credentialReportCsv.trimEnd().split('\n');
    const row = (lines[lines.length - 1] as string).split(',');
    row[0] = 'new-console-user';
    row[1] = `arn:aws:iam::${SAMPLE_ACCOUNTS.payments}:user/new-console-user`;
    row[3] = 'true';
    row[4] = 'no_information';
    row[5] = payments.generatedTime.replace(/\.\d+Z$/, '+00:00').replace('Z', '+00:00');
    row[7] = 'false';
    memory.putRaw(
      S3_LAYOUT.accountLatest(SAMPLE_ACCOUNTS.payments),
      JSON.stringify({
        ...payments,
        credentialReportCsv: `${payments.credentialReportCsv.trimEnd()}\n${row.join(',')}\n`,
      }),
    );
  }

  beforeEach(() => {
    snsMock.reset();
    eventsMock.reset();
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    eventsMock.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map((_, i) => ({ EventId: `e-${i}` })),
    }));
  });

  it('publishes a custom notification linking latest/digest.html and puts no finding events on a first run', async () => {
    const result = await runDigest(NOTIFYING, chatDeps(), NOW);
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    const input = snsMock.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.TopicArn).toBe(TOPIC);
    const message = CustomNotificationSchema.parse(JSON.parse(input?.Message ?? '{}'));
    expect(message.content.description).toContain(`s3://${BUCKET}/latest/digest.html`);
    expect(message.content.description).toContain('first run');
    expect(eventsMock).not.toHaveReceivedCommand(PutEventsCommand);
    const expected = {
      chat: 'published',
      events: { state: 'first-run', newFindings: 0, put: 0, failed: 0, truncated: 0 },
    };
    expect(result.notifications).toEqual(expected);
    expect(summaryOf().notifications).toEqual(expected);
    expect(summaryOf(`runs/date=${DATE}/summary.json`).notifications).toEqual(expected);
    expect(memory.text(`runs/date=${DATE}/digest.html`)).toContain('Chat summary: published');
    expect(metricSum(recorded, 'NotificationsFailed')).toBe(0);
  });

  it('puts one credreport.findings event per new critical/high finding of the next run, as findings.csv dates them', async () => {
    await runDigest(NOTIFYING, chatDeps(), NOW);
    addConsoleUserWithoutMfa();
    const result = await runDigest(NOTIFYING, chatDeps(), LATER);
    const rows = parseCsv(memory.text('latest/findings.csv') ?? '', { columns: true }) as Record<
      string,
      string
    >[];
    const fresh = rows
      .filter(
        (r) =>
          r.first_seen === formatReportTime(LATER.getTime()) &&
          ['critical', 'high'].includes(r.severity ?? ''),
      )
      .filter((r) => r.user !== '')
      .map((r) => `${r.account_id}/${r.user}/${r.finding_id}`)
      .sort();
    expect(fresh).toContain(`${SAMPLE_ACCOUNTS.payments}/new-console-user/console-without-mfa`);
    const details = eventsMock
      .commandCalls(PutEventsCommand)
      .flatMap((c) => c.args[0].input.Entries ?? [])
      .map((e) => {
        expect(e.Source).toBe('credreport.findings');
        expect(e.EventBusName).toBe(BUS);
        return FindingEventDetailSchema.parse(JSON.parse(e.Detail ?? '{}'));
      });
    expect(details.map((d) => `${d.accountId}/${d.userName}/${d.findingId}`).sort()).toEqual(fresh);
    expect(result.notifications?.events).toEqual({
      state: 'sent',
      newFindings: fresh.length,
      put: fresh.length,
      failed: 0,
      truncated: 0,
    });
    const chat = CustomNotificationSchema.parse(
      JSON.parse(snsMock.commandCalls(PublishCommand)[1]?.args[0].input.Message ?? '{}'),
    );
    expect(chat.content.description).toContain(`*New critical/high since the previous run:* ${fresh.length}`);
  });

  it('counts failed publishes and entries in summary.json and the digest, and still mails and succeeds', async () => {
    await runDigest(NOTIFYING, chatDeps(), NOW);
    addConsoleUserWithoutMfa();
    snsMock
      .on(PublishCommand)
      .rejects(Object.assign(new Error('not allowed'), { name: 'AuthorizationErrorException' }));
    eventsMock.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: input.Entries.length,
      Entries: input.Entries.map(() => ({ ErrorCode: 'InternalFailure', ErrorMessage: 'x' })),
    }));
    const result = await runDigest(NOTIFYING, chatDeps(), LATER);
    expect(result.ok).toBe(true);
    expect(result.email).toBe('sent');
    const n = summaryOf().notifications;
    expect(n?.chat).toBe('failed');
    expect(n?.chatError).toContain('AuthorizationErrorException');
    expect(n?.events).toMatchObject({ state: 'failed', put: 0, error: 'InternalFailure' });
    const failed = n?.events.state === 'failed' ? n.events.failed : 0;
    expect(failed).toBeGreaterThanOrEqual(1);
    // Retried before giving up: 5 attempts of the same entries.
    expect(eventsMock.commandCalls(PutEventsCommand).length).toBe(5);
    expect(memory.text('latest/digest.html')).toContain('Chat summary: FAILED');
    expect(
      sesMock.commandCalls(SendEmailCommand)[1]?.args[0].input.Content?.Simple?.Body?.Text?.Data,
    ).toContain(`${failed === 1 ? '1 event' : `${failed} events`} FAILED (InternalFailure)`);
    expect(metricSum(recorded, 'NotificationsFailed')).toBe(1 + failed);
  });

  it('sends nothing and writes no notifications field when neither is configured', async () => {
    const result = await runDigest(CONFIG, chatDeps(), NOW);
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
    expect(eventsMock).not.toHaveReceivedCommand(PutEventsCommand);
    expect(result.notifications).toBeUndefined();
    expect(summaryOf().notifications).toBeUndefined();
  });
});

describe('runDigest: exemptions', () => {
  const PAYMENTS = SAMPLE_ACCOUNTS.payments;
  const valid = JSON.stringify({
    version: 1,
    exemptions: [
      {
        id: 'payments-all',
        reason: 'accepted risk until the migration',
        approvedBy: 'ciso@example.com',
        expires: '2027-01-15',
        accounts: [PAYMENTS],
      },
      {
        id: 'ghost',
        reason: 'old',
        approvedBy: 'ciso@example.com',
        expires: '2027-01-15',
        users: ['nobody'],
      },
    ],
  });
  const paymentsFindings = (s: Summary): number =>
    Object.values(s.byAccount.find((a) => a.accountId === PAYMENTS)?.findings ?? {}).reduce(
      (a, b) => a + b,
      0,
    );

  it('applies config/exemptions.json, keeps it as the last valid copy and lists what it exempted', async () => {
    const plain = await runDigest(CONFIG, deps(), NOW);
    const before = summaryOf();
    expect(paymentsFindings(before)).toBeGreaterThan(0);
    expect(before.exemptions).toMatchObject({ source: 'none', entries: 0 });

    memory.putRaw(S3_LAYOUT.exemptions, valid);
    const result = await runDigest(CONFIG, deps(), NOW);
    const s = summaryOf();
    expect(paymentsFindings(s)).toBe(0);
    expect(s.exemptions?.source).toBe('file');
    expect(s.exemptions?.counts.exempted).toBeGreaterThan(0);
    expect(s.exemptions?.unmatched).toEqual([{ id: 'ghost', expires: '2027-01-15' }]);
    const open = (o: Summary['totals']['openFindings']): number => o.critical + o.high + o.medium + o.low;
    expect(open(result.openFindings)).toBe(open(plain.openFindings) - (s.exemptions?.counts.exempted ?? 0));
    const kept = JSON.parse(memory.text(S3_LAYOUT.exemptionsLastValid) as string) as { text: string };
    expect(kept.text).toBe(valid);
    expect(memory.text('latest/digest.html')).toContain('data-line="exemptions"');
  });

  it('keeps using the last valid copy when the file turns malformed, shows the problem and still mails', async () => {
    memory.putRaw(S3_LAYOUT.exemptions, valid);
    await runDigest(CONFIG, deps(), NOW);
    const keptBefore = memory.text(S3_LAYOUT.exemptionsLastValid);

    memory.putRaw(S3_LAYOUT.exemptions, valid.replace('"ciso@example.com"', '""'));
    const result = await runDigest(CONFIG, deps(), new Date(NOW.getTime() + 86_400_000));
    expect(result).toMatchObject({ ok: true, email: 'sent' });
    const s = summaryOf();
    expect(s.exemptions).toMatchObject({
      source: 'last-valid',
      problem: expect.stringMatching(
        /^config\/exemptions\.json is malformed: exemptions\[0\] \(id "payments-all"\): approvedBy: must not be empty/,
      ),
    });
    expect(paymentsFindings(s)).toBe(0);
    expect(
      s.warnings.some((w) => w.startsWith('Exemptions file not used: config/exemptions.json is malformed')),
    ).toBe(true);
    expect(memory.text(S3_LAYOUT.exemptionsLastValid)).toBe(keptBefore);
    const html = memory.text('latest/digest.html') as string;
    // At the top: right after the title, before the headline figures.
    expect(html.indexOf('data-line="exemptions-problem"')).toBeGreaterThan(-1);
    expect(html.indexOf('data-line="exemptions-problem"')).toBeLessThan(html.indexOf('data-figure="open"'));
    const lastMail = sesMock.commandCalls(SendEmailCommand).at(-1)?.args[0].input as SendEmailCommandInput;
    expect(lastMail.Content?.Simple?.Body?.Text?.Data).toContain(
      'EXEMPTIONS: Exemptions file not used: config/exemptions.json is malformed',
    );
  });

  it('applies no exemptions, and says so, when the file is malformed and no valid copy was ever kept', async () => {
    memory.putRaw(S3_LAYOUT.exemptions, '{"version": 1, "exemptions": [');
    const result = await runDigest(CONFIG, deps(), NOW);
    expect(result.ok).toBe(true);
    const s = summaryOf();
    expect(s.exemptions?.source).toBe('none');
    expect(s.exemptions?.problem).toMatch(/malformed: not JSON .*; no last valid copy \(none kept yet\)/);
    expect(memory.objects.has(S3_LAYOUT.exemptionsLastValid)).toBe(false);
  });
});
