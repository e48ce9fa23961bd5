import { CfnParameter } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { StackSetStack } from 'cdk-stacksets';
import { Construct } from 'constructs';
import { MemberAgent, type SecurityHubImportProps } from './constructs/member-agent';

/** Names of the member template's parameters (the StackSet sets them). */
export const MEMBER_PARAMETERS = {
  centralBusArn: 'CentralBusArn',
  agentSchedule: 'AgentSchedule',
  /** Declared only when the staged deactivation is on. */
  reportBucketName: 'ReportBucketName',
} as const;

/** Properties of {@link MemberStack}. */
export interface MemberStackProps {
  /** The agent's bundled CommonJS code, deployed inline. */
  readonly agentCode: string;
  /** Largest PutEvents entry the agent builds, in bytes. */
  readonly maxEntryBytes: number;
  /** Seconds the agent may spend collecting. */
  readonly collectBudgetSeconds: number;
  /**
   * Minutes over which scheduled runs spread their start (MemberAgentProps.startWindowMinutes).
   * @default DEFAULT_AGENT_START_WINDOW_MINUTES from core/start-window.ts
   */
  readonly startWindowMinutes?: number;
  /**
   * Import the account's findings into its Security Hub (MemberAgentProps.securityHub).
   * @default undefined: off
   */
  readonly securityHub?: SecurityHubImportProps;
  /** Retention of the agent's log group. */
  readonly logRetention: logs.RetentionDays;
  /** Default of the AgentSchedule parameter. */
  readonly defaultAgentSchedule: string;
  /**
   * Staged deactivation: the mode (fixed at synth: it decides the role's permissions) and the plan's
   * maximum age; the hub bucket's name arrives as the ReportBucketName parameter.
   * @default - off
   */
  readonly remediation?: { readonly mode: 'dry-run' | 'enforce'; readonly planMaxAgeHours: number };
}

/**
 * The stack the StackSet deploys to every member account. Environment-agnostic: the hub-specific values
 * arrive as parameters (the central bus ARN, the schedule), so one template serves every account and no
 * asset bucket is needed (the agent's code is inline).
 */
export class MemberStack extends StackSetStack {
  /** The agent and its wiring. */
  readonly agent: MemberAgent;

  constructor(scope: Construct, id: string, props: MemberStackProps) {
    super(scope, id);
    this.templateOptions.description =
      'credreport member agent: reports this account IAM users and keys to the hub';

    const centralBusArn = new CfnParameter(this, MEMBER_PARAMETERS.centralBusArn, {
      type: 'String',
      description: 'ARN of the credreport central event bus in the hub account',
      allowedPattern: '^arn:aws[a-z-]*:events:[a-z0-9-]+:\\d{12}:event-bus/[A-Za-z0-9._\\-/]+$',
      constraintDescription: 'must be an EventBridge event bus ARN',
    });
    const agentSchedule = new CfnParameter(this, MEMBER_PARAMETERS.agentSchedule, {
      type: 'String',
      description: 'EventBridge schedule expression of the agent (UTC)',
      default: props.defaultAgentSchedule,
      allowedPattern: '^(rate|cron)\\(.+\\)$',
      constraintDescription: 'must be rate(...) or cron(...)',
    });

    const bucketName = props.remediation
      ? new CfnParameter(this, MEMBER_PARAMETERS.reportBucketName, {
          type: 'String',
          description:
            'Name of the credreport report bucket in the hub account (staged deactivation plans and logs)',
          allowedPattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
          constraintDescription: 'must be an S3 bucket name',
        })
      : undefined;

    this.agent = new MemberAgent(this, 'Agent', {
      centralBusArn: centralBusArn.valueAsString,
      schedule: agentSchedule.valueAsString,
      code: props.agentCode,
      maxEntryBytes: props.maxEntryBytes,
      collectBudgetSeconds: props.collectBudgetSeconds,
      ...(props.startWindowMinutes !== undefined ? { startWindowMinutes: props.startWindowMinutes } : {}),
      ...(props.securityHub ? { securityHub: props.securityHub } : {}),
      logRetention: props.logRetention,
      ...(props.remediation && bucketName
        ? {
            remediation: {
              mode: props.remediation.mode,
              reportBucketName: bucketName.valueAsString,
              planMaxAgeHours: props.remediation.planMaxAgeHours,
            },
          }
        : {}),
    });
  }
}
