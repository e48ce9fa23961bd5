import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { AwsOptions, createAwsSession } from '../../../cli/aws';
import { CommandIo, UsageError } from '../../../cli/command';
import { createFetchCommand, FETCH_OPTIONS, FetchError, parseRunDate } from '../../../cli/commands/fetch';

const s3 = mockClient(S3Client);
const cfn = mockClient(CloudFormationClient);

const awsError = (name: string, message = name): Error => Object.assign(new Error(message), { name });

/** A stdout that accepts little at a time, to exercise back-pressure. */
class SlowSink extends Writable {
  readonly chunks: Buffer[] = [];
  constructor() {
    super({ highWaterMark: 16 });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(Buffer.from(chunk));
    setImmediate(callback);
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

let cwd: string;
let stdout: SlowSink;
let stderr: SlowSink;
let io: CommandIo;
let sessions: AwsOptions[];
const fetch = createFetchCommand({
  aws: (options) => {
    sessions.push(options);
    return createAwsSession({ region: 'eu-west-1', ...options });
  },
});

function body(...chunks: string[]): never {
  return Readable.from(chunks.map((c) => Buffer.from(c))) as never;
}

function stackWithBucket(name = 'CredreportHub', bucket = 'hub-reports'): void {
  cfn.on(DescribeStacksCommand, { StackName: name }).resolves({
    Stacks: [
      {
        StackName: name,
        CreationTime: new Date(),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: [
          {
            OutputKey: 'CentralBusArn',
            OutputValue: 'arn:aws:events:eu-west-1:111111111111:event-bus/credreport-central',
          },
          { OutputKey: 'ReportBucketName', OutputValue: bucket },
        ],
      },
    ],
  });
}

beforeEach(() => {
  s3.reset();
  cfn.reset();
  sessions = [];
  cwd = mkdtempSync(join(tmpdir(), 'credreport-fetch-'));
  stdout = new SlowSink();
  stderr = new SlowSink();
  io = { stdout, stderr, env: {}, cwd };
});

afterEach(() => rmSync(cwd, { recursive: true, force: true }));

describe('fetch', () => {
  it('finds the bucket from the default stack output and streams latest/credential-report.csv to stdout', async () => {
    stackWithBucket();
    s3.on(GetObjectCommand, { Bucket: 'hub-reports', Key: 'latest/credential-report.csv' }).resolves({
      Body: body('account_id,user\n', '111111111111,alice\n'),
    });
    await expect(fetch.run([], io)).resolves.toBe(0);
    expect(cfn).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'CredreportHub' });
    expect(stdout.text()).toBe('account_id,user\n111111111111,alice\n');
  });

  it('streams a large object intact through a slow stdout', async () => {
    stackWithBucket();
    const chunks = Array.from(
      { length: 200 },
      (_, i) => `${String(i).padStart(5, '0')},${'x'.repeat(1000)}\n`,
    );
    s3.on(GetObjectCommand).resolves({ Body: body(...chunks) });
    await expect(fetch.run(['--out', '-'], io)).resolves.toBe(0);
    expect(stdout.text()).toBe(chunks.join(''));
    expect(stdout.writableEnded).toBe(false); // stdout is never ended
  });

  it('reads the named stack when --stack is given', async () => {
    stackWithBucket('MyHub', 'other-bucket');
    s3.on(GetObjectCommand, { Bucket: 'other-bucket' }).resolves({ Body: body('x') });
    await expect(fetch.run(['--stack', 'MyHub'], io)).resolves.toBe(0);
    expect(cfn).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'MyHub' });
  });

  it('skips CloudFormation when --bucket is given', async () => {
    s3.on(GetObjectCommand, { Bucket: 'given-bucket', Key: 'latest/credential-report.csv' }).resolves({
      Body: body('x'),
    });
    await expect(fetch.run(['--bucket', 'given-bucket'], io)).resolves.toBe(0);
    expect(cfn).not.toHaveReceivedCommand(DescribeStacksCommand);
  });

  it.each([
    [['--date', '2026-01-02'], 'runs/date=2026-01-02/credential-report.csv'],
    [['--keys'], 'latest/access-keys.csv'],
    [['--findings'], 'latest/findings.csv'],
    [['--summary'], 'latest/summary.json'],
    [['--digest'], 'latest/digest.html'],
    [['--date', '2026-01-02', '--keys'], 'runs/date=2026-01-02/access-keys.csv'],
  ])('downloads the right key when given %j', async (args, key) => {
    s3.on(GetObjectCommand).resolves({ Body: body('x') });
    await expect(fetch.run(['--bucket', 'b', ...args], io)).resolves.toBe(0);
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: 'b', Key: key });
  });

  it('prints the bucket, the bytes, the time and the API calls with --verbose, and nothing extra without it', async () => {
    stackWithBucket();
    s3.on(GetObjectCommand).resolves({ Body: body('a,b\n', '1,2\n') });
    await expect(fetch.run(['--verbose'], io)).resolves.toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 10)); // the slow sink takes a chunk per tick
    expect(stdout.text()).toBe('a,b\n1,2\n');
    expect(stderr.text()).toMatch(
      /^fetch: bucket hub-reports \(output ReportBucketName of stack 'CredreportHub'\); s3:\/\/hub-reports\/latest\/credential-report\.csv: 8 bytes in \d+ ms; API calls: CloudFormation DescribeStacks ×1, S3 GetObject ×1\n$/,
    );
    stderr = new SlowSink();
    io = { ...io, stderr };
    s3.on(GetObjectCommand).resolves({ Body: body('a,b\n') });
    await expect(fetch.run(['--bucket', 'b'], io)).resolves.toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(stderr.text()).toBe('');
  });

  it('writes to the --out file relative to the working directory and says so on stderr', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body('a,b\n', '1,2\n') });
    await expect(fetch.run(['--bucket', 'b', '--out', 'report.csv'], io)).resolves.toBe(0);
    expect(readFileSync(join(cwd, 'report.csv'), 'utf8')).toBe('a,b\n1,2\n');
    expect(stdout.text()).toBe('');
    expect(stderr.text()).toContain(
      `wrote s3://b/latest/credential-report.csv to ${join(cwd, 'report.csv')}`,
    );
  });

  it('prints one JSON result with --json --out and nothing on stderr with --quiet', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body('a,b\n', '1,2\n') });
    await expect(fetch.run(['--bucket', 'b', '--out', 'report.csv', '--json', '--quiet'], io)).resolves.toBe(
      0,
    );
    expect(JSON.parse(stdout.text())).toEqual({
      command: 'fetch',
      exitStatus: 0,
      source: 's3://b/latest/credential-report.csv',
      file: join(cwd, 'report.csv'),
      bytes: 8,
    });
    expect(stderr.text()).toBe('');
  });

  it('refuses --json without --out, where the object itself is the output', async () => {
    await expect(fetch.run(['--bucket', 'b', '--json'], io)).rejects.toThrow(/--json needs --out FILE/);
    expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
  });

  it('removes the partial file when the download breaks off', async () => {
    const broken = new Readable({
      read() {
        this.push('partial');
        this.destroy(new Error('socket hang up'));
      },
    });
    s3.on(GetObjectCommand).resolves({ Body: broken as never });
    await expect(fetch.run(['--bucket', 'b', '--out', 'report.csv'], io)).rejects.toThrow(
      /copying s3:\/\/b\/latest\/credential-report.csv to .*report.csv failed: socket hang up/,
    );
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('leaves an existing --out file as it was when the download breaks off', async () => {
    writeFileSync(join(cwd, 'report.csv'), 'yesterday\n');
    const broken = new Readable({
      read() {
        this.push('partial');
        this.destroy(new Error('socket hang up'));
      },
    });
    s3.on(GetObjectCommand).resolves({ Body: broken as never });
    await expect(fetch.run(['--bucket', 'b', '-o', 'report.csv'], io)).rejects.toThrow(FetchError);
    expect(readdirSync(cwd)).toEqual(['report.csv']);
    expect(readFileSync(join(cwd, 'report.csv'), 'utf8')).toBe('yesterday\n');
  });

  it('replaces an existing --out file when the download succeeds', async () => {
    writeFileSync(join(cwd, 'report.csv'), 'yesterday\n');
    s3.on(GetObjectCommand).resolves({ Body: body('today\n') });
    await expect(fetch.run(['--bucket', 'b', '-o', 'report.csv'], io)).resolves.toBe(0);
    expect(readdirSync(cwd)).toEqual(['report.csv']);
    expect(readFileSync(join(cwd, 'report.csv'), 'utf8')).toBe('today\n');
  });

  it('documents every option it accepts in --help', () => {
    for (const [name, spec] of Object.entries(FETCH_OPTIONS)) {
      expect(fetch.help).toContain(`--${name}`);
      if ('short' in spec) expect(fetch.help).toContain(`-${spec.short} `);
    }
  });

  it('passes --profile and --region to the AWS session', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body('x') });
    await fetch.run(['--bucket', 'b', '--profile', 'auditor', '--region', 'ap-south-1'], io);
    expect(sessions).toEqual([{ profile: 'auditor', region: 'ap-south-1' }]);
  });

  it('says the stack is missing when it does not exist', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(awsError('ValidationError', 'Stack with id CredreportHub does not exist'));
    await expect(fetch.run([], io)).rejects.toThrow("stack 'CredreportHub' not found in eu-west-1");
    expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
  });

  it('says the bucket is missing when S3 answers NoSuchBucket', async () => {
    stackWithBucket('CredreportHub', 'deleted-bucket');
    s3.on(GetObjectCommand).rejects(awsError('NoSuchBucket', 'The specified bucket does not exist'));
    const error = await fetch.run([], io).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FetchError);
    expect((error as Error).message).toBe(
      "bucket 'deleted-bucket' does not exist (output ReportBucketName of stack 'CredreportHub')",
    );
  });

  it('names the date and the latest runs when there is no run for --date', async () => {
    s3.on(GetObjectCommand).rejects(awsError('NoSuchKey', 'The specified key does not exist.'));
    s3.on(ListObjectsV2Command, { Bucket: 'b', Prefix: 'runs/', Delimiter: '/' }).resolves({
      CommonPrefixes: [
        { Prefix: 'runs/date=2025-12-30/' },
        { Prefix: 'runs/date=2026-01-01/' },
        { Prefix: 'runs/date=2025-12-31/' },
      ],
    });
    await expect(fetch.run(['--bucket', 'b', '--date', '2026-01-02'], io)).rejects.toThrow(
      'no run for 2026-01-02 in s3://b/runs/ (latest runs: 2026-01-01, 2025-12-31, 2025-12-30)',
    );
  });

  it('still names the missing date when the runs cannot be listed', async () => {
    s3.on(GetObjectCommand).rejects(awsError('NoSuchKey'));
    s3.on(ListObjectsV2Command).rejects(awsError('AccessDenied'));
    const error = await fetch.run(['--bucket', 'b', '--date', '2026-01-02'], io).catch((e: unknown) => e);
    expect((error as Error).message).toBe('no run for 2026-01-02 in s3://b/runs/');
  });

  it('says the digest has not run yet when latest/ is empty', async () => {
    s3.on(GetObjectCommand).rejects(awsError('NoSuchKey'));
    await expect(fetch.run(['--bucket', 'b', '--summary'], io)).rejects.toThrow(
      "no s3://b/latest/summary.json yet: the digest has not run (start one with 'credreport run')",
    );
  });

  it('names the permission when S3 answers AccessDenied', async () => {
    s3.on(GetObjectCommand).rejects(awsError('AccessDenied', 'Access Denied'));
    await expect(fetch.run(['--bucket', 'b'], io)).rejects.toThrow(
      /access denied reading s3:\/\/b\/latest\/credential-report.csv: you need s3:GetObject on it \(and kms:Decrypt on its KMS key if it has one: the hub stack's ReportBucketKeyArn output with reportBucketKms\)/,
    );
  });

  it('passes other S3 errors through with their name', async () => {
    s3.on(GetObjectCommand).rejects(awsError('SlowDown', 'Please reduce your request rate.'));
    await expect(fetch.run(['--bucket', 'b'], io)).rejects.toThrow(
      'cannot read s3://b/latest/credential-report.csv: SlowDown: Please reduce your request rate.',
    );
  });

  it('says how to set a region when none is configured', async () => {
    const saved = { ...process.env };
    try {
      for (const key of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete process.env[key];
      process.env.AWS_CONFIG_FILE = join(cwd, 'no-config');
      const noRegion = createFetchCommand({ aws: (options) => createAwsSession(options) });
      await expect(noRegion.run(['--bucket', 'b'], io)).rejects.toThrow(/no AWS region: pass --region/);
      expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
    } finally {
      process.env = saved;
    }
  });

  it('fails when stdout fails mid-stream', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body('a', 'b', 'c') });
    const broken = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    broken.on('error', () => undefined);
    const error = await fetch.run(['--bucket', 'b'], { ...io, stdout: broken }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FetchError);
    expect((error as Error).message).toBe(
      'copying s3://b/latest/credential-report.csv to stdout failed: write EPIPE',
    );
  });

  it.each([
    [['--keys', '--summary'], /choose one of --keys, --findings, --summary, --digest/],
    [['--bucket', 'b', '--stack', 's'], /--bucket and --stack cannot be used together/],
    [['--date', '2026-02-30'], /--date must be a day as YYYY-MM-DD/],
    [['--date', 'yesterday'], /--date must be a day/],
    [['--bogus'], /unknown option/],
  ])('rejects %j as a usage error', async (args, message) => {
    const error = await fetch.run(args, io).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
    expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
  });
});

describe('parseRunDate', () => {
  it('accepts a real day and rejects an impossible one', () => {
    expect(parseRunDate('2024-02-29')).toBe('2024-02-29');
    expect(() => parseRunDate('2023-02-29')).toThrow(UsageError);
  });
});
