/**
 * config/ of the hub bucket (docs/ARCHITECTURE.md §5): the operators' exemptions file, which the digest only
 * reads, and the last copy of it that validated, which the digest keeps (core/exemptions.ts chooseExemptions).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { S3_LAYOUT } from '../core/names';
import type { LastValidExemptions } from '../core/exemptions';
import { CONTENT_TYPES, S3Bucket, StoreOptions } from './s3';

/** What a read found: the text, nothing (no such object), or why it could not be read. */
export type ConfigRead = { readonly text: string } | { readonly readError: string } | undefined;

export class ExemptionsStore {
  private readonly bucket: S3Bucket;

  constructor(s3: S3Client, opts: StoreOptions) {
    this.bucket = new S3Bucket(s3, opts);
  }

  private async read(key: string): Promise<ConfigRead> {
    try {
      const got = await this.bucket.getBytes(key);
      return got ? { text: got.body.toString('utf8') } : undefined;
    } catch (error) {
      // Never fatal: the digest goes on with the last valid copy, and says why (no report data in the text).
      return { readError: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  }

  /** config/exemptions.json; undefined when there is none. */
  readCurrent(): Promise<ConfigRead> {
    return this.read(S3_LAYOUT.exemptions);
  }

  /** config/exemptions.last-valid.json; undefined when none was kept yet. */
  readLastValid(): Promise<ConfigRead> {
    return this.read(S3_LAYOUT.exemptionsLastValid);
  }

  /** Replaces the last valid copy. */
  async writeLastValid(copy: LastValidExemptions): Promise<void> {
    await this.bucket.putText(S3_LAYOUT.exemptionsLastValid, JSON.stringify(copy), CONTENT_TYPES.json);
  }
}
