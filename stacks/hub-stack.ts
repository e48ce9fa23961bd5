import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DIGEST_METRICS, INGEST_METRICS, METRICS_NAMESPACE } from '../aggregator/telemetry';
import { HUB_OUTPUTS, MEMBER_AGENT_ROLE_NAME } from '../core/names';
import type { CredreportConfig } from './config';
import { CentralBus } from './constructs/central-bus';
import { MemberStackSet } from './constructs/member-stackset';
import { AlarmDelivery, heartbeatPeriods, OperationsAlarms } from './constructs/operations-alarms';
import { ReportAthena } from './constructs/report-athena';
import { ReportBucket, ReportBucketEncryption } from './constructs/report-bucket';
import { ReportDigest } from './constructs/report-digest';
import { ChatTopic } from './constructs/chat-topic';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ReportIngest } from './constructs/report-ingest';

/** Properties of {@link HubStack}. */
export interface HubStackProps extends StackProps {
  /** The validated app configuration. */
  readonly config: CredreportConfig;
}

/**
 * The hub, deployed once in the management (or delegated admin) account: the central bus, the report
 * bucket, the ingest and digest Lambdas, the alarms, and the StackSet that deploys the member agent to
 * every targeted account. This stack only wires; each concern is a construct.
 */
export class HubStack extends Stack {
  readonly centralBus: CentralBus;
  readonly reports: ReportBucket;
  readonly ingest: ReportIngest;
  readonly digest: ReportDigest;
  readonly alarms: OperationsAlarms;
  /** The chat summary topic the stack created (`chatTopic: true`). */
  readonly chatTopic?: ChatTopic;
  readonly members: MemberStackSet;
  /** The Glue tables and saved Athena queries; `undefined` unless `athena` is on. */
  readonly athena?: ReportAthena;

