import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
// fromTemporaryCredentials sends AssumeRole through the SDK's nested STS client, not @aws-sdk/client-sts.
import { AssumeRoleCommand, STSClient as NestedSTSClient } from '@aws-sdk/nested-clients/sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  AssumeRoleError,
  AwsSetupError,
  describeCallerIdentityError,
  COLLECT_SESSION_NAME,
  createAwsSession,
  MAX_ATTEMPTS,
  memoizeCredentials,
  partitionOfArn,
  readStackOutput,
  roleArnFor,
  StackOutputError,
} from '../../../cli/aws';
import { isAccessDenied } from '../../../core/aws-errors';

const sts = mockClient(STSClient);
const nestedSts = mockClient(NestedSTSClient);
const cfn = mockClient(CloudFormationClient);

const awsError = (name: string, message = name): Error => Object.assign(new Error(message), { name });

const ENV_KEYS = [
  'AWS_PROFILE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
] as const;
let savedEnv: Partial<Record<(typeof ENV_KEYS)[number], string>>;
let dir: string;

beforeEach(() => {
  sts.reset();
  nestedSts.reset();
  cfn.reset();
  savedEnv = {};
  for (const key of ENV_KEYS) {
    savedEnv[key] = process.env[key];
    delete process.env[key];
  }
  dir = mkdtempSync(join(tmpdir(), 'credreport-aws-'));
  writeFileSync(
    join(dir, 'credentials'),
    '[auditor]\naws_access_key_id = AKIAPROFILEKEY000001\naws_secret_access_key = profile-secret\n',
  );
  writeFileSync(join(dir, 'config'), '[profile auditor]\nregion = eu-west-3\n');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
  process.env.AWS_CONFIG_FILE = join(dir, 'config');
});

