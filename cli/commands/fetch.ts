/**
 * `credreport fetch`: downloads one of the digest's outputs from the hub bucket (found from the hub
 * stack's outputs unless `--bucket`) to a file or, streamed, to stdout. It reads through the run-output
 * store (store/run-output-store.ts), which owns latest/ and runs/date=…/ (docs/ARCHITECTURE.md §5).
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errorMessage, errorName, isAccessDenied } from '../../core/aws-errors';
import { CredreportError } from '../../core/errors';
import { DEFAULT_HUB_STACK_NAME, HUB_OUTPUTS, S3_LAYOUT } from '../../core/names';
import { LATEST_RUN, RunLocation, RunOutputStore, runOutputKey } from '../../store/run-output-store';
import { StoreError } from '../../store/s3';
import { OUTPUT_HELP, OUTPUT_OPTIONS, OutputMode, parseCommandLine, parseOutputOptions } from '../args';
import { AwsSessionFactory, createAwsSession, readStackOutput } from '../aws';
import { Command, CommandIo, EXIT, EXIT_HELP, UsageError } from '../command';
import { trackTarget, trackTemp } from '../interrupt';

/** An output could not be downloaded; the message says which and why. */
export class FetchError extends CredreportError {}

export interface FetchCommandDeps {
  readonly aws: AwsSessionFactory;
}

/** Every option `fetch` accepts (its `--help` documents each one). */
export const FETCH_OPTIONS = {
  bucket: { type: 'string' },
  stack: { type: 'string' },
  date: { type: 'string' },
  keys: { type: 'boolean' },
  findings: { type: 'boolean' },
  summary: { type: 'boolean' },
  digest: { type: 'boolean' },
  out: { type: 'string', short: 'o' },
  profile: { type: 'string' },
  region: { type: 'string' },
  ...OUTPUT_OPTIONS,
} as const;

const HELP = `Usage: credreport fetch [options]

Downloads the merged report (or another output of the digest) from the hub
bucket.

What:
  (default)            credential-report.csv, one row per IAM user per account
  --keys               access-keys.csv, one row per access key
  --findings           findings.csv, one row per open finding (runs before it
                       existed have none)
  --summary            summary.json (counts, coverage, findings, delta)
  --digest             digest.html (the emailed digest)
  --date YYYY-MM-DD    that day's run (runs/date=…/) instead of the latest

Where from:
  --stack NAME         hub stack whose ${HUB_OUTPUTS.reportBucketName} output names the
                       bucket (default ${DEFAULT_HUB_STACK_NAME})
  --bucket NAME        the bucket itself (no CloudFormation call)
  --profile NAME       named profile (default: the default credential chain)
  --region REGION      region of the stack (default: AWS_REGION or the
                       profile's region)

Where to:
  --out FILE, -o FILE  write to FILE (through a temporary name, so a failed
                       download leaves an existing FILE as it was); - or no
                       --out streams to stdout (--json needs --out)
${OUTPUT_HELP}

Exit status ${EXIT.error}: stack, bucket, run or object not found, access denied, or the
download failed.
${EXIT_HELP}
`;

interface FetchArgs {
  readonly bucket?: string;
  readonly stack: string;
  readonly date?: string;
  readonly file: string;
  /** Absolute path, or undefined for stdout. */
  readonly out?: string;
  readonly profile?: string;
  readonly region?: string;
  readonly mode: OutputMode;
}

/** Checks `YYYY-MM-DD` and that it is a real calendar day. */
export function parseRunDate(raw: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  const date = match ? new Date(`${raw}T00:00:00Z`) : undefined;
  if (!date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== raw) {
    throw new UsageError(`--date must be a day as YYYY-MM-DD, got '${raw}'`);
  }
  return raw;
}

