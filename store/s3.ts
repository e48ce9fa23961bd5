/**
 * The S3 plumbing every store of the hub bucket shares (docs/ARCHITECTURE.md §5): one bucket, encryption
 * set explicitly on every write, bodies read whole or streamed, listings paginated, and S3's answers to
 * conditional writes mapped through the one AWS error classification (core/aws-errors, §12).
 *
 * Each store (incoming-, account-, run-output-, metadata-cache-store) owns one prefix of the bucket and
 * builds on an {@link S3Bucket}; none of them talks to the SDK's commands directly.
 */
import { PassThrough, Readable } from 'node:stream';
import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2CommandInput,
  ListObjectsV2CommandOutput,
  PutObjectCommand,
  PutObjectCommandInput,
  S3Client,
  ServerSideEncryption,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Logger } from '@aws-lambda-powertools/logger';
import { errorName, isConditionalConflict, isNotFound, isPreconditionFailed } from '../core/aws-errors';
import type { RetryOptions } from '../core/concurrency';
import { CredreportError } from '../core/errors';

/** An S3 operation failed in a way worth retrying later (throttling, 5xx, network, lost races). */
export class StoreError extends CredreportError {}

/** Server-side encryption set explicitly on every write (the bucket default is not relied upon). */
export type SseConfig =
  { readonly mode: 'AES256' } | { readonly mode: 'aws:kms'; readonly kmsKeyId?: string };

/** What every store of the hub bucket is built with. */
export interface StoreOptions {
  readonly bucket: string;
  /** @default { mode: 'AES256' } */
  readonly sse?: SseConfig;
  readonly logger?: Logger;
}

/** Content types of the objects the stores write. */
export const CONTENT_TYPES = {
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
  html: 'text/html; charset=utf-8',
  gzip: 'application/gzip',
  /** findings.ocsf.json: one JSON record per line. */
  ndjson: 'application/x-ndjson',
} as const;

/** One listed object. */
export interface ObjectRef {
  readonly key: string;
  readonly lastModified?: Date;
  readonly etag?: string;
  readonly size?: number;
}

/** How a conditional write lost (docs/ARCHITECTURE.md §12), or undefined when the failure is something else. */
export type ConditionalFailure =
  /** 412: `If-None-Match: *` found the key, or `If-Match` found another ETag. */
  | 'precondition-failed'
  /** 409: another conditional write of the same key was in flight; re-read and decide again. */
  | 'conflict';

/** Maps a failed conditional write to how it lost; undefined for any other failure. */
export function conditionalFailure(error: unknown): ConditionalFailure | undefined {
  if (isPreconditionFailed(error)) return 'precondition-failed';
  if (isConditionalConflict(error)) return 'conflict';
  return undefined;
}

/**
 * The key does not exist. A missing bucket also answers 404, but it is a misconfiguration, not an
 * absent object: it fails loudly instead of reading as "nothing stored yet".
 */
export function isMissingKey(error: unknown): boolean {
  return isNotFound(error) && errorName(error) !== 'NoSuchBucket';
}

/** The SDK's GetObject body (a Readable in Node, a string or bytes in mocks) → one Buffer. */
export async function bodyToBuffer(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  const withHelper = body as { transformToByteArray?: () => Promise<Uint8Array> };
  if (typeof withHelper.transformToByteArray === 'function') {
    return Buffer.from(await withHelper.transformToByteArray());
  }
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}

/** The SDK's GetObject body → a byte stream, never buffered whole (in Node it already is a Readable). */
export function bodyToStream(body: unknown): Readable {
  if (body === undefined || body === null) return Readable.from([]);
  if (body instanceof Readable) return body;
  if (typeof body === 'string' || body instanceof Uint8Array) return Readable.from([Buffer.from(body)]);
  return Readable.from(body as AsyncIterable<Uint8Array>, { objectMode: false });
}

