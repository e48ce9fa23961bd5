/**
 * The digest's dependencies as the aggregator tests wire them: hub stores over the mocked S3 client (the
 * memory bucket behind it), mocked Organizations / IAM / SES clients, a silent logger, and the hub's own
 * account collected in-process as the given report.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { DigestDeps } from '../../../../aggregator/digest';
import type { AccountReport } from '../../../../core/types';
import { createHubStores } from '../../../../store/hub-stores';
import { recordingMetrics, silentLogger } from './reports';

export interface DigestDepsInput {
  readonly bucket: string;
  /** The hub's own account's report (what its in-process collection returns). */
  readonly own: AccountReport;
  readonly metrics?: Metrics;
  /** @default 'eu-west-1' */
  readonly sesRegion?: string;
}

export function digestDeps(input: DigestDepsInput, overrides: Partial<DigestDeps> = {}): DigestDeps {
  const logger = silentLogger();
  return {
    stores: createHubStores(new S3Client({ region: 'us-east-1' }), {
      bucket: input.bucket,
      logger,
      sleep: async () => undefined,
    }),
    organizations: new OrganizationsClient({ region: 'us-east-1' }),
    iam: new IAMClient({ region: 'us-east-1' }),
    ses: new SESv2Client({ region: input.sesRegion ?? 'eu-west-1' }),
    logger,
    metrics: input.metrics ?? recordingMetrics().metrics,
    ownAccountId: input.own.accountId,
    collect: async () => ({ report: input.own, stats: { apiCalls: {}, users: 3, durationMs: 10 } }),
    ...overrides,
  };
}
