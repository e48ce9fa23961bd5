import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { S3_LAYOUT } from '../../core/names';

/** How the report bucket's objects are encrypted at rest. */
export enum ReportBucketEncryption {
  /** SSE-S3 (S3-managed keys): access is decided by IAM and the bucket policy alone. */
  S3_MANAGED = 'S3_MANAGED',
  /**
   * SSE-KMS with a customer managed key this construct creates (rotating, bucket keys on): a second
   * policy, the key's, decides who can read, and it names the roles given {@link ReportBucket.allowKeyUseThroughS3}.
   */
  CUSTOMER_MANAGED_KEY = 'CUSTOMER_MANAGED_KEY',
}

/** KMS actions S3 performs for a principal: reads decrypt; writes, multipart uploads and copies generate data keys (and decrypt). */
export const REPORT_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'] as const;

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
  /**
   * Encryption of the report bucket (the access-log bucket is always SSE-S3: S3 server access logging requires it).
   * @default ReportBucketEncryption.S3_MANAGED
   */
  readonly encryption?: ReportBucketEncryption;
}

/**
 * The hub's report bucket (docs/ARCHITECTURE.md §5) and the bucket its server access logs go to.
 *
 * Encryption: SSE-S3 by default. The objects are inventories (user names, key ids, dates, findings) — no
 * passwords or secret keys exist in a credential report — and access is already confined by IAM, this
 * bucket's TLS-only policy and Block Public Access. `CUSTOMER_MANAGED_KEY` adds a second, independent
 * policy (the key's) that every reader (the CLI's `fetch`, Athena, QuickSight) must also pass; bucket keys
 * keep the KMS requests (and their cost) to a few per object prefix rather than one per object. The
 * AWS-managed `aws/s3` key is not offered: it would add cost without adding any access control over
 * SSE-S3. Server access logging requires SSE-S3 on the log bucket.
 */
export class ReportBucket extends Construct {
  /** The report bucket. */
  readonly bucket: s3.Bucket;
  /** Destination of the report bucket's server access logs. */
  readonly accessLogsBucket: s3.Bucket;
  /** The customer managed key of the report bucket; `undefined` with SSE-S3. */
  readonly encryptionKey?: kms.Key;

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

    if (props.encryption === ReportBucketEncryption.CUSTOMER_MANAGED_KEY) {
      this.encryptionKey = new kms.Key(this, 'ReportsKey', {
        description: 'credreport: encrypts the report bucket (SSE-KMS)',
        enableKeyRotation: true,
        // The retained bucket's objects stay encrypted with it: the key must outlive the stack too.
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }

    this.bucket = new s3.Bucket(this, 'Reports', {
      ...(this.encryptionKey !== undefined
        ? {
            encryption: s3.BucketEncryption.KMS,
            encryptionKey: this.encryptionKey,
            bucketKeyEnabled: true,
          }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
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
          // The Athena tables' copies of runs/ (only written with `athena` on; kept for turning it off later).
          id: 'expire-athena-tables',
          prefix: S3_LAYOUT.tablesPrefix,
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

  /**
   * Admits the organization's member agent roles (`roleName` in any account of `organizationId`) to their own
   * account's staged deactivation objects only (docs/ARCHITECTURE.md §11): `s3:GetObject` on
   * `remediation/${aws:PrincipalAccount}/plan.json` and `s3:PutObject` on
   * `remediation/${aws:PrincipalAccount}/log/*`; and ages remediation/ out after `retentionDays`. Refused with
   * the customer managed key: the agents would need that key across accounts, which this bucket does not grant.
   */
  admitRemediationAgents(organizationId: string, roleName: string, retentionDays: number): void {
    if (this.encryptionKey !== undefined) {
      throw new Error(
        `ReportBucket ${this.node.id}: admitRemediationAgents is not supported with ReportBucketEncryption.CUSTOMER_MANAGED_KEY (the member agents would need kms:Decrypt and kms:GenerateDataKey on the key from their accounts)`,
      );
    }
    const conditions = {
      StringEquals: { 'aws:PrincipalOrgID': organizationId },
      ArnLike: { 'aws:PrincipalArn': `arn:*:iam::*:role/${roleName}` },
    };
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AgentsReadOwnRemediationPlan',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects(S3_LAYOUT.remediationPlan('${aws:PrincipalAccount}'))],
        conditions,
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AgentsWriteOwnRemediationLog',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [
          this.bucket.arnForObjects(`${S3_LAYOUT.remediationLogPrefix('${aws:PrincipalAccount}')}*`),
        ],
        conditions,
      }),
    );
    this.bucket.addLifecycleRule({
      id: 'expire-remediation',
      prefix: S3_LAYOUT.remediationPrefix,
      expiration: Duration.days(retentionDays),
    });
  }

  /**
   * Lets `role` use the bucket's key through S3 in this account and region only (a no-op with SSE-S3): the
   * key policy names the role (`sid`), and the role's own policy gets the same actions on this key alone,
   * both with `kms:ViaService` = `s3.<region>.amazonaws.com` and `kms:CallerAccount` = this account.
   */
  allowKeyUseThroughS3(sid: string, role: iam.Role): void {
    const key = this.encryptionKey;
    if (key === undefined) return;
    const stack = Stack.of(this);
    const conditions = {
      StringEquals: {
        'kms:ViaService': `s3.${stack.region}.${stack.urlSuffix}`,
        'kms:CallerAccount': stack.account,
      },
    };
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid,
        principals: [new iam.ArnPrincipal(role.roleArn)],
        actions: [...REPORT_KEY_ACTIONS],
        resources: ['*'],
        conditions,
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'UseReportKeyThroughS3',
        actions: [...REPORT_KEY_ACTIONS],
        resources: [key.keyArn],
        conditions,
      }),
    );
  }
}