/** One bucket behind the injected client: the operations the stores are built from. */
export class S3Bucket {
  readonly name: string;
  private readonly sse: SseConfig;

  constructor(
    readonly s3: S3Client,
    opts: StoreOptions,
  ) {
    this.name = opts.bucket;
    this.sse = opts.sse ?? { mode: 'AES256' };
  }

  /** `s3://bucket/key`, for messages. */
  url(key: string): string {
    return `s3://${this.name}/${key}`;
  }

  /** The encryption parameters of every write. */
  sseParams(): Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'> {
    return this.sse.mode === 'aws:kms'
      ? {
          ServerSideEncryption: ServerSideEncryption.aws_kms,
          ...(this.sse.kmsKeyId ? { SSEKMSKeyId: this.sse.kmsKeyId } : {}),
        }
      : { ServerSideEncryption: ServerSideEncryption.AES256 };
  }

  /**
   * PutObject with the bucket's encryption; SDK errors are thrown as they are, so a conditional write's
   * caller can tell a lost race ({@link conditionalFailure}) from a failure. Returns the new ETag.
   */
  async put(input: Omit<PutObjectCommandInput, 'Bucket'>): Promise<string | undefined> {
    const out = await this.s3.send(
      new PutObjectCommand({ Bucket: this.name, ...this.sseParams(), ...input }),
    );
    return out.ETag;
  }

  /** Writes a whole (small) object. */
  async putText(key: string, body: string | Buffer, contentType: string): Promise<void> {
    try {
      await this.put({ Key: key, Body: body, ContentType: contentType });
    } catch (error) {
      throw new StoreError(`Could not write ${this.url(key)}`, { cause: error });
    }
  }

  /** HeadObject → ETag and user metadata; undefined when the key does not exist. */
  async head(key: string): Promise<{ etag?: string; metadata: Record<string, string> } | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return { etag: out.ETag, metadata: out.Metadata ?? {} };
    } catch (error) {
      if (isMissingKey(error)) return undefined;
      throw new StoreError(`Could not read ${this.url(key)}`, { cause: error });
    }
  }

  /**
   * GetObject → bytes; undefined when the key does not exist. With `ifMatch`, a changed object throws
   * the SDK's 412 as it is (a lost race for the caller to retry).
   */
  async getBytes(key: string, ifMatch?: string): Promise<{ body: Buffer; etag?: string } | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.name, Key: key, IfMatch: ifMatch }));
      return { body: await bodyToBuffer(out.Body), etag: out.ETag };
    } catch (error) {
      if (isMissingKey(error)) return undefined;
      if (ifMatch && isPreconditionFailed(error)) throw error;
      throw new StoreError(`Could not read ${this.url(key)}`, { cause: error });
    }
  }

  /** GetObject → the body as a stream, never buffered whole; undefined when the key does not exist. */
  async getStream(key: string): Promise<Readable | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
      return bodyToStream(out.Body);
    } catch (error) {
      if (isMissingKey(error)) return undefined;
      throw new StoreError(`Could not read ${this.url(key)}`, { cause: error });
    }
  }

  /**
   * A stream of `key` that sends its GetObject only when first read, so a file consumed after another
   * one does not hold an idle S3 response open meanwhile. A missing object fails the stream.
   */
  lazyStream(key: string): Readable {
    const open = (): Promise<Readable | undefined> => this.getStream(key);
    const where = this.url(key);
    return Readable.from(
      (async function* () {
        const body = await open();
        if (!body) throw new StoreError(`${where} does not exist`);
        for await (const chunk of body) yield chunk as Buffer;
      })(),
      { objectMode: false },
    );
  }

  /**
   * A listing one page at a time (ListObjectsV2 pages, in S3's lexicographic key order), so a caller
   * that settles each page before asking for the next holds one page, whatever the listing's size.
   */
  async *listPages(
    input: Omit<ListObjectsV2CommandInput, 'Bucket'>,
  ): AsyncGenerator<{ contents: ObjectRef[]; prefixes: string[] }> {
    const pages = paginateListObjectsV2({ client: this.s3 }, { Bucket: this.name, ...input });
    for (;;) {
      let next: IteratorResult<ListObjectsV2CommandOutput>;
      try {
        next = await pages.next();
      } catch (error) {
        throw new StoreError(`Could not list ${this.url(input.Prefix ?? '')}`, { cause: error });
      }
      if (next.done) return;
      const page = next.value;
      yield {
        contents: (page.Contents ?? []).flatMap((o) =>
          o.Key ? [{ key: o.Key, lastModified: o.LastModified, etag: o.ETag, size: o.Size }] : [],
        ),
        prefixes: (page.CommonPrefixes ?? []).flatMap((p) => (p.Prefix ? [p.Prefix] : [])),
      };
    }
  }

  /** Every page of a listing: its objects and its common prefixes. */
  async listAll(
    input: Omit<ListObjectsV2CommandInput, 'Bucket'>,
  ): Promise<{ contents: ObjectRef[]; prefixes: string[] }> {
    const contents: ObjectRef[] = [];
    const prefixes: string[] = [];
    for await (const page of this.listPages(input)) {
      contents.push(...page.contents);
      prefixes.push(...page.prefixes);
    }
    return { contents, prefixes };
  }

  /**
   * A writable stream uploaded to `key` with a multipart upload as it is written (lib-storage Upload:
   * parts of `partSize`, a few in flight, so memory stays bounded whatever the size). `done` settles when
   * the object exists; if the upload fails the stream is destroyed so its writer stops too.
   */
  uploadStream(
    key: string,
    contentType: string,
    opts: { partSize?: number; queueSize?: number } = {},
  ): { stream: PassThrough; done: Promise<void> } {
    const stream = new PassThrough();
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: this.name, Key: key, Body: stream, ContentType: contentType, ...this.sseParams() },
      partSize: opts.partSize ?? 8 * 1024 * 1024,
      queueSize: opts.queueSize ?? 4,
      leavePartsOnError: false,
    });
    const done = upload.done().then(
      () => undefined,
      (error: unknown) => {
        stream.destroy(error instanceof Error ? error : new Error(String(error)));
        throw new StoreError(`Could not upload ${this.url(key)}`, { cause: error });
      },
    );
    return { stream, done };
  }

  /** Server-side copy (replaces the destination). */
  async copy(sourceKey: string, destinationKey: string): Promise<void> {
    try {
      await this.s3.send(
        new CopyObjectCommand({
          Bucket: this.name,
          Key: destinationKey,
          CopySource: `${this.name}/${sourceKey.split('/').map(encodeURIComponent).join('/')}`,
          MetadataDirective: 'COPY',
          ...this.sseParams(),
        }),
      );
    } catch (error) {
      throw new StoreError(`Could not copy ${this.url(sourceKey)} to ${destinationKey}`, { cause: error });
    }
  }
}

/** How a store retries a conditional write that keeps losing races (docs/ARCHITECTURE.md §12). */
export interface ConditionalWriteOptions {
  /** Attempts of a conditional write that keeps losing races before giving up. @default 8 */
  readonly maxConditionalAttempts?: number;
  /** Injected for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * The retry settings of a conditional write, for core/concurrency `retry`: full jitter from 50 ms up to
 * 2 s, so writers racing on one key spread out instead of colliding again.
 */
export function conditionalRetry(
  opts: ConditionalWriteOptions,
): { readonly attempts: number; readonly baseMs: number; readonly capMs: number } & Pick<
  RetryOptions,
  'random' | 'sleep'
> {
  return {
    attempts: opts.maxConditionalAttempts ?? 8,
    baseMs: 50,
    capMs: 2_000,
    random: Math.random,
    ...(opts.sleep ? { sleep: opts.sleep } : {}),
  };
}
