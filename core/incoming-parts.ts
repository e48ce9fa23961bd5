/**
 * The keys of incoming/ (docs/ARCHITECTURE.md §5): one object per part of one collection of a report,
 * `incoming/<account>/<reportId>/<sha256>/part-<n>-of-<parts>`. Pure: parsing those keys and grouping
 * them into part sets, so the store only lists and the rules are tested without S3.
 */
import { CredreportError } from './errors';
import { MAX_PARTS } from './event-contract';
import { S3_LAYOUT } from './names';

/** One stored part, as listed. */
export interface StoredPartRef {
  readonly key: string;
  readonly part: number;
  readonly parts: number;
  /** Bytes of the stored object (ListObjectsV2 `Size`), known before its body is read. */
  readonly size: number;
}

/** A part set under incoming/ that never completed. */
export interface IncompletePartSet {
  readonly accountId: string;
  readonly reportId: string;
  readonly parts: number;
  readonly received: number;
  readonly lastModified?: Date;
}

/**
 * How many incomplete part sets of one account a listing of incoming/ keeps (the newest ones): the digest
 * shows the newest, and the rest are only counted, so the listing's memory does not grow with a flood of
 * sets (docs/ARCHITECTURE.md §5, §11).
 */
export const INCOMPLETE_SETS_KEPT_PER_ACCOUNT = 3;

/** The incomplete part sets of one account in a listing of incoming/. */
export interface AccountIncompleteSets {
  readonly accountId: string;
  /** Every incomplete set of the account that the listing held. */
  readonly count: number;
  /** The newest of them (by last write; a set without a time counts as oldest), newest first. */
  readonly newest: readonly IncompletePartSet[];
}

/** A listed object: its key and, when known, when it was written and its size. */
export interface ListedKey {
  readonly key: string;
  readonly lastModified?: Date;
  readonly size?: number;
}

const PART_KEY = /\/part-(\d+)-of-(\d+)$/;
const INCOMING_PART_KEY = /^incoming\/([^/]+)\/([^/]+)\/([0-9a-f]{64})\/part-(\d+)-of-(\d+)$/;

/** The prefix of S3_LAYOUT.incomingPart holding the parts of one collection of a report. */
export function incomingPartsPrefix(accountId: string, reportId: string, sha256: string): string {
  return `${S3_LAYOUT.incomingPrefix}${accountId}/${reportId}/${sha256}/`;
}

/** The listed keys that are parts, sorted by part count, then part number; other keys are ignored. */
export function partRefsOf(listed: readonly (ListedKey & { readonly size: number })[]): StoredPartRef[] {
  return listed
    .flatMap((o) => {
      const m = PART_KEY.exec(o.key);
      return m ? [{ key: o.key, part: Number(m[1]), parts: Number(m[2]), size: o.size }] : [];
    })
    .sort((a, b) => a.parts - b.parts || a.part - b.part);
}

/**
 * The open (not yet complete) part sets in a listing, as `<reportId>/<sha256>` ids: what the per-account
 * cap on open part sets counts (docs/ARCHITECTURE.md §11).
 */
export function openPartSetIds(listed: readonly ListedKey[]): Set<string> {
  const sets = new Map<string, { parts: number; seen: Set<number> }>();
  for (const o of listed) {
    const m = INCOMING_PART_KEY.exec(o.key);
    if (!m) continue;
    const [, , reportId = '', sha256 = '', part = '', parts = ''] = m;
    const id = `${reportId}/${sha256}`;
    let set = sets.get(id);
    if (!set) sets.set(id, (set = { parts: Number(parts), seen: new Set() }));
    set.seen.add(Number(part));
  }
  return new Set([...sets].filter(([, s]) => s.seen.size < s.parts).map(([id]) => id));
}

/** Keys were fed to an {@link IncompletePartSetGrouper} out of lexicographic order. */
export class ListingOrderError extends CredreportError {}

/** `a` was written after `b` (a set without a time is the oldest). */
const newer = (a: IncompletePartSet, b: IncompletePartSet): boolean =>
  a.lastModified !== undefined && (b.lastModified === undefined || a.lastModified > b.lastModified);

/** `list` (newest first, at most `keep`) with `set` put in its place, or unchanged if `set` is older. */
function keepNewest(list: IncompletePartSet[], set: IncompletePartSet, keep: number): void {
  const at = list.findIndex((s) => newer(set, s));
  if (at >= 0) list.splice(at, 0, set);
  else list.push(set);
  if (list.length > keep) list.length = keep;
}

