/** Shared setup of the store tests: one in-memory bucket behind the mocked S3 client, reset per test. */
import { S3Client } from '@aws-sdk/client-s3';
import { AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { MemoryS3, wireMemoryS3 } from '../aggregator/support/memory-s3';
import { silentLogger } from '../aggregator/support/reports';

export const BUCKET = 'hub-bucket';
export const NOW = new Date('2026-11-21T06:00:00Z');
export const SHA_1 = '1'.repeat(64);
export const SHA_2 = '2'.repeat(64);
export const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => String(100_000_000_000 + i));

/** The client every store under test gets (its commands are answered by the memory bucket). */
export const client = (): S3Client => new S3Client({ region: 'us-east-1' });

/** Options of a store under test: the bucket, a silent logger and no waiting between retries. */
export const storeOptions = { bucket: BUCKET, logger: silentLogger(), sleep: async () => undefined };

/** Mocks S3Client for the calling test file; `memory()` is the bucket of the current test. */
export function useMemoryBucket(): { readonly s3Mock: AwsClientStub<S3Client>; memory: () => MemoryS3 } {
  const s3Mock = mockClient(S3Client);
  let memory = new MemoryS3();
  beforeEach(() => {
    s3Mock.reset();
    memory = new MemoryS3();
    wireMemoryS3(s3Mock, memory);
  });
  return { s3Mock, memory: () => memory };
}
