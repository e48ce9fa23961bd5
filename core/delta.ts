/**
 * What changed since the previous run: users and keys that appeared or went away, findings that
 * appeared or were resolved, accounts that stopped reporting. The previous run is read back from its
 * own CSVs (streamed; one map entry per user and per key holding a finding bitmask), so nothing but the
 * files runMerge wrote is needed.
 *
 * Identity: a user is `account + user name`, a key is `account + user + access key id`, or, when the
 * key id is unknown (root keys, reports merged without a key inventory), `+ slot + creation time`: a key
 * replaced in the same slot (a rotated root key) is a new key, not the old one. User names are compared
 * in their written (neutralised) form on both sides, so a user called `=x` matches its own row `'=x` from
 * the previous CSV.
 */
import { neutraliseCell } from './csv-safety';
import { FINDING_IDS, FINDING_INDEX, FINDING_SEVERITY, findingMask, severityRank } from './finding-ids';
import type { FindingId } from './finding-ids';
import type {
  FindingChange,
  FindingDelta,
  Delta,
  DeltaList,
  KeyRef,
  StoppedReporting,
  UserRef,
} from './delta-types';
import { Heap, type Summary } from './summary';
import { wholeDaysBetweenMs } from './time';

/** The previous run, reduced to what the delta needs. Built by readPreviousRun (core/previous-run.ts). */
export interface PreviousRun {
  /** `generatedAt` of the previous summary, when it was given. */
  readonly generatedAt?: string;
  /** `account \t user` → bitmask of the user's findings (bit i = FINDING_IDS[i]). */
  readonly users: Map<string, number>;
  /** `account \t user \t keyId-or-slotN@created` → bitmask of the key's findings; absent when access-keys.csv was not given. */
  readonly keys?: Map<string, number>;
  /** Accounts with rows in the previous credential-report.csv. */
  readonly accounts: ReadonlySet<string>;
  /** Accounts that were reporting (from the previous summary; else every account with rows). */
  readonly reportingAccounts: ReadonlySet<string>;
  /**
   * Identity (as in `users` / `keys`) → when each of its findings was first seen (ISO), from the previous
   * run's state file. Absent when the previous run has none (read from its CSVs): a finding that was open
   * then counts from the previous run's `generatedAt`, the latest time it is known to have been open.
   */
  readonly firstSeen?: ReadonlyMap<string, Readonly<Partial<Record<FindingId, string>>>>;
}

export type {
  Delta,
  DeltaList,
  FindingChange,
  FindingDelta,
  KeyRef,
  StoppedReporting,
  UserRef,
} from './delta-types';

/** Items kept per delta list. */
export const DELTA_LIST_LIMIT = 100;

/** Marks previous entries matched in the current run (cleared again at the end). */
const SEEN = 1 << 30;

export function userIdentity(accountId: string, userCell: string): string {
  return `${accountId}\t${userCell}`;
}

export function keyIdentity(
  accountId: string,
  userCell: string,
  accessKeyId: string,
  slot: string,
  created: string,
): string {
  return `${accountId}\t${userCell}\t${accessKeyId !== '' ? accessKeyId : `slot${slot}@${created}`}`;
}

class ListBuilder<T> {
  count = 0;
  readonly items: T[] = [];
  constructor(private readonly limit: number) {}
  add(item: () => T): void {
    if (this.items.length < this.limit) this.items.push(item());
    this.count++;
  }
  done(): DeltaList<T> {
    return { count: this.count, items: this.items };
  }
}

interface RankedChange {
  readonly change: FindingChange;
  readonly rank: number;
  readonly seq: number;
}

/** `a` comes before `b` in a finding list: more severe, then the lower account id, then output order. */
function listedBefore(a: RankedChange, b: RankedChange): boolean {
  if (a.rank !== b.rank) return a.rank < b.rank;
  if (a.change.accountId !== b.change.accountId) return a.change.accountId < b.change.accountId;
  return a.seq < b.seq;
}

