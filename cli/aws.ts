/**
 * AWS client construction for the `credreport` commands — the only place in the CLI that does
 * `new XClient()`. Every client shares one credential provider (the named profile, or the default
 * chain), one region, one keep-alive HTTPS agent and adaptive retries; cross-account IAM clients get
 * credentials from `fromTemporaryCredentials` with the caller's credentials as the source.
 */
import { Agent } from 'node:https';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromIni, fromNodeProviderChain, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { errorMessage, errorName, errorNames, isAccessDenied } from '../core/aws-errors';
import { CredreportError } from '../core/errors';

/** A credentials provider as the SDK clients take it. */
export type CredentialsProvider = ReturnType<typeof fromNodeProviderChain>;
type Credentials = Awaited<ReturnType<CredentialsProvider>>;

/** Where the commands' AWS calls go and as whom (`--profile`, `--region`). */
export interface AwsOptions {
  /** Named profile of the shared config/credentials files. @default the default provider chain */
  readonly profile?: string;
  /** Region of the regional clients and of STS. @default AWS_REGION, else the profile's region */
  readonly region?: string;
}

/** The caller as GetCallerIdentity reports it, with the partition taken from its ARN. */
export interface CallerIdentity {
  readonly accountId: string;
  readonly arn: string;
  /** `aws`, `aws-cn`, `aws-us-gov`, … — every ARN the CLI builds uses it. */
  readonly partition: string;
}

/** The local credentials could not be used (none found, expired, no region, …). */
export class AwsSetupError extends CredreportError {}

/** A role could not be assumed in a member account; the message names the role and the STS error. */
export class AssumeRoleError extends CredreportError {
  readonly roleArn: string;
  /** The STS error name, e.g. `AccessDenied`, `RegionDisabledException`. */
  readonly code: string;

  constructor(roleArn: string, cause: unknown) {
    const code = errorName(cause);
    const hint = isAccessDenied(cause)
      ? ' (the role does not exist, or its trust policy does not allow you, or an SCP denies sts:AssumeRole)'
      : '';
    super(`AssumeRole ${roleArn} failed: ${code}: ${errorMessage(cause)}${hint}`, { cause });
    this.roleArn = roleArn;
    this.code = code;
  }
}

/** Clients for one command run; `destroy()` when done so the keep-alive sockets close. */
export interface AwsSession {
  readonly options: AwsOptions;
  /** The region every client uses, resolved from `--region`, the environment or the profile. */
  region(): Promise<string>;
  /** GetCallerIdentity with the local credentials; throws AwsSetupError with a hint when it fails. */
  callerIdentity(): Promise<CallerIdentity>;
  organizations(): OrganizationsClient;
  /** IAM with the caller's own credentials (the caller's own account). */
  iam(): IAMClient;
  /**
   * IAM acting as `roleArn`. AssumeRole is called before this resolves, so a refusal surfaces here as
   * AssumeRoleError rather than half-way through a collection; later refreshes reuse the same provider.
   */
  assumedIam(roleArn: string): Promise<IAMClient>;
  s3(): S3Client;
  cloudformation(): CloudFormationClient;
  /**
   * Lambda with a single attempt: a retried RequestResponse Invoke whose first attempt did run would
   * run the digest (and send its email) twice.
   */
  lambda(): LambdaClient;
  destroy(): void;
}

/** Builds an {@link AwsSession}; the commands take this factory as a dependency so tests can wrap it. */
export type AwsSessionFactory = (options: AwsOptions) => AwsSession;

/** Session name of every AssumeRole the CLI makes (visible in the member accounts' CloudTrail). */
export const COLLECT_SESSION_NAME = 'credreport-collect';

/**
 * Attempts per call. Adaptive mode adds a client-side rate limiter that backs off on throttling
 * errors; ten attempts ride out a burst of IAM/Organizations throttling without giving up an account.
 */
export const MAX_ATTEMPTS = 10;

/** Refresh cached credentials this long before they expire (the SDK's own margin). */
const EXPIRY_MARGIN_MS = 5 * 60_000;

/**
 * Caches a provider's credentials until shortly before they expire. fromIni resolves the profile
 * again on every call — for an SSO or assume-role profile that is a network call — and every member
 * account's STS client asks for the source credentials once.
 */
