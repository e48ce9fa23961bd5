import { PassThrough } from 'node:stream';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { AwsOptions, createAwsSession } from '../../../cli/aws';
import { CommandIo, EXIT, UsageError } from '../../../cli/command';
import {
  createRunCommand,
  DigestResult,
  DigestRunError,
  formatDigestResult,
  RUN_OPTIONS,
} from '../../../cli/commands/run';

const lambda = mockClient(LambdaClient);
const cfn = mockClient(CloudFormationClient);

const awsError = (name: string, message = name): Error => Object.assign(new Error(message), { name });
const encode = (value: unknown): Uint8Array =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return { stream, text: () => chunks.join('') };
}
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const OK_RESULT: DigestResult = {
  ok: true,
  summaryKey: 'runs/date=2026-01-02/summary.json',
  coverage: { expected: 1000, reporting: 1000, missing: 0, complete: true },
  findings: { 'root-access-key': 1, 'console-without-mfa': 12, 'key-not-rotated': 0 },
  email: 'sent',
};

let stdout: ReturnType<typeof capture>;
let stderr: ReturnType<typeof capture>;
let io: CommandIo;
let sessions: AwsOptions[];
const run = createRunCommand({
  aws: (options) => {
    sessions.push(options);
    return createAwsSession({ region: 'eu-west-1', ...options });
  },
});

function stackWithFunction(name = 'CredreportHub', fn = 'CredreportHub-Digest-abc'): void {
  cfn.on(DescribeStacksCommand, { StackName: name }).resolves({
    Stacks: [
      {
        StackName: name,
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [
          { OutputKey: 'ReportBucketName', OutputValue: 'bucket' },
          { OutputKey: 'DigestFunctionName', OutputValue: fn },
        ],
      },
    ],
  });
}

function sentPayload(): unknown {
  const input = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
  return JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array));
}

beforeEach(() => {
  lambda.reset();
  cfn.reset();
  sessions = [];
  stdout = capture();
  stderr = capture();
  io = { stdout: stdout.stream, stderr: stderr.stream, env: {}, cwd: '/' };
});

