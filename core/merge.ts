/**
 * The merge engine behind runPipeline (core/run-pipeline.ts, the one entry point of the digest Lambda,
 * `credreport collect` and `credreport merge`): many accounts' reports + org metadata →
 * credential-report.csv and access-keys.csv (streamed into the sinks), summary.json content and the
 * digest (HTML + text).
 *
 * Order and determinism: accounts are written in ascending account id, each account's users in the
 * order of its report, so the same input gives byte-identical outputs whatever order it arrives in.
 * - An array input is sorted up front (it is in memory already; sorting references costs nothing).
 * - Any other iterable (sync or async, e.g. reports streamed from S3) is read through a bounded reorder
 *   window: up to REORDER_WINDOW_REPORTS reports or REORDER_WINDOW_BYTES of CSV text are held in a
 *   min-heap and the smallest account id is written when the window is full. Input that is sorted, or
 *   disordered by less than the window (bounded-concurrency fetching), comes out sorted while memory
 *   stays bounded. A report arriving after a larger account id was already written cannot be put back:
 *   it is written where it arrives and a warning says so in summary.json. Callers that stream more
 *   than the window must therefore yield reports roughly in account order (an S3 listing does).
 * Only raw reports are ever buffered, never parsed rows: rows are parsed, evaluated and written one
 * account at a time.
 * When one account has several reports, the newest (generatedTime) is used and the others are named
 * in the warnings.
 */
import {
  ACCESS_KEY_COLUMNS,
  ACCOUNT_COLUMNS,
  CREDENTIAL_REPORT_COLUMNS,
  CREDENTIAL_REPORT_DERIVED_COLUMNS,
  CredentialReportRow,
  FINDINGS_COLUMNS,
  NEVER_USED,
  ROOT_USER,
  TAG_COLUMN_PREFIX,
} from './columns';
import { parseBool, parseCredentialReport, ReportParseError } from './credential-report';
import { createCsvWriter, CsvWriter } from './csv-writer';
import { DeltaTracker, keyIdentity, PreviousRun, userIdentity } from './delta';
import { renderDigestHtml, renderDigestText } from './digest-html';
import { DIGEST_LIMITS } from './digest-model';
import { evaluateKey, evaluateUser, isRootRow, KeyFacts, RootCredentialState } from './findings';
import { applyServiceControlPolicies, ControlPolicyIndex, PrivilegeGrants } from './scp';
import { CisVersion, maxSeverity } from './finding-ids';
import {
  AccountExemptions,
  exemptionCells,
  ExemptionMatcher,
  ExemptionOutcome,
  ExemptionsInput,
  exemptionsProblemText,
} from './exemptions';
import type { RemediationSummary } from './deactivation';
import { NewFindingCollector, NewFindings } from './notifications';
import { DEFAULT_MAX_FINDING_EVENTS } from './names';
import { FindingAccount, FindingsCsv, OpenFindingObserver } from './findings-csv';
import { OcsfProduct, OcsfWriter } from './ocsf';
import { ControlPolicyPaths, NO_PATHS, PrivilegePaths, privilegePaths } from './privilege-paths';
import { rootHoldings } from './org-findings';
import { RunStateWriter } from './run-state';
import { neutraliseCell } from './csv-safety';
import { reportStatusCell } from './coverage';
import { formatReportTime, parseReportTimeMs, reportTimeCell } from './time';
import { Heap, RiskyKey, Summary, SummaryBuilder, AccountTally } from './summary';
import { Thresholds } from './thresholds';
import { wholeDaysBetween } from './time';
import {
  AccessKeyRecord,
  AccountFacts,
  AccountMetadata,
  AccountReport,
  FindingId,
  OrgMetadata,
  PasswordPolicyFact,
  PRIVILEGE_KINDS,
  PrivilegeKind,
  ReportProblem,
  UserPrivileges,
} from './types';

export interface MergeInput {
  readonly now: Date;
  readonly thresholds: Thresholds;
  /** Absent: account columns other than the id are empty. */
  readonly metadata?: OrgMetadata;
  /** Accounts expected to report; default: every ACTIVE account in metadata, else every account seen. */
  readonly expectedAccountIds?: readonly string[];
  /** Reports in any order (see the module comment); a bad one becomes a 'rejected' coverage entry, never stops the rest. */
  readonly reports: AsyncIterable<AccountReport> | Iterable<AccountReport>;
  /**
   * Read after the last report, so runPipeline (core/run-pipeline.ts) fills it from the problems its item
   * stream yields while the reports are read. Callers outside core give problems to runPipeline as items.
   */
  readonly problems?: readonly ReportProblem[];
  /** Problems naming no account (summary warnings that make coverage incomplete); read after the last report. */
  readonly unattributed?: readonly string[];
  /** Extra lines for summary.warnings (e.g. input files that name no account); read after the last report. */
  readonly warnings?: readonly string[];
  /** Default: all tag keys present in metadata, sorted. */
  readonly tagKeys?: readonly string[];
  /** @default 'Environment' */
  readonly breakdownTag?: string;
  /** For the delta. Its maps are used in place during the run and restored at the end. */
  readonly previous?: PreviousRun;
  /** E.g. the org id, shown in the HTML and text digest. */
  readonly organizationLabel?: string;
  /**
   * The privilege grants of a report's users (privileges v2, per user name), which SCPs and RCPs are
   * evaluated against (core/scp.ts, chains from `metadata.controlPolicies`); {@link grantsOfReport} reads a
   * v2 report's own, and is what the digest, `collect`, `merge` and `demo` pass. Absent, or undefined for a
   * report, leaves its flags as the agent computed them.
   */
  readonly grantsOf?: (report: AccountReport) => ReadonlyMap<string, PrivilegeGrants> | undefined;
  /** The CIS numbering shown in summary.json (`cis`, `compliance`) and the digest. @default DEFAULT_CIS_VERSION */
  readonly cisVersion?: CisVersion;
  /**
   * New critical and high findings kept in the result's `newFindings` (the digest's finding events).
   * @default DEFAULT_MAX_FINDING_EVENTS
   */
  readonly newFindingsLimit?: number;

