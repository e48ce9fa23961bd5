/**
 * The one coverage verdict (docs/ARCHITECTURE.md §12): whether a run's outputs are the whole picture. summary.json's
 * `coverage`, the digest Lambda's result (and so `credreport run`), and the exit status of `merge`, `collect`
 * and `run` all derive from {@link coverageVerdict}; staleness anywhere is {@link isStale}.
 */
import type { CoverageEntry } from './types';

/** The counts a verdict is made of (summary.json's `coverage` without the derived fields, or all of it). */
export interface CoverageCounts {
  /** Accounts expected to report. */
  readonly expected: number;
  /** Expected accounts with a fresh report. */
  readonly reporting: number;
  /** Expected accounts whose newest usable report is stale. */
  readonly stale: number;
  /** Accounts with a fresh report that were not expected. */
  readonly unexpected?: number;
  /** Problems that name no account (e.g. an input file without an account id); absent in older summaries. */
  readonly unattributed?: number;
  /** One per account that is not fully covered (see {@link CoverageVerdict.missing}). */
  readonly entries: readonly Pick<CoverageEntry, 'accountId'>[];
}

/** The verdict on a run's coverage. */
export interface CoverageVerdict {
  /** Nothing missing and no problem without an account: the outputs are the whole picture. */
  readonly complete: boolean;
  readonly expected: number;
  readonly reporting: number;
  /**
   * Accounts not fully covered: never reported + stale + rejected + incomplete (assembly incomplete,
   * collection failed, unreadable), an account whose newer attempt failed while an older fresh report is
   * still used included. The accounts of `coverage.entries`.
   */
  readonly missing: number;
  /** Of `missing`, the expected accounts whose newest usable report is stale. */
  readonly stale: number;
  readonly unexpected: number;
  /** Problems that name no account; any makes the run incomplete. */
  readonly unattributed: number;
}

/**
 * A report is stale when it was generated more than `staleHours` before `now`; exactly `staleHours` old is
 * still fresh. A time that does not parse is stale (nothing proves it fresh).
 */
export function isStale(report: { readonly generatedTime: string }, now: Date, staleHours: number): boolean {
  const ageMs = now.getTime() - Date.parse(report.generatedTime);
  return !(ageMs <= staleHours * 3_600_000);
}

/**
 * The coverage status of an account whose report was written, decided by {@link isStale} alone: the one
 * decision behind summary.json's per-account `status` and the `report_status` cell of each of its rows.
 */
export function reportCoverageStatus(
  generatedTime: string,
  now: Date,
  staleHours: number,
): 'reporting' | 'stale' {
  return isStale({ generatedTime }, now, staleHours) ? 'stale' : 'reporting';
}

/** `1 hour`, `26 hours`. */
export function hoursText(hours: number): string {
  return hours === 1 ? '1 hour' : `${hours} hours`;
}

/** A duration as whole hours below two days, else whole days: `5 hours`, `3 days`. */
export function ageText(ms: number): string {
  const hours = Math.floor(Math.max(0, ms) / 3_600_000);
  return hours < 48 ? hoursText(hours) : `${Math.floor(hours / 24)} days`;
}

/**
 * The `report_status` cell of every row an account's report gives (the three CSVs, docs/ARCHITECTURE.md §6):
 * `current` when the report is fresh ({@link reportCoverageStatus} `reporting`), else `stale (3 days)`, its
 * age when the run was made (`stale` alone when its time does not parse).
 */
export function reportStatusCell(generatedTime: string, now: Date, staleHours: number): string {
  if (reportCoverageStatus(generatedTime, now, staleHours) === 'reporting') return 'current';
  const ageMs = now.getTime() - Date.parse(generatedTime);
  return Number.isNaN(ageMs) ? 'stale' : `stale (${ageText(ageMs)})`;
}

/**
 * The verdict from the counts (pure; re-deriving it from a summary's `coverage` gives the same verdict).
 * Complete iff no account is missing (never reported, stale, rejected or incomplete) and no problem is
 * unattributed — the rule documented for `credreport collect` (exit status 3 otherwise).
 */
export function coverageVerdict(coverage: CoverageCounts): CoverageVerdict {
  const missing = new Set(coverage.entries.map((e) => e.accountId)).size;
  const unattributed = coverage.unattributed ?? 0;
  return {
    complete: missing === 0 && unattributed === 0,
    expected: coverage.expected,
    reporting: coverage.reporting,
    missing,
    stale: coverage.stale,
    unexpected: coverage.unexpected ?? 0,
    unattributed,
  };
}
