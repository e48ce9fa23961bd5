import { createHash } from 'node:crypto';
import { Aws, CustomResource, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { MemberAgentEnvironment } from '../../member-agent/env';
import { MEMBER_AGENT_FUNCTION_NAME, MEMBER_AGENT_ROLE_NAME, S3_LAYOUT } from '../../core/names';
import { DEFAULT_PLAN_MAX_AGE_HOURS } from '../../core/deactivation';
import { DEFAULT_AGENT_START_WINDOW_MINUTES } from '../../core/start-window';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../../core/thresholds';
import {
  MEMBER_AGENT_PUBLISH_SECONDS,
  MEMBER_AGENT_TIMEOUT_SECONDS,
  scheduleExpressionProblem,
} from '../config';
import { DeadLetterQueue } from './dead-letter-queue';
import { LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME } from './hub-function';
import { iamReportStatements } from './iam-report-permissions';
import { grantAcknowledged, RUNTIME_ACKNOWLEDGEMENT } from './nag-acknowledgements';

/** What the agent needs to import its account's findings into Security Hub. */
export interface SecurityHubImportProps {
  /** The finding thresholds, the digest's own (cdk.json), so the agent computes the same findings. */
  readonly thresholds: Thresholds;
}

/** Properties of {@link MemberAgent}. */
export interface MemberAgentProps {
  /** ARN of the hub's central bus (in the StackSet template: a parameter). */
  readonly centralBusArn: string;
  /** EventBridge rule expression of the agent's schedule (UTC); may be a parameter. */
  readonly schedule: string;
  /** The agent's bundled CommonJS code (exports `handler`), deployed inline: no asset bucket per member region. */
  readonly code: string;
  /** Largest PutEvents entry the agent builds, in bytes. */
  readonly maxEntryBytes: number;
  /** Seconds the agent may spend collecting; below the 15-minute timeout. */
  readonly collectBudgetSeconds: number;
  /**
   * Minutes over which scheduled runs spread their start: each account waits its fixed offset into the
   * window (core/start-window.ts) before collecting, so the window, the collect budget and a minute to
   * publish must fit the agent's timeout. 0: every account starts on the schedule itself.
   * @default DEFAULT_AGENT_START_WINDOW_MINUTES from core/start-window.ts
   */
  readonly startWindowMinutes?: number;
  /**
   * Import the account's findings into its own Security Hub after each collection (docs/ARCHITECTURE.md §6
   * "Security Hub"): adds `securityhub:BatchImportFindings` on this account's default product ARN and
   * `securityhub:GetFindings` on its hub ARN, both in this Region only.
   * @default undefined: no import, no Security Hub permission
   */
  readonly securityHub?: SecurityHubImportProps;
  /** Retention of the agent's log group. */
  readonly logRetention: logs.RetentionDays;
  /**
   * Function name. One agent per account and the StackSet deploys to one region, so a fixed name
   * cannot collide and gives operators one name to look for in every account.
   * @default MEMBER_AGENT_FUNCTION_NAME from core/names.ts
   */
  readonly functionName?: string;
  /**
   * Staged deactivation (docs/ARCHITECTURE.md §7, §11): the agent reads its account's plan from the hub bucket
   * and writes its audit log there; in `enforce` mode its role also gets `iam:UpdateAccessKey` on this
   * account's users. The mode is fixed at synth so the role's permissions follow it exactly.
   * @default - off: no bucket access, no UpdateAccessKey
   */
  readonly remediation?: MemberAgentRemediation;
}

/** What the agent needs for the staged deactivation. */
export interface MemberAgentRemediation {
  readonly mode: 'dry-run' | 'enforce';
  /** The hub's report bucket name (in the StackSet template: a parameter). */
  readonly reportBucketName: string;
  /** A plan older than this many hours is not acted on. */
  readonly planMaxAgeHours: number;
}

/**
 * Everything the StackSet puts in a member account: the agent Lambda and its log group, its role (IAM
 * report reads, `events:PutEvents` on the hub's central bus only), its schedule, a one-time run when
 * the stack is created so a new account reports within minutes of joining, and a queue (with an alarm)
 * for the runs that were lost: failed after Lambda's retries, or never delivered by the schedule.
 *
 * The agent puts its parts on the central bus itself, with a role of the fixed name
 * MEMBER_AGENT_ROLE_NAME: the bus policy admits that role and nobody else in the account, so no other
 * principal of a member account can publish a report for it (docs/ARCHITECTURE.md §11). A forwarding
 * rule on the default bus would forward whatever anyone with `events:PutEvents` put there.
 */
export class MemberAgent extends Construct {
  /** The agent Lambda. */
  readonly function: lambda.Function;
  /** Its execution role. */
  readonly role: iam.Role;
  /** Its log group. */
  readonly logGroup: logs.LogGroup;
  /** The schedule rule that runs it. */
  readonly scheduleRule: events.Rule;
  /** The custom resource that runs the agent once when the stack is created. */
  readonly firstRun: CustomResource;
  /**
   * Runs lost in this account: asynchronous invocations that failed after Lambda's retries (crash,
   * timeout, throttled until too old; the function's on-failure destination) and schedule events the rule
   * could not deliver (its target's dead-letter queue).
   */
  readonly failedRuns: DeadLetterQueue;
  /** Alarm (in this account) when any lost run sits in {@link failedRuns}. */
  readonly failedRunsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: MemberAgentProps) {
    super(scope, id);
    validate(id, props);
    const functionName = props.functionName ?? MEMBER_AGENT_FUNCTION_NAME;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: props.logRetention,
      // The name is fixed: a log group left behind would make a later stack in this account fail to create.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.role = new iam.Role(this, 'Role', {
      roleName: MEMBER_AGENT_ROLE_NAME,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'credreport member agent: reads this account IAM report and publishes it',
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    // Each wildcard statement in a policy of its own, acknowledged there only (nag-acknowledgements.ts).
    for (const { statement, reason } of iamReportStatements(this))
      grantAcknowledged(this.role, statement, reason);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PublishReportParts',
        actions: ['events:PutEvents'],
        resources: [props.centralBusArn],
      }),
    );

    const remediation = props.remediation;
    if (remediation) {
      const objects = (suffix: string) =>
        Stack.of(this).formatArn({
          service: 's3',
          region: '',
          account: '',
          resource: remediation.reportBucketName,
          resourceName: suffix,
        });
      grantAcknowledged(
        this.role,
        new iam.PolicyStatement({
          sid: 'ReadOwnRemediationPlan',
          actions: ['s3:GetObject'],
          resources: [objects(S3_LAYOUT.remediationPlan(Aws.ACCOUNT_ID))],
        }),
        'Reads only this account plan, remediation/<this account>/plan.json, of the hub bucket (the bucket policy admits the same).',
      );
      grantAcknowledged(
        this.role,
        new iam.PolicyStatement({
          sid: 'WriteOwnRemediationLog',
          actions: ['s3:PutObject'],
          resources: [objects(`${S3_LAYOUT.remediationLogPrefix(Aws.ACCOUNT_ID)}*`)],
        }),
        'Writes only this account audit log, remediation/<this account>/log/<time>.json, of the hub bucket.',
      );
      if (remediation.mode === 'enforce') {
        grantAcknowledged(
          this.role,
          new iam.PolicyStatement({
            sid: 'DeactivateUnusedKeys',
            actions: ['iam:UpdateAccessKey'],
            resources: [
              Stack.of(this).formatArn({ service: 'iam', region: '', resource: 'user', resourceName: '*' }),
            ],
          }),
          'iam:UpdateAccessKey on this account users (user/*), in enforce mode only: the agent deactivates the keys the hub plan names after re-checking each.',
        );
      }
    }

    if (props.securityHub) {
      // BatchImportFindings' resource type is `product` (Service Authorization Reference): this account's
      // default product only; GetFindings (reading back the previous import) on this account's hub only.
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ImportOwnFindingsToSecurityHub',
          actions: ['securityhub:BatchImportFindings'],
          resources: [
            `arn:${Aws.PARTITION}:securityhub:${Aws.REGION}:${Aws.ACCOUNT_ID}:product/${Aws.ACCOUNT_ID}/default`,
          ],
        }),
      );
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadOwnSecurityHubFindings',
          actions: ['securityhub:GetFindings'],
          resources: [`arn:${Aws.PARTITION}:securityhub:${Aws.REGION}:${Aws.ACCOUNT_ID}:hub/default`],
        }),
      );
    }
    const thresholds = props.securityHub?.thresholds ?? DEFAULT_THRESHOLDS;
    const environment: MemberAgentEnvironment = {
      EVENT_BUS_NAME: props.centralBusArn,
      MAX_ENTRY_BYTES: String(props.maxEntryBytes),
      COLLECT_BUDGET_SECONDS: String(props.collectBudgetSeconds),
      START_WINDOW_SECONDS: String((props.startWindowMinutes ?? DEFAULT_AGENT_START_WINDOW_MINUTES) * 60),
      // Names the deployed code in a failure report: the same bundle gives the same label everywhere.
      AGENT_VERSION: createHash('sha256').update(props.code).digest('hex').slice(0, 12),
      DEACTIVATION_MODE: remediation?.mode ?? 'off',
      REPORT_BUCKET: remediation?.reportBucketName ?? '',
      PLAN_MAX_AGE_HOURS: String(remediation?.planMaxAgeHours ?? DEFAULT_PLAN_MAX_AGE_HOURS),
      SECURITY_HUB: props.securityHub ? 'true' : 'false',
      ROTATION_DAYS: String(thresholds.rotationDays),
      UNUSED_DAYS: String(thresholds.unusedDays),
      GRACE_DAYS: String(thresholds.graceDays),
      ROOT_USE_DAYS: String(thresholds.rootUseDays),
    };
    // What the agent cannot report itself (a crash, the timeout, a throttled or undeliverable invocation)
    // lands here. A Lambda on-failure destination may be an EventBridge bus, but AWS does not document one
    // in another account, nor which principal would put the record there (the central bus admits only the
    // agent role, for credreport's source): so the record stays in this account, alarmed here, and the
    // hub sees the account as stale once staleHours pass (docs/ARCHITECTURE.md §12).
    this.failedRuns = new DeadLetterQueue(this, 'FailedRuns', {
      purpose: 'member agent runs that failed after retries or could not be delivered',
    });
    this.function = new lambda.Function(this, 'Function', {
      functionName,
      description: 'credreport member agent: publishes this account IAM credential report to the hub',
      code: lambda.Code.fromInline(props.code),
      handler: 'index.handler',
      runtime: LAMBDA_RUNTIME,
      architecture: LAMBDA_ARCHITECTURE,
      timeout: Duration.seconds(MEMBER_AGENT_TIMEOUT_SECONDS),
      memorySize: 1024,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      // The handler's Logger names itself MEMBER_AGENT_FUNCTION_NAME too.
      environment: { ...environment, POWERTOOLS_SERVICE_NAME: MEMBER_AGENT_FUNCTION_NAME },
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new destinations.SqsDestination(this.failedRuns.queue),
    });

    this.scheduleRule = new events.Rule(this, 'Schedule', {
      description: 'credreport: runs the member agent',
      schedule: events.Schedule.expression(props.schedule),
      targets: [
        new targets.LambdaFunction(this.function, {
          retryAttempts: 2,
          maxEventAge: Duration.hours(2),
          deadLetterQueue: this.failedRuns.queue,
        }),
      ],
    });
    this.failedRunsAlarm = new cloudwatch.Alarm(this, 'FailedRunsAlarm', {
      alarmName: `${functionName}-failed-runs`,
      alarmDescription:
        'credreport: a member agent run failed after its retries or was never delivered; this account report is missing at the hub until the next run (see the queue messages and the agent logs).',
      metric: this.failedRuns.queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // The agent answers CloudFormation first (so the stack never waits on a collection), then collects.
    this.firstRun = new CustomResource(this, 'FirstRun', {
      serviceToken: this.function.functionArn,
      resourceType: 'Custom::CredreportFirstRun',
      serviceTimeout: Duration.minutes(5),
    });
    // The agent needs its permissions in place before its first run.
    this.firstRun.node.addDependency(this.role);

    Validations.of(this.function).acknowledge(RUNTIME_ACKNOWLEDGEMENT);
  }
}