  /**
   * The run's exemptions (core/exemptions.ts): exempted findings leave the open set (counts, riskiest keys,
   * delta, run state) and are listed in summary.json `exemptions`. Absent: no `exemptions` section.
   */
  readonly exemptions?: ExemptionsInput;
  /**
   * The partition of each account (its owner, core/owners.ts), undefined for none: each partition gets a
   * summary of its accounts alone in {@link MergeResult.partitions} (the per-owner digests' model).
   */
  readonly partitionOf?: (accountId: string) => string | undefined;
  /**
   * summary.json's `remediation` (staged deactivation, core/deactivation.ts), asked for once after the last
   * report and after both CSVs are complete: the digest plans while the reports stream past, writes the
   * plans, then answers. Absent, or undefined: no such section.
   */
  readonly remediation?: () => Promise<RemediationSummary | undefined>;
  /** The product block of findings.ocsf.json's records (credreport's version). */
  readonly ocsfProduct?: OcsfProduct;
}

/**
 * The grants a v2 report carries per user name (core/types.ts `UserPrivileges.grants`), which SCPs and RCPs
 * are evaluated against; undefined when no user carries any (a v1 report: flags left as the agent computed).
 */
export function grantsOfReport(report: AccountReport): ReadonlyMap<string, PrivilegeGrants> | undefined {
  let byUser: Map<string, PrivilegeGrants> | undefined;
  for (const user of report.privileges ?? []) {
    if (!user.grants) continue;
    (byUser ??= new Map()).set(user.userName, user.grants);
  }
  return byUser;
}

export interface MergeSinks {
  readonly credentialReport: NodeJS.WritableStream;
  readonly accessKeys: NodeJS.WritableStream;
  /** findings.csv; absent: not written (its rows are still counted in summary.json's totals.openFindings). */
  readonly findings?: NodeJS.WritableStream;
  /** state.json.gz (core/run-state.ts); absent: not written. */
  readonly state?: NodeJS.WritableStream;
  /** findings.ocsf.json (core/ocsf.ts); absent: not written. */
  readonly ocsf?: NodeJS.WritableStream;
  /**
   * Sees every open finding as it is written (the Security Hub import computes its findings through it,
   * collector/security-hub-import.ts); a promise it returns is awaited.
   */
  readonly onFinding?: OpenFindingObserver;
}

export interface MergeResult {
  readonly summary: Summary;
  readonly html: string;
  /** Plain-text digest for email. */
  readonly text: string;
  /**
   * The new critical and high findings (not open on the same user or key in the previous run; organization
   * findings excluded), the first `newFindingsLimit` of them; absent without a previous run.
   */
  readonly newFindings?: NewFindings;
  /** With `partitionOf`: partition key → the summary of its accounts alone (same shape, delta included). */
  readonly partitions?: ReadonlyMap<string, Summary>;
}

/** Reorder window for non-array inputs (see the module comment). */
export const REORDER_WINDOW_REPORTS = 1024;
export const REORDER_WINDOW_BYTES = 64 * 1024 * 1024;

/** Root can do anything: its row and keys are shown as admin with every data-read power. */
const ROOT_PRIVILEGES: UserPrivileges = {
  userName: ROOT_USER,
  admin: true,
  s3Read: true,
  rdsRead: true,
  dynamodbRead: true,
  grantingPolicies: {},
};

/** admin, s3_read, rds_read, dynamodb_read when privileges were not collected, and for root. */
const UNKNOWN_PRIVILEGE_CELLS: readonly string[] = ['', '', '', ''];
const ROOT_PRIVILEGE_CELLS: readonly string[] = ['true', 'true', 'true', 'true'];

const SLOT_COLUMNS = {
  1: {
    lastRotated: 'access_key_1_last_rotated',
    lastUsedDate: 'access_key_1_last_used_date',
    lastUsedService: 'access_key_1_last_used_service',
    lastUsedRegion: 'access_key_1_last_used_region',
  },
  2: {
    lastRotated: 'access_key_2_last_rotated',
    lastUsedDate: 'access_key_2_last_used_date',
    lastUsedService: 'access_key_2_last_used_service',
    lastUsedRegion: 'access_key_2_last_used_region',
  },
} as const;

/** Header of credential-report.csv for the given tag keys (docs/ARCHITECTURE.md §6). */
export function credentialReportHeader(tagKeys: readonly string[]): string[] {
  return [
    ...ACCOUNT_COLUMNS,
    ...tagKeys.map((k) => `${TAG_COLUMN_PREFIX}${k}`),
    ...CREDENTIAL_REPORT_COLUMNS,
    ...CREDENTIAL_REPORT_DERIVED_COLUMNS,
  ];
}

/** Header of access-keys.csv for the given tag keys (docs/ARCHITECTURE.md §6). */
export function accessKeysHeader(tagKeys: readonly string[]): string[] {
  return [...ACCOUNT_COLUMNS, ...tagKeys.map((k) => `${TAG_COLUMN_PREFIX}${k}`), ...ACCESS_KEY_COLUMNS];
}

/** Header of findings.csv for the given tag keys (docs/ARCHITECTURE.md §6). */
export function findingsHeader(tagKeys: readonly string[]): string[] {
  return [...ACCOUNT_COLUMNS, ...tagKeys.map((k) => `${TAG_COLUMN_PREFIX}${k}`), ...FINDINGS_COLUMNS];
}

/** The account and tag cells that lead a row of any of the three CSVs (ACCOUNT_COLUMNS, then the tags). */
function accountPrefix(
  accountId: string,
  meta: AccountMetadata | undefined,
  reportStatus: string,
  tagKeys: readonly string[],
): string[] {
  return [
    accountId,
    meta?.name ?? '',
    meta?.email ?? '',
    meta?.state ?? '',
    meta?.ouPath ?? '',
    reportStatus,
    ...tagKeys.map((k) => meta?.tags[k] ?? ''),
  ];
}

/** Every tag key present in the metadata, sorted. */
export function defaultTagKeys(metadata: OrgMetadata | undefined): string[] {
  const keys = new Set<string>();
  for (const account of metadata?.accounts ?? []) for (const key of Object.keys(account.tags)) keys.add(key);
  return [...keys].sort();
}

/**
 * (account id ascending, newest generatedTime first): the write order, duplicates adjacent. Reports of
 * one account generated at the same time are ordered by collection time, then by content, so which one
 * is used never depends on the order they arrived in.
 */
