import { S3_LAYOUT } from '../../../core/names';
import { sampleOrganization } from '../../../core/sample-org';
import { MetadataCacheStore } from '../../../store/metadata-cache-store';
import { NOW, client, storeOptions, useMemoryBucket } from './support';

const { memory } = useMemoryBucket();
const store = (): MetadataCacheStore => new MetadataCacheStore(client(), storeOptions);

describe('MetadataCacheStore', () => {
  it('ignores an unreadable org/metadata.json rather than trusting it', async () => {
    memory().putRaw(S3_LAYOUT.orgMetadata, JSON.stringify({ accounts: 'nope' }));
    expect(await store().readOrgMetadata()).toBeUndefined();
  });

  it('ignores an org/metadata.json that is not JSON (truncated write) instead of failing the digest', async () => {
    memory().putRaw(S3_LAYOUT.orgMetadata, '{"fetchedAt":"2026-11-21T00:00:00Z","accounts":[');
    expect(await store().readOrgMetadata()).toBeUndefined();
  });

  it('reads back what it wrote, and nothing when there is no cache', async () => {
    expect(await store().readOrgMetadata()).toBeUndefined();
    const metadata = sampleOrganization(NOW).metadata;
    await store().writeOrgMetadata(metadata);
    expect(await store().readOrgMetadata()).toEqual(metadata);
  });
});
