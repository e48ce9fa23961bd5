import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig, type CredreportConfig } from './config';
import { MANAGEMENT_AGENT_STACK_SUFFIX } from '../core/names';
import { HubStack } from './hub-stack';
import { ManagementAgentStack } from './management-agent-stack';

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /** Extra context (tests); the CDK CLI passes cdk.json's context through the environment. */
  readonly context?: Readonly<Record<string, unknown>>;
  /** Cloud assembly directory. @default the CLI's, or a temporary directory */
  readonly outdir?: string;
}

/** The app, its validated configuration and the hub stack, ready to synthesize. */
export interface CredreportApp {
  readonly app: App;
  readonly config: CredreportConfig;
  readonly hub: HubStack;
  /** The management account's agent (delegated-admin mode with `managementAccountId`), else undefined. */
  readonly managementAgent?: ManagementAgentStack;
}

/**
 * Builds the credreport CDK app: validates the context once (throwing ConfigError naming each bad key),
 * adds the hub stack (which holds the member StackSet) and, in delegated-admin mode with
 * `managementAccountId`, the management account's agent stack; and registers cdk-nag's AwsSolutions checks so
 * that an unacknowledged finding fails `cdk synth`.
 */
export function buildApp(options: BuildAppOptions = {}): CredreportApp {
  const app = new App({
    ...(options.context !== undefined ? { context: { ...options.context } } : {}),
    ...(options.outdir !== undefined ? { outdir: options.outdir } : {}),
  });
  const config = parseConfig(app.node.getAllContext());
  const hub = new HubStack(app, config.stackName, {
    config,
    // No account lookups happen at synth: the account stays a deploy-time token unless pinned in config.
    env: {
      region: config.deploymentRegion,
      ...(config.account !== undefined ? { account: config.account } : {}),
    },
  });
  let managementAgent: ManagementAgentStack | undefined;
  if (config.managementAccountId !== undefined) {
    managementAgent = new ManagementAgentStack(app, `${config.stackName}${MANAGEMENT_AGENT_STACK_SUFFIX}`, {
      config,
    });
  } else if (config.delegatedAdmin) {
    Annotations.of(hub).addWarningV2(
      'credreport:managementAccountNotCollected',
      'delegatedAdmin is true and managementAccountId is not set: nothing collects the management account (StackSets never deploy there). Set managementAccountId and deploy the management agent stack.',
    );
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, config, hub, ...(managementAgent ? { managementAgent } : {}) };
}