function beforeInWriteOrder(a: AccountReport, b: AccountReport): boolean {
  if (a.accountId !== b.accountId) return a.accountId < b.accountId;
  const newer =
    compareTimes(a.generatedTime, b.generatedTime) || compareTimes(a.collectedTime, b.collectedTime);
  if (newer !== 0) return newer > 0;
  return a.credentialReportCsv < b.credentialReportCsv;
}

/** Positive when `a` is later than `b`: by instant when both parse (offsets and precision may differ), else as text. */
function compareTimes(a: string, b: string): number {
  if (a === b) return 0;
  const diff = Date.parse(a) - Date.parse(b);
  if (diff !== 0 && !Number.isNaN(diff)) return diff;
  return a > b ? 1 : a < b ? -1 : 0;
}

function compareWriteOrder(a: AccountReport, b: AccountReport): number {
  return beforeInWriteOrder(a, b) ? -1 : beforeInWriteOrder(b, a) ? 1 : 0;
}

function reportBytes(report: AccountReport): number {
  return report.credentialReportCsv.length + report.accessKeys.length * 128;
}

/** The reports in write order, per the rules in the module comment. */
async function* inWriteOrder(
  reports: MergeInput['reports'],
  warn: (message: string) => void,
): AsyncGenerator<AccountReport> {
  if (Array.isArray(reports)) {
    yield* [...(reports as readonly AccountReport[])].sort(compareWriteOrder);
    return;
  }
  const window = new Heap<AccountReport>(beforeInWriteOrder);
  let bytes = 0;
  let lastId: string | undefined;
  const release = (): AccountReport => {
    const next = window.pop() as AccountReport;
    bytes -= reportBytes(next);
    if (lastId !== undefined && next.accountId < lastId) {
      warn(
        `account ${next.accountId}: report arrived after account ${lastId} was written (input beyond the reorder window is not in account order); written out of order`,
      );
    } else lastId = next.accountId;
    return next;
  };
  for await (const report of reports as AsyncIterable<AccountReport>) {
    window.push(report);
    bytes += reportBytes(report);
    while (window.size > REORDER_WINDOW_REPORTS || (bytes > REORDER_WINDOW_BYTES && window.size > 1)) {
      yield release();
    }
  }
  while (window.size > 0) yield release();
}

function boolCell(value: boolean | undefined): string {
  return value === undefined ? '' : value ? 'true' : 'false';
}

/**
 * The account-facts cells of a row (`root_credentials` … `password_policy`): filled on the root row only,
 * empty where a fact is unknown.
 */
function accountFactCells(
  isRoot: boolean,
  state: RootCredentialState,
  facts: AccountFacts | undefined,
): readonly string[] {
  if (!isRoot) return EMPTY_FACT_CELLS;
  const root = facts?.rootCredentials;
  return [
    rootCredentialsCell(state, root),
    boolCell(root?.passwordPresent),
    boolCell(root?.accessKeysPresent),
    boolCell(root?.signingCertificatesPresent),
    boolCell(facts?.rootMfaVirtual),
    passwordPolicyCell(facts?.passwordPolicy),
  ];
}
const EMPTY_FACT_CELLS: readonly string[] = ['', '', '', '', '', ''];

/** `no root credentials`, the credentials the root holds (`password; access keys`), or empty when unknown. */
export function rootCredentialsCell(
  state: RootCredentialState,
  root: AccountFacts['rootCredentials'],
): string {
  if (state === 'none') {
    return root?.signingCertificatesPresent === true ? 'signing certificates only' : 'no root credentials';
  }
  if (state === 'unknown' || root === undefined) return '';
  const held: string[] = [];
  if (root.passwordPresent === true) held.push('password');
  if (root.accessKeysPresent === true) held.push('access keys');
  if (root.signingCertificatesPresent === true) held.push('signing certificates');
  return held.join('; ');
}

/** `none` (no policy), `min 14, reuse 24`, `min 8, reuse allowed`, or empty when unknown. */
export function passwordPolicyCell(policy: PasswordPolicyFact | undefined): string {
  if (policy === undefined) return '';
  if (!policy.present) return 'none';
  const reuse =
    policy.passwordReusePrevention === undefined
      ? 'reuse allowed'
      : `reuse ${policy.passwordReusePrevention}`;
  return `min ${policy.minimumPasswordLength}, ${reuse}`;
}

/**
 * access-keys.csv's `last_used_service` / `last_used_region`: AWS writes `N/A` there for a key never used
 * (or used before AWS tracked it); credreport's own columns leave what is not known empty, and say
 * "never used" once, in `last_used_date` (docs/ARCHITECTURE.md §6).
 */
function lastUseNameCell(value: string | undefined): string {
  return value === undefined || value === 'N/A' ? '' : value;
}

function numberCell(value: number | undefined): string {
  return value === undefined ? '' : String(value);
}

function privilegeCells(privileges: UserPrivileges | undefined): readonly string[] {
  if (privileges === undefined) return UNKNOWN_PRIVILEGE_CELLS;
  if (privileges === ROOT_PRIVILEGES) return ROOT_PRIVILEGE_CELLS;
  return [
    boolCell(privileges.admin),
    boolCell(privileges.s3Read),
    boolCell(privileges.rdsRead),
    boolCell(privileges.dynamodbRead),
  ];
}

/**
 * Granted kinds only: `admin:arn:aws:iam::aws:policy/AdministratorAccess;s3Read:group:Data/ReadAll`. A kind
 * cleared by SCPs or RCPs is not granted, so it is not listed: its path column says why.
 */
export function grantingPoliciesCell(privileges: UserPrivileges | undefined): string {
  if (!privileges) return '';
  const parts: string[] = [];
  for (const kind of PRIVILEGE_KINDS) {
    if (!privileges[kind]) continue;
    for (const policy of privileges.grantingPolicies[kind] ?? []) parts.push(`${kind}:${policy}`);
  }
  return parts.join(';');
}

function privilegeKinds(privileges: UserPrivileges | undefined): PrivilegeKind[] {
  return privileges ? PRIVILEGE_KINDS.filter((kind) => privileges[kind]) : [];
}

function toSecond(ms: number): number {
  return Math.floor(ms / 1000);
}

interface SlotKey {
  readonly slot: 1 | 2;
  readonly facts: KeyFacts;
  readonly findings: readonly FindingId[];
}

