/**
 * summary.json: counts per finding, per account, per OU path and per value of one tag, coverage
 * (expected vs reporting vs stale vs missing, each with its reason) and the riskiest keys. Built
 * incrementally by runMerge while it streams the CSVs, so nothing here holds per-user data: per-account
 * tallies and a bounded heap of candidate keys only.
 */
import { Thresholds } from './thresholds';
import { passwordPolicyMask } from './findings';
import {
  AccountFacts,
  AccountMetadata,
  CoverageEntry,
  CoverageReason,
  CoverageStatus,
  FINDING_IDS,
  FindingId,
  OrgMetadata,
  PrivilegeKind,
  ReportProblem,
} from './types';
import { ageText, coverageVerdict, CoverageVerdict, hoursText, reportCoverageStatus } from './coverage';
import type { Delta } from './delta-types';
import type { NotificationOutcome } from './notifications';
import type { ExemptionsSummary } from './exemptions';
import type { RemediationSummary } from './deactivation';
import {
  CIS_FIELD,
  CisVersion,
  cisIdOf,
  DEFAULT_CIS_VERSION,
  FINDING_CONTROLS,
  FINDING_INDEX,
  FINDING_SEVERITY,
  maxSeverity,
  Severity,
  SEVERITIES,
  severityRank,
} from './finding-ids';
import {
  ORG_FINDING_CONTROLS,
  ORG_FINDING_IDS,
  ORG_FINDING_SEVERITY,
  type OrgFindingId,
  organizationFindings,
  type OrganizationSummary,
  rootCredentialsOf,
  rootCredentialsWord,
  rootHoldings,
  type RootHoldings,
} from './org-findings';
import type { OwnersSummary } from './owners';

/** Users and keys carrying one finding, org-wide. */
export interface FindingCount {
  /** FINDING_SEVERITY of the finding (docs/ARCHITECTURE.md §7). */
  readonly severity: Severity;
  /** CIS AWS Foundations control in the run's numbering (`cisVersion`), when the finding maps to one. */
  readonly cis?: string;
  /** The CIS control in v4.0.1, v5.0.0, v6.0.0 and v7.0.0 numbering, and the Security Hub control (FINDING_CONTROLS). */
  readonly cisV4?: string;
  readonly cisV5?: string;
  readonly cisV6?: string;
  readonly cisV7?: string;
  readonly securityHub?: string;
  /** Users whose row carries the finding (a user's row includes its keys' findings). */
  readonly users: number;
  /** Access keys (rows of access-keys.csv) carrying the finding. */
  readonly keys: number;
}

/** Counts shared by every breakdown (account, OU, tag value). */
export interface Tally {
  readonly users: number;
  readonly accessKeys: number;
  readonly activeAccessKeys: number;
  readonly usersWithFindings: number;
  /** Users per finding; findings nobody has are left out. */
  readonly findings: Partial<Record<FindingId, number>>;
}

export interface AccountSummary extends Tally {
  readonly accountId: string;
  readonly accountName?: string;
  readonly ouPath?: string;
  /** Coverage status of the account (`reporting` also for accounts reporting without being expected). */
  readonly status: CoverageStatus;
  readonly expected: boolean;
  /** generatedTime of the report whose rows were written. */
  readonly reportGeneratedTime?: string;
  /** What the account's root user holds (absent for an account without rows this run). */
  readonly root?: AccountRootSummary;
}

/**
 * One account's root user in summary.json's `byAccount`: each kind from the report's account facts
 * (GetAccountSummary) when they state it, else from the credential report's root row (core/org-findings.ts
 * `rootHoldings`); a kind neither tells is left out (unknown).
 */
export interface AccountRootSummary {
  /**
   * `present`: a password, an access key or a signing certificate; `none`: none of the three; `unknown`: not
   * all three known and none held. The same rule as `accountFacts.rootCredentials` and the organization line.
   */
  readonly credentials: 'present' | 'none' | 'unknown';
  readonly password?: boolean;
  readonly accessKeys?: boolean;
  readonly signingCertificates?: boolean;
  readonly mfa?: boolean;
  /** The root's assigned MFA device is virtual (ListVirtualMFADevices); absent when unknown. */
  readonly mfaVirtual?: boolean;
}

export interface GroupSummary extends Tally {
  /** OU path (`Root/Workloads/Prod`) or tag value. */
  readonly value: string;
  /** Accounts in the group (expected or with rows). */
  readonly accounts: number;
  /** Of those, accounts with a fresh report. */
  readonly reporting: number;
}

/** An active key in the digest's "riskiest keys" table. */
export interface RiskyKey {
  readonly accountId: string;
  readonly accountName?: string;
  readonly userName: string;
  /** Empty for root keys and keys the inventory does not know. */
  readonly accessKeyId?: string;
  readonly keySlot?: 1 | 2;
  readonly isRoot: boolean;
  readonly ageDays?: number;
  readonly lastUsedDate?: string;
  readonly daysSinceLastUse?: number;
  /** Privilege kinds the key's user holds (`admin`, `s3Read`, …); empty when none or unknown. */
  readonly privileges: readonly PrivilegeKind[];
  /** The user's `admin_path` (core/privilege-paths.ts); absent when empty. */
  readonly adminPath?: string;
  /** The user's `data_read_path`; absent when empty. */
  readonly dataReadPath?: string;
  readonly findings: readonly FindingId[];
  /** The most severe of `findings` (every key in the table has at least one). */
  readonly severity?: Severity;
  /** {@link riskScore} of the key, 0–100: the table's order. */
  readonly riskScore?: number;
}

