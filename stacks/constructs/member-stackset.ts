import type * as logs from 'aws-cdk-lib/aws-logs';
import {
  Capability,
  DeploymentType,
  RegionConcurrencyType,
  StackSet,
  StackSetTarget,
  StackSetTemplate,
} from 'cdk-stacksets';
import type { CfnStackSet } from 'aws-cdk-lib/aws-cloudformation';
import { Construct } from 'constructs';
import { MEMBER_STACKSET_NAME } from '../../core/names';
import { bundleMemberAgent } from '../build/agent-bundle';
import { MEMBER_PARAMETERS, MemberStack } from '../member-stack';
import type { SecurityHubImportProps } from './member-agent';

const TARGET_ID = /^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$/;

/** Properties of {@link MemberStackSet}. */
export interface MemberStackSetProps {
  /** ARN of the hub's central bus, passed to every member stack as a parameter. */
  readonly centralBusArn: string;
  /** EventBridge rule expression of the agent (UTC). */
  readonly agentSchedule: string;
  /** OU or root ids to deploy to (and to auto-deploy to accounts that join them later). */
  readonly organizationalUnitIds: readonly string[];
  /** The single region member stacks go to: IAM is global, a second region would duplicate reports. */
  readonly region: string;
  /** `true` from a CloudFormation delegated administrator account (CallAs DELEGATED_ADMIN), `false` from the management account (SELF). */
  readonly delegatedAdmin: boolean;
  /** Keep the member stack in an account that leaves the targeted OUs. */
  readonly retainStacksOnAccountRemoval: boolean;
  /** Percentage of accounts deployed at once. */
  readonly maxConcurrentPercentage: number;
  /** Percentage of accounts that may fail before an operation stops. */
  readonly failureTolerancePercentage: number;
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
   * Import each account's findings into its Security Hub (MemberAgentProps.securityHub).
   * @default undefined: off
   */
  readonly securityHub?: SecurityHubImportProps;
  /** Retention of the agent's log group. */
  readonly logRetention: logs.RetentionDays;
  /**
   * Staged deactivation: the mode and plan age for every agent, and the hub bucket passed as the
   * ReportBucketName parameter.
   * @default - off
   */
  readonly remediation?: {
    readonly mode: 'dry-run' | 'enforce';
    readonly planMaxAgeHours: number;
    readonly reportBucketName: string;
  };
  /**
   * The agent's bundled code.
   * @default bundleMemberAgent().code
   */
  readonly agentCode?: string;
}

/**
 * The service-managed StackSet that puts the member agent in every account of the targeted OUs, now
 * and whenever an account joins them (auto-deployment), in one region. Sized for thousands of accounts:
 * parallel, a percentage of accounts at a time, failures tolerated up to a percentage without capping
 * the concurrency (SOFT_FAILURE_TOLERANCE), managed execution to queue conflicting operations.
 * Service-managed StackSets never deploy to the management account: the hub's digest covers it.
 */
export class MemberStackSet extends Construct {
  /** The member template's stack. */
  readonly memberStack: MemberStack;
  /** The StackSet. */
  readonly stackSet: StackSet;

  constructor(scope: Construct, id: string, props: MemberStackSetProps) {
    super(scope, id);
    validate(id, props);

    this.memberStack = new MemberStack(this, 'Member', {
      agentCode: props.agentCode ?? bundleMemberAgent().code,
      maxEntryBytes: props.maxEntryBytes,
      collectBudgetSeconds: props.collectBudgetSeconds,
      ...(props.startWindowMinutes !== undefined ? { startWindowMinutes: props.startWindowMinutes } : {}),
      ...(props.securityHub ? { securityHub: props.securityHub } : {}),
      logRetention: props.logRetention,
      defaultAgentSchedule: props.agentSchedule,
      ...(props.remediation
        ? {
            remediation: { mode: props.remediation.mode, planMaxAgeHours: props.remediation.planMaxAgeHours },
          }
        : {}),
    });

    this.stackSet = new StackSet(this, 'StackSet', {
      stackSetName: MEMBER_STACKSET_NAME,
      description: 'credreport member agent: one per account, reports IAM users and access keys to the hub',
      template: StackSetTemplate.fromStackSetStack(this.memberStack),
      deploymentType: DeploymentType.serviceManaged({
        autoDeployEnabled: true,
        autoDeployRetainStacks: props.retainStacksOnAccountRemoval,
        delegatedAdmin: props.delegatedAdmin,
      }),
      target: StackSetTarget.fromOrganizationalUnits({
        regions: [props.region],
        organizationalUnits: [...props.organizationalUnitIds],
      }),
      parameters: {
        [MEMBER_PARAMETERS.centralBusArn]: props.centralBusArn,
        [MEMBER_PARAMETERS.agentSchedule]: props.agentSchedule,
        ...(props.remediation
          ? { [MEMBER_PARAMETERS.reportBucketName]: props.remediation.reportBucketName }
          : {}),
      },
      operationPreferences: {
        maxConcurrentPercentage: props.maxConcurrentPercentage,
        failureTolerancePercentage: props.failureTolerancePercentage,
        regionConcurrencyType: RegionConcurrencyType.PARALLEL,
      },
      managedExecution: true,
      // The agent's role has a fixed name (the central bus policy admits only it): CAPABILITY_NAMED_IAM.
      capabilities: [Capability.NAMED_IAM],
    });
    // Not exposed by cdk-stacksets: let a few failed accounts not throttle a 10,000-account rollout.
    (this.stackSet.node.defaultChild as CfnStackSet).addPropertyOverride(
      'OperationPreferences.ConcurrencyMode',
      'SOFT_FAILURE_TOLERANCE',
    );
  }
}

function validate(id: string, props: MemberStackSetProps): void {
  if (props.organizationalUnitIds.length === 0) {
    throw new Error(`MemberStackSet ${id}: organizationalUnitIds must list at least one OU or root id`);
  }
  for (const ou of props.organizationalUnitIds) {
    if (!TARGET_ID.test(ou))
      throw new Error(`MemberStackSet ${id}: organizationalUnitIds: ${ou} is not an OU or root id`);
  }
  const percentage = (name: string, value: number, min: number) => {
    if (!Number.isInteger(value) || value < min || value > 100) {
      throw new Error(
        `MemberStackSet ${id}: ${name} must be a whole percentage from ${min} to 100 (got ${value})`,
      );
    }
  };
  percentage('maxConcurrentPercentage', props.maxConcurrentPercentage, 1);
  percentage('failureTolerancePercentage', props.failureTolerancePercentage, 0);
}
