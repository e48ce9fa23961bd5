/** The stores of the hub bucket, built together for the hub's Lambdas (docs/ARCHITECTURE.md §5). */
import { S3Client } from '@aws-sdk/client-s3';
import { AccountStore, AccountStoreOptions } from './account-store';
import { ExemptionsStore } from './exemptions-store';
import { IncomingStore } from './incoming-store';
import { MetadataCacheStore } from './metadata-cache-store';
import { RemediationStore } from './remediation-store';
import { RunOutputStore } from './run-output-store';

/** One store per prefix of the hub bucket. */
export interface HubStores {
  readonly incoming: IncomingStore;
  readonly accounts: AccountStore;
  readonly outputs: RunOutputStore;
  readonly metadata: MetadataCacheStore;
  readonly exemptions: ExemptionsStore;
  /** remediation/: staged deactivation plans and the agents' audit logs. */
  readonly remediation: RemediationStore;
}

/** Builds every store of one bucket over one injected client. */
export function createHubStores(s3: S3Client, opts: AccountStoreOptions): HubStores {
  return {
    incoming: new IncomingStore(s3, opts),
    accounts: new AccountStore(s3, opts),
    outputs: new RunOutputStore(s3, opts),
    metadata: new MetadataCacheStore(s3, opts),
    exemptions: new ExemptionsStore(s3, opts),
    remediation: new RemediationStore(s3, opts),
  };
}