afterEach(() => {
  for (const key of ENV_KEYS) {
    const value = savedEnv[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('createAwsSession', () => {
  it('uses the named profile for credentials and region when --profile is given', async () => {
    const session = createAwsSession({ profile: 'auditor' });
    try {
      const credentials = await session.iam().config.credentials();
      expect(credentials.accessKeyId).toBe('AKIAPROFILEKEY000001');
      expect(await session.region()).toBe('eu-west-3');
      expect(await session.s3().config.region()).toBe('eu-west-3');
    } finally {
      session.destroy();
    }
  });

  it('lets --region override the profile region for every client', async () => {
    const session = createAwsSession({ profile: 'auditor', region: 'ap-south-1' });
    try {
      expect(await session.region()).toBe('ap-south-1');
      expect(await session.organizations().config.region()).toBe('ap-south-1');
      expect(await session.cloudformation().config.region()).toBe('ap-south-1');
    } finally {
      session.destroy();
    }
  });

  it('fails with a hint naming --region when no region is configured anywhere', async () => {
    const session = createAwsSession({});
    try {
      await expect(session.region()).rejects.toThrow(AwsSetupError);
      await expect(session.region()).rejects.toThrow(/pass --region/);
    } finally {
      session.destroy();
    }
  });

  it('configures adaptive retries on every client and a single attempt for Lambda', async () => {
    const session = createAwsSession({ region: 'us-east-1' });
    try {
      expect(await session.iam().config.maxAttempts()).toBe(MAX_ATTEMPTS);
      const mode = async (client: { config: { retryStrategy: () => Promise<unknown> } }): Promise<unknown> =>
        ((await client.config.retryStrategy()) as { mode?: string }).mode;
      expect(await mode(session.iam())).toBe('adaptive');
      expect(await mode(session.organizations())).toBe('adaptive');
      expect(await mode(session.s3())).toBe('adaptive');
      expect(await session.lambda().config.maxAttempts()).toBe(1);
      // A --bucket in another region than the session's is followed, not an opaque redirect error.
      expect(session.s3().config.followRegionRedirects).toBe(true);
    } finally {
      session.destroy();
    }
  });

  it('returns the caller with the partition from the ARN when the caller is in aws-cn', async () => {
    sts.on(GetCallerIdentityCommand).resolves({
      Account: '111111111111',
      Arn: 'arn:aws-cn:iam::111111111111:user/auditor',
      UserId: 'AIDA',
    });
    const session = createAwsSession({ region: 'cn-north-1' });
    try {
      expect(await session.callerIdentity()).toEqual({
        accountId: '111111111111',
        arn: 'arn:aws-cn:iam::111111111111:user/auditor',
        partition: 'aws-cn',
      });
    } finally {
      session.destroy();
    }
  });

  it('explains which credentials failed when GetCallerIdentity is refused', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .rejects(awsError('ExpiredToken', 'The security token included in the request is expired'));
    const session = createAwsSession({ profile: 'auditor', region: 'us-east-1' });
    try {
      await expect(session.callerIdentity()).rejects.toThrow(
        /^the AWS credentials of profile 'auditor' have expired: run 'aws sso login --profile auditor'/,
      );
    } finally {
      session.destroy();
    }
  });

  it('assumes the role once, in the resolved region, and hands its credentials to IAM', async () => {
    const expiration = new Date(Date.now() + 3_600_000);
    nestedSts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIAASSUMED000000001',
        SecretAccessKey: 's',
        SessionToken: 't',
        Expiration: expiration,
      },
    });
    const session = createAwsSession({ region: 'us-gov-west-1' });
    try {
      const roleArn = 'arn:aws-us-gov:iam::222222222222:role/CredreportReadOnly';
      const iam = await session.assumedIam(roleArn);
      expect(nestedSts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
      expect(nestedSts).toHaveReceivedCommandWith(AssumeRoleCommand, {
        RoleArn: roleArn,
        RoleSessionName: COLLECT_SESSION_NAME,
      });
      const credentials = await iam.config.credentials();
      expect(credentials.accessKeyId).toBe('ASIAASSUMED000000001');
      expect(await iam.config.region()).toBe('us-gov-west-1');
      // The STS client that made the call was built for the caller's region, not the SDK default.
      const stsClient = nestedSts.send.firstCall.thisValue as NestedSTSClient;
      expect(await stsClient.config.region()).toBe('us-gov-west-1');
      // The eagerly fetched credentials are reused, not fetched again.
      expect(nestedSts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    } finally {
      session.destroy();
    }
  });

  it('throws AssumeRoleError naming the role and AccessDenied when the role cannot be assumed', async () => {
    nestedSts
      .on(AssumeRoleCommand)
      .rejects(
        awsError(
          'AccessDenied',
          'User: arn:aws:sts::111111111111:assumed-role/a/b is not authorized to perform: sts:AssumeRole',
        ),
      );
    const session = createAwsSession({ region: 'us-east-1' });
    try {
      const roleArn = 'arn:aws:iam::222222222222:role/OrganizationAccountAccessRole';
      const error = await session.assumedIam(roleArn).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AssumeRoleError);
      expect((error as AssumeRoleError).code).toBe('AccessDenied');
      expect((error as Error).message).toMatch(
        /^AssumeRole arn:aws:iam::222222222222:role\/OrganizationAccountAccessRole failed: AccessDenied: User: .* not authorized .*trust policy/,
      );
    } finally {
      session.destroy();
    }
  });
});

describe('memoizeCredentials', () => {
  it('calls the provider once while the credentials are fresh and again when they near expiry', async () => {
    let now = 0;
    let calls = 0;
    const provider = memoizeCredentials(
      async () => {
        calls++;
        return { accessKeyId: `K${calls}`, secretAccessKey: 's', expiration: new Date(now + 10 * 60_000) };
      },
      () => now,
    );
    expect((await provider()).accessKeyId).toBe('K1');
    now += 4 * 60_000;
    expect((await provider()).accessKeyId).toBe('K1');
    now += 2 * 60_000; // 4 minutes left: inside the 5-minute margin
    expect((await provider()).accessKeyId).toBe('K2');
    expect(calls).toBe(2);
  });

  it('retries after a failed resolution instead of caching the failure', async () => {
    let calls = 0;
    const provider = memoizeCredentials(async () => {
      calls++;
      if (calls === 1) throw new Error('sso token expired');
      return { accessKeyId: 'K', secretAccessKey: 's' };
    });
    await expect(provider()).rejects.toThrow('sso token expired');
    expect((await provider()).accessKeyId).toBe('K');
  });
});

describe('ARN helpers', () => {
  it('reads the partition of any ARN', () => {
    expect(partitionOfArn('arn:aws:sts::1:assumed-role/x/y')).toBe('aws');
    expect(partitionOfArn('arn:aws-us-gov:iam::1:user/x')).toBe('aws-us-gov');
    expect(() => partitionOfArn('not-an-arn')).toThrow(AwsSetupError);
  });

  it('builds role ARNs with the partition and keeps a role path', () => {
    expect(roleArnFor('aws-cn', '123456789012', 'Reader')).toBe('arn:aws-cn:iam::123456789012:role/Reader');
    expect(roleArnFor('aws', '123456789012', '/team/Reader')).toBe(
      'arn:aws:iam::123456789012:role/team/Reader',
    );
  });

  it('recognises access denied in a cause chain', () => {
    expect(isAccessDenied(new Error('wrapped', { cause: awsError('AccessDeniedException') }))).toBe(true);
    expect(isAccessDenied(awsError('ThrottlingException'))).toBe(false);
  });
});

describe('readStackOutput', () => {
  const client = (): CloudFormationClient => new CloudFormationClient({ region: 'eu-west-1' });

  it('returns the output value when the stack has it', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'CredreportHub' }).resolves({
      Stacks: [
        {
          StackName: 'CredreportHub',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [{ OutputKey: 'ReportBucketName', OutputValue: 'hub-bucket' }],
        },
      ],
    });
    await expect(readStackOutput(client(), 'CredreportHub', 'ReportBucketName')).resolves.toBe('hub-bucket');
  });

  it('names the stack and region when the stack does not exist', async () => {
    cfn.on(DescribeStacksCommand).rejects(awsError('ValidationError', 'Stack with id Nope does not exist'));
    const error = await readStackOutput(client(), 'Nope', 'ReportBucketName').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackOutputError);
    expect((error as Error).message).toBe(
      "stack 'Nope' not found in eu-west-1 (deploy the hub, or pass --stack / --region)",
    );
  });

  it('names the output when the stack lacks it', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'Other', CreationTime: new Date(), StackStatus: 'UPDATE_COMPLETE', Outputs: [] }],
    });
    await expect(readStackOutput(client(), 'Other', 'DigestFunctionName')).rejects.toThrow(
      /stack 'Other' \(UPDATE_COMPLETE\) has no output DigestFunctionName/,
    );
  });

  it('names the missing permission when DescribeStacks is denied', async () => {
    cfn.on(DescribeStacksCommand).rejects(awsError('AccessDenied', 'not authorized'));
    await expect(readStackOutput(client(), 'CredreportHub', 'ReportBucketName')).rejects.toThrow(
      /not allowed to describe stack 'CredreportHub' \(cloudformation:DescribeStacks\)/,
    );
  });
});

