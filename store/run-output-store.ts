/**
 * The digest's outputs in the hub bucket (docs/ARCHITECTURE.md §5): latest/ (the newest run, which the
 * next run reads back as its previous run for the delta) and runs/date=YYYY-MM-DD/ (one copy per day).
 * With the `athena` config key the digest also copies the CSVs to tables/<table>/date=…/ (core/athena-tables.ts).
 * Written by the digest; read by the digest (previous run) and by `credreport fetch`.
 */
import type { PassThrough, Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { S3_LAYOUT } from '../core/names';
import { newestRunDates, runDateOfPrefix } from '../core/run-date';
import { S3Bucket, StoreError, StoreOptions } from './s3';

/** Which run: the newest (latest/) or the run of one day (runs/date=…/). */
export type RunLocation = { readonly latest: true } | { readonly date: string };

/** The newest run. */
export const LATEST_RUN: RunLocation = { latest: true };

/** The key of output `file` (one of S3_LAYOUT.outputFiles) of a run. */
export function runOutputKey(run: RunLocation, file: string): string {
  return `${'date' in run ? S3_LAYOUT.runPrefix(run.date) : S3_LAYOUT.latestPrefix}${file}`;
}

/** The outputs under latest/ and runs/. */
export class RunOutputStore {
  private readonly bucket: S3Bucket;

  constructor(s3: S3Client, opts: StoreOptions) {
    this.bucket = new S3Bucket(s3, opts);
  }

  /** The bucket's name, for messages and links. */
  get bucketName(): string {
    return this.bucket.name;
  }

  /** Refuses a key outside latest/, runs/ and the Athena tables' copies (tables/): this store writes nothing else. */
  private owned(key: string): string {
    if (
      ![S3_LAYOUT.latestPrefix, S3_LAYOUT.runsPrefix, S3_LAYOUT.tablesPrefix].some((p) => key.startsWith(p))
    ) {
      throw new StoreError(`${key} is not a run output (latest/, runs/ or tables/)`);
    }
    return key;
  }

  // ---------------------------------------------------------------- read

  /**
   * Output `file` of a run as a stream (never buffered whole); undefined when that run has no such
   * object. Other failures throw StoreError with the SDK error as the cause (a missing bucket,
   * access denied, throttling), so a caller can explain them.
   */
  openOutput(run: RunLocation, file: string): Promise<Readable | undefined> {
    return this.bucket.getStream(runOutputKey(run, file));
  }

  /** The object at `key` (under latest/ or runs/) whole; undefined when it does not exist. */
  async getBytes(key: string): Promise<{ body: Buffer; etag?: string } | undefined> {
    return this.bucket.getBytes(this.owned(key));
  }

  /** The object at `key` (under latest/ or runs/) as a stream; undefined when it does not exist. */
  async getStream(key: string): Promise<Readable | undefined> {
    return this.bucket.getStream(this.owned(key));
  }

  /**
   * A stream of `key` that sends its GetObject only when first read (the previous run's access-keys.csv
   * is read after its credential-report.csv); a missing object fails the stream.
   */
  lazyStream(key: string): Readable {
    return this.bucket.lazyStream(this.owned(key));
  }

  /** The dates of the runs under runs/, newest first; at most `limit` of them. */
  async recentRunDates(limit = 5): Promise<string[]> {
    const { prefixes } = await this.bucket.listAll({ Prefix: S3_LAYOUT.runsPrefix, Delimiter: '/' });
    return newestRunDates(
      prefixes.flatMap((prefix) => runDateOfPrefix(prefix) ?? []),
      limit,
    );
  }

  // ---------------------------------------------------------------- write

  /** Writes a whole (small) output. */
  async putText(key: string, body: string | Buffer, contentType: string): Promise<void> {
    await this.bucket.putText(this.owned(key), body, contentType);
  }

  /**
   * A writable stream uploaded to `key` as it is written (multipart, bounded memory); `done` settles
   * when the object exists (see S3Bucket.uploadStream).
   */
  uploadStream(
    key: string,
    contentType: string,
    opts: { partSize?: number; queueSize?: number } = {},
  ): { stream: PassThrough; done: Promise<void> } {
    return this.bucket.uploadStream(this.owned(key), contentType, opts);
  }

  /** Server-side copy (replaces the destination: a second run on the same day overwrites that day). */
  async copy(sourceKey: string, destinationKey: string): Promise<void> {
    await this.bucket.copy(this.owned(sourceKey), this.owned(destinationKey));
  }
}
