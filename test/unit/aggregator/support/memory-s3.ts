/**
 * An in-memory S3 bucket that behaves like S3 where the aggregator depends on it: conditional writes
 * (If-None-Match: * and If-Match → 412), conditional reads, listing with prefix, any-string delimiter
 * and pagination, server-side copy, and multipart uploads (what lib-storage's Upload sends).
 * Bodies are read back in 64 KB chunks, as from a socket, so a reader that buffers a whole object shows
 * up in memory figures. Tests wire it into aws-sdk-client-mock (`wireMemoryS3`); the bench plugs it
 * into a real S3Client's `send` (no call recording, so memory figures are the aggregator's own).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

export interface StoredObject {
  body: Buffer;
  etag: string;
  contentType?: string;
  contentEncoding?: string;
  serverSideEncryption?: string;
  metadata: Record<string, string>;
  lastModified: Date;
}

type Input = Record<string, unknown>;

export function s3Error(name: string, status: number, message = name): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message,
  });
}

async function toBuffer(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

const etagOf = (body: Buffer): string => `"${createHash('md5').update(body).digest('hex')}"`;
/** Size of the chunks a GetObject body streams in, as a socket would deliver them. */
const BODY_CHUNK_BYTES = 64 * 1024;
function* chunksOf(body: Buffer): Generator<Buffer> {
  for (let i = 0; i < body.length; i += BODY_CHUNK_BYTES) yield body.subarray(i, i + BODY_CHUNK_BYTES);
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs before an operation; throw to inject a failure, or mutate the store to simulate a competitor. */
export type Hook = (operation: string, input: Input, s3: MemoryS3) => void | Promise<void>;

export class MemoryS3 {
  readonly objects = new Map<string, StoredObject>();
  readonly calls: Record<string, number> = {};
  private readonly uploads = new Map<string, { key: string; input: Input; parts: Map<number, Buffer> }>();
  private uploadSeq = 0;
  private tick = 0;
  hooks: Hook[] = [];
  /** Every operation with its key (or prefix), in order; tests read it, the bench leaves it off. */
  readonly log: { operation: string; key: string }[] = [];
  recordKeys = true;
  /** Simulated latency per GetObject, in ms (the bench). */
  getLatencyMs = 0;
  inFlightGets = 0;
  maxInFlightGets = 0;
  /** Time of the first write; each later write is one second after the previous one. */
  epochMs = Date.UTC(2026, 0, 1);

  /** LastModified strictly increases with every write, so ordering tests are deterministic. */
  private nextTime(): Date {
    this.tick++;
    return new Date(this.epochMs + this.tick * 1000);
  }

  putRaw(key: string, body: string | Buffer, extra: Partial<StoredObject> = {}): StoredObject {
    const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const obj: StoredObject = {
      body: buf,
      etag: etagOf(buf),
      metadata: {},
      lastModified: this.nextTime(),
      ...extra,
    };
    this.objects.set(key, obj);
    return obj;
  }

  text(key: string): string | undefined {
    return this.objects.get(key)?.body.toString('utf8');
  }

  keys(prefix = ''): string[] {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  private async run(operation: string, input: Input): Promise<void> {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    if (this.recordKeys) this.log.push({ operation, key: String(input.Key ?? input.Prefix ?? '') });
    for (const hook of this.hooks) await hook(operation, input, this);
  }

  async putObject(input: Input): Promise<Input> {
    await this.run('PutObject', input);
    const key = input.Key as string;
    const body = await toBuffer(input.Body);
    const existing = this.objects.get(key);
    if (input.IfNoneMatch === '*' && existing) throw s3Error('PreconditionFailed', 412);
    if (typeof input.IfMatch === 'string') {
      if (!existing) throw s3Error('NoSuchKey', 404);
      if (existing.etag.replace(/"/g, '') !== input.IfMatch.replace(/"/g, ''))
        throw s3Error('PreconditionFailed', 412);
    }
    const obj = this.putRaw(key, body, {
      contentType: input.ContentType as string | undefined,
      contentEncoding: input.ContentEncoding as string | undefined,
      serverSideEncryption: input.ServerSideEncryption as string | undefined,
      metadata: { ...((input.Metadata as Record<string, string> | undefined) ?? {}) },
    });
    return { ETag: obj.etag, ServerSideEncryption: obj.serverSideEncryption };
  }

  async getObject(input: Input): Promise<Input> {
    await this.run('GetObject', input);
    this.inFlightGets++;
    this.maxInFlightGets = Math.max(this.maxInFlightGets, this.inFlightGets);
    try {
      if (this.getLatencyMs > 0) await sleep(this.getLatencyMs);
      const obj = this.objects.get(input.Key as string);
      if (!obj) throw s3Error('NoSuchKey', 404);
      if (
        typeof input.IfMatch === 'string' &&
        obj.etag.replace(/"/g, '') !== input.IfMatch.replace(/"/g, '')
      ) {
        throw s3Error('PreconditionFailed', 412);
      }
      const body = obj.body;
      const stream = Object.assign(Readable.from(chunksOf(body), { objectMode: false }), {
        transformToByteArray: async () => new Uint8Array(body),
        transformToString: async (encoding?: BufferEncoding) => body.toString(encoding ?? 'utf8'),
      });
      return {
        Body: stream,
        ETag: obj.etag,
        ContentLength: body.length,
        ContentType: obj.contentType,
        Metadata: obj.metadata,
        LastModified: obj.lastModified,
      };
    } finally {
      this.inFlightGets--;
    }
  }

  async headObject(input: Input): Promise<Input> {
    await this.run('HeadObject', input);
    const obj = this.objects.get(input.Key as string);
    if (!obj) throw s3Error('NotFound', 404);
    return {
      ETag: obj.etag,
      ContentLength: obj.body.length,
      Metadata: obj.metadata,
      LastModified: obj.lastModified,
    };
  }

  async deleteObject(input: Input): Promise<Input> {
    await this.run('DeleteObject', input);
    this.objects.delete(input.Key as string);
    return {};
  }

  async listObjectsV2(input: Input): Promise<Input> {
    await this.run('ListObjectsV2', input);
    const prefix = (input.Prefix as string | undefined) ?? '';
    const delimiter = input.Delimiter as string | undefined;
    const maxKeys = (input.MaxKeys as number | undefined) ?? 1000;
    const after = (input.ContinuationToken as string | undefined) ?? '';
    const entries: { key: string; prefix?: string }[] = [];
    const seenPrefixes = new Set<string>();
    for (const key of this.keys(prefix)) {
      const rest = key.slice(prefix.length);
      const at = delimiter ? rest.indexOf(delimiter) : -1;
      if (delimiter && at >= 0) {
        const common = prefix + rest.slice(0, at + delimiter.length);
        if (!seenPrefixes.has(common)) {
          seenPrefixes.add(common);
          entries.push({ key: common, prefix: common });
        }
      } else entries.push({ key });
    }
    const remaining = entries.filter((e) => e.key > after);
    const page = remaining.slice(0, maxKeys);
    const truncated = remaining.length > page.length;
    return {
      Contents: page
        .filter((e) => !e.prefix)
        .map((e) => {
          const obj = this.objects.get(e.key) as StoredObject;
          return { Key: e.key, ETag: obj.etag, Size: obj.body.length, LastModified: obj.lastModified };
        }),
      CommonPrefixes: page.filter((e) => e.prefix).map((e) => ({ Prefix: e.prefix })),
      IsTruncated: truncated,
      KeyCount: page.length,
      ...(truncated ? { NextContinuationToken: page[page.length - 1]?.key } : {}),
    };
  }

  async copyObject(input: Input): Promise<Input> {
    await this.run('CopyObject', input);
    const source = decodeURIComponent((input.CopySource as string).split('/').slice(1).join('/'));
    const obj = this.objects.get(source);
    if (!obj) throw s3Error('NoSuchKey', 404);
    const copy = this.putRaw(input.Key as string, Buffer.from(obj.body), {
      contentType: obj.contentType,
      metadata: { ...obj.metadata },
      serverSideEncryption: (input.ServerSideEncryption as string | undefined) ?? obj.serverSideEncryption,
    });
    return { CopyObjectResult: { ETag: copy.etag } };
  }

  async createMultipartUpload(input: Input): Promise<Input> {
    await this.run('CreateMultipartUpload', input);
    const id = `upload-${++this.uploadSeq}`;
    this.uploads.set(id, { key: input.Key as string, input, parts: new Map() });
    return { UploadId: id, Bucket: input.Bucket, Key: input.Key };
  }

  async uploadPart(input: Input): Promise<Input> {
    await this.run('UploadPart', input);
    const upload = this.uploads.get(input.UploadId as string);
    if (!upload) throw s3Error('NoSuchUpload', 404);
    const body = await toBuffer(input.Body);
    upload.parts.set(input.PartNumber as number, body);
    return { ETag: etagOf(body) };
  }

  async completeMultipartUpload(input: Input): Promise<Input> {
    await this.run('CompleteMultipartUpload', input);
    const upload = this.uploads.get(input.UploadId as string);
    if (!upload) throw s3Error('NoSuchUpload', 404);
    const numbers = [...upload.parts.keys()].sort((a, b) => a - b);
    const body = Buffer.concat(numbers.map((n) => upload.parts.get(n) as Buffer));
    this.uploads.delete(input.UploadId as string);
    const obj = this.putRaw(upload.key, body, {
      contentType: upload.input.ContentType as string | undefined,
      serverSideEncryption: upload.input.ServerSideEncryption as string | undefined,
      metadata: { ...((upload.input.Metadata as Record<string, string> | undefined) ?? {}) },
    });
    return {
      ETag: obj.etag,
      Key: upload.key,
      Bucket: upload.input.Bucket,
      Location: `memory://${upload.key}`,
    };
  }

  async abortMultipartUpload(input: Input): Promise<Input> {
    await this.run('AbortMultipartUpload', input);
    this.uploads.delete(input.UploadId as string);
    return {};
  }

  /** Dispatches an SDK command (for a plain client whose `send` is replaced). */
  async send(command: { input: Input }): Promise<Input> {
    const table: [new (input: never) => unknown, (input: Input) => Promise<Input>][] = [
      [PutObjectCommand, (i) => this.putObject(i)],
      [GetObjectCommand, (i) => this.getObject(i)],
      [HeadObjectCommand, (i) => this.headObject(i)],
      [DeleteObjectCommand, (i) => this.deleteObject(i)],
      [ListObjectsV2Command, (i) => this.listObjectsV2(i)],
      [CopyObjectCommand, (i) => this.copyObject(i)],
      [CreateMultipartUploadCommand, (i) => this.createMultipartUpload(i)],
      [UploadPartCommand, (i) => this.uploadPart(i)],
      [CompleteMultipartUploadCommand, (i) => this.completeMultipartUpload(i)],
      [AbortMultipartUploadCommand, (i) => this.abortMultipartUpload(i)],
    ];
    for (const [type, fn] of table) if (command instanceof type) return fn(command.input);
    throw new Error(`MemoryS3: unsupported command ${(command as object).constructor.name}`);
  }
}

/** A real S3Client (so lib-storage can resolve its endpoint) whose requests go to `memory`. */
export function memoryS3Client(memory: MemoryS3): S3Client {
  const client = new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  (client as unknown as { send: (command: { input: Input }) => Promise<Input> }).send = (command) =>
    memory.send(command);
  return client;
}

/** Routes every S3 command of an aws-sdk-client-mock stub to `memory`. */
export function wireMemoryS3(mock: object, memory: MemoryS3): void {
  const on = mock as unknown as {
    on(command: unknown): { callsFake(fn: (input: Input) => Promise<Input>): void };
  };
  on.on(PutObjectCommand).callsFake((i) => memory.putObject(i));
  on.on(GetObjectCommand).callsFake((i) => memory.getObject(i));
  on.on(HeadObjectCommand).callsFake((i) => memory.headObject(i));
  on.on(DeleteObjectCommand).callsFake((i) => memory.deleteObject(i));
  on.on(ListObjectsV2Command).callsFake((i) => memory.listObjectsV2(i));
  on.on(CopyObjectCommand).callsFake((i) => memory.copyObject(i));
  on.on(CreateMultipartUploadCommand).callsFake((i) => memory.createMultipartUpload(i));
  on.on(UploadPartCommand).callsFake((i) => memory.uploadPart(i));
  on.on(CompleteMultipartUploadCommand).callsFake((i) => memory.completeMultipartUpload(i));
  on.on(AbortMultipartUploadCommand).callsFake((i) => memory.abortMultipartUpload(i));
}
