/**
 * The shape of summary.json's `delta` (docs/ARCHITECTURE.md §6): what changed since the previous run. Its own
 * module so that core/summary.ts (which embeds it) and core/delta.ts (which computes it from a summary)
 * do not import each other.
 */
import type { CoverageReason, CoverageStatus } from './types';
import type { FindingId, Severity } from './finding-ids';

export interface UserRef {
  readonly accountId: string;
  readonly userName: string;
}

export interface KeyRef extends UserRef {
  readonly accessKeyId?: string;
  readonly keySlot?: number;
}

export interface FindingChange extends KeyRef {
  readonly finding: FindingId;
  /** FINDING_SEVERITY of the finding: the lists are ordered by it (docs/ARCHITECTURE.md §6 "Run state"). */
  readonly severity: Severity;
  /**
   * When the finding was first seen open on this user or key: this run's time for a new finding; for a
   * resolved one the previous run's state (read from CSVs only: the previous run's time, a lower bound).
   */
  readonly firstSeen?: string;
  /** Whole days from `firstSeen` to this run: 0 for a new finding, how long a resolved one stayed open. */
  readonly ageDays?: number;
}

/**
 * A count plus the first `DELTA_LIST_LIMIT` items (in output order: accounts ascending, rows in report
 * order; the finding lists most severe first, then by account, then in output order).
 */
export interface DeltaList<T> {
  readonly count: number;
  readonly items: readonly T[];
}

export interface FindingDelta extends DeltaList<FindingChange> {
  /** Per finding id: how many users and keys gained (or lost) it. Ids without change are left out. */
  readonly byFinding: Partial<Record<FindingId, { readonly users: number; readonly keys: number }>>;
}

export interface StoppedReporting {
  readonly accountId: string;
  readonly accountName?: string;
  readonly status: CoverageStatus;
  readonly reason?: CoverageReason;
  readonly detail?: string;
}

export interface Delta {
  readonly previousGeneratedAt?: string;
  readonly newUsers: DeltaList<UserRef>;
  /** Users gone from accounts that still have a report this run (accounts without one are not counted). */
  readonly removedUsers: DeltaList<UserRef>;
  /** Keys lists stay empty when the previous access-keys.csv was not given. */
  readonly newKeys: DeltaList<KeyRef>;
  readonly removedKeys: DeltaList<KeyRef>;
  /** Findings a user or key has now and did not have (new users' and keys' findings included). */
  readonly newFindings: FindingDelta;
  /** Findings a user or key had and no longer has (removed users' and keys' findings included). */
  readonly resolvedFindings: FindingDelta;
  readonly accountsStoppedReporting: DeltaList<StoppedReporting>;
}