export function memoizeCredentials(
  provider: CredentialsProvider,
  now: () => number = Date.now,
): CredentialsProvider {
  let cached: Promise<Credentials> | undefined;
  return async () => {
    if (cached) {
      const current = await cached.catch(() => undefined);
      const expiresAt = current?.expiration?.getTime();
      if (current && (expiresAt === undefined || expiresAt - now() > EXPIRY_MARGIN_MS)) return current;
    }
    const next = provider();
    cached = next;
    return next;
  };
}

/** `arn:aws-cn:sts::123456789012:assumed-role/x/y` → `aws-cn`. */
export function partitionOfArn(arn: string): string {
  const [prefix, partition] = arn.split(':');
  if (prefix !== 'arn' || !partition) throw new AwsSetupError(`not an ARN: '${arn}'`);
  return partition;
}

/** The ARN of role `roleName` (optionally with a path, `team/Reader`) in `accountId`. */
export function roleArnFor(partition: string, accountId: string, roleName: string): string {
  return `arn:${partition}:iam::${accountId}:role/${roleName.replace(/^\/+/, '')}`;
}

/** Socket and DNS failures: the endpoint could not be reached at all. */
const NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
]);

/**
 * What went wrong with GetCallerIdentity, in words that say what to do: no credentials at all (configure
 * them), expired ones (log in again), rejected ones, or no network (not a credentials problem at all).
 */
export function describeCallerIdentityError(error: unknown, profile?: string): string {
  const source = profile ? `profile '${profile}'` : 'the default credential chain';
  const names = errorNames(error);
  const codes = [
    ...names,
    ...[error, (error as { cause?: unknown } | null)?.cause].map((e) =>
      typeof (e as { code?: unknown } | null)?.code === 'string' ? (e as { code: string }).code : '',
    ),
  ];
  const message = errorMessage(error);
  const network = codes.find((c) => NETWORK_ERRORS.has(c));
  if (network) {
    return (
      `cannot reach AWS STS: a network problem (${network}), not a credentials one: check the network ` +
      `connection, a proxy (HTTPS_PROXY), AWS_ENDPOINT_URL* settings and --region (${message})`
    );
  }
  if (names.includes('ExpiredToken') || (/expired/i.test(message) && /token|sso|session/i.test(message))) {
    return (
      `the AWS credentials of ${source} have expired: run 'aws sso login${profile ? ` --profile ${profile}` : ''}'` +
      ` (IAM Identity Center) or refresh them (${message})`
    );
  }
  if (
    profile &&
    /could not resolve credentials using profile|profile .*(could not be found|not found)/i.test(message)
  ) {
    return (
      `profile '${profile}' is not in your AWS config or credentials files: create it with ` +
      `'aws configure --profile ${profile}' or 'aws configure sso --profile ${profile}', or pass another --profile`
    );
  }
  if (names.includes('CredentialsProviderError') || /could not load credentials/i.test(message)) {
    return (
      `no AWS credentials found in ${source}: run 'aws configure' (access keys) or 'aws sso login' ` +
      `(IAM Identity Center), or pass --profile NAME for a named profile`
    );
  }
  if (
    names.some((n) =>
      ['InvalidClientTokenId', 'SignatureDoesNotMatch', 'UnrecognizedClientException'].includes(n),
    )
  ) {
    return (
      `AWS rejected the credentials of ${source} (${errorName(error)}): they are wrong or deactivated; ` +
      `check them with 'aws sts get-caller-identity'${profile ? ` --profile ${profile}` : ''}`
    );
  }
  return `cannot use the AWS credentials of ${source}: ${errorName(error)}: ${message}`;
}