function parseFetchArgs(argv: readonly string[], cwd: string): FetchArgs {
  const { values } = parseCommandLine(argv, FETCH_OPTIONS);
  const mode = parseOutputOptions(values);
  if (mode.json && (values.out === undefined || values.out === '-')) {
    throw new UsageError('--json needs --out FILE (without it the object itself goes to stdout)');
  }
  if (values.bucket !== undefined && values.stack !== undefined) {
    throw new UsageError('--bucket and --stack cannot be used together (--bucket needs no stack)');
  }
  const chosen = (['keys', 'findings', 'summary', 'digest'] as const).filter((k) => values[k] === true);
  if (chosen.length > 1)
    throw new UsageError(
      `choose one of --keys, --findings, --summary, --digest (got ${chosen.map((c) => `--${c}`).join(' ')})`,
    );
  const files = S3_LAYOUT.outputFiles;
  const byFlag = {
    keys: files.accessKeys,
    findings: files.findings,
    summary: files.summary,
    digest: files.digest,
  } as const;
  const flag = chosen[0];
  const file: string = flag === undefined ? files.credentialReport : byFlag[flag];
  return {
    ...(values.bucket !== undefined ? { bucket: values.bucket } : {}),
    stack: values.stack ?? DEFAULT_HUB_STACK_NAME,
    ...(values.date !== undefined ? { date: parseRunDate(values.date) } : {}),
    file,
    ...(values.out !== undefined && values.out !== '-' ? { out: resolve(cwd, values.out) } : {}),
    ...(values.profile !== undefined ? { profile: values.profile } : {}),
    ...(values.region !== undefined ? { region: values.region } : {}),
    mode,
  };
}

/** The output does not exist: name the missing run (with the newest ones) or say the digest never ran. */
async function missingOutputError(
  outputs: RunOutputStore,
  args: FetchArgs,
  bucket: string,
  key: string,
): Promise<FetchError> {
  if (args.date !== undefined) {
    // Only a hint for the message, which is thrown regardless: an unlistable bucket just drops it.
    const recent = await outputs.recentRunDates(5).catch(() => undefined);
    const hint =
      recent === undefined
        ? ''
        : recent.length === 0
          ? ' (no runs at all yet)'
          : ` (latest runs: ${recent.join(', ')})`;
    return new FetchError(`no run for ${args.date} in s3://${bucket}/${S3_LAYOUT.runsPrefix}${hint}`);
  }
  return new FetchError(
    `no s3://${bucket}/${key} yet: the digest has not run (start one with 'credreport run')`,
  );
}

/** A read that failed for another reason than a missing object; `error` is the SDK's. */
function getObjectError(error: unknown, bucket: string, key: string, bucketSource: string): FetchError {
  const name = errorName(error);
  const url = `s3://${bucket}/${key}`;
  if (name === 'NoSuchBucket') {
    return new FetchError(`bucket '${bucket}' does not exist${bucketSource}`, { cause: error });
  }
  if (isAccessDenied(error)) {
    return new FetchError(
      `access denied reading ${url}: you need s3:GetObject on it (and kms:Decrypt on its KMS key if it has one: the hub stack's ${HUB_OUTPUTS.reportBucketKeyArn} output with reportBucketKms);` +
        ' without s3:ListBucket, S3 also answers AccessDenied for an object that does not exist',
      { cause: error },
    );
  }
  return new FetchError(`cannot read ${url}: ${name}: ${errorMessage(error)}`, { cause: error });
}

/** Resolves on the sink's next 'drain' or 'error' (the error itself is recorded by the caller). */
function drainOrError(sink: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sink.removeListener('drain', done);
      sink.removeListener('error', done);
      resolve();
    };
    sink.once('drain', done);
    sink.once('error', done);
  });
}

/** Copies `source` into `sink` honouring back-pressure, without ending `sink` (stdout stays open). */
async function copyTo(
  source: AsyncIterable<Uint8Array | string>,
  sink: NodeJS.WritableStream,
): Promise<void> {
  let failure: unknown;
  const onError = (error: unknown): void => {
    failure = error;
  };
  sink.on('error', onError);
  try {
    for await (const chunk of source) {
      if (failure !== undefined) break;
      if (!sink.write(chunk)) await drainOrError(sink);
    }
  } finally {
    sink.removeListener('error', onError);
  }
  if (failure !== undefined) throw failure;
}

