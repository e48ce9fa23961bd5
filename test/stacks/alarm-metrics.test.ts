/**
 * The custom-metric alarms can only fire if the handlers emit exactly the namespace, metric name and
 * dimension set each alarm watches (CloudWatch matches all three exactly). This runs the real ingest and
 * digest handlers with the environment the stack gives them, captures the EMF they print, and compares.
 */
import 'aws-sdk-client-mock-jest';
import * as fs from 'node:fs';
import { GenerateCredentialReportCommand, IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { AGENT_FAILURE_DETAIL_TYPE, S3_LAYOUT } from '../../core/names';
import { SAMPLE_ACCOUNTS, sampleOrganization } from '../../core/sample-org';
import { fakeOrganizationFrom, wireFakeOrganization } from '../unit/aggregator/support/fake-organizations';
import { MemoryS3, wireMemoryS3 } from '../unit/aggregator/support/memory-s3';
import { accountReport, partEvent, partsOf } from '../unit/aggregator/support/reports';
import { resource, resourcesOfType, synthesize, type CfnTemplate, type Synthesized } from './helpers';

jest.setTimeout(300_000);

const NOW = new Date('2026-11-21T06:00:00Z');
const s3Mock = mockClient(S3Client);
const orgMock = mockClient(OrganizationsClient);
const sesMock = mockClient(SESv2Client);
const iamMock = mockClient(IAMClient);
const saved = { ...process.env };
let app: Synthesized;

/** One metric as CloudWatch stores it: namespace, name and the exact set of dimensions. */
interface MetricIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
}
const key = (m: MetricIdentity) =>
  `${m.namespace} ${m.name} ${JSON.stringify(Object.entries(m.dimensions).sort())}`;

beforeAll(() => {
  // The handlers' code is not needed here (they are imported directly): skip the esbuild bundling.
  const { metadata } = sampleOrganization(NOW);
  app = synthesize({
    'aws:cdk:bundling-stacks': [],
    // The organization the digest will be shown (the bundled sample one).
    organizationId: metadata.organizationId,
    organizationRootId: metadata.accounts[0]?.ouIdPath[0],
    digestRecipients: ['security@example.com'],
    digestSender: 'credreport@example.com',
  });
});
afterAll(() => {
  process.env = saved;
  fs.rmSync(app.assemblyDir, { recursive: true, force: true });
});

/** Metrics the alarms of the hub template watch, outside the AWS/* namespaces. */
function watchedMetrics(t: CfnTemplate): MetricIdentity[] {
  return resourcesOfType(t, 'AWS::CloudWatch::Alarm')
    .map(([, a]) => a.Properties ?? {})
    .filter((p) => typeof p.Namespace === 'string' && !p.Namespace.startsWith('AWS/'))
    .map((p) => ({
      namespace: p.Namespace as string,
      name: p.MetricName as string,
      dimensions: Object.fromEntries(
        ((p.Dimensions as { Name: string; Value: string }[] | undefined) ?? []).map((d) => [d.Name, d.Value]),
      ),
    }));
}

/** The environment the stack gives a function, with references replaced by plausible deployed values. */
function environmentOf(t: CfnTemplate, functionPrefix: string): Record<string, string> {
  const [, fn] = resource(t, 'AWS::Lambda::Function', functionPrefix);
  const variables = (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
  return Object.fromEntries(
    Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : 'hub-bucket']),
  );
}

/** Every metric identity in the EMF lines written to stdout while `run` executes. */
async function emitted(run: () => Promise<unknown>, failures: unknown[] = []): Promise<MetricIdentity[]> {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n'));
    return true;
  });
  try {
    await run().catch((error: unknown) => {
      failures.push(error);
    });
  } finally {
    spy.mockRestore();
  }
  const out: MetricIdentity[] = [];
  for (const line of lines) {
    if (!line.includes('"_aws"')) continue;
    const emf = JSON.parse(line) as {
      _aws: {
        CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
      };
    } & Record<string, unknown>;
    for (const directive of emf._aws.CloudWatchMetrics) {
      for (const dimensionSet of directive.Dimensions) {
        for (const metric of directive.Metrics) {
          out.push({
            namespace: directive.Namespace,
            name: metric.Name,
            dimensions: Object.fromEntries(dimensionSet.map((d) => [d, String(emf[d])])),
          });
        }
      }
    }
  }
  return out;
}