/**
 * Pairs the report's key slots with the inventory's keys of the same user: first by creation time equal
 * to the slot's last_rotated (to the second), then the rest by creation order among keys that existed
 * when the report was generated. Returns the record per slot (index 0 = slot 1) and the inventory keys no
 * slot took. Arrays rather than maps: this runs once per user of the whole organization.
 */
export function matchKeySlots(
  slots: readonly SlotKey[],
  inventory: readonly AccessKeyRecord[],
  reportGeneratedMs: number,
): { bySlot: [AccessKeyRecord | undefined, AccessKeyRecord | undefined]; unmatched: AccessKeyRecord[] } {
  const bySlot: [AccessKeyRecord | undefined, AccessKeyRecord | undefined] = [undefined, undefined];
  const n = inventory.length;
  if (n === 0) return { bySlot, unmatched: [] };
  const used = new Array<boolean>(n).fill(false);
  const created = inventory.map((r) => Date.parse(r.createDate));
  const open: SlotKey[] = [];
  for (const s of slots) {
    const rotated = s.facts.lastRotated;
    let hit = -1;
    if (rotated) {
      const second = toSecond(rotated.getTime());
      for (let i = 0; i < n; i++) {
        if (!used[i] && toSecond(created[i] as number) === second) {
          hit = i;
          break;
        }
      }
    }
    if (hit >= 0) {
      used[hit] = true;
      bySlot[s.slot - 1] = inventory[hit];
    } else open.push(s);
  }
  if (open.length > 0) {
    open.sort(
      (a, b) =>
        (a.facts.lastRotated?.getTime() ?? 0) - (b.facts.lastRotated?.getTime() ?? 0) || a.slot - b.slot,
    );
    const candidates: number[] = [];
    for (let i = 0; i < n; i++) {
      if (!used[i] && (created[i] as number) <= reportGeneratedMs + 999) candidates.push(i);
    }
    candidates.sort((a, b) => (created[a] as number) - (created[b] as number) || a - b);
    open.forEach((s, k) => {
      const i = candidates[k];
      if (i !== undefined) {
        used[i] = true;
        bySlot[s.slot - 1] = inventory[i];
      }
    });
  }
  const unmatched: AccessKeyRecord[] = [];
  for (let i = 0; i < n; i++) if (!used[i]) unmatched.push(inventory[i] as AccessKeyRecord);
  return { bySlot, unmatched };
}

const NO_KEYS: readonly AccessKeyRecord[] = [];

interface AccountContext {
  readonly report: AccountReport;
  readonly generatedMs: number;
  /** `report_generated_time`: the report's generatedTime in the written form. */
  readonly generatedCell: string;
  readonly prefix: readonly string[];
  readonly meta?: AccountMetadata;
  readonly tally: AccountTally;
  /** The account as the finding outputs name it. */
  readonly account: FindingAccount;
  /** Per user, per kind cleared by SCPs or RCPs: why (`blocked by SCP p-abc123 DenyS3`). */
  readonly blocked?: ReadonlyMap<string, Readonly<Partial<Record<PrivilegeKind, string>>>>;
  /** Per user, per kind still granted on a known chain: the shortest grant the chain allows. */
  readonly allowed?: ReadonlyMap<string, Readonly<Partial<Record<PrivilegeKind, string>>>>;
  /** The grants `grantsOf` gave for the report, per user. */
  readonly grants?: ReadonlyMap<string, PrivilegeGrants>;
  /** The exemption entries that can apply to this account; absent when none can. */
  readonly exemptions?: AccountExemptions;
}

/** The path columns of a user (core/privilege-paths.ts), with what SCPs decided for it. */
function pathsOf(
  ctx: AccountContext,
  userName: string,
  privileges: UserPrivileges | undefined,
  isRoot: boolean,
): PrivilegePaths {
  const blocked = ctx.blocked?.get(userName);
  const allowed = ctx.allowed?.get(userName);
  const grants = ctx.grants?.get(userName);
  const scp: ControlPolicyPaths | undefined =
    blocked || allowed || grants
      ? { ...(blocked ? { blocked } : {}), ...(allowed ? { allowed } : {}), ...(grants ? { grants } : {}) }
      : undefined;
  return privilegePaths(privileges, scp, isRoot);
}

interface RunState {
  readonly input: MergeInput;
  readonly builder: SummaryBuilder;
  readonly controlPolicies: ControlPolicyIndex;
  readonly delta?: DeltaTracker;
  readonly credentialReport: CsvWriter;
  readonly accessKeys: CsvWriter;
  readonly findingsCsv?: CsvWriter;
  readonly findings: FindingsCsv;
  readonly ocsf?: OcsfWriter;
  readonly runState?: RunStateWriter;
  readonly exemptions?: ExemptionMatcher;
  /** Account id → its rows' `report_status` cell, for the organization findings' member rows. */
  readonly reportStatus: Map<string, string>;
  /** First-seen time of a current finding: as firstSeen, else now (for the state file). */
  readonly firstSeenOrNow: (id: FindingId) => string;
  /** First-seen time of a finding of the user or key last given to the delta (undefined: new now). */
  readonly firstSeen: (id: FindingId) => string | undefined;
}

