import 'aws-sdk-client-mock-jest';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import {
  CONTENT_TYPES,
  S3Bucket,
  StoreError,
  StoreOptions,
  bodyToBuffer,
  conditionalFailure,
  isMissingKey,
} from '../../../store/s3';
import { s3Error } from '../aggregator/support/memory-s3';
import { client, storeOptions, useMemoryBucket } from './support';

const { s3Mock, memory } = useMemoryBucket();
const bucket = (opts: Partial<StoreOptions> = {}): S3Bucket =>
  new S3Bucket(client(), { ...storeOptions, ...opts });

describe('S3Bucket', () => {
  it('streams a large CSV as a multipart upload with its content type and encryption', async () => {
    const { stream, done } = bucket().uploadStream('latest/credential-report.csv', CONTENT_TYPES.csv, {
      partSize: 5 * 1024 * 1024,
    });
    const line = `${'x'.repeat(1023)}\n`;
    const writes = (async () => {
      for (let i = 0; i < 11 * 1024; i++) {
        if (!stream.write(line)) await new Promise((r) => stream.once('drain', r));
      }
      stream.end();
    })();
    await Promise.all([writes, done]);
    expect(s3Mock).toHaveReceivedCommandWith(CreateMultipartUploadCommand, {
      Key: 'latest/credential-report.csv',
      ContentType: 'text/csv; charset=utf-8',
      ServerSideEncryption: 'AES256',
    });
    expect(s3Mock).toHaveReceivedCommandTimes(UploadPartCommand, 3);
    expect(s3Mock).toHaveReceivedCommandTimes(CompleteMultipartUploadCommand, 1);
    expect(memory().objects.get('latest/credential-report.csv')?.body.length).toBe(11 * 1024 * 1024);
  });

  it('rejects the upload and destroys the stream when a part fails', async () => {
    memory().hooks.push((op) => {
      if (op === 'UploadPart') throw s3Error('InternalError', 500);
    });
    const { stream, done } = bucket().uploadStream('latest/access-keys.csv', CONTENT_TYPES.csv, {
      partSize: 5 * 1024 * 1024,
    });
    stream.on('error', () => undefined);
    stream.end(Buffer.alloc(12 * 1024 * 1024, 97));
    await expect(done).rejects.toThrow(StoreError);
    expect(stream.destroyed).toBe(true);
    expect(memory().objects.has('latest/access-keys.csv')).toBe(false);
  });

  it('opens a lazy stream only when it is first read', async () => {
    memory().putRaw('latest/access-keys.csv', 'a,b\n1,2\n');
    const stream = bucket().lazyStream('latest/access-keys.csv');
    await new Promise((r) => setTimeout(r, 10));
    expect(memory().calls.GetObject ?? 0).toBe(0);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    expect(Buffer.concat(chunks).toString('utf8')).toBe('a,b\n1,2\n');
    expect(memory().calls.GetObject).toBe(1);
  });

  it('sets SSE-KMS with the key id when configured for KMS', async () => {
    await bucket({
      sse: { mode: 'aws:kms', kmsKeyId: 'arn:aws:kms:us-east-1:111111111111:key/abc' },
    }).putText('latest/summary.json', '{}', CONTENT_TYPES.json);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'arn:aws:kms:us-east-1:111111111111:key/abc',
    });
  });

  it('streams an object in the chunks S3 sends rather than buffering it whole', async () => {
    memory().putRaw('latest/credential-report.csv', Buffer.alloc(300 * 1024, 97));
    const stream = await bucket().getStream('latest/credential-report.csv');
    const sizes: number[] = [];
    for await (const chunk of stream ?? []) sizes.push((chunk as Buffer).length);
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64 * 1024);
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(300 * 1024);
    expect(await bucket().getStream('latest/missing.csv')).toBeUndefined();
  });

  it('fails a lazy stream whose object does not exist when it is read', async () => {
    const stream = bucket().lazyStream('latest/access-keys.csv');
    await expect(
      (async () => {
        for await (const chunk of stream) expect(chunk).toBeUndefined();
      })(),
    ).rejects.toThrow(/latest\/access-keys.csv does not exist/);
  });

  it('wraps a failed read in StoreError with the SDK error as its cause', async () => {
    const slowDown = s3Error('SlowDown', 503);
    memory().hooks.push(() => {
      throw slowDown;
    });
    const error = await bucket()
      .getBytes('org/metadata.json')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toBe('Could not read s3://hub-bucket/org/metadata.json');
    expect((error as Error).cause).toBe(slowDown);
  });

  it('lists every page of a listing', async () => {
    for (let i = 0; i < 2_500; i++) memory().putRaw(`incoming/${String(i).padStart(5, '0')}`, 'x');
    const { contents } = await bucket().listAll({ Prefix: 'incoming/' });
    expect(contents).toHaveLength(2_500);
    expect(s3Mock).toHaveReceivedCommandTimes(ListObjectsV2Command, 3);
  });
});

describe('S3 error mapping', () => {
  it('tells a conditional write that lost (412) from one that raced (409) and from other failures', () => {
    expect(conditionalFailure(s3Error('PreconditionFailed', 412))).toBe('precondition-failed');
    expect(conditionalFailure(s3Error('ConditionalRequestConflict', 409))).toBe('conflict');
    expect(conditionalFailure(s3Error('InternalError', 500))).toBeUndefined();
  });

  it('reads a missing key as absent, but never a missing bucket', () => {
    expect(isMissingKey(s3Error('NoSuchKey', 404))).toBe(true);
    expect(isMissingKey(s3Error('NotFound', 404))).toBe(true);
    expect(isMissingKey(s3Error('NoSuchBucket', 404))).toBe(false);
    expect(isMissingKey(s3Error('AccessDenied', 403))).toBe(false);
  });

  it('turns any SDK body into one buffer', async () => {
    expect((await bodyToBuffer(undefined)).length).toBe(0);
    expect((await bodyToBuffer('héllo')).toString('utf8')).toBe('héllo');
    expect((await bodyToBuffer(Readable.from([Buffer.from('a'), 'b']))).toString('utf8')).toBe('ab');
  });
});