  constructor(scope: Construct, id: string, props: HubStackProps) {
    super(scope, id, {
      description:
        'credreport hub: org-wide IAM credential report (central bus, reports bucket, digest, member StackSet)',
      ...props,
    });
    const config = props.config;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    this.centralBus = new CentralBus(this, 'CentralBus', { organizationId: config.organizationId });
    this.reports = new ReportBucket(this, 'Reports', {
      retentionDays: config.retentionDays,
      noncurrentVersionDays: config.noncurrentVersionDays,
      encryption: config.reportBucketKms
        ? ReportBucketEncryption.CUSTOMER_MANAGED_KEY
        : ReportBucketEncryption.S3_MANAGED,
    });
    this.ingest = new ReportIngest(this, 'Ingest', {
      bus: this.centralBus.bus,
      bucket: this.reports.bucket,
      logRetention,
    });
    if (config.chat.kind === 'create') this.chatTopic = new ChatTopic(this, 'ChatTopic');
    const chatTopic =
      config.chat.kind === 'topic'
        ? sns.Topic.fromTopicArn(this, 'ExistingChatTopic', config.chat.topicArn)
        : this.chatTopic?.topic;
    this.digest = new ReportDigest(this, 'Digest', {
      bucket: this.reports.bucket,
      organizationId: config.organizationId,
      targetOrganizationalUnitIds: config.targetOrganizationalUnitIds,
      schedule: config.digestSchedule,
      timeZone: config.digestTimeZone,
      recipients: config.digestRecipients,
      ...(config.digestSender !== undefined ? { sender: config.digestSender } : {}),
      ...(config.digestConfigurationSet !== undefined
        ? { configurationSet: config.digestConfigurationSet }
        : {}),
      tagKeys: config.tagKeys,
      breakdownTag: config.breakdownTag,
      cisVersion: config.cisVersion,
      thresholds: config.thresholds,
      maxEmailBytes: config.maxEmailBytes,
      tagCacheHours: config.tagCacheHours,
      exemptionMaxDays: config.exemptionMaxDays,
      ...(config.managementAccountId !== undefined
        ? { managementAccountId: config.managementAccountId }
        : {}),
      ...(config.ownerDigests !== 'off'
        ? {
            owners: {
              mode: config.ownerDigests,
              tagKeys: config.ownerTagKeys,
              ...(config.defaultOwner !== undefined ? { defaultOwner: config.defaultOwner } : {}),
              allowedDomains: config.ownerAllowedDomains,
              minSeverity: config.ownerMinSeverity,
            },
          }
        : {}),
      logRetention,
      ...(chatTopic ? { chatTopic } : {}),
      ...(this.chatTopic ? { chatTopicKey: this.chatTopic.key } : {}),
      ...(config.findingEvents
        ? { findingEventsBus: this.centralBus.bus, maxFindingEvents: config.maxFindingEvents }
        : {}),
      athenaTables: config.athena !== undefined,
      ...(config.deactivation.mode !== 'off' ? { deactivation: config.deactivation } : {}),
    });
    if (config.athena !== undefined) {
      this.athena = new ReportAthena(this, 'Athena', {
        bucket: this.reports.bucket,
        ...(this.reports.encryptionKey !== undefined ? { encryptionKey: this.reports.encryptionKey } : {}),
        accessLogsBucket: this.reports.accessLogsBucket,
        database: config.athena.database,
        tagKeys: config.tagKeys,
        queries: config.athena,
        retentionDays: config.retentionDays,
      });
    }
    const remediationMode = config.deactivation.mode === 'off' ? undefined : config.deactivation.mode;
    if (remediationMode) {
      this.reports.admitRemediationAgents(
        config.organizationId,
        MEMBER_AGENT_ROLE_NAME,
        config.retentionDays,
      );
    }

    // With a customer managed key, its policy names exactly these two roles (docs/ARCHITECTURE.md §11).
    this.reports.allowKeyUseThroughS3('AllowIngestRoleThroughS3', this.ingest.handler.role);
    this.reports.allowKeyUseThroughS3('AllowDigestRoleThroughS3', this.digest.handler.role);

    const delivery = config.alarmDelivery;
    this.alarms = new OperationsAlarms(this, 'Alarms', {
      delivery:
        delivery.kind === 'email'
          ? AlarmDelivery.email(delivery.email)
          : delivery.kind === 'topic'
            ? AlarmDelivery.existingTopic(delivery.topicArn)
            : AlarmDelivery.none(),
    });
    this.alarms.onDeadLetters(
      'IngestDeliveryDlqAlarm',
      this.ingest.deliveryDeadLetterQueue.queue,
      'Report parts EventBridge could not deliver to the ingest Lambda: some accounts will show as missing.',
    );
    this.alarms.onDeadLetters(
      'IngestFailureDlqAlarm',
      this.ingest.failureDeadLetterQueue.queue,
      'Report parts the ingest Lambda failed on: some accounts will show as missing.',
    );
    this.alarms.onDeadLetters(
      'DigestDlqAlarm',
      this.digest.deadLetterQueue.queue,
      'A scheduled digest could not be started or failed: no digest today.',
    );
    this.alarms.onErrors('IngestErrorsAlarm', this.ingest.handler.function, 'The ingest Lambda failed.');
    this.alarms.onErrors('DigestErrorsAlarm', this.digest.handler.function, 'The digest Lambda failed.');
    // Powertools EMF metrics: the namespace HubFunction sets as POWERTOOLS_METRICS_NAMESPACE, and the one
    // `service` dimension the handler's Metrics instance adds (test/stacks/alarm-metrics.test.ts runs the
    // handlers and checks that what they emit is exactly what these alarms watch).
    const metric = (service: string, metricName: string, statistic: string, period: Duration) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service },
        statistic,
        period,
      });
    const digestService = this.digest.handler.serviceName;
    const ingestService = this.ingest.handler.serviceName;
    const hourly = [digestService, 'Maximum', Duration.hours(1)] as const;
    const fiveMinutes = [ingestService, 'Sum', Duration.minutes(5)] as const;
    const metricAlarms = [
      [
        'AccountsMissingAlarm',
        DIGEST_METRICS.accountsMissing,
        hourly,
        'The last digest found expected accounts without a fresh report (see coverage in latest/summary.json).',
      ],
      [
        'EmailFailedAlarm',
        DIGEST_METRICS.emailFailed,
        hourly,
        'The digest email could not be sent (the S3 outputs were written).',
      ],
      [
        'ForgedPartsAlarm',
        INGEST_METRICS.forgedParts,
        fiveMinutes,
        'A member account sent report parts claiming another account id: investigate that account.',
      ],
      [
        'RejectedPartsAlarm',
        INGEST_METRICS.rejectedParts,
        fiveMinutes,
        'Report parts were refused (invalid envelope or schema): see accounts/<id>/rejected.json.',
      ],
      [
        'AgentFailuresAlarm',
        INGEST_METRICS.agentFailures,
        fiveMinutes,
        'A member agent reported a failed run: see accounts/<id>/agent-failure.json; the account shows as collection-failed until its next report.',
      ],
      [
        'RejectedReportsAlarm',
        INGEST_METRICS.rejectedReports,
        fiveMinutes,
        'A complete report did not assemble or failed validation; the previous one is kept: see accounts/<id>/rejected.json.',
      ],
    ] as const;
    for (const [id, metricName, [service, statistic, period], description] of metricAlarms) {
      this.alarms.onMetric(id, metric(service, metricName, statistic, period), 0, description);
    }
    // The heartbeat: no digest wrote its outputs in any hour of the last ceil(staleHours) (docs/ARCHITECTURE.md §12).
    const staleHours = config.thresholds.staleHours;
    this.alarms.onMissingHeartbeat(
      'DigestHeartbeatAlarm',
      metric(digestService, DIGEST_METRICS.digestSucceeded, 'Sum', Duration.hours(1)),
      staleHours,
      `No digest wrote its outputs in the last ${heartbeatPeriods(staleHours).evaluationPeriods} hours (staleHours ${staleHours}): the schedule, the function or its permissions are broken, and nobody sees the accounts' state.`,
    );

    this.members = new MemberStackSet(this, 'Members', {
      centralBusArn: this.centralBus.bus.eventBusArn,
      agentSchedule: config.agentSchedule,
      organizationalUnitIds: config.targetOrganizationalUnitIds,
      region: config.deploymentRegion,
      delegatedAdmin: config.delegatedAdmin,
      retainStacksOnAccountRemoval: config.retainStacksOnAccountRemoval,
      maxConcurrentPercentage: config.maxConcurrentPercentage,
      failureTolerancePercentage: config.failureTolerancePercentage,
      maxEntryBytes: config.maxEntryBytes,
      collectBudgetSeconds: config.collectBudgetSeconds,
      startWindowMinutes: config.agentStartWindowMinutes,
      ...(config.securityHub ? { securityHub: { thresholds: config.thresholds } } : {}),
      logRetention,
      ...(remediationMode
        ? {
            remediation: {
              mode: remediationMode,
              planMaxAgeHours: config.deactivation.planMaxAgeHours,
              reportBucketName: this.reports.bucket.bucketName,
            },
          }
        : {}),
    });
    // Member agents publish as soon as their stack exists: the bus must already admit them and route to ingest.
    this.members.stackSet.node.addDependency(this.centralBus, this.ingest);

    new CfnOutput(this, HUB_OUTPUTS.reportBucketName, {
      key: HUB_OUTPUTS.reportBucketName,
      value: this.reports.bucket.bucketName,
      description: 'Bucket with the merged CSVs (latest/, runs/) and every account report (accounts/)',
    });
    new CfnOutput(this, HUB_OUTPUTS.centralBusArn, {
      key: HUB_OUTPUTS.centralBusArn,
      value: this.centralBus.bus.eventBusArn,
      description: 'Central event bus the member agents put their report parts on',
    });
    new CfnOutput(this, HUB_OUTPUTS.digestFunctionName, {
      key: HUB_OUTPUTS.digestFunctionName,
      value: this.digest.handler.function.functionName,
      description: 'Digest Lambda (credreport run invokes it on demand)',
    });
    if (this.chatTopic !== undefined) {
      new CfnOutput(this, HUB_OUTPUTS.chatTopicArn, {
        key: HUB_OUTPUTS.chatTopicArn,
        value: this.chatTopic.topic.topicArn,
        description:
          'SNS topic of the chat summary: subscribe it in an Amazon Q Developer in chat applications channel configuration',
      });
    }
    if (this.reports.encryptionKey !== undefined) {
      new CfnOutput(this, HUB_OUTPUTS.reportBucketKeyArn, {
        key: HUB_OUTPUTS.reportBucketKeyArn,
        value: this.reports.encryptionKey.keyArn,
        description:
          'KMS key of the report bucket: readers (credreport fetch, Athena) need kms:Decrypt on it besides s3:GetObject',
      });
    }
    if (this.athena !== undefined) {
      const outputs = [
        [
          HUB_OUTPUTS.athenaWorkGroup,
          this.athena.workGroup.ref,
          'Athena workgroup of the saved credreport queries',
        ],
        [HUB_OUTPUTS.athenaDatabase, config.athena?.database ?? '', 'Glue database of the credreport tables'],
        [
          HUB_OUTPUTS.athenaResultsBucketName,
          this.athena.resultsBucket.bucketName,
          'Bucket the Athena workgroup writes query results to (expired after 30 days)',
        ],
      ] as const;
      for (const [key, value, description] of outputs) new CfnOutput(this, key, { key, value, description });
    }
  }
}