async function writeKeyRow(
  state: RunState,
  ctx: AccountContext,
  cells: readonly string[],
  key: {
    readonly userName: string;
    readonly userArn: string;
    readonly accessKeyId: string;
    readonly slot?: 1 | 2;
    readonly createdMs?: number;
    readonly lastUsedMs?: number;
    /** Active keys of the user. */
    readonly activeKeys: number;
    /** The `created` cell. */
    readonly created: string;
    readonly active: boolean;
    readonly isRoot: boolean;
    readonly ageDays?: number;
    readonly lastUsedDate?: string;
    readonly daysSinceLastUse?: number;
    readonly privileges?: UserPrivileges;
    readonly paths: PrivilegePaths;
    /** The key's open findings (exempted ones taken out). */
    readonly findings: readonly FindingId[];
    readonly exemption?: ExemptionOutcome;
  },
): Promise<void> {
  const wait = state.accessKeys.write(cells);
  if (wait) await wait;
  const risky = (): RiskyKey => ({
    accountId: ctx.report.accountId,
    ...(ctx.meta ? { accountName: ctx.meta.name } : {}),
    userName: key.userName,
    ...(key.accessKeyId !== '' ? { accessKeyId: key.accessKeyId } : {}),
    ...(key.slot !== undefined ? { keySlot: key.slot } : {}),
    isRoot: key.isRoot,
    ...(key.ageDays !== undefined ? { ageDays: key.ageDays } : {}),
    ...(key.lastUsedDate !== undefined ? { lastUsedDate: key.lastUsedDate } : {}),
    ...(key.daysSinceLastUse !== undefined ? { daysSinceLastUse: key.daysSinceLastUse } : {}),
    privileges: privilegeKinds(key.privileges),
    ...(key.paths.admin !== '' ? { adminPath: key.paths.admin } : {}),
    ...(key.paths.dataRead !== '' ? { dataReadPath: key.paths.dataRead } : {}),
    findings: key.findings,
  });
  state.builder.addKey(ctx.tally, key.active, key.findings, risky);
  state.delta?.key(
    ctx.report.accountId,
    key.userName,
    key.accessKeyId,
    key.slot === undefined ? '' : String(key.slot),
    key.created,
    key.findings,
  );
  if (state.runState) {
    const identity = keyIdentity(
      ctx.report.accountId,
      neutraliseCell(key.userName),
      key.accessKeyId,
      key.slot === undefined ? '' : String(key.slot),
      neutraliseCell(key.created),
    );
    const wait = state.runState.entry('k', identity, key.findings, state.firstSeenOrNow);
    if (wait) await wait;
  }
  if (key.findings.length > 0 || (key.exemption?.exempted.length ?? 0) > 0) {
    await state.findings.write(
      ctx.prefix,
      {
        userName: key.userName,
        userArn: key.userArn,
        accessKeyId: key.accessKeyId,
        ...(key.slot !== undefined ? { slot: key.slot } : {}),
        isKey: true,
      },
      key.findings,
      {
        ...(key.createdMs !== undefined ? { keyCreatedMs: key.createdMs } : {}),
        ...(key.lastUsedMs !== undefined ? { keyLastUsedMs: key.lastUsedMs } : {}),
        activeKeys: key.activeKeys,
        ...(key.privileges ? { privileges: key.privileges } : {}),
        paths: key.paths,
      },
      state.firstSeen,
      ctx.account,
      key.exemption,
    );
  }
}

/** Rows of inventory keys that no report slot accounts for (created after the report, or of unknown users). */
async function writeInventoryKey(
  state: RunState,
  ctx: AccountContext,
  record: AccessKeyRecord,
  user: {
    readonly arn: string;
    readonly passwordEnabled: boolean;
    readonly activeKeys: number;
    readonly privileges?: UserPrivileges;
    readonly paths: PrivilegePaths;
    readonly freeSlot: 1 | 2;
  },
): Promise<void> {
  const { now, thresholds } = state.input;
  const createdMs = Date.parse(record.createDate);
  const lastUsedMs = record.lastUsedDate ? Date.parse(record.lastUsedDate) : Number.NaN;
  const active = record.status === 'Active';
  const facts: KeyFacts = {
    slot: user.freeSlot,
    active,
    ...(Number.isNaN(createdMs) ? {} : { lastRotated: new Date(createdMs) }),
    ...(Number.isNaN(lastUsedMs) ? {} : { lastUsed: new Date(lastUsedMs) }),
  };
  const evaluated = evaluateKey(
    facts,
    {
      isRoot: false,
      passwordEnabled: user.passwordEnabled,
      bothActive: user.activeKeys >= 2,
      ...(user.privileges ? { privileges: user.privileges } : {}),
    },
    now,
    thresholds,
  );
  const exemption = ctx.exemptions?.apply(
    { userName: record.userName, userArn: user.arn, accessKeyId: record.accessKeyId },
    evaluated,
  );
  const findings = exemption?.open ?? evaluated;
  const ageDays = facts.lastRotated ? wholeDaysBetween(facts.lastRotated, now) : undefined;
  const daysSinceLastUse = facts.lastUsed ? wholeDaysBetween(facts.lastUsed, now) : undefined;
  const created = reportTimeCell(record.createDate) ?? '';
  const lastUsedCell = facts.lastUsed ? formatReportTime(facts.lastUsed.getTime()) : NEVER_USED;
  const cells = [
    ...ctx.prefix,
    record.userName,
    user.arn,
    record.accessKeyId,
    '',
    record.status,
    created,
    numberCell(ageDays),
    lastUsedCell,
    lastUseNameCell(record.lastUsedService),
    lastUseNameCell(record.lastUsedRegion),
    numberCell(daysSinceLastUse),
    ...privilegeCells(user.privileges),
    user.paths.admin,
    user.paths.dataRead,
    grantingPoliciesCell(user.privileges),
    findings.join(';'),
    maxSeverity(findings) ?? '',
    ...exemptionCells(exemption),
  ];
  await writeKeyRow(state, ctx, cells, {
    userName: record.userName,
    userArn: user.arn,
    accessKeyId: record.accessKeyId,
    ...(facts.lastRotated ? { createdMs: facts.lastRotated.getTime() } : {}),
    ...(facts.lastUsed ? { lastUsedMs: facts.lastUsed.getTime() } : {}),
    activeKeys: user.activeKeys,
    created,
    active,
    isRoot: false,
    ...(ageDays !== undefined ? { ageDays } : {}),
    ...(facts.lastUsed ? { lastUsedDate: lastUsedCell } : {}),
    ...(daysSinceLastUse !== undefined ? { daysSinceLastUse } : {}),
    ...(user.privileges ? { privileges: user.privileges } : {}),
    paths: user.paths,
    findings,
    ...(exemption ? { exemption } : {}),
  });
}

/**
 * The exemption view of a user's row: its open findings are its own open ones and its keys' open ones (the
 * row carries the union, core/findings.ts); exempted are those of the row no longer open anywhere, reopened
 * those an expired entry reopened on the user or a key. Not counted again: the user and keys were.
 */
