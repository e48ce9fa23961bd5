/**
 * incoming/ of the hub bucket (docs/ARCHITECTURE.md §5): the parts of each collection of a report until
 * they are all present, `incoming/<account>/<reportId>/<sha256>/part-<n>-of-<parts>`.
 *
 * EventBridge delivers at least once, in any order (§4). IAM reuses a generated report for 4 hours, so
 * two collections can share a reportId while their payloads differ; the sha256 of the payload keeps
 * their parts apart, so they never mix and each assembles on its own. A part is created with
 * `If-None-Match: *`: a duplicate delivery gets 412 and is a no-op, so no lock is needed (§12).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { mapLimit, retry } from '../core/concurrency';
import { PartDetail, parsePartDetail } from '../core/event-contract';
import {
  AccountIncompleteSets,
  IncompletePartSetGrouper,
  StoredPartRef,
  incomingPartsPrefix,
  openPartSetIds,
  partRefsOf,
} from '../core/incoming-parts';
import { S3_LAYOUT } from '../core/names';
import {
  CONTENT_TYPES,
  ConditionalWriteOptions,
  S3Bucket,
  StoreError,
  StoreOptions,
  conditionalFailure,
  conditionalRetry,
} from './s3';

export type { AccountIncompleteSets, IncompletePartSet, StoredPartRef } from '../core/incoming-parts';

export type PutPartOutcome =
  /** First copy of this part. */
  | 'stored'
  /** The same part of the same collection was already there, byte for byte (duplicate delivery). */
  | 'duplicate'
  /** The slot already holds a different payload for the same collection and part number. */
  | 'conflict';

/** How the incoming store is built. */
export interface IncomingStoreOptions extends StoreOptions, ConditionalWriteOptions {}

/** The parts under incoming/. */
export class IncomingStore {
  private readonly bucket: S3Bucket;

  constructor(
    s3: S3Client,
    private readonly opts: IncomingStoreOptions,
  ) {
    this.bucket = new S3Bucket(s3, opts);
  }

  /** The prefix holding the parts of one collection of a report. */
  partsPrefix(accountId: string, reportId: string, sha256: string): string {
    return incomingPartsPrefix(accountId, reportId, sha256);
  }

  /**
   * Stores one part (idempotent): created with `If-None-Match: *`, so a duplicate delivery gets 412 and
   * changes nothing. The key names the collection (sha256), so another collection of the same report
   * never lands in this part's slot. On 412 the stored copy is compared: a different payload in the same
   * slot is a `conflict`, not a duplicate.
   */
  async putPart(detail: PartDetail): Promise<PutPartOutcome> {
    const key = S3_LAYOUT.incomingPart(
      detail.accountId,
      detail.reportId,
      detail.sha256,
      detail.part,
      detail.parts,
    );
    const what = `part ${detail.part}/${detail.parts} of ${detail.reportId}`;
    const settings = conditionalRetry(this.opts);
    try {
      return await retry(
        async () => {
          try {
            await this.bucket.put({
              Key: key,
              Body: JSON.stringify(detail),
              ContentType: CONTENT_TYPES.json,
              IfNoneMatch: '*',
            });
            return 'stored';
          } catch (error) {
            if (conditionalFailure(error) !== 'precondition-failed') throw error;
            const stored = await this.bucket.getBytes(key);
            // Deleted meanwhile (lifecycle): nothing conflicts; the next delivery stores it again.
            if (!stored) return 'duplicate';
            return samePart(stored.body, detail) ? 'duplicate' : 'conflict';
          }
        },
        // 409: a concurrent write of the same key is in flight; the next attempt sees its outcome.
        { ...settings, retryIf: (error) => conditionalFailure(error) === 'conflict' },
      );
    } catch (error) {
      if (conditionalFailure(error) === 'conflict') {
        throw new StoreError(`Gave up storing ${what} after ${settings.attempts} conflicting writes`, {
          cause: error,
        });
      }
      throw new StoreError(`Could not store ${what}`, { cause: error });
    }
  }

  /**
   * The account's open part sets (`<reportId>/<sha256>`). The listing stays small: the per-account cap
   * keeps the open sets few, and complete ones expire with incoming/'s 7-day lifecycle.
   */
  async openPartSets(accountId: string): Promise<Set<string>> {
    const { contents } = await this.bucket.listAll({ Prefix: `${S3_LAYOUT.incomingPrefix}${accountId}/` });
    return openPartSetIds(contents);
  }

  /**
   * Parts stored for one collection of a report (any `parts` total), sorted by part number, each with
   * its listed size, so a set can be weighed before any body is read (docs/ARCHITECTURE.md §11).
   */
  async listParts(accountId: string, reportId: string, sha256: string): Promise<StoredPartRef[]> {
    const prefix = this.partsPrefix(accountId, reportId, sha256);
    const { contents } = await this.bucket.listAll({ Prefix: prefix });
    const sized = contents.flatMap((o) => (o.size === undefined ? [] : [{ ...o, size: o.size }]));
    if (sized.length < contents.length) {
      // S3 lists every object with its Size; without it the set cannot be weighed, so it is not read.
      throw new StoreError(`Listing of ${this.bucket.url(prefix)} gave objects without a size`);
    }
    return partRefsOf(sized);
  }

  /**
   * Reads and re-validates stored parts (a corrupted one throws ContractError or SyntaxError). The
   * caller weighs the set first (checkStoredPartSetSize), so what is read is bounded; a handful at a time.
   */
  async readParts(refs: readonly StoredPartRef[]): Promise<PartDetail[]> {
    return mapLimit(refs, 8, async (ref) => {
      const got = await this.bucket.getBytes(ref.key);
      if (!got) throw new StoreError(`Part ${ref.key} disappeared while assembling`);
      return parsePartDetail(JSON.parse(got.body.toString('utf8')));
    });
  }

  /**
   * The incomplete part sets under incoming/, per account: how many, and the newest
   * INCOMPLETE_SETS_KEPT_PER_ACCOUNT of them (one entry per collection: reportId + sha256 + part count),
   * leaving out every report for which some collection is complete. Listed page by page through an
   * incremental grouper, so memory depends on the number of accounts, not of objects (§5).
   */
  async listIncompletePartSets(): Promise<AccountIncompleteSets[]> {
    const grouper = new IncompletePartSetGrouper();
    for await (const page of this.bucket.listPages({ Prefix: S3_LAYOUT.incomingPrefix })) {
      for (const o of page.contents) grouper.add(o);
    }
    return grouper.finish();
  }
}

/** The stored part carries the same payload and fields as `detail` (whatever its JSON key order). */
function samePart(body: Buffer, detail: PartDetail): boolean {
  try {
    const stored = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const mine = detail as unknown as Record<string, unknown>;
    const keys = new Set([...Object.keys(stored), ...Object.keys(mine)]);
    return [...keys].every((k) => stored[k] === mine[k]);
  } catch {
    return false;
  }
}
