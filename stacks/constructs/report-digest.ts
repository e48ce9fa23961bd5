import { DEFAULT_EXEMPTION_MAX_DAYS } from '../../core/exemptions';
import { Aws, Duration, Stack, TimeZone } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import type { DigestEnvironment } from '../../aggregator/env';
import {
  DEFAULT_MAX_FINDING_EVENTS,
  FINDINGS_EVENT_SOURCE,
  HUB_SERVICE_NAMES,
  MAX_FINDING_EVENTS_LIMIT,
  S3_LAYOUT,
} from '../../core/names';
import type { Thresholds } from '../../core/thresholds';
import { DEFAULT_CIS_VERSION, type CisVersion, type Severity } from '../../core/finding-ids';
import { DEFAULT_OWNER_MIN_SEVERITY, DEFAULT_OWNER_TAG_KEYS, type OwnerDigestMode } from '../../core/owners';
import type { DeactivationPolicy } from '../../core/deactivation';
import { CONTROL_POLICY_TYPES } from '../../core/types';
import { DeadLetterQueue } from './dead-letter-queue';
import { HubFunction } from './hub-function';
import { iamReportStatements } from './iam-report-permissions';
import { acknowledgeWildcardResources, grantAcknowledged } from './nag-acknowledgements';

/** Properties of {@link ReportDigest}. */
export interface ReportDigestProps {
  /** The report bucket. */
  readonly bucket: s3.IBucket;
  /** The organization (`o-…`): scopes the Organizations permissions and labels the digest. */
  readonly organizationId: string;
  /** OU/root ids whose ACTIVE accounts are expected to report. */
  readonly targetOrganizationalUnitIds: readonly string[];
  /** EventBridge Scheduler expression (`cron(…)` or `rate(…)`). */
  readonly schedule: string;
  /** IANA time zone the schedule is evaluated in. */
  readonly timeZone: string;
  /** Digest recipients; empty: no email and no SES permission. */
  readonly recipients: readonly string[];
  /** Verified SES address the digest is sent from; required exactly when there are recipients. */
  readonly sender?: string;
  /**
   * SES configuration set applied to the sends (the sender identity's default one): SES authorizes
   * `ses:SendEmail` against it too, so the role is granted it. Requires `sender`.
   * @default - none
   */
  readonly configurationSet?: string;
  /** Tag keys emitted as columns; empty: all. */
  readonly tagKeys: readonly string[];
  /** Tag the findings are broken down by. */
  readonly breakdownTag: string;
  /**
   * CIS AWS Foundations numbering shown in summary.json and the digest.
   * @default DEFAULT_CIS_VERSION (v5.0.0)
   */
  readonly cisVersion?: CisVersion;
  /** Finding thresholds. */
  readonly thresholds: Thresholds;
  /** Largest email before the CSV is linked rather than attached, in bytes. */
  readonly maxEmailBytes: number;
  /** Hours after which cached account tags are refreshed. */
  readonly tagCacheHours: number;
  /**
   * How many days ahead an exemption may expire.
   * @default DEFAULT_EXEMPTION_MAX_DAYS (365)
   */
  readonly exemptionMaxDays?: number;
  /**
   * The management account, expected to report like any member (delegated-admin mode, with the
   * management agent stack deployed).
   * @default - only the targeted OUs' accounts and the hub's own are expected
   */
  readonly managementAccountId?: string;
  /** Retention of the function's log group. */
  readonly logRetention: logs.RetentionDays;
  /**
   * Topic the digest publishes its chat summary to (an Amazon Q Developer in chat applications custom
   * notification): the role gets `sns:Publish` on it alone, and KMS use of `chatTopicKey` when given.
   * @default - no chat summary
   */
  readonly chatTopic?: sns.ITopic;
  /**
   * Key of `chatTopic` (a topic the stack creates): the role may `kms:GenerateDataKey` / `kms:Decrypt` with it, through SNS only.
   * @default - the topic is unencrypted or its key is granted elsewhere
   */
  readonly chatTopicKey?: kms.IKey;
  /**
   * Bus the digest puts one event per new critical/high finding on (`credreport.findings`): the role gets
   * `events:PutEvents` on it, only for that source.
   * @default - no finding events
   */
  readonly findingEventsBus?: events.IEventBus;
  /**
   * Finding events per run before one "… and N more" event (1 to MAX_FINDING_EVENTS_LIMIT); requires `findingEventsBus`.
   * @default DEFAULT_MAX_FINDING_EVENTS (500)
   */
  readonly maxFindingEvents?: number;
  /**
   * Also copy the CSVs to the Athena tables' folders (`tables/`), and may write there.
   * @default false
   */
  readonly athenaTables?: boolean;
  /**
   * Per-owner digests (core/owners.ts). On (`dry-run` or `send`) adds `account:GetAlternateContact` for
   * SECURITY contacts of this organization's accounts; `send` adds `ses:GetAccount` (the send rate) and
   * limits `ses:SendEmail` to the recipients and the allowed domains.
   * @default - off
   */
  readonly owners?: ReportDigestOwnerProps;
  /**
   * Staged deactivation (core/deactivation.ts): with a mode other than `off` the digest writes
   * `remediation/<account>/plan.json` and reads the agents' audit logs (and may, in its role, exactly that).
   * @default - off
   */
  readonly deactivation?: DeactivationPolicy;
}

