import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { IngestEnvironment } from '../../aggregator/env';
import {
  AGENT_FAILURE_DETAIL_TYPE,
  DEFAULT_INGEST_RESERVED_CONCURRENCY,
  EVENT_DETAIL_TYPE,
  EVENT_SOURCE,
  HUB_SERVICE_NAMES,
  S3_LAYOUT,
} from '../../core/names';
import { DeadLetterQueue } from './dead-letter-queue';
import { HubFunction } from './hub-function';
import { grantAcknowledged } from './nag-acknowledgements';

/** Properties of {@link ReportIngest}. */
export interface ReportIngestProps {
  /** The central bus the member agents put their parts on. */
  readonly bus: events.IEventBus;
  /** The report bucket. */
  readonly bucket: s3.IBucket;
  /** Retention of the function's log group. */
  readonly logRetention: logs.RetentionDays;
  /**
   * Most incomplete part sets one account may have under incoming/ (docs/ARCHITECTURE.md §11).
   * @default 8
   */
  readonly maxOpenPartSets?: number;
  /**
   * Reserved concurrency of the ingest Lambda: a burst of parts (or a flood from one account) cannot
   * take the account's whole Lambda concurrency; Lambda's asynchronous queue retries throttled events for up to 6 hours.
   * @default DEFAULT_INGEST_RESERVED_CONCURRENCY (10) from core/names.ts
   */
  readonly reservedConcurrency?: number;
}

/** S3 object actions the ingest Lambda needs, and the prefixes they apply to. */
export const INGEST_S3_OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject'] as const;
export const INGEST_S3_PREFIXES = [S3_LAYOUT.incomingPrefix, S3_LAYOUT.accountsPrefix] as const;
/** The one prefix the ingest Lambda lists (IncomingStore.listParts and openPartSets, both under incoming/). */
export const INGEST_LIST_PREFIXES = [S3_LAYOUT.incomingPrefix] as const;

/**
 * The ingest path: a rule on the central bus matching the agent's parts and failure reports → the
 * ingest Lambda, which records a failure in `accounts/<id>/agent-failure.json`, and
 * stores each part under `incoming/` and, once all parts are there, the assembled report under
 * `accounts/`. Two dead-letter queues: events EventBridge could not deliver (after its retry policy),
 * and invocations that failed in the function (after Lambda's async retries).
 */
export class ReportIngest extends Construct {
  /** The ingest Lambda. */
  readonly handler: HubFunction;
  /** The rule on the central bus. */
  readonly rule: events.Rule;
  /** Events EventBridge could not deliver to the function. */
  readonly deliveryDeadLetterQueue: DeadLetterQueue;
  /** Asynchronous invocations that failed in the function. */
  readonly failureDeadLetterQueue: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: ReportIngestProps) {
    super(scope, id);
    const maxOpenPartSets = props.maxOpenPartSets ?? 8;
    const reservedConcurrency = props.reservedConcurrency ?? DEFAULT_INGEST_RESERVED_CONCURRENCY;
    if (!Number.isInteger(maxOpenPartSets) || maxOpenPartSets < 2 || maxOpenPartSets > 1_000) {
      throw new Error(
        `ReportIngest ${id}: maxOpenPartSets must be an integer from 2 to 1000 (got ${maxOpenPartSets})`,
      );
    }
    if (!Number.isInteger(reservedConcurrency) || reservedConcurrency < 1 || reservedConcurrency > 1_000) {
      throw new Error(
        `ReportIngest ${id}: reservedConcurrency must be an integer from 1 to 1000 (got ${reservedConcurrency})`,
      );
    }

    this.deliveryDeadLetterQueue = new DeadLetterQueue(this, 'DeliveryDlq', {
      purpose: 'report parts EventBridge could not deliver to the ingest Lambda',
    });
    this.failureDeadLetterQueue = new DeadLetterQueue(this, 'FailureDlq', {
      purpose: 'report parts the ingest Lambda failed on after its retries',
    });

    const environment: IngestEnvironment = {
      REPORT_BUCKET: props.bucket.bucketName,
      MAX_OPEN_PART_SETS: String(maxOpenPartSets),
    };
    this.handler = new HubFunction(this, 'Ingest', {
      entry: 'aggregator/ingest-handler.ts',
      description: 'credreport ingest: stores and assembles report parts from member accounts',
      timeout: Duration.minutes(2),
      memorySize: 1024,
      environment,
      logRetention: props.logRetention,
      deadLetterQueue: this.failureDeadLetterQueue.queue,
      retryAttempts: 2,
      reservedConcurrency,
      serviceName: HUB_SERVICE_NAMES.ingest,
    });

    this.rule = new events.Rule(this, 'PartsRule', {
      eventBus: props.bus,
      description: 'credreport: report parts and agent failures from member agents to the ingest Lambda',
      eventPattern: { source: [EVENT_SOURCE], detailType: [EVENT_DETAIL_TYPE, AGENT_FAILURE_DETAIL_TYPE] },
      targets: [
        new targets.LambdaFunction(this.handler.function, {
          deadLetterQueue: this.deliveryDeadLetterQueue.queue,
          maxEventAge: Duration.hours(6),
          retryAttempts: 20,
        }),
      ],
    });

    const role = this.handler.role;
    grantAcknowledged(
      role,
      new iam.PolicyStatement({
        sid: 'ReadWriteParts',
        actions: [...INGEST_S3_OBJECT_ACTIONS],
        resources: INGEST_S3_PREFIXES.map((p) => props.bucket.arnForObjects(`${p}*`)),
      }),
      'Object reads and writes confined to incoming/ (parts) and accounts/ (assembled reports) of the report bucket.',
    );
    // ListBucket also decides 404 (not 403) for a missing key, which the store relies on (a first report has
    // no accounts/<id>/latest.json yet). That check carries no s3:prefix, hence IfExists: a listing that
    // names a prefix is confined to incoming/, the existence check still works. (A listing without any
    // prefix is therefore allowed too: it reveals key names, never contents.)
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListParts',
        actions: ['s3:ListBucket'],
        resources: [props.bucket.bucketArn],
        conditions: { StringLikeIfExists: { 's3:prefix': INGEST_LIST_PREFIXES.map((p) => `${p}*`) } },
      }),
    );
  }
}