describe('custom-metric alarms', () => {
  it('watch metrics that the ingest and digest handlers, as configured by the stack, actually emit', async () => {
    const t = app.hubJson;
    const watched = watchedMetrics(t);
    expect(watched.map((m) => m.name).sort()).toEqual(
      [
        'AccountsMissing',
        'AgentFailures',
        'DigestSucceeded',
        'EmailFailed',
        'ForgedParts',
        'RejectedParts',
        'RejectedReports',
      ].sort(),
    );

    const ingestEnv = environmentOf(t, 'IngestFunction');
    const digestEnv = environmentOf(t, 'DigestFunction');
    const memory = new MemoryS3();
    wireMemoryS3(s3Mock, memory);

    // Each handler module builds its Metrics instance on import, from the environment it finds then.
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    delete process.env.POWERTOOLS_DEV;
    Object.assign(process.env, { AWS_REGION: 'us-east-1', POWERTOOLS_LOG_LEVEL: 'SILENT' }, ingestEnv);
    const ingest = (await import('../../aggregator/ingest-handler')).handler;
    const [part] = partsOf(accountReport('333333333333', NOW));
    // A part claiming another account than the one EventBridge saw: refused (RejectedParts, ForgedParts).
    const fromIngest = await emitted(() => ingest(partEvent(part, '222222222222')));
    // A whole part set whose credential report fails validation (RejectedReports).
    const bad = { ...accountReport('444444444444', NOW), credentialReportCsv: 'not,a,credential,report\n' };
    for (const badPart of partsOf(bad)) {
      fromIngest.push(...(await emitted(() => ingest(partEvent(badPart, '444444444444')))));
    }

    // An agent's reported failure (AgentFailures).
    fromIngest.push(
      ...(await emitted(() =>
        ingest({
          ...partEvent(undefined, '555555555555'),
          'detail-type': AGENT_FAILURE_DETAIL_TYPE,
          time: NOW.toISOString(),
          detail: {
            schemaVersion: 1,
            accountId: '555555555555',
            runId: 'run-1',
            failedTime: new Date(NOW.getTime() - 60_000).toISOString(),
            stage: 'collect',
            errorName: 'CollectError',
            message: 'GetCredentialReport failed: AccessDenied',
            agentVersion: 'test',
          },
        }),
      )),
    );

    Object.assign(process.env, digestEnv);
    const digest = (await import('../../aggregator/digest-handler')).handler;
    const sample = sampleOrganization(NOW);
    wireFakeOrganization(orgMock, fakeOrganizationFrom(sample.metadata));
    // One account never reports (AccountsMissing), the mail fails (EmailFailed).
    const silent = sample.reports.find((r) => r.accountId !== SAMPLE_ACCOUNTS.management)?.accountId;
    for (const r of sample.reports) {
      if (r.accountId !== SAMPLE_ACCOUNTS.management && r.accountId !== silent)
        memory.putRaw(S3_LAYOUT.accountLatest(r.accountId), JSON.stringify(r));
    }
    iamMock
      .on(GenerateCredentialReportCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    sesMock.on(SendEmailCommand).rejects(Object.assign(new Error('rejected'), { name: 'MessageRejected' }));
    const context = {
      invokedFunctionArn: `arn:aws:lambda:us-east-1:${SAMPLE_ACCOUNTS.management}:function:digest`,
      functionName: 'digest',
      awsRequestId: 'r',
      getRemainingTimeInMillis: () => 600_000,
    };
    const failures: unknown[] = [];
    const fromDigest = await emitted(
      () => digest({ now: NOW.toISOString() }, context as unknown as Parameters<typeof digest>[1]),
      failures,
    );
    expect(failures).toEqual([]);

    const emittedKeys = new Set([...fromIngest, ...fromDigest].map(key));
    expect(watched.filter((m) => !emittedKeys.has(key(m))).map(key)).toEqual([]);
  });
});
