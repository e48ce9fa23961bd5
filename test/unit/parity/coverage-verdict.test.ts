/**
 * One coverage verdict (docs/ARCHITECTURE.md §12): the same coverage fed to `credreport merge` (files),
 * `credreport collect` (collected accounts) and `credreport run` (the digest Lambda's result, here the
 * result of runDigest over the same reports) gives the same verdict in summary.json / the result and the
 * same exit status.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { IAMClient } from '@aws-sdk/client-iam';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { DigestConfig, DigestResult, runDigest } from '../../../aggregator/digest';
import { createHubStores } from '../../../store/hub-stores';
import { AwsSession, createAwsSession } from '../../../cli/aws';
import { formatMetadataFile } from '../../../cli/collect-org';
import { CommandIo, EXIT } from '../../../cli/command';
import { createCollectCommand } from '../../../cli/commands/collect';
import { mergeCommand } from '../../../cli/commands/merge';
import { createRunCommand } from '../../../cli/commands/run';
import { CollectError } from '../../../collector/iam-calls';
import { coverageVerdict, CoverageVerdict } from '../../../core/coverage';
import { S3_LAYOUT } from '../../../core/names';
import { SAMPLE_ACCOUNTS, sampleOrganization } from '../../../core/sample-org';
import type { Summary } from '../../../core/summary';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import type { AccountReport, OrgMetadata } from '../../../core/types';
import { fakeOrganizationFrom, wireFakeOrganization } from '../aggregator/support/fake-organizations';
import { MemoryS3, wireMemoryS3 } from '../aggregator/support/memory-s3';
import { recordingMetrics, silentLogger } from '../aggregator/support/reports';

const s3Mock = mockClient(S3Client);
const orgMock = mockClient(OrganizationsClient);
const sesMock = mockClient(SESv2Client);
const lambdaMock = mockClient(LambdaClient);

const NOW = new Date('2026-11-21T06:00:00Z');
const OWN = SAMPLE_ACCOUNTS.management;

interface Scenario {
  readonly metadata: OrgMetadata;
  readonly reports: readonly AccountReport[];
}

/** The sample organization: a stale (log-archive), a malformed (staging) and a never-reporting account. */
function withGaps(): Scenario {
  return sampleOrganization(NOW);
}

/** The same organization with the three gap accounts closed: every expected account reports fresh. */
function covered(): Scenario {
  const sample = sampleOrganization(NOW);
  const gaps = new Set<string>([
    SAMPLE_ACCOUNTS.logArchive,
    SAMPLE_ACCOUNTS.staging,
    SAMPLE_ACCOUNTS.newAccount,
  ]);
  return {
    metadata: {
      ...sample.metadata,
      accounts: sample.metadata.accounts.map((a) => (gaps.has(a.id) ? { ...a, state: 'SUSPENDED' } : a)),
    },
    reports: sample.reports.filter((r) => !gaps.has(r.accountId)),
  };
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return { stream, text: () => chunks.join('') };
}

let dir: string;
const io = (): CommandIo => ({ stdout: capture().stream, stderr: capture().stream, env: {}, cwd: dir });
const readVerdict = (out: string): CoverageVerdict =>
  coverageVerdict(
    (JSON.parse(readFileSync(join(out, S3_LAYOUT.outputFiles.summary), 'utf8')) as Summary).coverage,
  );