/**
 * New or resolved findings: every change counted, the first `limit` in list order kept (new critical and
 * high findings first, docs/ARCHITECTURE.md §6 "Digest"), each dated by `firstSeen(identity, finding)`.
 * A bounded heap keeps the memory at `limit` items whatever the number of changes.
 */
class FindingDeltaBuilder {
  private count = 0;
  private readonly users = new Array<number>(FINDING_IDS.length).fill(0);
  private readonly keys = new Array<number>(FINDING_IDS.length).fill(0);
  /** Top: the kept change that comes last in list order (the first to give way). */
  private readonly kept = new Heap<RankedChange>((a, b) => listedBefore(b, a));

  constructor(
    private readonly limit: number,
    private readonly nowMs: number,
    private readonly firstSeen: (identity: string, finding: FindingId) => string | undefined,
  ) {}

  addMask(mask: number, ref: KeyRef, scope: 'user' | 'key', identity: string): void {
    if (mask === 0) return;
    const counts = scope === 'user' ? this.users : this.keys;
    for (let i = 0; i < FINDING_IDS.length; i++) {
      if (!(mask & (1 << i))) continue;
      counts[i]!++;
      const finding = FINDING_IDS[i] as FindingId;
      const severity = FINDING_SEVERITY[finding];
      const seq = this.count++;
      if (this.limit <= 0) continue;
      const probe = { change: { ...ref, finding, severity }, rank: severityRank(severity), seq };
      const last = this.kept.peek();
      if (this.kept.size >= this.limit && (!last || !listedBefore(probe, last))) continue;
      const seen = this.firstSeen(identity, finding);
      const seenMs = seen === undefined ? Number.NaN : Date.parse(seen);
      const ranked: RankedChange = {
        ...probe,
        change: {
          ...probe.change,
          ...(seen !== undefined ? { firstSeen: seen } : {}),
          ...(Number.isNaN(seenMs) ? {} : { ageDays: wholeDaysBetweenMs(seenMs, this.nowMs) }),
        },
      };
      if (this.kept.size < this.limit) this.kept.push(ranked);
      else this.kept.replaceTop(ranked);
    }
  }

  finish(): FindingDelta {
    const byFinding: Partial<Record<FindingId, { users: number; keys: number }>> = {};
    FINDING_IDS.forEach((id, i) => {
      const users = this.users[i] ?? 0;
      const keys = this.keys[i] ?? 0;
      if (users + keys > 0) byFinding[id] = { users, keys };
    });
    const items = this.kept
      .drain()
      .reverse()
      .map((r) => r.change);
    return { count: this.count, items, byFinding };
  }
}

function splitIdentity(identity: string): KeyRef {
  const [accountId = '', userName = '', key = ''] = identity.split('\t');
  if (key === '') return { accountId, userName };
  if (!key.startsWith('slot')) return { accountId, userName, accessKeyId: key };
  const at = key.indexOf('@');
  const slot = key.slice(4, at < 0 ? undefined : at);
  return { accountId, userName, ...(slot !== '' ? { keySlot: Number(slot) } : {}) };
}

/** ISO text of a time (new findings are first seen at the run's time). */
const nowIso = (ms: number): string => new Date(ms).toISOString();

/** The six lists of one delta (the whole run's, or one partition's). */
class DeltaLists {
  readonly newUsers: ListBuilder<UserRef>;
  readonly removedUsers: ListBuilder<UserRef>;
  readonly newKeys: ListBuilder<KeyRef>;
  readonly removedKeys: ListBuilder<KeyRef>;
  readonly newFindings: FindingDeltaBuilder;
  readonly resolvedFindings: FindingDeltaBuilder;
  readonly stopped: ListBuilder<StoppedReporting>;
  constructor(
    limit: number,
    nowMs: number,
    firstSeenOf: (identity: string, finding: FindingId) => string | undefined,
  ) {
    this.newUsers = new ListBuilder(limit);
    this.removedUsers = new ListBuilder(limit);
    this.newKeys = new ListBuilder(limit);
    this.removedKeys = new ListBuilder(limit);
    this.newFindings = new FindingDeltaBuilder(limit, nowMs, () => nowIso(nowMs));
    this.resolvedFindings = new FindingDeltaBuilder(limit, nowMs, firstSeenOf);
    this.stopped = new ListBuilder(limit);
  }