/** The same bytes, each chunk's length told to `count` (for --verbose). */
async function* counting(source: AsyncIterable<Buffer>, count: (n: number) => void): AsyncIterable<Buffer> {
  for await (const chunk of source) {
    count(chunk.length);
    yield chunk;
  }
}

async function runFetch(deps: FetchCommandDeps, argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseFetchArgs(argv, io.cwd);
  const session = deps.aws({
    ...(args.profile !== undefined ? { profile: args.profile } : {}),
    ...(args.region !== undefined ? { region: args.region } : {}),
  });
  try {
    await session.region(); // a clear error now rather than 'Region is missing' from a client
    const started = performance.now();
    const bucket =
      args.bucket ??
      (await readStackOutput(session.cloudformation(), args.stack, HUB_OUTPUTS.reportBucketName));
    const bucketSource =
      args.bucket === undefined ? ` (output ${HUB_OUTPUTS.reportBucketName} of stack '${args.stack}')` : '';
    const run: RunLocation = args.date === undefined ? LATEST_RUN : { date: args.date };
    const key = runOutputKey(run, args.file);
    const outputs = new RunOutputStore(session.s3(), { bucket });
    let body: Readable | undefined;
    try {
      body = await outputs.openOutput(run, args.file);
    } catch (error) {
      // The store keeps the SDK's error as the cause; its name says what went wrong.
      throw getObjectError(error instanceof StoreError ? error.cause : error, bucket, key, bucketSource);
    }
    if (!body) throw await missingOutputError(outputs, args, bucket, key);

    const failed = (to: string, error: unknown): FetchError =>
      new FetchError(`copying s3://${bucket}/${key} to ${to} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    const verbose = (bytes: number): void => {
      if (!args.mode.verbose) return;
      const calls =
        args.bucket === undefined ? 'CloudFormation DescribeStacks ×1, S3 GetObject ×1' : 'S3 GetObject ×1';
      io.stderr.write(
        `fetch: bucket ${bucket}${bucketSource}; s3://${bucket}/${key}: ${bytes.toLocaleString('en-US')} bytes in ${Math.round(performance.now() - started)} ms; API calls: ${calls}\n`,
      );
    };
    if (args.out === undefined) {
      let bytes = 0;
      try {
        await copyTo(
          counting(body, (n) => (bytes += n)),
          io.stdout,
        );
      } catch (error) {
        throw failed('stdout', error);
      }
      verbose(bytes);
      return EXIT.ok;
    }
    const temp = join(dirname(args.out), `.${basename(args.out)}.${process.pid}.tmp`);
    trackTarget(args.out);
    const release = trackTemp(temp);
    let bytes = 0;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            bytes += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(temp),
      );
      await rename(temp, args.out);
    } catch (error) {
      await rm(temp, { force: true });
      throw failed(args.out, error);
    } finally {
      release();
    }
    if (!args.mode.quiet) io.stderr.write(`fetch: wrote s3://${bucket}/${key} to ${args.out}\n`);
    verbose(bytes);
    if (args.mode.json) {
      io.stdout.write(
        `${JSON.stringify({ command: 'fetch', exitStatus: EXIT.ok, source: `s3://${bucket}/${key}`, file: args.out, bytes })}\n`,
      );
    }
    return EXIT.ok;
  } finally {
    session.destroy();
  }
}

/** Builds `fetch` with its dependencies replaced (tests). */
export function createFetchCommand(overrides: Partial<FetchCommandDeps> = {}): Command {
  const deps: FetchCommandDeps = { aws: createAwsSession, ...overrides };
  return {
    name: 'fetch',
    summary: 'download the merged CSV (or another output) from the hub bucket',
    help: HELP,
    run: (argv, io) => runFetch(deps, argv, io),
  };
}

export const fetchCommand: Command = createFetchCommand();
