/**
 * org/metadata.json of the hub bucket (docs/ARCHITECTURE.md §5): the organization metadata (account
 * names, OU paths, tags) the digest caches so that Organizations failing falls back to it (§12).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { S3_LAYOUT } from '../core/names';
import { OrgMetadataSchema } from '../core/org-metadata';
import { OrgMetadata } from '../core/types';
import { CONTENT_TYPES, S3Bucket, StoreOptions } from './s3';

/** The cached organization metadata. */
export class MetadataCacheStore {
  private readonly bucket: S3Bucket;

  constructor(
    s3: S3Client,
    private readonly opts: StoreOptions,
  ) {
    this.bucket = new S3Bucket(s3, opts);
  }

  /**
   * The cached metadata, or undefined when absent or unreadable as metadata (a warning is logged): a
   * truncated or foreign cache must not fail the digest, which then fetches afresh.
   */
  async readOrgMetadata(): Promise<OrgMetadata | undefined> {
    const got = await this.bucket.getBytes(S3_LAYOUT.orgMetadata);
    if (!got) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(got.body.toString('utf8'));
    } catch {
      this.opts.logger?.warn('Ignoring an org/metadata.json that is not JSON');
      return undefined;
    }
    const parsed = OrgMetadataSchema.safeParse(json);
    if (!parsed.success) {
      this.opts.logger?.warn('Ignoring an unreadable org/metadata.json', {
        issues: parsed.error.issues.length,
      });
      return undefined;
    }
    return parsed.data;
  }

  /** Replaces the cache. */
  async writeOrgMetadata(metadata: OrgMetadata): Promise<void> {
    await this.bucket.putText(S3_LAYOUT.orgMetadata, JSON.stringify(metadata), CONTENT_TYPES.json);
  }
}