  done(previousGeneratedAt: string | undefined): Delta {
    return {
      ...(previousGeneratedAt ? { previousGeneratedAt } : {}),
      newUsers: this.newUsers.done(),
      removedUsers: this.removedUsers.done(),
      newKeys: this.newKeys.done(),
      removedKeys: this.removedKeys.done(),
      newFindings: this.newFindings.finish(),
      resolvedFindings: this.resolvedFindings.finish(),
      accountsStoppedReporting: this.stopped.done(),
    };
  }
}

/** How a {@link DeltaTracker} splits the run into partitions (the accounts of each owner). */
export interface DeltaPartitions {
  /** The partition of an account, or undefined when it belongs to none. */
  readonly of: (accountId: string) => string | undefined;
  /** Items kept per list of one partition. @default the tracker's limit */
  readonly limit?: number;
}

/**
 * Compares the current run, row by row as runMerge writes it, with the previous run. Uses the
 * previous run's maps in place (marking matched entries) and restores them in {@link finish}. With
 * `partitions`, every change is also counted in its account's partition ({@link partitionDeltas}).
 */
export class DeltaTracker {
  private readonly all: DeltaLists;
  private readonly parts = new Map<string, DeltaLists>();
  private partitionDeltaMap?: Map<string, Delta>;
  private readonly nowMs: number;

  /** A delta's lists: new findings first seen now, resolved ones since they were first seen. */
  private lists(limit: number): DeltaLists {
    return new DeltaLists(
      limit,
      this.nowMs,
      (identity, finding) => this.previous.firstSeen?.get(identity)?.[finding] ?? this.previous.generatedAt,
    );
  }

  constructor(
    private readonly previous: PreviousRun,
    now: Date,
    private readonly limit = DELTA_LIST_LIMIT,
    private readonly partitions?: DeltaPartitions,
  ) {
    this.nowMs = now.getTime();
    this.all = this.lists(limit);
  }

  /** Runs `fn` on the whole run's lists and on the account's partition's, if any. */
  private each(accountId: string, fn: (lists: DeltaLists) => void): void {
    fn(this.all);
    const key = this.partitions?.of(accountId);
    if (key === undefined) return;
    let lists = this.parts.get(key);
    if (!lists) this.parts.set(key, (lists = this.lists(this.partitions?.limit ?? this.limit)));
    fn(lists);
  }

  /** Identity and previous mask of the last user or key given to {@link user} / {@link key} (for {@link firstSeen}). */
  private lastIdentity = '';
  private lastBefore: number | undefined;

  /**
   * When `finding` of the last user or key given to {@link user} / {@link key} was first seen: from the
   * previous state, else the previous run's time when it was open then; undefined when it is new.
   */
  firstSeen(finding: FindingId): string | undefined {
    const before = this.lastBefore;
    if (before === undefined || (before & (1 << FINDING_INDEX[finding])) === 0) return undefined;
    return this.previous.firstSeen?.get(this.lastIdentity)?.[finding] ?? this.previous.generatedAt;
  }

  /** One row of the current credential-report.csv; `userName` as the raw report cell. */
  user(accountId: string, userName: string, findings: readonly FindingId[]): void {
    const cell = neutraliseCell(userName);
    const identity = userIdentity(accountId, cell);
    const mask = findingMask(findings);
    const before = this.previous.users.get(identity);
    this.lastIdentity = identity;
    this.lastBefore = before === undefined ? undefined : before & ~SEEN;
    const ref = { accountId, userName: cell };
    if (before === undefined) {
      this.each(accountId, (l) => {
        l.newUsers.add(() => ref);
        l.newFindings.addMask(mask, ref, 'user', identity);
      });
      return;
    }
    this.previous.users.set(identity, before | SEEN);
    this.each(accountId, (l) => {
      l.newFindings.addMask(mask & ~before, ref, 'user', identity);
      l.resolvedFindings.addMask(before & ~mask & ~SEEN, ref, 'user', identity);
    });
  }