/**
 * One row of the per-control compliance table: accounts passing and failing one CIS control, like Security
 * Hub's. An organization-level control (CIS v7.0.0 2.1.1, centralized root access) is judged once for the
 * organization: `scope` `organization`, its verdict in `organization`, and no account counted (0, 0, 0).
 */
export interface ControlCompliance {
  /** The CIS id in the run's numbering (`cisVersion`). */
  readonly cis: string;
  readonly cisV4?: string;
  readonly cisV5?: string;
  readonly cisV6?: string;
  readonly cisV7?: string;
  readonly securityHub?: string;
  /** The findings that fail the control (an account fails when any of its users or keys has one). */
  readonly findings: readonly (FindingId | OrgFindingId)[];
  /** `organization` for a control of the organization as a whole; absent for the per-account controls. */
  readonly scope?: 'organization';
  /**
   * The organization's verdict (organization-level controls only): `fail` when the finding is open, `pass`
   * when IAM's answer shows the control met, `not-evaluated` when it could not be read (never a pass).
   */
  readonly organization?: 'pass' | 'fail' | 'not-evaluated';
  /** The most severe of those findings' severities. */
  readonly severity: Severity;
  /** Accounts with rows this run (fresh or stale report) and none of the findings. */
  readonly accountsPassing: number;
  /** Accounts with rows this run and at least one of the findings. */
  readonly accountsFailing: number;
  /**
   * Accounts neither passing nor failing: expected accounts without rows this run (no usable report), and,
   * for a control read from the account facts (report schema v3), accounts whose report does not carry
   * that fact (an older agent, a refused read) — never a pass for want of data.
   */
  readonly accountsNotEvaluated: number;
}

/** What the account facts (report schema v3) of the accounts written say, counted per account. */
export interface AccountFactsSummary {
  /** Accounts written whose report carries account facts. */
  readonly accountsWithFacts: number;
  /**
   * Accounts written by what their root user holds — a password, an access key or a signing certificate —
   * from the account facts (GetAccountSummary) where they state it, else the credential report's root row:
   * `present` (any of them), `none` (none of the three), `unknown`. Counted for every account written, with
   * facts or not; the same rule as `byAccount[].root` and the organization line.
   */
  readonly rootCredentials: { readonly none: number; readonly present: number; readonly unknown: number };
  /** Accounts whose root MFA device is virtual (ListVirtualMFADevices). */
  readonly rootMfaVirtual: number;
  /** Password policy: none set, set below CIS (length < 14 or reuse < 24), meeting CIS, or unknown. */
  readonly passwordPolicy: {
    readonly missing: number;
    readonly belowCis: number;
    readonly meetsCis: number;
    readonly unknown: number;
  };
  /** IAM users with directly attached or inline policies, over all accounts that report them. */
  readonly usersWithDirectPolicies: number;
}

/** summary.json's coverage: the {@link CoverageVerdict} (docs/ARCHITECTURE.md §12) plus its entries. */
export interface Coverage extends CoverageVerdict {
  /**
   * Every expected account that is not reporting (stale or missing, with its reason), plus every account
   * with a problem even when a fresh report still covers it (status `reporting` with the problem's reason),
   * sorted by account id. `missing` is their number.
   */
  readonly entries: readonly CoverageEntry[];
}

export interface ControlPolicySummary {
  /** Accounts whose SCP chain was known (their flags could be cleared). */
  readonly accountsKnown: number;
  /** Accounts whose SCP data was missing, refused or incomplete: nothing cleared. */
  readonly accountsUnknown: number;
  /** The management account, which SCPs and RCPs do not apply to. */
  readonly accountsExempt: number;
  /** Flags cleared by SCPs or RCPs, per kind (only reports that carry grants can be cleared). */
  readonly flagsCleared: Readonly<Record<PrivilegeKind, number>>;
}

export interface Summary {
  readonly schemaVersion: 1;
  /** ISO time of the run ("now"). */
  readonly generatedAt: string;
  readonly organizationId?: string;
  readonly organizationLabel?: string;
  readonly thresholds: Thresholds;
  readonly totals: {
    /** Accounts whose rows were written (fresh or stale report). */
    readonly accounts: number;
    readonly users: number;
    readonly accessKeys: number;
    readonly activeAccessKeys: number;
    /** Active keys carrying at least one finding: the candidates of `riskiestKeys`, the whole of the digest's "top risks" list. */
    readonly activeKeysWithFindings: number;
    readonly usersWithFindings: number;
    /** Open findings (the rows of findings.csv) per severity, most severe first (zero included). */
    readonly openFindings: Readonly<Record<Severity, number>>;
  };
  /** The CIS numbering of `cis` fields and of `compliance` (config `cisVersion`, CLI `--cis-version`). */
  readonly cisVersion: CisVersion;
  /** Every finding id, in FINDING_IDS order, with its counts (zero included). */
  readonly findings: Readonly<Record<FindingId, FindingCount>>;
  readonly byAccount: readonly AccountSummary[];
  readonly byOu: readonly GroupSummary[];
  readonly byTag: { readonly key: string; readonly values: readonly GroupSummary[] };
  readonly coverage: Coverage;
  /** Per CIS control, in the run's numbering order: accounts passing, failing and not evaluated. */
  readonly compliance: readonly ControlCompliance[];
  /** The account facts of the accounts written (docs/ARCHITECTURE.md §4 schema v3, §7). */
  readonly accountFacts: AccountFactsSummary;
  /** The top active keys with at least one finding, by {@link riskScore} (docs/ARCHITECTURE.md §7). */
  readonly riskiestKeys: readonly RiskyKey[];
  /** SCP and RCP data of the accounts written, and the privilege flags they cleared (core/scp.ts). */
  readonly controlPolicies: ControlPolicySummary;
  readonly delta?: Delta;
  /**
   * The run's exemptions (core/exemptions.ts, docs/ARCHITECTURE.md §7): where they came from, a problem with
   * the file, the exempted and reopened findings, and the entries that matched nothing, were rejected or
   * expired. Absent when the run was given no exemptions.
   */
  readonly exemptions?: ExemptionsSummary;
  /**
   * Organization-level findings (core/org-findings.ts): centralized root access and member roots still
   * holding credentials. Absent in summaries written before it existed.
   */
  readonly organization?: OrganizationSummary;
  /**
   * What the digest's chat summary and finding events did (core/notifications.ts); written by the digest
   * Lambda when either is configured, absent elsewhere (`collect`, `merge`, older runs).
   */
  readonly notifications?: NotificationOutcome;
  /**
   * Staged deactivation (core/deactivation.ts): this run's plan and what the agents did since the previous
   * run. Absent when the feature is off.
   */
  readonly remediation?: RemediationSummary;
  /** Non-fatal oddities of the run (duplicate reports, out-of-order input, collection warnings). */
  readonly warnings: readonly string[];
  /** Owner digests (core/owners.ts): absent when they are off. */
  readonly owners?: OwnersSummary;
}

