/**
 * Lambda entry of the hub's digest function: scheduled (EventBridge Scheduler / rule) or invoked on
 * demand by `credreport run` with `{ "now": "<ISO time>" }`. Thin: parse the environment and the event,
 * build the clients once per cold start, call `runDigest`, publish metrics, return its result.
 * S3 failures throw (Lambda Errors alarm); an SES failure returns `ok: false` with the EmailFailed metric.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { AccountClient } from '@aws-sdk/client-account';
import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { HUB_SERVICE_NAMES } from '../core/names';
import { DigestError, DigestResult, digestConfigFromEnv, runDigest } from './digest';
import { DigestEnv, DigestEnvSchema } from './env';
import { createHubStores } from '../store/hub-stores';
import { METRICS_NAMESPACE } from './telemetry';

const logger = new Logger({ serviceName: HUB_SERVICE_NAMES.digest });
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: HUB_SERVICE_NAMES.digest,
});
// Organizations throttles early: adaptive client-side rate limiting plus generous attempts.
const organizations = new OrganizationsClient({ retryMode: 'adaptive', maxAttempts: 10 });
const iam = new IAMClient({ retryMode: 'adaptive', maxAttempts: 10 });
const s3 = new S3Client({ retryMode: 'adaptive', maxAttempts: 6 });
const ses = new SESv2Client({ retryMode: 'standard', maxAttempts: 4 });
const sts = new STSClient({});
// Chat summary and finding events (docs/ARCHITECTURE.md §6 "Chat and routing"); unused unless configured.
const sns = new SNSClient({ retryMode: 'standard', maxAttempts: 4 });
const eventBridge = new EventBridgeClient({ retryMode: 'adaptive', maxAttempts: 4 });
// Alternate contacts for owner digests (only called when OWNER_DIGESTS is not off).
const account = new AccountClient({ retryMode: 'adaptive', maxAttempts: 6 });
let env: DigestEnv | undefined;

/** On-demand payload; a scheduled event carries other fields, which are ignored. */
const DigestInvocationSchema = z.object({ now: z.iso.datetime({ offset: true }).optional() }).loose();

async function ownAccountId(context: Context | undefined): Promise<string> {
  // arn:aws:lambda:<region>:<account>:function:<name> — no API call needed.
  const fromArn = context?.invokedFunctionArn?.split(':')[4];
  if (fromArn && /^\d{12}$/.test(fromArn)) return fromArn;
  const identity = await sts.send(new GetCallerIdentityCommand({}));
  if (!identity.Account) throw new DigestError('Could not determine the hub account id');
  return identity.Account;
}

export const handler = async (event: unknown, context?: Context): Promise<DigestResult> => {
  env ??= DigestEnvSchema.parse(process.env);
  if (context) logger.addContext(context);
  const invocation = DigestInvocationSchema.safeParse(event ?? {});
  if (!invocation.success) {
    throw new DigestError(
      `Invalid digest invocation: expected { "now"?: ISO time } (${invocation.error.issues[0]?.message ?? ''})`,
    );
  }
  const now = invocation.data.now ? new Date(invocation.data.now) : new Date();
  const remaining = context?.getRemainingTimeInMillis?.() ?? 900_000;
  const config = {
    ...digestConfigFromEnv(env, process.env.AWS_REGION),
    // Leave most of the invocation to reading and merging; metadata and own collection get a share.
    orgBudgetMs: Math.min(300_000, Math.floor(remaining * 0.3)),
    collectBudgetMs: Math.min(300_000, Math.floor(remaining * 0.3)),
  };
  try {
    const stores = createHubStores(s3, { bucket: env.REPORT_BUCKET, logger });
    const result = await runDigest(
      config,
      {
        stores,
        organizations,
        iam,
        ses,
        sns,
        eventBridge,
        ...(config.owners ? { account } : {}),
        logger,
        metrics,
        ownAccountId: await ownAccountId(context),
      },
      now,
    );
    logger.info('Digest finished', { ...result });
    return result;
  } catch (error) {
    logger.error('Digest failed', { error: error as Error });
    throw error;
  } finally {
    metrics.publishStoredMetrics();
  }
};
