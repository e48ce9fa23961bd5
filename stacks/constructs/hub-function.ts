import * as path from 'node:path';
import { Duration, RemovalPolicy, Size, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, LogLevel } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
// The aggregator's own namespace constant: set as POWERTOOLS_METRICS_NAMESPACE here and used by the alarms.
import { METRICS_NAMESPACE } from '../../aggregator/telemetry';
import { RUNTIME_ACKNOWLEDGEMENT } from './nag-acknowledgements';

/** Root of the repository: the NodejsFunction project root and where package-lock.json lives. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** Runtime and architecture of every credreport Lambda (hub and member). */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_22_X;
export const LAMBDA_ARCHITECTURE = lambda.Architecture.ARM_64;

/** Properties of {@link HubFunction}. */
export interface HubFunctionProps {
  /** Entry file relative to the repository root (TypeScript exporting `handler`). */
  readonly entry: string;
  /** Function description shown in the console. */
  readonly description: string;
  /** Function timeout. */
  readonly timeout: Duration;
  /** Memory in MB. */
  readonly memorySize: number;
  /** Environment, typed by the caller from the handler's env schema. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Reserved concurrent executions.
   * @default - none (the account's unreserved pool)
   */
  readonly reservedConcurrency?: number;
  /** Retention of the function's log group. */
  readonly logRetention: logs.RetentionDays;
  /** Queue receiving asynchronous invocations that failed every attempt. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Retries of a failed asynchronous invocation (0-2). */
  readonly retryAttempts: number;
  /**
   * Service name the Powertools logger and metrics report under (the metrics' `service` dimension). Must
   * equal the `serviceName` the handler gives its Metrics instance, which takes precedence over the
   * POWERTOOLS_SERVICE_NAME set here.
   */
  readonly serviceName: string;
  /**
   * Ephemeral storage in MiB.
   * @default 512
   */
  readonly ephemeralStorageMiB?: number;
}

/**
 * A hub Lambda: NODEJS_22_X on ARM64, bundled by the local esbuild with the AWS SDK inside (SES v2
 * attachments need a newer client than the runtime ships), JSON logs in its own log group with bounded
 * retention, and a role that starts with nothing but writing to that log group (no managed policies).
 */
export class HubFunction extends Construct {
  /** The Lambda function. */
  readonly function: NodejsFunction;
  /** Its execution role; callers add exactly the statements the handler needs. */
  readonly role: iam.Role;
  /** Its log group. */
  readonly logGroup: logs.LogGroup;
  /** Service name of its Powertools logs and metrics (the metrics' `service` dimension). */
  readonly serviceName: string;

  constructor(scope: Construct, id: string, props: HubFunctionProps) {
    super(scope, id);
    this.serviceName = props.serviceName;
    if (props.retryAttempts < 0 || props.retryAttempts > 2) {
      throw new Error(`HubFunction ${id}: retryAttempts must be 0, 1 or 2 (got ${props.retryAttempts})`);
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      // Log groups hold operational logs only (never report contents); bounded retention, kept on stack deletion.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.description}`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: LAMBDA_ARCHITECTURE,
      timeout: props.timeout,
      memorySize: props.memorySize,
      ephemeralStorageSize: Size.mebibytes(props.ephemeralStorageMiB ?? 512),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        // Stack traces point at the TypeScript sources (the bundle ships its source map).
        NODE_OPTIONS: '--enable-source-maps',
      },
      deadLetterQueue: props.deadLetterQueue,
      retryAttempts: props.retryAttempts,
      ...(props.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrency }
        : {}),
      bundling: {
        forceDockerBundling: false,
        // Bundle the SDK: the runtime's copy lags behind (SES v2 attachments need a recent client).
        externalModules: [],
        bundleAwsSDK: true,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: 'node22',
        format: OutputFormat.CJS,
        logLevel: LogLevel.ERROR,
      },
    });
    Validations.of(this.function).acknowledge(RUNTIME_ACKNOWLEDGEMENT);
  }
}