/** Tag value under which accounts without the breakdown tag are counted. */
export const UNTAGGED = '(untagged)';
/** OU path under which accounts without metadata are counted. */
export const UNKNOWN_OU = '(unknown)';
/** Default size of `riskiestKeys`. */
export const RISKIEST_KEYS_LIMIT = 50;
/** Cap on `warnings`, so a pathological input cannot bloat summary.json. */
const WARNINGS_LIMIT = 200;

/** How each coverage reason reads in the digest and on the console. */
export const COVERAGE_REASON_TEXT: Readonly<Record<CoverageReason, string>> = {
  'never-reported': 'never reported',
  stale: 'stale',
  rejected: 'rejected',
  'assembly-incomplete': 'assembly incomplete',
  'collection-failed': 'collection failed',
  unreadable: 'unreadable',
};

/** Status and reason of a coverage entry: `stale`, `missing (never reported)`, `reporting (rejected)`. */
export function coverageStatusText(entry: Pick<CoverageEntry, 'status' | 'reason'>): string {
  return entry.reason === undefined || entry.reason === entry.status
    ? entry.status
    : `${entry.status} (${COVERAGE_REASON_TEXT[entry.reason]})`;
}

/**
 * One coverage entry as a line for the console and the text digest:
 * `555555555555 (log-archive): stale: last report generated … (3 days ago); stale after 26 hours`.
 */
export function describeCoverageEntry(entry: CoverageEntry): string {
  const name = entry.accountName ? ` (${entry.accountName})` : '';
  return `${entry.accountId}${name}: ${coverageStatusText(entry)}${entry.detail ? `: ${entry.detail}` : ''}`;
}

/** A binary heap ordered by `before` (the element for which `before(x, y)` holds for all y is on top). */
export class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(items[i] as T, items[parent] as T)) break;
      [items[i], items[parent]] = [items[parent] as T, items[i] as T];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Replaces the top with `item` (cheaper than pop + push). */
  replaceTop(item: T): void {
    if (this.items.length === 0) {
      this.items.push(item);
      return;
    }
    this.items[0] = item;
    this.siftDown(0);
  }

  /** The remaining items, emptying the heap, in `before` order. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.pop(); item !== undefined; item = this.pop()) out.push(item);
    return out;
  }

  private siftDown(start: number): void {
    const items = this.items;
    const n = items.length;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let best = i;
      if (left < n && this.before(items[left] as T, items[best] as T)) best = left;
      if (right < n && this.before(items[right] as T, items[best] as T)) best = right;
      if (best === i) return;
      [items[i], items[best]] = [items[best] as T, items[i] as T];
      i = best;
    }
  }
}

/** Risk tier of a key: 0 root, 1 admin, 2 data-read, 3 other. Lower is riskier. */
function tier(key: Pick<RiskyKey, 'isRoot' | 'privileges'>): number {
  if (key.isRoot) return 0;
  if (key.privileges.includes('admin')) return 1;
  if (key.privileges.length > 0) return 2;
  return 3;
}

/** Points of the key's most severe finding in {@link riskScore}. */
export const SEVERITY_POINTS: Readonly<Record<Severity, number>> = {
  critical: 40,
  high: 30,
  medium: 20,
  low: 10,
};
/** Points of the key's privilege tier in {@link riskScore}: root, admin, data-read, none. */
export const PRIVILEGE_POINTS = { root: 40, admin: 30, dataRead: 15, none: 0 } as const;
/** Age at which a key earns all of {@link AGE_POINTS}. */
export const AGE_CAP_DAYS = 365;
/** Points of a key's age in {@link riskScore}, reached at {@link AGE_CAP_DAYS}. */
export const AGE_POINTS = 20;

/**
 * A key's risk score, 0–100 (docs/ARCHITECTURE.md §7 "Risk rank"): the points of its most severe finding
 * (critical 40, high 30, medium 20, low 10, none 0) + the points of its user's power (root 40, admin 30,
 * data-read 15, none 0) + its age, linear up to 20 points at 365 days (unknown age: 0), rounded to one
 * decimal. Severity and power weigh alike, so an admin key with a medium finding (50 + age) outranks an
 * unprivileged key with a high one (30 + age); age decides between keys otherwise alike.
 */
