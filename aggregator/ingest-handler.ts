/**
 * Lambda entry of the hub's ingest function: one EventBridge `Credential Report Part` event per
 * invocation (central bus rule → this function, async, with a DLQ). Thin: parse the environment once,
 * build the S3 client once per cold start, call `ingestEvent`, publish metrics.
 * Invalid or forged events are recorded and return normally; transient failures throw (retry, then DLQ).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { HUB_SERVICE_NAMES } from '../core/names';
import { IngestEnv, IngestEnvSchema } from './env';
import { IngestOutcome, ingestEvent } from './ingest';
import { createHubStores } from '../store/hub-stores';
import { INGEST_METRICS, METRICS_NAMESPACE } from './telemetry';

const logger = new Logger({ serviceName: HUB_SERVICE_NAMES.ingest });
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: HUB_SERVICE_NAMES.ingest,
});
const s3 = new S3Client({ retryMode: 'adaptive', maxAttempts: 6 });
let env: IngestEnv | undefined;

export const handler = async (event: unknown, context?: Context): Promise<IngestOutcome> => {
  env ??= IngestEnvSchema.parse(process.env);
  if (context) logger.addContext(context);
  logger.resetKeys();
  const stores = createHubStores(s3, { bucket: env.REPORT_BUCKET, logger });
  try {
    return await ingestEvent(event, {
      stores,
      logger,
      metrics,
      now: () => new Date(),
      maxOpenPartSets: env.MAX_OPEN_PART_SETS,
    });
  } catch (error) {
    // Logged once here; rethrown so Lambda retries and the DLQ keeps what keeps failing.
    logger.error('Ingest failed; the event will be retried', { error: error as Error });
    metrics.addMetric(INGEST_METRICS.ingestErrors, MetricUnit.Count, 1);
    throw error;
  } finally {
    metrics.publishStoredMetrics();
  }
};