/** The fields every one of the three reports (DigestResult.coverage has these). */
const shared = (v: Pick<CoverageVerdict, 'expected' | 'reporting' | 'missing' | 'complete'>) => ({
  expected: v.expected,
  reporting: v.reporting,
  missing: v.missing,
  complete: v.complete,
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credreport-verdict-'));
  s3Mock.reset();
  orgMock.reset();
  sesMock.reset();
  lambdaMock.reset();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function viaMerge(
  s: Scenario,
  extraFiles: Record<string, string> = {},
): Promise<{ code: number; verdict: CoverageVerdict }> {
  await mkdir(join(dir, 'reports'), { recursive: true });
  for (const [name, text] of Object.entries(extraFiles)) writeFileSync(join(dir, 'reports', name), text);
  for (const report of s.reports) {
    writeFileSync(join(dir, 'reports', `${report.accountId}.json`), JSON.stringify(report));
  }
  writeFileSync(join(dir, 'org.json'), formatMetadataFile(s.metadata));
  const code = await mergeCommand.run(
    ['reports', '--metadata', 'org.json', '--now', NOW.toISOString(), '--out', 'merge-out'],
    io(),
  );
  return { code, verdict: readVerdict(join(dir, 'merge-out')) };
}

async function viaCollect(s: Scenario): Promise<{ code: number; verdict: CoverageVerdict }> {
  writeFileSync(join(dir, 'collect-org.json'), formatMetadataFile(s.metadata));
  const client = new IAMClient({ region: 'eu-west-1' });
  const unused = (): never => {
    throw new Error('not used by collect');
  };
  const command = createCollectCommand({
    aws: (options) => {
      const session: AwsSession = {
        options,
        region: async () => 'eu-west-1',
        callerIdentity: async () => ({
          accountId: OWN,
          arn: `arn:aws:iam::${OWN}:user/auditor`,
          partition: 'aws',
        }),
        iam: () => client,
        assumedIam: async () => client,
        organizations: unused,
        s3: unused,
        cloudformation: unused,
        lambda: unused,
        destroy: () => undefined,
      };
      return session;
    },
    collect: async (_deps, opts) => {
      const report = s.reports.find((r) => r.accountId === opts.accountId);
      // An account without a report is one whose collection fails: missing, like one that never reported.
      if (!report) throw new CollectError(`no report for ${opts.accountId}`);
      return { report, stats: { apiCalls: {}, users: 1, durationMs: 1 } };
    },
    clock: () => NOW,
  });
  const code = await command.run(
    ['--metadata-in', 'collect-org.json', '--now', NOW.toISOString(), '--out', join(dir, 'collect-out')],
    io(),
  );
  return { code, verdict: readVerdict(join(dir, 'collect-out')) };
}

async function viaRun(
  s: Scenario,
  extraObjects: Record<string, string> = {},
): Promise<{ code: number; result: DigestResult }> {
  const memory = new MemoryS3();
  wireMemoryS3(s3Mock, memory);
  wireFakeOrganization(orgMock, fakeOrganizationFrom(s.metadata));
  sesMock.on(SendEmailCommand).resolves({ MessageId: 'msg-1' });
  for (const report of s.reports) {
    if (report.accountId !== OWN)
      memory.putRaw(S3_LAYOUT.accountLatest(report.accountId), JSON.stringify(report));
  }
  // Put after the reports: newer than the account's stored report.
  for (const [key, text] of Object.entries(extraObjects)) memory.putRaw(key, text);
  const config: DigestConfig = {
    bucket: 'hub-bucket',
    organizationId: s.metadata.organizationId ?? '',
    targetOuIds: ['r-ex12'],
    recipients: [],
    sender: '',
    tagKeys: [],
    breakdownTag: 'Environment',
    thresholds: DEFAULT_THRESHOLDS,
    maxEmailBytes: 10_000_000,
    tagCacheHours: 24,
    readConcurrency: 4,
  };
  const logger = silentLogger();
  const own = s.reports.find((r) => r.accountId === OWN) as AccountReport;
  const result = await runDigest(
    config,
    {
      stores: createHubStores(new S3Client({ region: 'us-east-1' }), {
        bucket: 'hub-bucket',
        logger,
        sleep: async () => undefined,
      }),
      organizations: new OrganizationsClient({ region: 'us-east-1' }),
      iam: new IAMClient({ region: 'us-east-1' }),
      ses: new SESv2Client({ region: 'eu-west-1' }),
      logger,
      metrics: recordingMetrics().metrics,
      ownAccountId: OWN,
      collect: async () => ({ report: own, stats: { apiCalls: {}, users: 3, durationMs: 10 } }),
    },
    NOW,
  );
  // The Lambda's result payload, as `credreport run` receives it.
  lambdaMock
    .on(InvokeCommand)
    .resolves({ StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(result)) as never });
  const run = createRunCommand({
    aws: (options) => createAwsSession({ region: 'eu-west-1', ...options }),
  });
  const code = await run.run(['--function', 'digest'], io());
  return { code, result };
}

describe.each([
  ['gaps (stale, malformed, never reported)', withGaps, { complete: false, missing: 3 }, EXIT.incomplete],
  ['every expected account fresh', covered, { complete: true, missing: 0 }, EXIT.ok],
])('the same coverage through merge, collect and run: %s', (_name, scenario, expected, exit) => {
  it('gives one verdict and one exit status', async () => {
    const s = scenario();
    const merge = await viaMerge(s);
    const collect = await viaCollect(s);
    const run = await viaRun(s);

    expect(merge.verdict).toMatchObject(expected);
    expect(shared(collect.verdict)).toEqual(shared(merge.verdict));
    expect(run.result.coverage).toEqual(shared(merge.verdict));
    expect(collect.verdict.stale).toBe(merge.verdict.stale);
    expect({ merge: merge.code, collect: collect.code, run: run.code }).toEqual({
      merge: exit,
      collect: exit,
      run: exit,
    });
  });
});

describe('a fresh report whose newer attempt failed (merge and run; collect has no such input)', () => {
  // The case the three rules disagreed on: summary.json and the digest said complete (run exited 0)
  // while merge exited 3. Now the account is missing (reporting, with the problem) everywhere.
  it('is incomplete with one missing account in summary.json, the digest result and both exit statuses', async () => {
    const s = covered();
    const account = SAMPLE_ACCOUNTS.payments;
    const merge = await viaMerge(s, { [`${account}-retry.json`]: '{ not json' });
    const run = await viaRun(s, {
      [S3_LAYOUT.accountRejected(account)]: JSON.stringify({
        schemaVersion: 1,
        accountId: account,
        reason: 'invalid-part',
        detail: 'part 2 failed the schema',
        at: NOW.toISOString(),
      }),
    });

    expect(merge.verdict).toMatchObject({ complete: false, missing: 1, reporting: merge.verdict.expected });
    expect(run.result.coverage).toEqual(shared(merge.verdict));
    expect({ merge: merge.code, run: run.code }).toEqual({ merge: EXIT.incomplete, run: EXIT.incomplete });
  });
});