export function riskScore(key: Pick<RiskyKey, 'isRoot' | 'privileges' | 'findings' | 'ageDays'>): number {
  const severity = maxSeverity(key.findings);
  const t = tier(key);
  const power =
    t === 0
      ? PRIVILEGE_POINTS.root
      : t === 1
        ? PRIVILEGE_POINTS.admin
        : t === 2
          ? PRIVILEGE_POINTS.dataRead
          : PRIVILEGE_POINTS.none;
  const age = Math.min(Math.max(key.ageDays ?? 0, 0), AGE_CAP_DAYS) / AGE_CAP_DAYS;
  const score = (severity ? SEVERITY_POINTS[severity] : 0) + power + AGE_POINTS * age;
  return Math.round(score * 10) / 10;
}

/**
 * Total order "a is riskier than b": higher {@link riskScore}, then root, admin, data-read, then older;
 * ties broken by account, user, key id and slot so the table is deterministic whatever the input order.
 */
export function riskier(a: RiskyKey, b: RiskyKey): boolean {
  const sa = a.riskScore ?? riskScore(a);
  const sb = b.riskScore ?? riskScore(b);
  if (sa !== sb) return sa > sb;
  const ta = tier(a);
  const tb = tier(b);
  if (ta !== tb) return ta < tb;
  const aa = a.ageDays ?? -1;
  const ab = b.ageDays ?? -1;
  if (aa !== ab) return aa > ab;
  if (a.accountId !== b.accountId) return a.accountId < b.accountId;
  if (a.userName !== b.userName) return a.userName < b.userName;
  const ka = a.accessKeyId ?? '';
  const kb = b.accessKeyId ?? '';
  if (ka !== kb) return ka < kb;
  return (a.keySlot ?? 0) < (b.keySlot ?? 0);
}

/** Mutable per-account counters, handed out by {@link SummaryBuilder.account}. */
export class AccountTally {
  users = 0;
  accessKeys = 0;
  activeAccessKeys = 0;
  activeKeysWithFindings = 0;
  usersWithFindings = 0;
  readonly userFindings = new Array<number>(FINDING_IDS.length).fill(0);
  readonly keyFindings = new Array<number>(FINDING_IDS.length).fill(0);
  reportGeneratedTime?: string;
  reportGeneratedMs?: number;
  /** The report's account facts (schema v3); undefined: none carried. */
  facts?: AccountFacts;
  /** A root row was written (where the account-level findings sit). */
  rootRow = false;
  /** What the root row says the root user holds, with the facts (core/org-findings.ts `rootHoldings`). */
  rootRowHoldings?: RootHoldings;
  /** Open findings (rows of findings.csv) of the account, per severity rank. */
  readonly openFindings = new Array<number>(SEVERITIES.length).fill(0);
  /** The account's SCP chain status and the flags its SCPs and RCPs cleared (for a partition's summary). */
  controlPolicies?: 'known' | 'unknown' | 'exempt';
  flagsCleared?: Readonly<Record<PrivilegeKind, number>>;
  constructor(readonly accountId: string) {}

  /** What the account's root user holds: its root row with the facts, else the facts alone. */
  root(): RootHoldings {
    return this.rootRowHoldings ?? rootHoldings(undefined, this.facts?.rootCredentials);
  }
}

/** summary.json's `byAccount[].root` of one account written. */
function accountRootSummary(t: AccountTally): AccountRootSummary {
  const h = t.root();
  const mfaVirtual = t.facts?.rootMfaVirtual;
  return {
    credentials: rootCredentialsWord(rootCredentialsOf(h)),
    ...h,
    ...(mfaVirtual !== undefined ? { mfaVirtual } : {}),
  };
}

/**
 * Whether an account's rows can show `id` at all: the findings read from the account facts need the
 * fact (and, for those of the root row, a root row); every other finding needs only the rows.
 */
function evaluable(id: FindingId, tally: AccountTally): boolean {
  switch (id) {
    case 'root-hardware-mfa-missing':
      return tally.rootRow && tally.facts?.rootMfaVirtual !== undefined;
    case 'password-policy-weak-length':
    case 'password-policy-no-reuse-prevention':
      return tally.rootRow && tally.facts?.passwordPolicy !== undefined;
    case 'user-direct-policies':
      return tally.facts?.usersWithDirectPolicies !== undefined;
    default:
      return true;
  }
}

function accountFactsSummary(tallies: Iterable<AccountTally>): AccountFactsSummary {
  let accountsWithFacts = 0;
  const root = { none: 0, present: 0, unknown: 0 };
  let rootMfaVirtual = 0;
  const policy = { missing: 0, belowCis: 0, meetsCis: 0, unknown: 0 };
  let usersWithDirectPolicies = 0;
  for (const t of tallies) {
    const facts = t.facts;
    if (facts !== undefined) accountsWithFacts++;
    root[rootCredentialsWord(rootCredentialsOf(t.root()))]++;
    if (facts?.rootMfaVirtual === true) rootMfaVirtual++;
    const p = facts?.passwordPolicy;
    if (p === undefined) policy.unknown++;
    else if (!p.present) policy.missing++;
    else if (passwordPolicyMask(p) !== 0) policy.belowCis++;
    else policy.meetsCis++;
    usersWithDirectPolicies += facts?.usersWithDirectPolicies?.length ?? 0;
  }
  return {
    accountsWithFacts,
    rootCredentials: root,
    rootMfaVirtual,
    passwordPolicy: policy,
    usersWithDirectPolicies,
  };
}