  /** One row of the current access-keys.csv; `created` as its `created` cell. */
  key(
    accountId: string,
    userName: string,
    accessKeyId: string,
    slot: string,
    created: string,
    findings: readonly FindingId[],
  ): void {
    const keys = this.previous.keys;
    this.lastBefore = undefined;
    if (!keys) return;
    const cell = neutraliseCell(userName);
    const identity = keyIdentity(accountId, cell, accessKeyId, slot, neutraliseCell(created));
    const mask = findingMask(findings);
    const before = keys.get(identity);
    this.lastIdentity = identity;
    this.lastBefore = before === undefined ? undefined : before & ~SEEN;
    const ref: KeyRef = {
      accountId,
      userName: cell,
      ...(accessKeyId !== '' ? { accessKeyId } : {}),
      ...(slot !== '' ? { keySlot: Number(slot) } : {}),
    };
    if (before === undefined) {
      this.each(accountId, (l) => {
        l.newKeys.add(() => ref);
        l.newFindings.addMask(mask, ref, 'key', identity);
      });
      return;
    }
    keys.set(identity, before | SEEN);
    this.each(accountId, (l) => {
      l.newFindings.addMask(mask & ~before, ref, 'key', identity);
      l.resolvedFindings.addMask(before & ~mask & ~SEEN, ref, 'key', identity);
    });
  }

  /**
   * Closes the comparison. `currentAccounts`: accounts with rows this run (only their missing users and
   * keys count as removed); `summary`: this run's summary, for accounts that stopped reporting.
   */
  finish(currentAccounts: ReadonlySet<string>, summary: Pick<Summary, 'byAccount' | 'coverage'>): Delta {
    for (const [identity, value] of this.previous.users) {
      if (value & SEEN) {
        this.previous.users.set(identity, value & ~SEEN);
        continue;
      }
      const ref = splitIdentity(identity);
      if (!currentAccounts.has(ref.accountId)) continue;
      this.each(ref.accountId, (l) => {
        l.removedUsers.add(() => ref);
        l.resolvedFindings.addMask(value, ref, 'user', identity);
      });
    }
    for (const [identity, value] of this.previous.keys ?? []) {
      if (value & SEEN) {
        this.previous.keys?.set(identity, value & ~SEEN);
        continue;
      }
      const ref = splitIdentity(identity);
      if (!currentAccounts.has(ref.accountId)) continue;
      this.each(ref.accountId, (l) => {
        l.removedKeys.add(() => ref);
        l.resolvedFindings.addMask(value, ref, 'key', identity);
      });
    }

    const byId = new Map(summary.byAccount.map((a) => [a.accountId, a]));
    const entryById = new Map(summary.coverage.entries.map((e) => [e.accountId, e]));
    for (const accountId of [...this.previous.reportingAccounts].sort()) {
      const now = byId.get(accountId);
      if (now?.status === 'reporting') continue;
      const entry = entryById.get(accountId);
      const item: StoppedReporting = {
        accountId,
        ...(now?.accountName !== undefined ? { accountName: now.accountName } : {}),
        status: now?.status ?? entry?.status ?? 'missing',
        ...(entry?.reason ? { reason: entry.reason } : {}),
        ...(entry?.detail
          ? { detail: entry.detail }
          : now
            ? {}
            : { detail: 'no longer expected and no report' }),
      };
      this.each(accountId, (l) => l.stopped.add(() => item));
    }

    const at = this.previous.generatedAt;
    this.partitionDeltaMap = new Map([...this.parts.entries()].map(([key, lists]) => [key, lists.done(at)]));
    return this.all.done(at);
  }

  /**
   * The delta of each partition that had a change (after {@link finish}); a partition without an entry
   * had none (use {@link emptyDelta}).
   */
  partitionDeltas(): ReadonlyMap<string, Delta> {
    return this.partitionDeltaMap ?? new Map();
  }

  /** The delta of a partition in which nothing changed. */
  emptyDelta(): Delta {
    return this.lists(0).done(this.previous.generatedAt);
  }
}