function validate(id: string, props: MemberAgentProps): void {
  if (props.code.trim().length === 0) throw new Error(`MemberAgent ${id}: code is empty`);
  if (
    !Number.isInteger(props.maxEntryBytes) ||
    props.maxEntryBytes < 16_384 ||
    props.maxEntryBytes > 1_048_576
  ) {
    throw new Error(
      `MemberAgent ${id}: maxEntryBytes must be from 16384 to 1048576 (got ${props.maxEntryBytes})`,
    );
  }
  if (
    !Number.isInteger(props.collectBudgetSeconds) ||
    props.collectBudgetSeconds < 1 ||
    props.collectBudgetSeconds >= MEMBER_AGENT_TIMEOUT_SECONDS
  ) {
    throw new Error(
      `MemberAgent ${id}: collectBudgetSeconds must be below the ${MEMBER_AGENT_TIMEOUT_SECONDS}s timeout (got ${props.collectBudgetSeconds})`,
    );
  }
  const windowMinutes = props.startWindowMinutes ?? DEFAULT_AGENT_START_WINDOW_MINUTES;
  if (!Number.isInteger(windowMinutes) || windowMinutes < 0) {
    throw new Error(
      `MemberAgent ${id}: startWindowMinutes must be a whole number of minutes, 0 or more (got ${windowMinutes})`,
    );
  }
  if (
    windowMinutes * 60 + props.collectBudgetSeconds + MEMBER_AGENT_PUBLISH_SECONDS >
    MEMBER_AGENT_TIMEOUT_SECONDS
  ) {
    throw new Error(
      `MemberAgent ${id}: startWindowMinutes (${windowMinutes} min) + collectBudgetSeconds (${props.collectBudgetSeconds} s) + ${MEMBER_AGENT_PUBLISH_SECONDS} s to publish exceed the ${MEMBER_AGENT_TIMEOUT_SECONDS}s timeout`,
    );
  }
  if (!Token.isUnresolved(props.schedule)) {
    const problem = scheduleExpressionProblem(props.schedule);
    if (problem) throw new Error(`MemberAgent ${id}: schedule ${props.schedule}: ${problem}`);
  }
}