export interface SummaryBuilderOptions {
  readonly now: Date;
  readonly thresholds: Thresholds;
  readonly metadata?: OrgMetadata;
  /** Default: every ACTIVE account of `metadata`, else every account seen (reports and problems). */
  readonly expectedAccountIds?: readonly string[];
  /** @default 'Environment' */
  readonly breakdownTag?: string;
  readonly organizationLabel?: string;
  /** @default DEFAULT_CIS_VERSION */
  readonly cisVersion?: CisVersion;
  /** @default RISKIEST_KEYS_LIMIT */
  readonly riskiestKeysLimit?: number;
  /**
   * Splits the accounts into partitions (the accounts of each owner), each of which gets its own summary
   * from {@link SummaryBuilder.buildPartition}: the partition of an account, undefined for none.
   */
  readonly partitionOf?: (accountId: string) => string | undefined;
}

/** The accounts of one partition and its own riskiest keys. */
interface PartitionScope {
  readonly ids: ReadonlySet<string>;
  readonly risky: Heap<RiskyKey>;
}

function tallyToCounts(t: {
  users: number;
  accessKeys: number;
  activeAccessKeys: number;
  usersWithFindings: number;
  userFindings: readonly number[];
}): Tally {
  const findings: Partial<Record<FindingId, number>> = {};
  FINDING_IDS.forEach((id, i) => {
    const n = t.userFindings[i] ?? 0;
    if (n > 0) findings[id] = n;
  });
  return {
    users: t.users,
    accessKeys: t.accessKeys,
    activeAccessKeys: t.activeAccessKeys,
    usersWithFindings: t.usersWithFindings,
    findings,
  };
}

class GroupTally {
  accounts = 0;
  reporting = 0;
  users = 0;
  accessKeys = 0;
  activeAccessKeys = 0;
  usersWithFindings = 0;
  readonly userFindings = new Array<number>(FINDING_IDS.length).fill(0);

  add(t: AccountTally | undefined, reporting: boolean): void {
    this.accounts++;
    if (reporting) this.reporting++;
    if (!t) return;
    this.users += t.users;
    this.accessKeys += t.accessKeys;
    this.activeAccessKeys += t.activeAccessKeys;
    this.usersWithFindings += t.usersWithFindings;
    for (let i = 0; i < FINDING_IDS.length; i++) this.userFindings[i]! += t.userFindings[i] ?? 0;
  }

  toGroup(value: string): GroupSummary {
    return { value, accounts: this.accounts, reporting: this.reporting, ...tallyToCounts(this) };
  }
}

function groupsSorted(groups: Map<string, GroupTally>): GroupSummary[] {
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([v, g]) => g.toGroup(v));
}