function userRowExemption(
  findings: readonly FindingId[],
  own: ExemptionOutcome | undefined,
  keys: readonly (ExemptionOutcome | undefined)[],
): ExemptionOutcome {
  const parts = [own, ...keys].filter((x): x is ExemptionOutcome => x !== undefined);
  const stillOpen = new Set<FindingId>();
  for (const part of parts) for (const id of part.open) stillOpen.add(id);
  const open = findings.filter((id) => stillOpen.has(id));
  const exempted = new Map<FindingId, { finding: FindingId; by: string[]; expires: string }>();
  const reopened = new Map<FindingId, ExemptionOutcome['reopened'][number]>();
  for (const part of parts) {
    for (const x of part.exempted) {
      if (stillOpen.has(x.finding)) continue;
      const seen = exempted.get(x.finding);
      if (!seen) exempted.set(x.finding, { finding: x.finding, by: [...x.by], expires: x.expires });
      else {
        for (const id of x.by) if (!seen.by.includes(id)) seen.by.push(id);
        if (x.expires < seen.expires) seen.expires = x.expires;
      }
    }
    for (const r of part.reopened) if (!reopened.has(r.finding)) reopened.set(r.finding, r);
  }
  return { open, exempted: [...exempted.values()], reopened: [...reopened.values()] };
}

async function writeUser(
  state: RunState,
  ctx: AccountContext,
  row: CredentialReportRow,
  privilegesByUser: ReadonlyMap<string, UserPrivileges> | undefined,
  inventory: readonly AccessKeyRecord[],
): Promise<void> {
  const { now, thresholds } = state.input;
  const isRoot = isRootRow(row);
  const privileges = isRoot ? ROOT_PRIVILEGES : privilegesByUser?.get(row.user);
  const evaluation = evaluateUser(row, privileges, now, thresholds, ctx.report.accountFacts);
  const privilegeRow = privilegeCells(privileges);
  const paths = privileges ? pathsOf(ctx, row.user, privileges, isRoot) : NO_PATHS;
  // Slots are paired with inventory keys first: a key's exemption may name its access key id.
  const hasKeys = evaluation.keys.length > 0 || inventory.length > 0;
  const { bySlot, unmatched } = hasKeys
    ? matchKeySlots(evaluation.keys, inventory, ctx.generatedMs)
    : { bySlot: [undefined, undefined] as const, unmatched: NO_KEYS };
  const ex = ctx.exemptions;
  const ownExemption = ex?.apply({ userName: row.user, userArn: row.arn }, evaluation.ownFindings);
  const keyExemptions = evaluation.keys.map((k) => {
    const accessKeyId = bySlot[k.slot - 1]?.accessKeyId;
    return ex?.apply(
      { userName: row.user, userArn: row.arn, ...(accessKeyId ? { accessKeyId } : {}) },
      k.findings,
    );
  });
  const rowExemption = ex ? userRowExemption(evaluation.findings, ownExemption, keyExemptions) : undefined;
  const userFindings = rowExemption?.open ?? evaluation.findings;
  const ownFindings = ownExemption?.open ?? evaluation.ownFindings;
  const cells: string[] = [...ctx.prefix];
  for (const column of CREDENTIAL_REPORT_COLUMNS) cells.push(row[column]);
  cells.push(
    boolCell(isRoot),
    String(evaluation.activeKeys),
    numberCell(evaluation.oldestActiveKeyAgeDays),
    numberCell(evaluation.daysSinceLastActivity),
    ...privilegeRow,
    paths.admin,
    paths.dataRead,
    userFindings.join(';'),
    maxSeverity(userFindings) ?? '',
    ctx.generatedCell,
    ...accountFactCells(isRoot, evaluation.rootCredentials, ctx.report.accountFacts),
    ...exemptionCells(rowExemption),
  );
  const wait = state.credentialReport.write(cells);
  if (wait) await wait;
  if (isRoot) ctx.tally.rootRow = true;
  state.builder.addUser(ctx.tally, userFindings);
  if (isRoot) ctx.tally.rootRowHoldings = rootHoldings(row, ctx.report.accountFacts?.rootCredentials);
  state.delta?.user(ctx.report.accountId, row.user, userFindings);
  if (state.runState) {
    const identity = userIdentity(ctx.report.accountId, neutraliseCell(row.user));
    const wait = state.runState.entry('u', identity, userFindings, state.firstSeenOrNow);
    if (wait) await wait;
  }
  if (ownFindings.length > 0 || (ownExemption?.exempted.length ?? 0) > 0) {
    const passwordLastUsedMs = parseReportTimeMs(row.password_last_used);
    const passwordSetMs =
      parseReportTimeMs(row.password_last_changed) ?? parseReportTimeMs(row.user_creation_time);
    await state.findings.write(
      ctx.prefix,
      { userName: row.user, userArn: row.arn, accessKeyId: '', isKey: false },
      ownFindings,
      {
        ...(passwordLastUsedMs !== undefined ? { passwordLastUsedMs } : {}),
        ...(passwordSetMs !== undefined ? { passwordSetMs } : {}),
        activeKeys: evaluation.activeKeys,
        ...(privileges ? { privileges } : {}),
        paths,
        ...(isRoot && ctx.report.accountFacts?.passwordPolicy
          ? { passwordPolicy: ctx.report.accountFacts.passwordPolicy }
          : {}),
      },
      state.firstSeen,
      ctx.account,
      ownExemption,
    );
  }

  if (!hasKeys) return;
  const grantingPolicies = grantingPoliciesCell(privileges);
  for (const [index, { slot, facts, findings: evaluated }] of evaluation.keys.entries()) {
    const exemption = keyExemptions[index];
    const findings = exemption?.open ?? evaluated;
    const record = bySlot[slot - 1];
    const columns = SLOT_COLUMNS[slot];
    const ageDays = facts.lastRotated ? wholeDaysBetween(facts.lastRotated, now) : undefined;
    const daysSinceLastUse = facts.lastUsed ? wholeDaysBetween(facts.lastUsed, now) : undefined;
    const accessKeyId = record?.accessKeyId ?? '';
    // AWS's cells in credreport's own columns: times in the one written form, never used said once.
    const created = reportTimeCell(row[columns.lastRotated]) ?? '';
    const lastUsedDate = facts.lastUsed ? formatReportTime(facts.lastUsed.getTime()) : NEVER_USED;
    await writeKeyRow(
      state,
      ctx,
      [
        ...ctx.prefix,
        row.user,
        row.arn,
        accessKeyId,
        String(slot),
        facts.active ? 'Active' : 'Inactive',
        created,
        numberCell(ageDays),
        lastUsedDate,
        lastUseNameCell(row[columns.lastUsedService]),
        lastUseNameCell(row[columns.lastUsedRegion]),
        numberCell(daysSinceLastUse),
        ...privilegeRow,
        paths.admin,
        paths.dataRead,
        grantingPolicies,
        findings.join(';'),
        maxSeverity(findings) ?? '',
        ...exemptionCells(exemption),
      ],
      {
        userName: row.user,
        userArn: row.arn,
        accessKeyId,
        slot,
        ...(facts.lastRotated ? { createdMs: facts.lastRotated.getTime() } : {}),
        ...(facts.lastUsed ? { lastUsedMs: facts.lastUsed.getTime() } : {}),
        activeKeys: evaluation.activeKeys,
        created,
        active: facts.active,
        isRoot,
        ...(ageDays !== undefined ? { ageDays } : {}),
        ...(facts.lastUsed ? { lastUsedDate } : {}),
        ...(daysSinceLastUse !== undefined ? { daysSinceLastUse } : {}),
        ...(privileges ? { privileges } : {}),
        paths,
        findings,
        ...(exemption ? { exemption } : {}),
      },
    );
  }
  if (unmatched.length > 0) {
    const activeKeys =
      evaluation.keys.filter((k) => k.facts.active).length +
      unmatched.filter((r) => r.status === 'Active').length;
    const freeSlot: 1 | 2 = evaluation.keys.some((k) => k.slot === 1) ? 2 : 1;
    for (const record of unmatched) {
      await writeInventoryKey(state, ctx, record, {
        arn: row.arn,
        passwordEnabled: parseBool(row.password_enabled),
        activeKeys,
        ...(privileges ? { privileges } : {}),
        paths,
        freeSlot,
      });
    }
  }
}