/** Owner digest settings of {@link ReportDigest}. */
export interface ReportDigestOwnerProps {
  /** `off`, `dry-run` (latest/owners/) or `send`. */
  readonly mode: OwnerDigestMode;
  /** Account tag keys naming the owner, tried in order. */
  readonly tagKeys: readonly string[];
  /** Owner of accounts no tag or alternate contact names. @default - none */
  readonly defaultOwner?: string;
  /** Domains an owner address may have; required when mode is not off. */
  readonly allowedDomains: readonly string[];
  /** Least severity of an open finding that makes an owner's digest due. */
  readonly minSeverity: Severity;
}

/** Prefix of the cached organization metadata (`org/metadata.json`). */
const ORG_PREFIX = S3_LAYOUT.orgMetadata.slice(0, S3_LAYOUT.orgMetadata.indexOf('/') + 1);

/**
 * Prefixes the digest reads objects under: account reports and rejections, incomplete part sets
 * (coverage), the cached org metadata, and the previous run under latest/ (delta, and the source of the
 * server-side copies to runs/).
 */
/** Prefixes the digest reads objects from (incoming/ is only listed, for coverage). */
export const DIGEST_READ_PREFIXES = [S3_LAYOUT.accountsPrefix, ORG_PREFIX, S3_LAYOUT.latestPrefix] as const;
/** Prefixes the digest lists (AccountStore.listAccounts and IncomingStore.listIncompletePartSets). */
export const DIGEST_LIST_PREFIXES = [S3_LAYOUT.accountsPrefix, S3_LAYOUT.incomingPrefix] as const;
/** Prefixes the digest writes: the merged outputs, their dated copies, the metadata cache. */
export const DIGEST_WRITE_PREFIXES = [S3_LAYOUT.latestPrefix, S3_LAYOUT.runsPrefix, ORG_PREFIX] as const;
/** Written too with the Athena tables on: the tables' copies of the CSVs. */
export const DIGEST_ATHENA_WRITE_PREFIXES = [S3_LAYOUT.tablesPrefix] as const;

/** Organizations read actions with no resource type (so `*` is the only resource they accept). */
export const ORGANIZATIONS_ACCOUNT_LEVEL_ACTIONS = [
  'organizations:DescribeOrganization',
  'organizations:ListAccounts',
  'organizations:ListRoots',
] as const;
/**
 * Centralized root access reads (no resource type, so `*`): IAM's enabled root access features and the
 * services with trusted access in Organizations (docs/ARCHITECTURE.md §7 "Organization findings").
 */
export const ROOT_ACCESS_READ_ACTIONS = [
  'iam:ListOrganizationsFeatures',
  'organizations:ListAWSServiceAccessForOrganization',
] as const;
/** Organizations read actions on the OU tree, scoped to the organization's root and OU ARNs. */
export const ORGANIZATIONS_TREE_ACTIONS = [
  'organizations:ListAccountsForParent',
  'organizations:ListOrganizationalUnitsForParent',
] as const;
/**
 * Organizations read actions on accounts (the digest calls them with account ids only: the parent of an
 * account that moved during the walk, and account tags), scoped to the organization's account ARNs.
 */
export const ORGANIZATIONS_ACCOUNT_ACTIONS = [
  'organizations:ListParents',
  'organizations:ListTagsForResource',
] as const;

