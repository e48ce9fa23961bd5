import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig, type CredreportConfig } from './config';
import { HubStack } from './hub-stack';

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
}

/**
 * Builds the credreport CDK app: validates the context once (throwing ConfigError naming each bad key),
 * adds the hub stack (which holds the member StackSet), and registers cdk-nag's AwsSolutions checks so
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
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, config, hub };
}