/** Creates the real session. */
export const createAwsSession: AwsSessionFactory = (options) => {
  // One agent for every client: 1,000 member-account clients must not each keep their own sockets.
  const httpsAgent = new Agent({ keepAlive: true, maxSockets: 64 });
  const requestHandler = { httpsAgent };
  const credentials = memoizeCredentials(
    options.profile ? fromIni({ profile: options.profile }) : fromNodeProviderChain(),
  );
  const base = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    credentials,
    retryMode: 'adaptive',
    maxAttempts: MAX_ATTEMPTS,
    requestHandler,
  } as const;

  const created: { destroy(): void }[] = [];
  const track = <T extends { destroy(): void }>(client: T): T => {
    created.push(client);
    return client;
  };
  const once = <T extends { destroy(): void }>(make: () => T): (() => T) => {
    let client: T | undefined;
    return () => (client ??= track(make()));
  };

  const sts = once(() => new STSClient(base));
  let regionPromise: Promise<string> | undefined;
  const region = (): Promise<string> =>
    (regionPromise ??= sts()
      .config.region()
      .catch((error: unknown) => {
        regionPromise = undefined;
        throw new AwsSetupError(
          'no AWS region: pass --region, set AWS_REGION, or set region in your profile' +
            ` (${errorMessage(error)})`,
          { cause: error },
        );
      }));

  return {
    options,
    region,
    async callerIdentity() {
      await region();
      let response;
      try {
        response = await sts().send(new GetCallerIdentityCommand({}));
      } catch (error) {
        throw new AwsSetupError(describeCallerIdentityError(error, options.profile), { cause: error });
      }
      const { Account: accountId, Arn: arn } = response;
      if (!accountId || !arn) throw new AwsSetupError('GetCallerIdentity returned no account or ARN');
      return { accountId, arn, partition: partitionOfArn(arn) };
    },
    organizations: once(() => new OrganizationsClient(base)),
    iam: once(() => new IAMClient(base)),
    async assumedIam(roleArn) {
      // The resolved region, not the SDK default (us-east-1), so aws-cn and aws-us-gov callers reach
      // their own partition's STS.
      const resolvedRegion = await region();
      const provider = fromTemporaryCredentials({
        params: { RoleArn: roleArn, RoleSessionName: COLLECT_SESSION_NAME },
        masterCredentials: credentials,
        clientConfig: {
          region: resolvedRegion,
          retryMode: 'adaptive',
          maxAttempts: MAX_ATTEMPTS,
          requestHandler,
        },
      });
      let first: Promise<Credentials> | undefined = provider();
      try {
        await first;
      } catch (error) {
        throw new AssumeRoleError(roleArn, error);
      }
      const assumed: CredentialsProvider = async () => {
        if (first) {
          const resolved = first;
          first = undefined;
          return resolved;
        }
        return provider();
      };
      // Not tracked: one per account; the shared agent's sockets are what needs closing.
      return new IAMClient({ ...base, region: resolvedRegion, credentials: assumed });
    },
    // --bucket may name a bucket in another region than the stack's: follow S3's redirect to it.
    s3: once(() => new S3Client({ ...base, followRegionRedirects: true })),
    cloudformation: once(() => new CloudFormationClient(base)),
    lambda: once(() => new LambdaClient({ ...base, maxAttempts: 1 })),
    destroy() {
      for (const client of created.splice(0)) client.destroy();
      httpsAgent.destroy();
    },
  };
};

/** The hub stack or one of its outputs could not be found or read. */
export class StackOutputError extends CredreportError {}

/**
 * The value of output `outputKey` of stack `stackName`. Throws StackOutputError naming the stack and
 * region when the stack does not exist, cannot be described, or lacks the output.
 */
export async function readStackOutput(
  cloudformation: CloudFormationClient,
  stackName: string,
  outputKey: string,
): Promise<string> {
  const region = await cloudformation.config.region().catch(() => 'the configured region');
  let response;
  try {
    response = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
  } catch (error) {
    if (errorName(error) === 'ValidationError' && /does not exist/i.test(errorMessage(error))) {
      throw new StackOutputError(
        `stack '${stackName}' not found in ${region} (deploy the hub, or pass --stack / --region)`,
        { cause: error },
      );
    }
    if (isAccessDenied(error)) {
      throw new StackOutputError(
        `not allowed to describe stack '${stackName}' (cloudformation:DescribeStacks): ${errorMessage(error)}`,
        { cause: error },
      );
    }
    throw new StackOutputError(
      `cannot describe stack '${stackName}': ${errorName(error)}: ${errorMessage(error)}`,
      {
        cause: error,
      },
    );
  }
  const stack = response.Stacks?.[0];
  if (!stack) throw new StackOutputError(`stack '${stackName}' not found in ${region}`);
  const value = stack.Outputs?.find((o) => o.OutputKey === outputKey)?.OutputValue;
  if (!value) {
    throw new StackOutputError(
      `stack '${stackName}' (${stack.StackStatus ?? 'unknown status'}) has no output ${outputKey}; is it the credreport hub stack?`,
    );
  }
  return value;
}