/** Sort key of a CIS id: `1.10` after `1.9`. */
function cisOrder(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** The per-control compliance table: one row per CIS control some finding maps to, in CIS order. */
function complianceTable(
  version: CisVersion,
  evaluated: readonly AccountTally[],
  notEvaluated: number,
  organization: OrganizationSummary | undefined,
): ControlCompliance[] {
  const byControl = new Map<string, FindingId[]>();
  for (const id of FINDING_IDS) {
    const cis = cisIdOf(id, version);
    if (cis === undefined) continue;
    const list = byControl.get(cis);
    if (list) list.push(id);
    else byControl.set(cis, [id]);
  }
  const accountRows = [...byControl.entries()].map(([cis, ids]): ControlCompliance => {
    const judged = evaluated.filter((t) => ids.some((id) => evaluable(id, t)));
    const failing = judged.filter((t) =>
      ids.some((id) => (t.userFindings[FINDING_INDEX[id]] ?? 0) > 0),
    ).length;
    const first = ids[0] as FindingId;
    const severity = ids.reduce<Severity>(
      (best, id) => (severityRank(FINDING_SEVERITY[id]) < severityRank(best) ? FINDING_SEVERITY[id] : best),
      FINDING_SEVERITY[first],
    );
    return {
      cis,
      ...FINDING_CONTROLS[first],
      findings: ids,
      severity,
      accountsPassing: judged.length - failing,
      accountsFailing: failing,
      accountsNotEvaluated: notEvaluated + evaluated.length - judged.length,
    };
  });
  return [...accountRows, ...(organization ? organizationControls(version, organization) : [])].sort((a, b) =>
    cisOrder(a.cis, b.cis),
  );
}

/**
 * The organization-level controls in the run's numbering (v7.0.0 2.1.1 centralized root access; none in
 * earlier versions): `fail` when the organization finding is open, `pass` when IAM's answer was read and it
 * is not, `not-evaluated` when it was not read or not readable from the hub's account.
 */
function organizationControls(version: CisVersion, organization: OrganizationSummary): ControlCompliance[] {
  const state = organization.rootAccess.state;
  const open = new Set(organization.findings.map((f) => f.id));
  return ORG_FINDING_IDS.flatMap((id): ControlCompliance[] => {
    const cis = ORG_FINDING_CONTROLS[id][CIS_FIELD[version]];
    if (cis === undefined) return [];
    const verdict = open.has(id)
      ? 'fail'
      : state === 'centralized' || state === 'not-centralized'
        ? 'pass'
        : 'not-evaluated';
    return [
      {
        cis,
        ...ORG_FINDING_CONTROLS[id],
        findings: [id],
        severity: ORG_FINDING_SEVERITY[id],
        scope: 'organization',
        organization: verdict,
        accountsPassing: 0,
        accountsFailing: 0,
        accountsNotEvaluated: 0,
      },
    ];
  });
}

/**
 * Accumulates the summary while merge streams: call {@link account} when an account's rows start,
 * {@link addUser}/{@link addKey} per row, {@link addProblem} for each unusable report, then {@link build}.
 */
export class SummaryBuilder {
  private readonly accounts = new Map<string, AccountTally>();
  private readonly problems = new Map<string, ReportProblem[]>();
  private readonly keyFindingTotals = new Array<number>(FINDING_IDS.length).fill(0);
  private readonly openFindings = new Array<number>(SEVERITIES.length).fill(0);
  private readonly risky: Heap<RiskyKey>;
  private readonly riskyLimit: number;
  /** Per partition: its accounts (with rows or problems) and its riskiest keys. */
  private readonly partitions = new Map<string, { ids: Set<string>; risky: Heap<RiskyKey> }>();
  /** The tally whose rows are being written (open findings are counted on it). */
  private current?: AccountTally;
  private readonly metaById = new Map<string, AccountMetadata>();
  private readonly warnings: string[] = [];
  private warningsDropped = 0;
  private unattributedCount = 0;
  private readonly chains = { known: 0, unknown: 0, exempt: 0 };
  private readonly flagsCleared: Record<PrivilegeKind, number> = {
    admin: 0,
    s3Read: 0,
    rdsRead: 0,
    dynamodbRead: 0,
  };

  constructor(private readonly options: SummaryBuilderOptions) {
    for (const account of options.metadata?.accounts ?? []) this.metaById.set(account.id, account);
    this.riskyLimit = options.riskiestKeysLimit ?? RISKIEST_KEYS_LIMIT;
    // Top of the heap = the least risky key kept, so a riskier candidate replaces it in O(log n).
    this.risky = new Heap<RiskyKey>((a, b) => riskier(b, a));
  }

  /** The tally of `accountId`'s report (created on first call), stamped with the report's time. */
  account(accountId: string, reportGeneratedTime: string): AccountTally {
    let tally = this.accounts.get(accountId);
    if (!tally) {
      tally = new AccountTally(accountId);
      this.accounts.set(accountId, tally);
    }
    tally.reportGeneratedTime = reportGeneratedTime;
    tally.reportGeneratedMs = Date.parse(reportGeneratedTime);
    this.partition(accountId);
    this.current = tally;
    return tally;
  }

  /** The partition of `accountId` (created on first call), or undefined when it belongs to none. */
  private partition(accountId: string): { ids: Set<string>; risky: Heap<RiskyKey> } | undefined {
    const key = this.options.partitionOf?.(accountId);
    if (key === undefined) return undefined;
    let part = this.partitions.get(key);
    if (!part) {
      part = { ids: new Set(), risky: new Heap<RiskyKey>((a, b) => riskier(b, a)) };
      this.partitions.set(key, part);
    }
    part.ids.add(accountId);
    return part;
  }

  /** Offers a candidate to a bounded riskiest-keys heap. */
  private offer(heap: Heap<RiskyKey>, candidate: RiskyKey): void {
    if (heap.size < this.riskyLimit) heap.push(candidate);
    else {
      const weakest = heap.peek();
      if (weakest && riskier(candidate, weakest)) heap.replaceTop(candidate);
    }
  }

  /** One row of credential-report.csv. */
  addUser(tally: AccountTally, findings: readonly FindingId[]): void {
    tally.users++;
    if (findings.length > 0) tally.usersWithFindings++;
    for (const id of findings) tally.userFindings[FINDING_INDEX[id]]!++;
  }

  /**
   * One row of access-keys.csv; `risky` is offered to the riskiest-keys table when the key is active and
   * has a finding (its severity and risk score are filled in here).
   */
  addKey(tally: AccountTally, active: boolean, findings: readonly FindingId[], risky?: () => RiskyKey): void {
    tally.accessKeys++;
    for (const id of findings) {
      const i = FINDING_INDEX[id];
      tally.keyFindings[i]!++;
      this.keyFindingTotals[i]!++;
    }
    if (!active) return;
    tally.activeAccessKeys++;
    if (findings.length === 0) return;
    tally.activeKeysWithFindings++;
    if (!risky) return;
    const raw = risky();
    const candidate: RiskyKey = { ...raw, severity: maxSeverity(raw.findings), riskScore: riskScore(raw) };
    this.offer(this.risky, candidate);
    const part = this.options.partitionOf ? this.partition(tally.accountId) : undefined;
    if (part) this.offer(part.risky, candidate);
  }

  /** One row of findings.csv (one open finding of a user or key), counted under its severity. */
  addOpenFinding(id: FindingId): void {
    const rank = severityRank(FINDING_SEVERITY[id]);
    this.openFindings[rank]!++;
    // Rows of findings.csv are written while their account's rows are (runMerge writes one account at a time).
    if (this.current) this.current.openFindings[rank]!++;
  }

  /** An account whose report could not be used (or only partly): shown in coverage. */
  addProblem(problem: ReportProblem): void {
    this.partition(problem.accountId);
    const list = this.problems.get(problem.accountId);
    if (list) list.push(problem);
    else this.problems.set(problem.accountId, [problem]);
  }

  /** A problem that names no account (e.g. an input file without an account id): a warning, and coverage is incomplete. */
  addUnattributed(message: string): void {
    this.unattributedCount++;
    this.warn(message);
  }

  /** A non-fatal oddity worth showing in summary.json (capped). */
  warn(message: string): void {
    if (this.warnings.length < WARNINGS_LIMIT) this.warnings.push(message);
    else this.warningsDropped++;
  }

  /** The SCP chain status of one account written (core/scp.ts), and the flags its SCPs and RCPs cleared. */
  addControlPolicies(
    status: 'known' | 'unknown' | 'exempt',
    cleared?: Readonly<Record<PrivilegeKind, number>>,
  ): void {
    this.chains[status]++;
    if (this.current) {
      this.current.controlPolicies = status;
      if (cleared) this.current.flagsCleared = { ...cleared };
    }
    if (!cleared) return;
    for (const kind of Object.keys(this.flagsCleared) as PrivilegeKind[])
      this.flagsCleared[kind] += cleared[kind];
  }

  /** Accounts with rows so far. */
  hasAccount(accountId: string): boolean {
    return this.accounts.has(accountId);
  }

  /** Expected account ids (sorted, unique) per the rule in {@link SummaryBuilderOptions.expectedAccountIds}. */
  expectedIds(): string[] {
    const { expectedAccountIds, metadata } = this.options;
    let ids: Iterable<string>;
    if (expectedAccountIds) ids = expectedAccountIds;
    else if (metadata && metadata.accounts.length > 0) {
      ids = metadata.accounts.filter((a) => a.state === 'ACTIVE').map((a) => a.id);
    } else ids = [...this.accounts.keys(), ...this.problems.keys()];
    return [...new Set(ids)].sort();
  }

  /** `2024-05-29T06:00:00.000Z (3 days ago)`: when the account's report was generated, and its age now. */
  private reportAge(tally: AccountTally): string {
    const ageMs = this.options.now.getTime() - (tally.reportGeneratedMs ?? Number.NaN);
    const age = Number.isNaN(ageMs) ? '' : ` (${ageText(ageMs)} ago)`;
    return `${tally.reportGeneratedTime ?? '?'}${age}`;
  }

  /** Coverage status of one account: fresh report → reporting; stale report → stale; none → missing. */
  private statusOf(accountId: string): { status: CoverageStatus; tally?: AccountTally } {
    const tally = this.accounts.get(accountId);
    if (!tally) return { status: 'missing' };
    const status = reportCoverageStatus(
      tally.reportGeneratedTime ?? '',
      this.options.now,
      this.options.thresholds.staleHours,
    );
    return { status, tally };
  }

  /** The summary so far (without `delta`, which runMerge adds from the DeltaTracker). */
  private organizationSection?: OrganizationSummary;

  /** The organization findings of the run (computed once, after the last account's rows). */
  organization(): OrganizationSummary {
    this.organizationSection ??= organizationFindings(
      this.options.metadata,
      [...this.accounts.values()].map((t) => ({
        accountId: t.accountId,
        credentials: rootCredentialsOf(t.root()),
      })),
    );
    return this.organizationSection;
  }

  /** The keys of the partitions seen (accounts with rows or problems, and expected accounts of metadata). */
  partitionKeys(): string[] {
    for (const id of this.expectedIds()) this.partition(id);
    return [...this.partitions.keys()].sort();
  }

  /** The whole run's summary (once: it drains the riskiest keys). */
  build(): Summary {
    return this.compose();
  }

  /**
   * The summary of one partition's accounts alone, in the same shape (once per partition): its accounts'
   * coverage, tallies, riskiest keys and compliance; no organization section, warnings or unattributed inputs.
   */
  buildPartition(key: string): Summary {
    this.partitionKeys();
    const part = this.partitions.get(key);
    return this.compose(part ?? { ids: new Set(), risky: new Heap<RiskyKey>(() => false) });
  }

  private compose(scope?: PartitionScope): Summary {
    const { now, thresholds, metadata, organizationLabel } = this.options;
    const organization = scope ? undefined : this.organization();
    const breakdownTag = this.options.breakdownTag ?? 'Environment';
    const inScope = (id: string): boolean => !scope || scope.ids.has(id);
    const expected = this.expectedIds().filter(inScope);
    const expectedSet = new Set(expected);
    const allIds = [...new Set([...expected, ...this.accounts.keys(), ...this.problems.keys()])]
      .filter(inScope)
      .sort();

    let reporting = 0;
    let stale = 0;
    let unexpected = 0;
    const entries: CoverageEntry[] = [];
    const byAccount: AccountSummary[] = [];
    const byOu = new Map<string, GroupTally>();
    const byTag = new Map<string, GroupTally>();
    const totals = {
      accounts: 0,
      users: 0,
      accessKeys: 0,
      activeAccessKeys: 0,
      activeKeysWithFindings: 0,
      usersWithFindings: 0,
    };
    const userFindingTotals = new Array<number>(FINDING_IDS.length).fill(0);
    const keyFindingTotals = scope ? new Array<number>(FINDING_IDS.length).fill(0) : this.keyFindingTotals;
    const openFindings = scope ? new Array<number>(SEVERITIES.length).fill(0) : this.openFindings;
    const chains = scope ? { known: 0, unknown: 0, exempt: 0 } : this.chains;
    const flagsCleared: Record<PrivilegeKind, number> = scope
      ? { admin: 0, s3Read: 0, rdsRead: 0, dynamodbRead: 0 }
      : this.flagsCleared;

    for (const accountId of allIds) {
      const meta = this.metaById.get(accountId);
      const { status, tally } = this.statusOf(accountId);
      const isExpected = expectedSet.has(accountId);
      const problems = this.problems.get(accountId) ?? [];
      if (isExpected) {
        if (status === 'reporting') reporting++;
        else if (status === 'stale') stale++;
      } else if (status === 'reporting') unexpected++;

      const base = {
        accountId,
        ...(meta ? { accountName: meta.name, ouPath: meta.ouPath } : {}),
        ...(tally?.reportGeneratedTime ? { lastReportTime: tally.reportGeneratedTime } : {}),
      };
      const problemText = problems.map((p) => p.detail).join('; ');
      const firstProblem = problems[0];
      if (status === 'reporting' && tally) {
        // A fresh report still covers the account, but a newer attempt failed: keep it visible.
        if (firstProblem) {
          entries.push({
            ...base,
            status,
            reason: firstProblem.reason,
            detail: `${problemText}; the report generated ${this.reportAge(tally)} is still fresh and is used`,
          });
        }
      } else if (status === 'stale' && tally) {
        if (isExpected || firstProblem) {
          const report = this.reportAge(tally);
          entries.push({
            ...base,
            status,
            reason: firstProblem?.reason ?? 'stale',
            detail: firstProblem
              ? `${problemText}; last usable report generated ${report}`
              : `last report generated ${report}; stale after ${hoursText(thresholds.staleHours)}`,
          });
        }
      } else if (isExpected || firstProblem) {
        entries.push(
          firstProblem
            ? { ...base, status, reason: firstProblem.reason, detail: problemText }
            : { ...base, status, reason: 'never-reported', detail: 'no report received' },
        );
      }

      if (tally) {
        totals.accounts++;
        totals.users += tally.users;
        totals.accessKeys += tally.accessKeys;
        totals.activeAccessKeys += tally.activeAccessKeys;
        totals.activeKeysWithFindings += tally.activeKeysWithFindings;
        totals.usersWithFindings += tally.usersWithFindings;
        for (let i = 0; i < FINDING_IDS.length; i++) userFindingTotals[i]! += tally.userFindings[i] ?? 0;
        if (scope) {
          for (let i = 0; i < FINDING_IDS.length; i++) keyFindingTotals[i]! += tally.keyFindings[i] ?? 0;
          for (let i = 0; i < SEVERITIES.length; i++) openFindings[i]! += tally.openFindings[i] ?? 0;
          if (tally.controlPolicies) chains[tally.controlPolicies]++;
          for (const kind of Object.keys(flagsCleared) as PrivilegeKind[])
            flagsCleared[kind] += tally.flagsCleared?.[kind] ?? 0;
        }
      }
      if (!tally && !isExpected) continue; // a problem-only account outside the expected set: coverage entry only
      byAccount.push({
        ...(tally ? tallyToCounts(tally) : tallyToCounts(new AccountTally(accountId))),
        accountId,
        ...(meta ? { accountName: meta.name, ouPath: meta.ouPath } : {}),
        status,
        expected: isExpected,
        ...(tally?.reportGeneratedTime ? { reportGeneratedTime: tally.reportGeneratedTime } : {}),
        ...(tally ? { root: accountRootSummary(tally) } : {}),
      });
      const ou = meta?.ouPath || UNKNOWN_OU;
      let ouTally = byOu.get(ou);
      if (!ouTally) byOu.set(ou, (ouTally = new GroupTally()));
      ouTally.add(tally, status === 'reporting');
      const tagValue = meta?.tags[breakdownTag] || UNTAGGED;
      let tagTally = byTag.get(tagValue);
      if (!tagTally) byTag.set(tagValue, (tagTally = new GroupTally()));
      tagTally.add(tally, status === 'reporting');
    }

    const cisVersion = this.options.cisVersion ?? DEFAULT_CIS_VERSION;
    const findings = Object.fromEntries(
      FINDING_IDS.map((id, i) => {
        const cis = cisIdOf(id, cisVersion);
        const count: FindingCount = {
          severity: FINDING_SEVERITY[id],
          ...(cis ? { cis } : {}),
          ...FINDING_CONTROLS[id],
          users: userFindingTotals[i] ?? 0,
          keys: keyFindingTotals[i] ?? 0,
        };
        return [id, count];
      }),
    ) as Record<FindingId, FindingCount>;
    const evaluated = [...this.accounts.values()].filter((t) => inScope(t.accountId));
    const notEvaluated = expected.filter((id) => !this.accounts.has(id)).length;

    const riskiestKeys = (scope ? scope.risky : this.risky).drain().reverse();
    const warnings = scope ? [] : [...this.warnings];
    if (!scope && this.warningsDropped > 0) warnings.push(`${this.warningsDropped} more warnings not shown`);

    return {
      schemaVersion: 1,
      generatedAt: now.toISOString(),
      ...(metadata?.organizationId ? { organizationId: metadata.organizationId } : {}),
      ...(organizationLabel ? { organizationLabel } : {}),
      thresholds,
      totals: {
        ...totals,
        openFindings: Object.fromEntries(
          SEVERITIES.map((severity, i) => [
            severity,
            (openFindings[i] ?? 0) + (organization?.openFindings[severity] ?? 0),
          ]),
        ) as Record<Severity, number>,
      },
      cisVersion,
      findings,
      byAccount,
      byOu: groupsSorted(byOu),
      byTag: { key: breakdownTag, values: groupsSorted(byTag) },
      coverage: {
        ...coverageVerdict({
          expected: expected.length,
          reporting,
          stale,
          unexpected,
          unattributed: scope ? 0 : this.unattributedCount,
          entries,
        }),
        entries,
      },
      compliance: complianceTable(cisVersion, evaluated, notEvaluated, organization),
      accountFacts: accountFactsSummary(evaluated),
      riskiestKeys,
      controlPolicies: {
        accountsKnown: chains.known,
        accountsUnknown: chains.unknown,
        accountsExempt: chains.exempt,
        flagsCleared: { ...flagsCleared },
      },
      ...(organization ? { organization } : {}),
      warnings,
    };
  }
}