describe('describeCallerIdentityError', () => {
  const withCode = (code: string, message: string): Error => Object.assign(new Error(message), { code });

  it('says how to configure credentials when there are none', () => {
    const error = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    expect(describeCallerIdentityError(error)).toBe(
      "no AWS credentials found in the default credential chain: run 'aws configure' (access keys) or " +
        "'aws sso login' (IAM Identity Center), or pass --profile NAME for a named profile",
    );
  });

  it('reports an unreachable endpoint as a network problem, not a credentials one', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT']) {
      const message = describeCallerIdentityError(withCode(code, `connect ${code} 127.0.0.1:9`), 'p');
      expect(message).toMatch(
        new RegExp(`^cannot reach AWS STS: a network problem \\(${code}\\), not a credentials one`),
      );
      expect(message).not.toMatch(/aws configure|expired/);
    }
  });

  it('says how to create a profile that does not exist', () => {
    const error = Object.assign(
      new Error('Could not resolve credentials using profile: [nope] in configuration/credentials file(s).'),
      { name: 'CredentialsProviderError' },
    );
    expect(describeCallerIdentityError(error, 'nope')).toBe(
      "profile 'nope' is not in your AWS config or credentials files: create it with 'aws configure --profile nope'" +
        " or 'aws configure sso --profile nope', or pass another --profile",
    );
  });

  it('says to log in again when an SSO session has expired', () => {
    const error = Object.assign(
      new Error('The SSO session associated with this profile has expired or is otherwise invalid.'),
      { name: 'CredentialsProviderError' },
    );
    expect(describeCallerIdentityError(error, 'dev')).toMatch(
      /^the AWS credentials of profile 'dev' have expired: run 'aws sso login --profile dev'/,
    );
  });

  it('names credentials AWS rejected', () => {
    const error = Object.assign(new Error('The security token included in the request is invalid.'), {
      name: 'InvalidClientTokenId',
    });
    expect(describeCallerIdentityError(error)).toMatch(
      /^AWS rejected the credentials of the default credential chain \(InvalidClientTokenId\)/,
    );
  });
});
