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