describe('run', () => {
  it('invokes the digest named by the stack output synchronously with an empty payload and prints the summary', async () => {
    stackWithFunction();
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(OK_RESULT) as never });
    await expect(run.run([], io)).resolves.toBe(EXIT.ok);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: 'CredreportHub-Digest-abc',
      InvocationType: 'RequestResponse',
    });
    expect(sentPayload()).toEqual({});
    await flush();
    expect(stdout.text()).toBe(
      [
        'digest CredreportHub-Digest-abc: ok',
        '  coverage: 1000 of 1000 accounts reporting',
        '  findings: root-access-key 1, console-without-mfa 12',
        '  email: sent',
        '  summary: runs/date=2026-01-02/summary.json',
        '',
      ].join('\n'),
    );
  });

  it('prints the function version, the time and the API calls with --verbose', async () => {
    stackWithFunction();
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      ExecutedVersion: '$LATEST',
      Payload: encode(OK_RESULT) as never,
    });
    await expect(run.run(['--verbose'], io)).resolves.toBe(EXIT.ok);
    await flush();
    expect(stderr.text()).toMatch(
      /\nrun: CredreportHub-Digest-abc \(version \$LATEST\) answered in \d+ ms, status 200; API calls: CloudFormation DescribeStacks ×1, Lambda Invoke ×1\n$/,
    );
  });

  describe('--fail-on', () => {
    const withOpen = {
      ...OK_RESULT,
      openFindings: { critical: 1, high: 0, medium: 12, low: 3 },
    };

    it('exits 4 when the digest reports open findings at or above the severity', async () => {
      lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(withOpen) as never });
      await expect(run.run(['--function', 'digest', '--fail-on', 'high'], io)).resolves.toBe(EXIT.findings);
      await flush();
      expect(stdout.text()).toContain('  open findings: 1 critical, 0 high, 12 medium, 3 low\n');
      expect(stderr.text()).toContain(
        'credreport run: 1 open finding at or above high (--fail-on high): exit status 4\n',
      );
    });

    it('exits 0 when none is that severe', async () => {
      lambda.on(InvokeCommand).resolves({
        StatusCode: 200,
        Payload: encode({ ...withOpen, openFindings: { critical: 0, high: 0, medium: 2, low: 0 } }) as never,
      });
      await expect(run.run(['--function', 'digest', '--fail-on', 'high'], io)).resolves.toBe(EXIT.ok);
    });

    it('refuses to decide with a digest that does not report open findings by severity', async () => {
      lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(OK_RESULT) as never });
      await expect(run.run(['--function', 'digest', '--fail-on', 'low'], io)).rejects.toThrow(
        /does not report open findings by severity .*redeploy the hub/,
      );
    });
  });

  it('sends --now as an ISO time in the payload', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(OK_RESULT) as never });
    await run.run(['--function', 'digest', '--now', '2026-01-02T06:00:00+01:00'], io);
    expect(sentPayload()).toEqual({ now: '2026-01-02T05:00:00.000Z' });
  });

  it('skips CloudFormation and passes profile and region when --function is given', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(OK_RESULT) as never });
    await run.run(['--function', 'digest', '--profile', 'ops', '--region', 'us-west-2'], io);
    expect(cfn).not.toHaveReceivedCommand(DescribeStacksCommand);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: 'digest' });
    expect(sessions).toEqual([{ profile: 'ops', region: 'us-west-2' }]);
  });

  it('reads the named stack when --stack is given', async () => {
    stackWithFunction('OtherHub', 'other-digest');
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(OK_RESULT) as never });
    await run.run(['--stack', 'OtherHub'], io);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: 'other-digest' });
  });

  it('prints the result as the function returned it when --json is given', async () => {
    const returned = { ...OK_RESULT, durationMs: 1234 }; // a field this CLI does not know is kept
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(returned) as never });
    await expect(run.run(['--function', 'digest', '--json'], io)).resolves.toBe(EXIT.ok);
    await flush();
    expect(JSON.parse(stdout.text())).toEqual(returned);
  });

  it('documents every option it accepts in --help', () => {
    for (const name of Object.keys(RUN_OPTIONS)) expect(run.help).toContain(`--${name}`);
  });

  it('exits non-zero with the error message when the function raises', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: encode({
        errorType: 'OrgMetadataError',
        errorMessage: 'Could not read the organization structure',
      }) as never,
    });
    await expect(run.run(['--function', 'digest'], io)).resolves.toBe(EXIT.error);
    await flush();
    expect(stderr.text()).toContain(
      'the digest failed (Unhandled): OrgMetadataError: Could not read the organization structure',
    );
    expect(stdout.text()).toBe('');
  });

  it('shows a raw error payload when the function error is not JSON', async () => {
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: encode('Runtime exited') as never });
    await expect(run.run(['--function', 'digest'], io)).resolves.toBe(EXIT.error);
    await flush();
    expect(stderr.text()).toContain('the digest failed (Unhandled): Runtime exited');
  });

  it('exits non-zero when the digest returns ok false', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: encode({ ...OK_RESULT, ok: false, email: 'failed', error: 'SES MessageRejected' }) as never,
    });
    await expect(run.run(['--function', 'digest'], io)).resolves.toBe(EXIT.error);
    await flush();
    expect(stdout.text()).toContain('digest digest: FAILED');
    expect(stderr.text()).toContain('the digest reported a failure: SES MessageRejected');
  });

  it('exits with the incomplete status when coverage is incomplete', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: encode({
        ...OK_RESULT,
        coverage: { expected: 10, reporting: 8, missing: 2, complete: false },
      }) as never,
    });
    await expect(run.run(['--function', 'digest'], io)).resolves.toBe(EXIT.incomplete);
    await flush();
    expect(stdout.text()).toContain('coverage: 8 of 10 accounts reporting, 2 missing (incomplete)');
  });

  it('rejects an answer that is not a digest result', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode({ statusCode: 200 }) as never });
    await expect(run.run(['--function', 'digest'], io)).rejects.toThrow(/not a digest result/);
  });

  it.each([
    ['ResourceNotFoundException', /function 'digest' not found/],
    ['AccessDeniedException', /not allowed to invoke 'digest' \(lambda:InvokeFunction\)/],
    ['TooManyRequestsException', /cannot invoke 'digest': TooManyRequestsException/],
  ])('explains %s from Invoke', async (name, message) => {
    lambda.on(InvokeCommand).rejects(awsError(name));
    const error = await run.run(['--function', 'digest'], io).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigestRunError);
    expect((error as Error).message).toMatch(message);
  });

  it('says the stack is missing before invoking anything', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(awsError('ValidationError', 'Stack with id CredreportHub does not exist'));
    await expect(run.run([], io)).rejects.toThrow(/stack 'CredreportHub' not found/);
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
  });

  it.each([
    [['--function', 'f', '--stack', 's'], /cannot be used together/],
    [['--now', 'tomorrow'], /--now must be an ISO 8601 time/],
  ])('rejects %j as a usage error', async (args, message) => {
    const error = await run.run(args, io).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('formatDigestResult', () => {
  it('lists findings in the canonical order and leaves out zero counts', () => {
    const text = formatDigestResult(
      { ...OK_RESULT, findings: { 'key-not-rotated': 3, 'root-access-key': 1, 'credential-unused': 0 } },
      'fn',
    );
    expect(text).toContain('findings: root-access-key 1, key-not-rotated 3\n');
  });

  it('says none when there is no finding', () => {
    expect(formatDigestResult({ ...OK_RESULT, findings: {} }, 'fn')).toContain('findings: none');
  });
});