async function writeAccount(
  state: RunState,
  report: AccountReport,
  metaById: ReadonlyMap<string, AccountMetadata>,
  tagKeys: readonly string[],
): Promise<void> {
  const { builder } = state;
  const accountId = report.accountId;
  const generatedMs = Date.parse(report.generatedTime);
  let rows: readonly CredentialReportRow[];
  try {
    if (Number.isNaN(generatedMs)) {
      throw new ReportParseError(accountId, 'generatedTime is not an ISO 8601 time');
    }
    rows = parseCredentialReport(report.credentialReportCsv, accountId).rows;
  } catch (error) {
    if (!(error instanceof ReportParseError)) throw error;
    builder.addProblem({
      accountId,
      reason: 'rejected',
      detail: `credential report: ${error.detail}`,
      ...(report.collectedTime ? { at: report.collectedTime } : {}),
    });
    return;
  }
  const meta = metaById.get(accountId);
  const { now, thresholds } = state.input;
  const status = reportStatusCell(report.generatedTime, now, thresholds.staleHours);
  state.reportStatus.set(accountId, status);
  const prefix = accountPrefix(accountId, meta, status, tagKeys);
  let ctx: AccountContext = {
    report,
    generatedMs,
    generatedCell: formatReportTime(generatedMs),
    prefix,
    ...(meta ? { meta } : {}),
    account: { accountId, ...(meta ? { accountName: meta.name, ouPath: meta.ouPath } : {}) },
    tally: builder.account(accountId, report.generatedTime),
  };
  if (state.exemptions && !state.exemptions.empty) {
    ctx = { ...ctx, exemptions: state.exemptions.forAccount(accountId, meta) };
  }
  if (report.accountFacts) ctx.tally.facts = report.accountFacts;
  for (const warning of report.warnings ?? []) builder.warn(`account ${accountId}: ${warning}`);

  const chain = state.controlPolicies.chainFor(accountId);
  const grants = report.privileges ? state.input.grantsOf?.(report) : undefined;
  let privileges = report.privileges;
  if (privileges && grants) {
    const applied = applyServiceControlPolicies(privileges, grants, chain);
    privileges = applied.users;
    builder.addControlPolicies(chain.status, applied.cleared);
    if (applied.blocked.size > 0) ctx = { ...ctx, blocked: applied.blocked };
    if (applied.allowed.size > 0) ctx = { ...ctx, allowed: applied.allowed };
    ctx = { ...ctx, grants };
  } else builder.addControlPolicies(chain.status);
  const privilegesByUser = privileges ? new Map(privileges.map((p) => [p.userName, p])) : undefined;
  const inventoryByUser = new Map<string, AccessKeyRecord[]>();
  for (const record of report.accessKeys) {
    const list = inventoryByUser.get(record.userName);
    if (list) list.push(record);
    else inventoryByUser.set(record.userName, [record]);
  }
  for (const row of rows) {
    // IAM lists no access keys of root, and no IAM user can be called <root_account>.
    const inventory = isRootRow(row) ? NO_KEYS : (inventoryByUser.get(row.user) ?? NO_KEYS);
    inventoryByUser.delete(row.user);
    await writeUser(state, ctx, row, privilegesByUser, inventory);
  }
  // Keys of users the report does not list (created after it was generated).
  for (const [userName, records] of inventoryByUser) {
    const privileges = privilegesByUser?.get(userName);
    const activeKeys = records.filter((r) => r.status === 'Active').length;
    const paths = privileges ? pathsOf(ctx, userName, privileges, false) : NO_PATHS;
    for (const record of records) {
      await writeInventoryKey(state, ctx, record, {
        arn: '',
        passwordEnabled: false,
        activeKeys,
        ...(privileges ? { privileges } : {}),
        paths,
        freeSlot: 1,
      });
    }
    builder.warn(
      `account ${accountId}: user ${JSON.stringify(userName)} has keys but is not in the credential report (created after it)`,
    );
  }
}

/**
 * Streams both CSVs into the sinks (ends them and waits for 'finish'), returns summary + digest.
 * Deterministic for the same input (see the module comment for the ordering rules).
 */
