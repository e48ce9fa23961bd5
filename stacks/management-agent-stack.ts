import { Aws, Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CENTRAL_BUS_NAME } from '../core/names';
import { bundleMemberAgent } from './build/agent-bundle';
import type { CredreportConfig } from './config';
import { MemberAgent } from './constructs/member-agent';

/** Properties of {@link ManagementAgentStack}. */
export interface ManagementAgentStackProps extends StackProps {
  /** The validated app configuration; `managementAccountId` and `account` (the hub's) must be set. */
  readonly config: CredreportConfig;
  /**
   * The agent's bundled code.
   * @default bundleMemberAgent().code
   */
  readonly agentCode?: string;
}

/**
 * The member agent in the organization's management account, for delegated-admin deployments: a
 * service-managed StackSet never deploys to the management account, and the hub (a delegated
 * administrator) cannot collect it in-process. The same {@link MemberAgent} construct as every member
 * (role `credreport-member-agent`, schedule, first run, lost-runs queue and alarm), putting its report on
 * the hub's central bus, whose policy admits it like any account of the organization. Deployed on its
 * own with the management account's credentials: `npx cdk deploy CredreportHubManagementAgent`.
 */
export class ManagementAgentStack extends Stack {
  /** The agent and its wiring. */
  readonly agent: MemberAgent;

  constructor(scope: Construct, id: string, props: ManagementAgentStackProps) {
    const { config } = props;
    if (config.managementAccountId === undefined || config.account === undefined) {
      throw new Error(
        `ManagementAgentStack ${id}: config.managementAccountId and config.account (the hub's) are both required`,
      );
    }
    super(scope, id, {
      description:
        'credreport management agent: reports the management account IAM users and keys to the hub',
      env: { account: config.managementAccountId, region: config.deploymentRegion },
      ...props,
    });
    // The hub's bus by its fixed name: a cross-account stack cannot import the hub stack's output.
    const centralBusArn = `arn:${Aws.PARTITION}:events:${config.deploymentRegion}:${config.account}:event-bus/${CENTRAL_BUS_NAME}`;
    this.agent = new MemberAgent(this, 'Agent', {
      centralBusArn,
      schedule: config.agentSchedule,
      code: props.agentCode ?? bundleMemberAgent().code,
      maxEntryBytes: config.maxEntryBytes,
      collectBudgetSeconds: config.collectBudgetSeconds,
      startWindowMinutes: config.agentStartWindowMinutes,
      ...(config.securityHub ? { securityHub: { thresholds: config.thresholds } } : {}),
      logRetention: config.logRetentionDays as logs.RetentionDays,
    });
  }
}