/**
 * Groups a listing of incoming/ into incomplete part sets as it is fed, one key at a time, in the order
 * S3 lists them (lexicographic), so the digest lists page by page with memory independent of the number
 * of objects (docs/ARCHITECTURE.md §5). All parts of one report (`<account>/<reportId>/`) and of one
 * collection (`…/<sha256>/`) are contiguous in that order: the grouper holds only the current report
 * and collection, and settles each when the next one begins. Per account it keeps the count of
 * incomplete sets and the newest `keep` of them.
 *
 * A set is one collection (sha256) with one part count; a report of which some set is complete was
 * assembled, so none of its sets is incomplete (a report collected twice, or resent with another part
 * count, may leave an incomplete set beside the complete one).
 */
export class IncompletePartSetGrouper {
  private lastKey: string | undefined;
  private report:
    | { accountId: string; reportId: string; complete: boolean; count: number; newest: IncompletePartSet[] }
    | undefined;
  private collection: { sha256: string; totals: Map<number, { seen: Set<number>; last?: Date }> } | undefined;
  private readonly accounts = new Map<string, { count: number; newest: IncompletePartSet[] }>();

  /** @param keep incomplete sets kept per account, newest first (the rest are counted). */
  constructor(private readonly keep: number = INCOMPLETE_SETS_KEPT_PER_ACCOUNT) {
    if (!Number.isInteger(keep) || keep < 1) {
      throw new RangeError(`IncompletePartSetGrouper: keep must be a positive integer, got ${keep}`);
    }
  }

  /** Feeds the next listed object; keys must come in lexicographic order (as ListObjectsV2 lists). */
  add(listed: ListedKey): void {
    if (this.lastKey !== undefined && listed.key < this.lastKey) {
      throw new ListingOrderError(
        `incoming/ listing out of order: ${JSON.stringify(listed.key)} after ${JSON.stringify(this.lastKey)}`,
      );
    }
    this.lastKey = listed.key;
    const m = INCOMING_PART_KEY.exec(listed.key);
    if (!m) return;
    const [, accountId = '', reportId = '', sha256 = '', partText = '', partsText = ''] = m;
    const part = Number(partText);
    const parts = Number(partsText);
    // Ingest writes only keys of valid parts; any other could never complete a set.
    if (part < 1 || part > parts || parts > MAX_PARTS) return;

    if (this.report?.accountId !== accountId || this.report.reportId !== reportId) {
      this.settleReport();
      this.report = { accountId, reportId, complete: false, count: 0, newest: [] };
    }
    if (this.collection?.sha256 !== sha256) {
      this.settleCollection();
      this.collection = { sha256, totals: new Map() };
    }
    let total = this.collection.totals.get(parts);
    if (!total) this.collection.totals.set(parts, (total = { seen: new Set() }));
    total.seen.add(part);
    const at = listed.lastModified;
    if (at && (!total.last || at > total.last)) total.last = at;
  }

  /** Settles the last report and returns every account with incomplete sets, by account id. */
  finish(): AccountIncompleteSets[] {
    this.settleReport();
    return [...this.accounts]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([accountId, a]) => ({ accountId, count: a.count, newest: a.newest }));
  }

  private settleCollection(): void {
    const { report, collection } = this;
    this.collection = undefined;
    if (!report || !collection || report.complete) return;
    for (const [parts, total] of collection.totals) {
      if (total.seen.size >= parts) {
        report.complete = true;
        report.newest = [];
        return;
      }
      report.count++;
      keepNewest(
        report.newest,
        {
          accountId: report.accountId,
          reportId: report.reportId,
          parts,
          received: total.seen.size,
          ...(total.last ? { lastModified: total.last } : {}),
        },
        this.keep,
      );
    }
  }

  private settleReport(): void {
    this.settleCollection();
    const { report } = this;
    this.report = undefined;
    if (!report || report.complete || report.count === 0) return;
    let account = this.accounts.get(report.accountId);
    if (!account) this.accounts.set(report.accountId, (account = { count: 0, newest: [] }));
    account.count += report.count;
    for (const set of report.newest) keepNewest(account.newest, set, this.keep);
  }
}