export async function runMerge(input: MergeInput, sinks: MergeSinks): Promise<MergeResult> {
  const tagKeys = input.tagKeys ? [...input.tagKeys] : defaultTagKeys(input.metadata);
  const metaById = new Map((input.metadata?.accounts ?? []).map((a) => [a.id, a]));
  const builder = new SummaryBuilder({
    now: input.now,
    thresholds: input.thresholds,
    ...(input.metadata ? { metadata: input.metadata } : {}),
    ...(input.expectedAccountIds ? { expectedAccountIds: input.expectedAccountIds } : {}),
    ...(input.breakdownTag ? { breakdownTag: input.breakdownTag } : {}),
    ...(input.organizationLabel ? { organizationLabel: input.organizationLabel } : {}),
    ...(input.cisVersion ? { cisVersion: input.cisVersion } : {}),
    ...(input.partitionOf ? { partitionOf: input.partitionOf } : {}),
  });
  const delta = input.previous
    ? new DeltaTracker(
        input.previous,
        input.now,
        undefined,
        // A partition's digest shows at most DIGEST_LIMITS.deltaItems rows per list: keep no more.
        input.partitionOf ? { of: input.partitionOf, limit: DIGEST_LIMITS.deltaItems } : undefined,
      )
    : undefined;
  const findingsCsv = sinks.findings ? createCsvWriter(sinks.findings, findingsHeader(tagKeys)) : undefined;
  const runState = sinks.state ? new RunStateWriter(sinks.state, input.now.toISOString()) : undefined;
  const ocsf = sinks.ocsf ? new OcsfWriter(sinks.ocsf, input.now, input.ocsfProduct) : undefined;
  const onFinding = sinks.onFinding;
  // findings.ocsf.json and any other observer see the same findings as findings.csv, in the same order.
  const observe: OpenFindingObserver | undefined =
    ocsf && onFinding
      ? (finding) => {
          const first = ocsf.write(finding);
          const second = onFinding(finding);
          return first || second ? Promise.all([first, second]).then(() => undefined) : undefined;
        }
      : ocsf
        ? (finding) => ocsf.write(finding)
        : onFinding;
  const nowIso = input.now.toISOString();
  const firstSeen = delta ? (id: FindingId) => delta.firstSeen(id) : () => undefined;
  const newFindings = delta
    ? new NewFindingCollector(input.newFindingsLimit ?? DEFAULT_MAX_FINDING_EVENTS)
    : undefined;
  const state: RunState = {
    input,
    builder,
    ...(delta ? { delta } : {}),
    controlPolicies: new ControlPolicyIndex(input.metadata),
    credentialReport: createCsvWriter(sinks.credentialReport, credentialReportHeader(tagKeys)),
    accessKeys: createCsvWriter(sinks.accessKeys, accessKeysHeader(tagKeys)),
    ...(findingsCsv ? { findingsCsv } : {}),
    findings: new FindingsCsv(
      findingsCsv,
      input.now,
      input.thresholds,
      (id) => builder.addOpenFinding(id),
      newFindings,
      observe,
    ),
    ...(ocsf ? { ocsf } : {}),
    ...(runState ? { runState } : {}),
    ...(input.exemptions ? { exemptions: new ExemptionMatcher(input.exemptions, input.now) } : {}),
    reportStatus: new Map(),
    firstSeen,
    firstSeenOrNow: (id) => firstSeen(id) ?? nowIso,
  };

  const written = new Map<string, string>();
  try {
    for await (const report of inWriteOrder(input.reports, (m) => builder.warn(m))) {
      const usedTime = written.get(report.accountId);
      if (usedTime !== undefined) {
        builder.warn(
          `account ${report.accountId}: more than one report; used the one generated ${usedTime}, ignored ${report.generatedTime}`,
        );
        continue;
      }
      await writeAccount(state, report, metaById, tagKeys);
      if (builder.hasAccount(report.accountId)) written.set(report.accountId, report.generatedTime);
    }
  } catch (error) {
    // A failing input (e.g. a report stream that throws) or sink: close both outputs rather than leave them open.
    const reason = error instanceof Error ? error : new Error(String(error));
    state.credentialReport.abort(reason);
    state.accessKeys.abort(reason);
    state.findingsCsv?.abort(reason);
    state.runState?.abort(reason);
    state.ocsf?.abort(reason);
    throw error;
  }
  for (const problem of input.problems ?? []) builder.addProblem(problem);
  for (const warning of input.warnings ?? []) builder.warn(warning);
  for (const message of input.unattributed ?? []) builder.addUnattributed(message);
  if (input.exemptions?.problem !== undefined) builder.warn(exemptionsProblemText(input.exemptions));
  // Organization findings close findings.csv: the organization's own row (its id in account_id), then one
  // per member account on that account's columns (docs/ARCHITECTURE.md §6).
  for (const finding of builder.organization().findings) {
    const member = finding.resource === finding.accountId;
    const meta = member ? metaById.get(finding.resource) : undefined;
    const status = member ? (state.reportStatus.get(finding.resource) ?? '') : '';
    await state.findings.writeOrganization(accountPrefix(finding.resource, meta, status, tagKeys), finding, {
      accountId: finding.resource,
      ...(meta ? { accountName: meta.name, ouPath: meta.ouPath } : {}),
    });
  }
  await Promise.all([
    state.credentialReport.end(),
    state.accessKeys.end(),
    state.findingsCsv?.end(),
    state.runState?.end(),
    state.ocsf?.end(),
  ]);

  let summary = builder.build();
  if (state.exemptions) summary = { ...summary, exemptions: state.exemptions.summary() };
  if (state.delta) summary = { ...summary, delta: state.delta.finish(new Set(written.keys()), summary) };
  const remediation = await input.remediation?.();
  if (remediation) summary = { ...summary, remediation };
  const label = input.organizationLabel ?? input.metadata?.organizationId;
  const options = label ? { organizationLabel: label } : {};
  let partitions: Map<string, Summary> | undefined;
  if (input.partitionOf) {
    partitions = new Map();
    const deltas = state.delta?.partitionDeltas();
    for (const key of builder.partitionKeys()) {
      const part = builder.buildPartition(key);
      partitions.set(
        key,
        state.delta ? { ...part, delta: deltas?.get(key) ?? state.delta.emptyDelta() } : part,
      );
    }
  }
  return {
    summary,
    html: renderDigestHtml(summary, options),
    text: renderDigestText(summary, options),
    ...(newFindings ? { newFindings: newFindings.result() } : {}),
    ...(partitions ? { partitions } : {}),
  };
}
