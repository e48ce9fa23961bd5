import { Aws, CustomResource, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { MemberAgentEnvironment } from '../../member-agent/env';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE, MEMBER_AGENT_FUNCTION_NAME } from '../../core/names';
import { MEMBER_AGENT_TIMEOUT_SECONDS, scheduleExpressionProblem } from '../config';
import { LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME } from './hub-function';
import { iamReportStatements } from './iam-report-permissions';
import { acknowledgeWildcardResources, RUNTIME_ACKNOWLEDGEMENT } from './nag-acknowledgements';

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
  /** Retention of the agent's log group. */
  readonly logRetention: logs.RetentionDays;
  /**
   * Function name. One agent per account and the StackSet deploys to one region, so a fixed name
   * cannot collide and gives operators one name to look for in every account.
   * @default MEMBER_AGENT_FUNCTION_NAME from core/names.ts
   */
  readonly functionName?: string;
}

/**
 * Everything the StackSet puts in a member account: the agent Lambda and its log group, its role (IAM
 * report reads, `events:PutEvents` on this account's default bus only), its schedule, the rule that
 * forwards its events to the hub's central bus with a role allowed only that, and a one-time run when
 * the stack is created so a new account reports within minutes of joining.
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
  /** The default-bus rule forwarding the agent's events to the central bus. */
  readonly forwardingRule: events.Rule;
  /** The role the forwarding rule puts events on the central bus with. */
  readonly forwardingRole: iam.Role;
  /** The custom resource that runs the agent once when the stack is created. */
  readonly firstRun: CustomResource;

  constructor(scope: Construct, id: string, props: MemberAgentProps) {
    super(scope, id);
    validate(id, props);
    const stack = Stack.of(this);
    const functionName = props.functionName ?? MEMBER_AGENT_FUNCTION_NAME;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: props.logRetention,
      // The name is fixed: a log group left behind would make a later stack in this account fail to create.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const defaultBusArn = stack.formatArn({
      service: 'events',
      resource: 'event-bus',
      resourceName: 'default',
    });
    this.role = new iam.Role(this, 'Role', {
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
    for (const statement of iamReportStatements(this)) {
      this.role.addToPrincipalPolicy(statement);
      acknowledgeWildcardResources(
        this.role,
        statement.resources,
        'iam:GenerateCredentialReport, GetCredentialReport, GetAccountAuthorizationDetails and ListUsers accept only "*"; ListAccessKeys and GetAccessKeyLastUsed cover every user of this account, which is the report itself.',
      );
    }
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PublishReportParts',
        actions: ['events:PutEvents'],
        resources: [defaultBusArn],
      }),
    );

    const environment: MemberAgentEnvironment = {
      EVENT_BUS_NAME: 'default',
      MAX_ENTRY_BYTES: String(props.maxEntryBytes),
      COLLECT_BUDGET_SECONDS: String(props.collectBudgetSeconds),
    };
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
    });

    this.scheduleRule = new events.Rule(this, 'Schedule', {
      description: 'credreport: runs the member agent',
      schedule: events.Schedule.expression(props.schedule),
      targets: [
        new targets.LambdaFunction(this.function, { retryAttempts: 2, maxEventAge: Duration.hours(2) }),
      ],
    });

    this.forwardingRole = new iam.Role(this, 'ForwardingRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: 'credreport: lets the forwarding rule put report parts on the hub central bus',
    });
    const centralBus = events.EventBus.fromEventBusArn(this, 'CentralBus', props.centralBusArn);
    this.forwardingRule = new events.Rule(this, 'Forward', {
      description: 'credreport: forwards member agent report parts to the hub central bus',
      eventPattern: { source: [EVENT_SOURCE], detailType: [EVENT_DETAIL_TYPE] },
      // The EventBus target grants the role events:PutEvents on the central bus ARN, and nothing else.
      targets: [new targets.EventBus(centralBus, { role: this.forwardingRole })],
    });

    // The agent answers CloudFormation first (so the stack never waits on a collection), then collects.
    this.firstRun = new CustomResource(this, 'FirstRun', {
      serviceToken: this.function.functionArn,
      resourceType: 'Custom::CredreportFirstRun',
      serviceTimeout: Duration.minutes(5),
    });
    // Its events must find the forwarding rule and role in place, and the agent its permissions.
    this.firstRun.node.addDependency(this.forwardingRule, this.forwardingRole, this.role);

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
  if (!Token.isUnresolved(props.schedule)) {
    const problem = scheduleExpressionProblem(props.schedule);
    if (problem) throw new Error(`MemberAgent ${id}: schedule ${props.schedule}: ${problem}`);
  }
}
