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
import { CsvError, parse } from 'csv-parse';
import { neutraliseCell } from './csv-safety';
import { CredreportError } from './errors';
import type { Summary } from './summary';
import { CoverageReason, CoverageStatus, FINDING_IDS, FindingId } from './types';

/** The previous run's files are unreadable or are not files runMerge wrote. */
export class PreviousRunError extends CredreportError {}

/** The previous run, reduced to what the delta needs. Build it with {@link readPreviousRun}. */
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
}

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
}

/** A count plus the first `DELTA_LIST_LIMIT` items (in output order: accounts ascending, rows in report order). */
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

/** Items kept per delta list. */
export const DELTA_LIST_LIMIT = 100;

const FINDING_BIT = new Map<string, number>(FINDING_IDS.map((id, i) => [id, 1 << i]));
/** Marks previous entries matched in the current run (cleared again at the end). */
const SEEN = 1 << 30;

/** Finding ids → bitmask; unknown ids (from a newer version) are ignored. */
export function findingMask(findings: Iterable<string>): number {
  let mask = 0;
  for (const id of findings) mask |= FINDING_BIT.get(id) ?? 0;
  return mask;
}

function maskFromCell(cell: string): number {
  return cell === '' ? 0 : findingMask(cell.split(';'));
}

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

async function* records(stream: NodeJS.ReadableStream, file: string): AsyncGenerator<string[]> {
  const parser = parse({ bom: true, skip_empty_lines: true });
  stream.on('error', (cause: unknown) =>
    parser.destroy(
      new PreviousRunError(
        `reading ${file} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        {
          cause,
        },
      ),
    ),
  );
  stream.pipe(parser);
  try {
    for await (const record of parser) yield record as string[];
  } catch (cause) {
    if (cause instanceof PreviousRunError) throw cause;
    // The code and line, not csv-parse's message: that quotes the offending cell (report contents).
    const where =
      cause instanceof CsvError
        ? ` (${cause.code}, line ${(cause as CsvError & { lines?: number }).lines ?? '?'})`
        : '';
    throw new PreviousRunError(`previous ${file} is not valid CSV${where}`, { cause });
  }
}

function columnIndexes<const C extends string>(
  header: readonly string[],
  file: string,
  columns: readonly C[],
) {
  const index = {} as Record<C, number>;
  for (const column of columns) {
    const i = header.indexOf(column);
    if (i < 0)
      throw new PreviousRunError(`previous ${file} has no '${column}' column: not written by credreport`);
    index[column] = i;
  }
  return index;
}

/**
 * Streams the previous credential-report.csv (and access-keys.csv) as written by runMerge into a
 * {@link PreviousRun}. Throws PreviousRunError when a file is not CSV or lacks a needed column.
 */
export async function readPreviousRun(files: {
  readonly credentialReport: NodeJS.ReadableStream;
  readonly accessKeys?: NodeJS.ReadableStream;
  readonly summary?: Summary;
}): Promise<PreviousRun> {
  const users = new Map<string, number>();
  const accounts = new Set<string>();
  let idx: Record<'account_id' | 'user' | 'findings', number> | undefined;
  for await (const record of records(files.credentialReport, 'credential-report.csv')) {
    if (!idx) {
      idx = columnIndexes(record, 'credential-report.csv', ['account_id', 'user', 'findings'] as const);
      continue;
    }
    const account = record[idx.account_id] ?? '';
    accounts.add(account);
    users.set(userIdentity(account, record[idx.user] ?? ''), maskFromCell(record[idx.findings] ?? ''));
  }
  if (!idx) throw new PreviousRunError('previous credential-report.csv is empty');

  let keys: Map<string, number> | undefined;
  if (files.accessKeys) {
    keys = new Map();
    let kidx:
      | Record<'account_id' | 'user' | 'access_key_id' | 'key_slot' | 'created' | 'findings', number>
      | undefined;
    for await (const record of records(files.accessKeys, 'access-keys.csv')) {
      if (!kidx) {
        kidx = columnIndexes(record, 'access-keys.csv', [
          'account_id',
          'user',
          'access_key_id',
          'key_slot',
          'created',
          'findings',
        ] as const);
        continue;
      }
      const identity = keyIdentity(
        record[kidx.account_id] ?? '',
        record[kidx.user] ?? '',
        record[kidx.access_key_id] ?? '',
        record[kidx.key_slot] ?? '',
        record[kidx.created] ?? '',
      );
      keys.set(identity, maskFromCell(record[kidx.findings] ?? ''));
    }
    if (!kidx) throw new PreviousRunError('previous access-keys.csv is empty');
  }

  const reportingAccounts = files.summary
    ? new Set(files.summary.byAccount.filter((a) => a.status === 'reporting').map((a) => a.accountId))
    : accounts;
  return {
    ...(files.summary ? { generatedAt: files.summary.generatedAt } : {}),
    users,
    ...(keys ? { keys } : {}),
    accounts,
    reportingAccounts,
  };
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

class FindingDeltaBuilder extends ListBuilder<FindingChange> {
  private readonly users = new Array<number>(FINDING_IDS.length).fill(0);
  private readonly keys = new Array<number>(FINDING_IDS.length).fill(0);

  addMask(mask: number, ref: KeyRef, scope: 'user' | 'key'): void {
    if (mask === 0) return;
    const counts = scope === 'user' ? this.users : this.keys;
    for (let i = 0; i < FINDING_IDS.length; i++) {
      if (!(mask & (1 << i))) continue;
      counts[i]!++;
      const finding = FINDING_IDS[i] as FindingId;
      this.add(() => ({ ...ref, finding }));
    }
  }

  finish(): FindingDelta {
    const byFinding: Partial<Record<FindingId, { users: number; keys: number }>> = {};
    FINDING_IDS.forEach((id, i) => {
      const users = this.users[i] ?? 0;
      const keys = this.keys[i] ?? 0;
      if (users + keys > 0) byFinding[id] = { users, keys };
    });
    return { ...this.done(), byFinding };
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

/**
 * Compares the current run, row by row as runMerge writes it, with the previous run. Uses the
 * previous run's maps in place (marking matched entries) and restores them in {@link finish}.
 */
export class DeltaTracker {
  private readonly newUsers: ListBuilder<UserRef>;
  private readonly removedUsers: ListBuilder<UserRef>;
  private readonly newKeys: ListBuilder<KeyRef>;
  private readonly removedKeys: ListBuilder<KeyRef>;
  private readonly newFindings: FindingDeltaBuilder;
  private readonly resolvedFindings: FindingDeltaBuilder;

  constructor(
    private readonly previous: PreviousRun,
    private readonly limit = DELTA_LIST_LIMIT,
  ) {
    this.newUsers = new ListBuilder(limit);
    this.removedUsers = new ListBuilder(limit);
    this.newKeys = new ListBuilder(limit);
    this.removedKeys = new ListBuilder(limit);
    this.newFindings = new FindingDeltaBuilder(limit);
    this.resolvedFindings = new FindingDeltaBuilder(limit);
  }

  /** One row of the current credential-report.csv; `userName` as the raw report cell. */
  user(accountId: string, userName: string, findings: readonly FindingId[]): void {
    const cell = neutraliseCell(userName);
    const identity = userIdentity(accountId, cell);
    const mask = findingMask(findings);
    const before = this.previous.users.get(identity);
    const ref = { accountId, userName: cell };
    if (before === undefined) {
      this.newUsers.add(() => ref);
      this.newFindings.addMask(mask, ref, 'user');
      return;
    }
    this.previous.users.set(identity, before | SEEN);
    this.newFindings.addMask(mask & ~before, ref, 'user');
    this.resolvedFindings.addMask(before & ~mask & ~SEEN, ref, 'user');
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
    if (!keys) return;
    const cell = neutraliseCell(userName);
    const identity = keyIdentity(accountId, cell, accessKeyId, slot, neutraliseCell(created));
    const mask = findingMask(findings);
    const before = keys.get(identity);
    const ref: KeyRef = {
      accountId,
      userName: cell,
      ...(accessKeyId !== '' ? { accessKeyId } : {}),
      ...(slot !== '' ? { keySlot: Number(slot) } : {}),
    };
    if (before === undefined) {
      this.newKeys.add(() => ref);
      this.newFindings.addMask(mask, ref, 'key');
      return;
    }
    keys.set(identity, before | SEEN);
    this.newFindings.addMask(mask & ~before, ref, 'key');
    this.resolvedFindings.addMask(before & ~mask & ~SEEN, ref, 'key');
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
      this.removedUsers.add(() => ref);
      this.resolvedFindings.addMask(value, ref, 'user');
    }
    for (const [identity, value] of this.previous.keys ?? []) {
      if (value & SEEN) {
        this.previous.keys?.set(identity, value & ~SEEN);
        continue;
      }
      const ref = splitIdentity(identity);
      if (!currentAccounts.has(ref.accountId)) continue;
      this.removedKeys.add(() => ref);
      this.resolvedFindings.addMask(value, ref, 'key');
    }

    const stopped = new ListBuilder<StoppedReporting>(this.limit);
    const byId = new Map(summary.byAccount.map((a) => [a.accountId, a]));
    const entryById = new Map(summary.coverage.entries.map((e) => [e.accountId, e]));
    for (const accountId of [...this.previous.reportingAccounts].sort()) {
      const now = byId.get(accountId);
      if (now?.status === 'reporting') continue;
      const entry = entryById.get(accountId);
      stopped.add(() => ({
        accountId,
        ...(now?.accountName !== undefined ? { accountName: now.accountName } : {}),
        status: now?.status ?? entry?.status ?? 'missing',
        ...(entry?.reason ? { reason: entry.reason } : {}),
        ...(entry?.detail
          ? { detail: entry.detail }
          : now
            ? {}
            : { detail: 'no longer expected and no report' }),
      }));
    }

    return {
      ...(this.previous.generatedAt ? { previousGeneratedAt: this.previous.generatedAt } : {}),
      newUsers: this.newUsers.done(),
      removedUsers: this.removedUsers.done(),
      newKeys: this.newKeys.done(),
      removedKeys: this.removedKeys.done(),
      newFindings: this.newFindings.finish(),
      resolvedFindings: this.resolvedFindings.finish(),
      accountsStoppedReporting: stopped.done(),
    };
  }
}
