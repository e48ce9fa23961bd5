/**
 * The keys of incoming/ (docs/ARCHITECTURE.md §5): one object per part of one collection of a report,
 * `incoming/<account>/<reportId>/<sha256>/part-<n>-of-<parts>`. Pure: parsing those keys and grouping
 * them into part sets, so the store only lists and the rules are tested without S3.
 */
import { S3_LAYOUT } from './names';

/** One stored part, as listed. */
export interface StoredPartRef {
  readonly key: string;
  readonly part: number;
  readonly parts: number;
}

/** A part set under incoming/ that never completed. */
export interface IncompletePartSet {
  readonly accountId: string;
  readonly reportId: string;
  readonly parts: number;
  readonly received: number;
  readonly lastModified?: Date;
}

/** A listed object: its key and, when known, when it was written. */
export interface ListedKey {
  readonly key: string;
  readonly lastModified?: Date;
}

const PART_KEY = /\/part-(\d+)-of-(\d+)$/;
const INCOMING_PART_KEY = /^incoming\/([^/]+)\/([^/]+)\/([0-9a-f]{64})\/part-(\d+)-of-(\d+)$/;

/** The prefix of S3_LAYOUT.incomingPart holding the parts of one collection of a report. */
export function incomingPartsPrefix(accountId: string, reportId: string, sha256: string): string {
  return `${S3_LAYOUT.incomingPrefix}${accountId}/${reportId}/${sha256}/`;
}

/** The listed keys that are parts, sorted by part count, then part number; other keys are ignored. */
export function partRefsOf(listed: readonly ListedKey[]): StoredPartRef[] {
  return listed
    .flatMap((o) => {
      const m = PART_KEY.exec(o.key);
      return m ? [{ key: o.key, part: Number(m[1]), parts: Number(m[2]) }] : [];
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

/**
 * Part sets whose parts are not all present, from a listing of incoming/: one entry per collection
 * (reportId + sha256 + part count), leaving out every report for which some collection is complete.
 */
export function incompletePartSets(listed: readonly ListedKey[]): IncompletePartSet[] {
  const sets = new Map<
    string,
    { accountId: string; reportId: string; parts: number; seen: Set<number>; last?: Date }
  >();
  for (const o of listed) {
    const m = INCOMING_PART_KEY.exec(o.key);
    if (!m) continue;
    const [, accountId = '', reportId = '', sha256 = '', part = '', parts = ''] = m;
    const id = `${accountId}/${reportId}/${sha256}/${parts}`;
    let set = sets.get(id);
    if (!set) sets.set(id, (set = { accountId, reportId, parts: Number(parts), seen: new Set() }));
    set.seen.add(Number(part));
    if (o.lastModified && (!set.last || o.lastModified > set.last)) set.last = o.lastModified;
  }
  // A report collected twice, or resent with another part count, may leave an incomplete set beside a
  // complete one: the complete one was assembled, so the report is not incomplete.
  const complete = new Set(
    [...sets.values()].filter((s) => s.seen.size >= s.parts).map((s) => `${s.accountId}/${s.reportId}`),
  );
  return [...sets.values()]
    .filter((s) => s.seen.size < s.parts && !complete.has(`${s.accountId}/${s.reportId}`))
    .map((s) => ({
      accountId: s.accountId,
      reportId: s.reportId,
      parts: s.parts,
      received: s.seen.size,
      ...(s.last ? { lastModified: s.last } : {}),
    }));
}
