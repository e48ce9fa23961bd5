import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { S3_LAYOUT } from '../../core/names';

/** Properties of {@link ReportBucket}. */
export interface ReportBucketProps {
  /** Days dated runs (`runs/`) and account report history (`accounts/`) are kept. */
  readonly retentionDays: number;
  /** Days a noncurrent (overwritten or deleted) object version is kept. */
  readonly noncurrentVersionDays: number;
  /**
   * Days assembly parts under `incoming/` are kept (parts of a report that never completed).
   * @default 7
   */
  readonly incomingDays?: number;
}

/**
 * The hub's report bucket (docs/ARCHITECTURE.md §5) and the bucket its server access logs go to.
 *
 * Encryption: SSE-S3. The objects are inventories (user names, key ids, dates, findings) — no passwords
 * or secret keys exist in a credential report — and access is already confined by IAM, this bucket's
 * TLS-only policy and Block Public Access. A customer-managed KMS key would add a second grant that
 * every reader (the CLI's `fetch`, Athena, QuickSight) needs, plus per-request KMS cost at 10,000
 * accounts; the AWS-managed `aws/s3` key would add cost without adding any access control over SSE-S3.
 * Server access logging also requires SSE-S3 on the log bucket.
 */
export class ReportBucket extends Construct {
  /** The report bucket. */
  readonly bucket: s3.Bucket;
  /** Destination of the report bucket's server access logs. */
  readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ReportBucketProps) {
    super(scope, id);
    // Grant the S3 logging service through the log bucket's policy, not the legacy LogDeliveryWrite ACL
    // (ACLs stay disabled: BucketOwnerEnforced). Set here so the construct does not depend on cdk.json.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const incomingDays = props.incomingDays ?? 7;
    for (const [name, value] of [
      ['retentionDays', props.retentionDays],
      ['noncurrentVersionDays', props.noncurrentVersionDays],
      ['incomingDays', incomingDays],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`ReportBucket ${id}: ${name} must be a whole number of days >= 1 (got ${value})`);
      }
    }

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(props.retentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket is the server access log destination of the report bucket; logging it into itself would loop and a third bucket would only move the finding.',
    });

    this.bucket = new s3.Bucket(this, 'Reports', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      // The reports are the product: keep them if the stack is deleted.
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'report-bucket/',
      lifecycleRules: [
        {
          id: 'expire-incoming-parts',
          prefix: S3_LAYOUT.incomingPrefix,
          expiration: Duration.days(incomingDays),
          noncurrentVersionExpiration: Duration.days(1),
        },
        {
          // latest.json is rewritten at every report, so what ages out here is history/*.json.gz and the
          // reports of accounts that have been silent for retentionDays (S3 filters cannot match
          // accounts/*/history/ — no wildcards in lifecycle prefixes).
          id: 'expire-account-history',
          prefix: S3_LAYOUT.accountsPrefix,
          expiration: Duration.days(props.retentionDays),
        },
        {
          id: 'expire-dated-runs',
          prefix: S3_LAYOUT.runsPrefix,
          expiration: Duration.days(props.retentionDays),
        },
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays),
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
  }
}