/**
 * The digest: a Lambda sized for a 10,000-account organization (15 minutes, 3008 MB) on an EventBridge
 * Scheduler schedule in the configured time zone. It reads every stored account report and the org
 * metadata, collects the hub account's own report in-process, writes the merged outputs and mails the
 * digest. Also invoked on demand (`credreport run`).
 */
export class ReportDigest extends Construct {
  /** The digest Lambda. */
  readonly handler: HubFunction;
  /** The schedule that runs it. */
  readonly schedule: scheduler.Schedule;
  /** Scheduled or asynchronous invocations that could not run or failed. */
  readonly deadLetterQueue: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: ReportDigestProps) {
    super(scope, id);
    if (props.recipients.length > 0 && props.sender === undefined) {
      throw new Error(`ReportDigest ${id}: sender is required when recipients are given`);
    }
    if (props.recipients.length === 0 && props.sender !== undefined) {
      throw new Error(`ReportDigest ${id}: sender is set but recipients is empty`);
    }
    if (props.configurationSet !== undefined && props.sender === undefined) {
      throw new Error(`ReportDigest ${id}: configurationSet is set but sender is not`);
    }
    if (props.managementAccountId !== undefined && !/^\d{12}$/.test(props.managementAccountId)) {
      throw new Error(
        `ReportDigest ${id}: managementAccountId must be a 12-digit account id (got ${props.managementAccountId})`,
      );
    }
    if (props.targetOrganizationalUnitIds.length === 0) {
      throw new Error(`ReportDigest ${id}: targetOrganizationalUnitIds must not be empty`);
    }
    if (props.maxFindingEvents !== undefined) {
      if (props.findingEventsBus === undefined) {
        throw new Error(`ReportDigest ${id}: maxFindingEvents is set but findingEventsBus is not`);
      }
      const n = props.maxFindingEvents;
      if (!Number.isInteger(n) || n < 1 || n > MAX_FINDING_EVENTS_LIMIT) {
        throw new Error(
          `ReportDigest ${id}: maxFindingEvents must be a whole number from 1 to ${MAX_FINDING_EVENTS_LIMIT} (got ${n})`,
        );
      }
    }
    if (props.chatTopicKey !== undefined && props.chatTopic === undefined) {
      throw new Error(`ReportDigest ${id}: chatTopicKey is set but chatTopic is not`);
    }
    const owners = props.owners?.mode === 'off' ? undefined : props.owners;
    if (owners && owners.allowedDomains.length === 0) {
      throw new Error(
        `ReportDigest ${id}: owners.allowedDomains is required when owners.mode is ${owners.mode}`,
      );
    }
    if (owners?.mode === 'send' && props.sender === undefined) {
      throw new Error(`ReportDigest ${id}: owners.mode send requires sender`);
    }

    this.deadLetterQueue = new DeadLetterQueue(this, 'Dlq', {
      purpose: 'digest runs the scheduler could not start or that failed',
    });

    const t = props.thresholds;
    const environment: DigestEnvironment = {
      REPORT_BUCKET: props.bucket.bucketName,
      ORGANIZATION_ID: props.organizationId,
      TARGET_OU_IDS: props.targetOrganizationalUnitIds.join(','),
      DIGEST_RECIPIENTS: props.recipients.join(','),
      DIGEST_SENDER: props.sender ?? '',
      TAG_KEYS: props.tagKeys.join(','),
      BREAKDOWN_TAG: props.breakdownTag,
      CIS_VERSION: props.cisVersion ?? DEFAULT_CIS_VERSION,
      ROTATION_DAYS: String(t.rotationDays),
      UNUSED_DAYS: String(t.unusedDays),
      GRACE_DAYS: String(t.graceDays),
      ROOT_USE_DAYS: String(t.rootUseDays),
      STALE_HOURS: String(t.staleHours),
      MAX_EMAIL_BYTES: String(props.maxEmailBytes),
      TAG_CACHE_HOURS: String(props.tagCacheHours),
      EXEMPTION_MAX_DAYS: String(props.exemptionMaxDays ?? DEFAULT_EXEMPTION_MAX_DAYS),
      MANAGEMENT_ACCOUNT_ID: props.managementAccountId ?? '',
      CHAT_TOPIC_ARN: props.chatTopic?.topicArn ?? '',
      FINDING_EVENTS_BUS_ARN: props.findingEventsBus?.eventBusArn ?? '',
      MAX_FINDING_EVENTS: String(props.maxFindingEvents ?? DEFAULT_MAX_FINDING_EVENTS),
      ATHENA_TABLES: props.athenaTables === true ? 'true' : 'false',
      OWNER_DIGESTS: owners?.mode ?? 'off',
      OWNER_TAG_KEYS: (owners?.tagKeys ?? DEFAULT_OWNER_TAG_KEYS).join(','),
      DEFAULT_OWNER: owners?.defaultOwner ?? '',
      OWNER_ALLOWED_DOMAINS: (owners?.allowedDomains ?? []).join(','),
      OWNER_MIN_SEVERITY: owners?.minSeverity ?? DEFAULT_OWNER_MIN_SEVERITY,
      DEACTIVATION_POLICY:
        props.deactivation && props.deactivation.mode !== 'off' ? JSON.stringify(props.deactivation) : '',
    };
    this.handler = new HubFunction(this, 'Digest', {
      entry: 'aggregator/digest-handler.ts',
      description: 'credreport digest: merges every account report, writes the CSVs and mails the digest',
      timeout: Duration.minutes(15),
      memorySize: 3008,
      ephemeralStorageMiB: 2048,
      environment,
      logRetention: props.logRetention,
      deadLetterQueue: this.deadLetterQueue.queue,
      // A retried digest could mail twice; a failure raises the errors alarm instead.
      retryAttempts: 0,
      serviceName: HUB_SERVICE_NAMES.digest,
    });

    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: 'credreport: lets the digest schedule invoke the digest Lambda',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'credreport: daily organization digest',
      schedule: scheduler.ScheduleExpression.expression(props.schedule, TimeZone.of(props.timeZone)),
      target: new schedulerTargets.LambdaInvoke(this.handler.function, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
        deadLetterQueue: this.deadLetterQueue.queue,
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
        role: scheduleRole,
      }),
    });
    acknowledgeWildcardResources(
      scheduleRole,
      [`${this.handler.function.functionArn}:*`],
      'lambda:InvokeFunction on the digest function and its versions/aliases (CDK grantInvoke): one function only.',
    );

    this.grantPermissions(props);
  }

  private grantPermissions(props: ReportDigestProps): void {
    const role = this.handler.role;
    const stack = Stack.of(this);
    const bucket = props.bucket;
    // A statement with a wildcard resource goes into a policy of its own, acknowledged there only
    // (nag-acknowledgements.ts); the others into the role's default policy, which has no acknowledgement.
    const grant = (statement: iam.PolicyStatement, reason?: string) => {
      if (reason === undefined) role.addToPrincipalPolicy(statement);
      else grantAcknowledged(role, statement, reason);
    };

    grant(
      new iam.PolicyStatement({
        sid: 'ReadReports',
        actions: ['s3:GetObject'],
        resources: DIGEST_READ_PREFIXES.map((p) => bucket.arnForObjects(`${p}*`)),
      }),
      'Object reads confined to the prefixes the digest merges or keeps (accounts/, org/, latest/) of the report bucket.',
    );
    const writePrefixes = [
      ...DIGEST_WRITE_PREFIXES,
      ...(props.athenaTables === true ? DIGEST_ATHENA_WRITE_PREFIXES : []),
    ];
    grant(
      new iam.PolicyStatement({
        sid: 'WriteOutputs',
        // Multipart uploads of the merged CSVs need AbortMultipartUpload to clean up after a failure.
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: writePrefixes.map((p) => bucket.arnForObjects(`${p}*`)),
      }),
      `Object writes confined to the prefixes the digest produces (${writePrefixes.join(', ')}) of the report bucket.`,
    );
    // IfExists: the 404-versus-403 check on a missing key carries no s3:prefix (see ReportIngest).
    grant(
      new iam.PolicyStatement({
        sid: 'ListReports',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLikeIfExists: { 's3:prefix': DIGEST_LIST_PREFIXES.map((p) => `${p}*`) } },
      }),
    );
    // Exact keys (no wildcard): the operators' file is read only, the last valid copy read and replaced.
    grant(
      new iam.PolicyStatement({
        sid: 'ReadExemptions',
        actions: ['s3:GetObject'],
        resources: [S3_LAYOUT.exemptions, S3_LAYOUT.exemptionsLastValid].map((k) => bucket.arnForObjects(k)),
      }),
    );
    grant(
      new iam.PolicyStatement({
        sid: 'KeepLastValidExemptions',
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects(S3_LAYOUT.exemptionsLastValid)],
      }),
    );

    if (props.deactivation && props.deactivation.mode !== 'off') {
      // docs/ARCHITECTURE.md §11: the digest writes each account's plan and reads what the agents logged.
      grant(
        new iam.PolicyStatement({
          sid: 'WriteRemediationPlans',
          actions: ['s3:PutObject'],
          resources: [bucket.arnForObjects(S3_LAYOUT.remediationPlan('*'))],
        }),
        'Plan writes confined to remediation/<account>/plan.json of the report bucket (one per account).',
      );
      grant(
        new iam.PolicyStatement({
          sid: 'ReadRemediationLogs',
          actions: ['s3:GetObject'],
          resources: [bucket.arnForObjects(`${S3_LAYOUT.remediationLogPrefix('*')}*`)],
        }),
        'Reads confined to the agents audit logs, remediation/<account>/log/, of the report bucket.',
      );
      grant(
        new iam.PolicyStatement({
          sid: 'ListRemediation',
          actions: ['s3:ListBucket'],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${S3_LAYOUT.remediationPrefix}*`] } },
        }),
      );
    }

    grant(
      new iam.PolicyStatement({
        sid: 'ReadOrganization',
        actions: [...ORGANIZATIONS_ACCOUNT_LEVEL_ACTIONS],
        resources: ['*'],
      }),
      'organizations:DescribeOrganization, ListAccounts and ListRoots have no resource type: IAM accepts only "*" for them.',
    );
    // Centralized root access (collector/root-access.ts): IAM's features and whether IAM has trusted access.
    grant(
      new iam.PolicyStatement({
        sid: 'ReadRootAccessManagement',
        actions: [...ROOT_ACCESS_READ_ACTIONS],
        resources: ['*'],
      }),
      'iam:ListOrganizationsFeatures and organizations:ListAWSServiceAccessForOrganization have no resource type: IAM accepts only "*" for them. Both only read.',
    );
    const orgArn = (resource: string) =>
      stack.formatArn({
        service: 'organizations',
        region: '',
        account: '*',
        resource,
        resourceName: `${props.organizationId}/*`,
      });
    grant(
      new iam.PolicyStatement({
        sid: 'ReadOrganizationTree',
        actions: [...ORGANIZATIONS_TREE_ACTIONS],
        resources: [orgArn('root'), orgArn('ou')],
      }),
      'Walking the OU tree needs every root and OU of this organization (scoped to its o- id; the management account id in the ARN is not known in a delegated admin account).',
    );
    grant(
      new iam.PolicyStatement({
        sid: 'ReadAccountParentsAndTags',
        actions: [...ORGANIZATIONS_ACCOUNT_ACTIONS],
        resources: [orgArn('account')],
      }),
      'OU path and tags of every account of this organization are columns of the report (account ARNs of its o- id only).',
    );
    // SCPs and RCPs on every account's path (docs/ARCHITECTURE.md §7): which are attached where, and
    // their documents; no other policy type (the Filter is the organizations:PolicyType key).
    grant(
      new iam.PolicyStatement({
        sid: 'ReadControlPolicyAttachments',
        actions: ['organizations:ListPoliciesForTarget'],
        resources: [orgArn('root'), orgArn('ou'), orgArn('account')],
        conditions: { StringEquals: { 'organizations:PolicyType': [...CONTROL_POLICY_TYPES] } },
      }),
      'The SCPs and RCPs attached to every root, OU and account of this organization (its o- id only).',
    );
    const policyArn = (account: string, resourceName: string) =>
      stack.formatArn({ service: 'organizations', region: '', account, resource: 'policy', resourceName });
    grant(
      new iam.PolicyStatement({
        sid: 'ReadControlPolicies',
        actions: ['organizations:DescribePolicy'],
        resources: CONTROL_POLICY_TYPES.flatMap((type) => [
          policyArn('*', `${props.organizationId}/${type.toLowerCase()}/*`),
          policyArn('aws', `${type.toLowerCase()}/*`),
        ]),
      }),
      "The documents of this organization's SCPs and RCPs (any of them may be attached on a path) and of the AWS managed ones (FullAWSAccess, RCPFullAWSAccess).",
    );

    // The hub account (which StackSets never deploy to) collects its own IAM report.
    for (const { statement, reason } of iamReportStatements(this)) grant(statement, reason);

    // Chat and routing (docs/ARCHITECTURE.md §6): one topic, and one bus only for credreport's findings source.
    if (props.chatTopic !== undefined) {
      grant(
        new iam.PolicyStatement({
          sid: 'PublishChatSummary',
          actions: ['sns:Publish'],
          resources: [props.chatTopic.topicArn],
        }),
      );
    }
    if (props.chatTopicKey !== undefined) {
      grant(
        new iam.PolicyStatement({
          sid: 'EncryptChatSummary',
          // What SNS asks KMS for on a publish to an encrypted topic (no wildcard action).
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [props.chatTopicKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `sns.${stack.region}.${stack.urlSuffix}` } },
        }),
      );
    }
    if (props.findingEventsBus !== undefined) {
      // events:source is multi-valued (one value per entry): every entry must be the findings source, and the
      // Null guard keeps ForAllValues from passing vacuously (as on the central bus policy).
      grant(
        new iam.PolicyStatement({
          sid: 'PutFindingEvents',
          actions: ['events:PutEvents'],
          resources: [props.findingEventsBus.eventBusArn],
          conditions: {
            'ForAllValues:StringEquals': { 'events:source': [FINDINGS_EVENT_SOURCE] },
            Null: { 'events:source': 'false' },
          },
        }),
      );
    }
    const owners = props.owners?.mode === 'off' ? undefined : props.owners;
    if (owners) {
      // Alternate SECURITY contacts only (the condition key), of this organization's accounts (the
      // accountInOrganization ARN, management account id unknown in a delegated admin: *) and of the hub's
      // own account (asked without AccountId: the account ARN).
      grant(
        new iam.PolicyStatement({
          sid: 'ReadSecurityContacts',
          actions: ['account:GetAlternateContact'],
          resources: [
            stack.formatArn({ service: 'account', region: '', resource: 'account' }),
            stack.formatArn({
              service: 'account',
              region: '',
              account: '*',
              resource: 'account',
              resourceName: `${props.organizationId}/*`,
            }),
          ],
          conditions: { 'ForAllValues:StringEquals': { 'account:AlternateContactTypes': ['SECURITY'] } },
        }),
        'The SECURITY alternate contact (condition key) of the accounts of this organization (its o- id; the management account id in the ARN is not known in a delegated admin account), for owner digests.',
      );
    }
    if (owners?.mode === 'send') {
      grant(
        new iam.PolicyStatement({ sid: 'ReadSesSendRate', actions: ['ses:GetAccount'], resources: ['*'] }),
        'ses:GetAccount has no resource type: IAM accepts only "*". It reads the send quota the owner digests are paced to.',
      );
    }

    if (props.sender !== undefined) {
      const domain = props.sender.slice(props.sender.lastIndexOf('@') + 1);
      // SES authorizes against the identity that verified the From address (the address itself or its
      // domain) and, when one applies, the configuration set. The FromAddress condition keeps a domain
      // identity from being used with any other address of that domain.
      const resources = [...new Set([props.sender, domain])].map((identity) =>
        stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity }),
      );
      if (props.configurationSet !== undefined) {
        resources.push(
          stack.formatArn({
            service: 'ses',
            resource: 'configuration-set',
            resourceName: props.configurationSet,
          }),
        );
      }
      grant(
        new iam.PolicyStatement({
          sid: 'SendDigest',
          actions: ['ses:SendEmail'],
          resources,
          conditions: {
            StringEquals: { 'ses:FromAddress': props.sender },
            // Owner mails on: every recipient is a digest recipient or at an allowed domain (a tag
            // value naming an outside address is refused by the digest, and by IAM as well).
            ...(owners?.mode === 'send'
              ? {
                  'ForAllValues:StringLike': {
                    'ses:Recipients': [
                      ...props.recipients,
                      ...owners.allowedDomains.map((d) => `*@${d.toLowerCase()}`),
                    ],
                  },
                }
              : {}),
          },
        }),
      );
    }
  }
}
