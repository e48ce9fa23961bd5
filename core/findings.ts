import type { CredentialReportRow } from './columns';
import { ROOT_USER } from './columns';
import { parseBool } from './credential-report';
import type { Thresholds } from './thresholds';
import { parseReportTimeMs, wholeDaysBetweenMs } from './time';
import { FINDING_BIT, findingsOfMask } from './finding-ids';
import type { FindingId } from './finding-ids';
import type { AccountFacts, PasswordPolicyFact, UserPrivileges } from './types';

/**
 * The findings of docs/ARCHITECTURE.md §7, per IAM user (a credential report row) and per access key.
 *
 * Threshold edges, all in whole days (`wholeDaysBetween`, rounded down):
 * - key-not-rotated: age > rotationDays (90 days old passes, 91 fails; CIS 1.14 "rotated every 90 days or less").
 * - credential-unused: days unused > unusedDays (45 passes, 46 fails).
 * - grace: a key younger than graceDays (age < graceDays) is spared credential-unused and key-created-at-setup.
 * - root-recently-used: root used at most rootUseDays ago (30 fails, 31 passes).
 *
 * Findings are computed as bit masks and turned into shared, frozen arrays in FINDING_IDS order, so the
 * per-user cost is a handful of small objects (evaluateUser runs once per row of the whole organization).
 */

export interface KeyFacts {
  readonly slot: 1 | 2;
  readonly active: boolean;
  readonly lastRotated?: Date;
  readonly lastUsed?: Date;
}

export interface EvaluatedKey {
  readonly slot: 1 | 2;
  readonly facts: KeyFacts;
  readonly findings: readonly FindingId[];
}

/**
 * What the account facts (report schema v3) say of the root user's credentials: `none` when
 * GetAccountSummary says no password and no access keys (root credentials removed, as with centralized
 * root access), `present` when it says either exists, `unknown` otherwise (no facts, or a key missing
 * from the answer), which keeps the findings of the credential report alone.
 */
export type RootCredentialState = 'none' | 'present' | 'unknown';

/** The root credential state of an account's facts (see {@link RootCredentialState}). */
export function rootCredentialState(facts: AccountFacts | undefined): RootCredentialState {
  const root = facts?.rootCredentials;
  if (root === undefined) return 'unknown';
  if (root.passwordPresent === true || root.accessKeysPresent === true) return 'present';
  if (root.passwordPresent === false && root.accessKeysPresent === false) return 'none';
  return 'unknown';
}

export interface UserEvaluation {
  readonly isRoot: boolean;
  /** The root row's credential state from the account facts; `unknown` on every other row. */
  readonly rootCredentials: RootCredentialState;
  readonly activeKeys: number;
  readonly oldestActiveKeyAgeDays?: number;
  /** Days since the latest of password_last_used / any key's last use; undefined if never used. */
  readonly daysSinceLastActivity?: number;
  /** User-level findings incl. the union of its keys' findings, in FINDING_IDS order, no duplicates. */
  readonly findings: readonly FindingId[];
  /**
   * The findings of the user itself, not of a key: root MFA, root use by password, console without MFA,
   * an unused password (findings.csv's rows without an access key).
   */
  readonly ownFindings: readonly FindingId[];
  /** Slots that hold a key (last_rotated not N/A, or marked active). */
  readonly keys: readonly EvaluatedKey[];
}

export interface KeyContext {
  readonly isRoot: boolean;
  readonly passwordEnabled: boolean;
  /** Both of the user's key slots are active. */
  readonly bothActive: boolean;
  /** Undefined = unknown: privileged-key / data-read-key are not raised. */
  readonly privileges?: UserPrivileges;
}

const BIT = FINDING_BIT;
const ROOT_ACCESS_KEY = BIT['root-access-key'];
const ROOT_MFA_DISABLED = BIT['root-mfa-disabled'];
const ROOT_RECENTLY_USED = BIT['root-recently-used'];
const CONSOLE_WITHOUT_MFA = BIT['console-without-mfa'];
const KEY_CREATED_AT_SETUP = BIT['key-created-at-setup'];
const CREDENTIAL_UNUSED = BIT['credential-unused'];
const MULTIPLE_ACTIVE_KEYS = BIT['multiple-active-keys'];
const KEY_NOT_ROTATED = BIT['key-not-rotated'];
const PRIVILEGED_KEY = BIT['privileged-key'];
const DATA_READ_KEY = BIT['data-read-key'];
/** Critical: AWS attached an AWSCompromisedKeyQuarantine policy (it found a key of the user in public). */
const KEY_QUARANTINED = BIT['key-quarantined'];
const ROOT_HARDWARE_MFA_MISSING = BIT['root-hardware-mfa-missing'];
const PASSWORD_POLICY_WEAK_LENGTH = BIT['password-policy-weak-length'];
const PASSWORD_POLICY_NO_REUSE_PREVENTION = BIT['password-policy-no-reuse-prevention'];
const USER_DIRECT_POLICIES = BIT['user-direct-policies'];

/** CIS v5.0.0 1.7 (v4.0.1 1.8): the password policy requires at least 14 characters. */
export const CIS_MIN_PASSWORD_LENGTH = 14;
/** CIS v5.0.0 1.8 (v4.0.1 1.9): the password policy prevents reuse of the last 24 passwords. */
export const CIS_PASSWORD_REUSE_PREVENTION = 24;

/**
 * The account-level findings of a known password policy (docs/ARCHITECTURE.md §7): they sit on the
 * account's root row, the row that stands for the account. No policy fails both.
 */
export function passwordPolicyMask(policy: PasswordPolicyFact | undefined): number {
  if (policy === undefined) return 0;
  if (!policy.present) return PASSWORD_POLICY_WEAK_LENGTH | PASSWORD_POLICY_NO_REUSE_PREVENTION;
  let mask = 0;
  if (policy.minimumPasswordLength < CIS_MIN_PASSWORD_LENGTH) mask |= PASSWORD_POLICY_WEAK_LENGTH;
  if ((policy.passwordReusePrevention ?? 0) < CIS_PASSWORD_REUSE_PREVENTION) {
    mask |= PASSWORD_POLICY_NO_REUSE_PREVENTION;
  }
  return mask;
}

/** The users with direct policies of one account's facts, as a set built once per facts object. */
const DIRECT_POLICY_USERS = new WeakMap<AccountFacts, ReadonlySet<string>>();
function directPolicyUsers(facts: AccountFacts): ReadonlySet<string> | undefined {
  const names = facts.usersWithDirectPolicies;
  if (names === undefined) return undefined;
  let set = DIRECT_POLICY_USERS.get(facts);
  if (set === undefined) {
    set = new Set(names);
    DIRECT_POLICY_USERS.set(facts, set);
  }
  return set;
}

const listOf = findingsOfMask;

function msOf(date: Date | undefined): number | undefined {
  return date === undefined ? undefined : date.getTime();
}

/** The key-level finding mask (see evaluateKey); times in epoch ms. */
function keyMask(
  active: boolean,
  rotatedMs: number | undefined,
  usedMs: number | undefined,
  ctx: KeyContext,
  nowMs: number,
  t: Thresholds,
): number {
  let mask = 0;
  // A root key used lately is root use whether or not the key has been deactivated since.
  if (ctx.isRoot && usedMs !== undefined && wholeDaysBetweenMs(usedMs, nowMs) <= t.rootUseDays) {
    mask |= ROOT_RECENTLY_USED;
  }
  if (!active) return mask;
  if (ctx.isRoot) mask |= ROOT_ACCESS_KEY;
  const ageDays = rotatedMs === undefined ? undefined : wholeDaysBetweenMs(rotatedMs, nowMs);
  const inGrace = ageDays !== undefined && ageDays < t.graceDays;
  if (ctx.passwordEnabled && usedMs === undefined && !inGrace) mask |= KEY_CREATED_AT_SETUP;
  // CIS 1.12: a never-used key counts as unused from its creation (last rotation).
  const unusedSinceMs = usedMs ?? rotatedMs;
  if (!inGrace && unusedSinceMs !== undefined && wholeDaysBetweenMs(unusedSinceMs, nowMs) > t.unusedDays) {
    mask |= CREDENTIAL_UNUSED;
  }
  if (ctx.bothActive) mask |= MULTIPLE_ACTIVE_KEYS;
  if (ageDays !== undefined && ageDays > t.rotationDays) mask |= KEY_NOT_ROTATED;
  const p = ctx.privileges;
  if (p !== undefined) {
    if (p.admin) mask |= PRIVILEGED_KEY;
    if (p.s3Read || p.rdsRead || p.dynamodbRead) mask |= DATA_READ_KEY;
    if ((p.quarantinePolicies?.length ?? 0) > 0) mask |= KEY_QUARANTINED;
  }
  return mask;
}

/**
 * Findings for one key (also for inventory keys the report does not show, e.g. created after it).
 * An inactive key has none, except root-recently-used for a root key used within rootUseDays.
 */
export function evaluateKey(key: KeyFacts, ctx: KeyContext, now: Date, thresholds: Thresholds): FindingId[] {
  const mask = keyMask(key.active, msOf(key.lastRotated), msOf(key.lastUsed), ctx, now.getTime(), thresholds);
  return listOf(mask).slice();
}

/** True for the row of the root user (`<root_account>`, ARN `…:root`). */
export function isRootRow(row: CredentialReportRow): boolean {
  return row.user === ROOT_USER || row.arn.endsWith(':root');
}

/**
 * Evaluates one credential report row (cells as validated by parseCredentialReport). Pure.
 * `privileges` undefined = unknown (privileged-key / data-read-key not raised). `facts`: the account's
 * facts (report schema v3), undefined = unknown.
 *
 * Root MFA follows CIS v5.0.0's audit (1.4: it passes when `AccountPasswordPresent` is 0): the root row
 * has `root-mfa-disabled` only when MFA is off and the root user may sign in — the facts say it has a
 * password or access keys, or they do not say (unknown keeps the credential report's `mfa_active` alone).
 * A root without password and keys (credentials removed, centralized root access) has no MFA finding.
 * The same holds for `root-hardware-mfa-missing` (MFA on, its device virtual: `rootMfaVirtual`). The
 * account's password policy findings sit on the root row too; `user-direct-policies` on the row of each
 * user the facts list.
 */
export function evaluateUser(
  row: CredentialReportRow,
  privileges: UserPrivileges | undefined,
  now: Date,
  thresholds: Thresholds,
  facts?: AccountFacts,
): UserEvaluation {
  const nowMs = now.getTime();
  const isRoot = isRootRow(row);
  // Root's password_enabled is not_supported, which reads as false: its console use is covered by root-*.
  const passwordEnabled = !isRoot && parseBool(row.password_enabled);
  const mfaActive = parseBool(row.mfa_active);

  const active1 = parseBool(row.access_key_1_active);
  const active2 = parseBool(row.access_key_2_active);
  const rotated1 = parseReportTimeMs(row.access_key_1_last_rotated);
  const rotated2 = parseReportTimeMs(row.access_key_2_last_rotated);
  const used1 = parseReportTimeMs(row.access_key_1_last_used_date);
  const used2 = parseReportTimeMs(row.access_key_2_last_used_date);
  const has1 = active1 || rotated1 !== undefined;
  const has2 = active2 || rotated2 !== undefined;
  const ctx: KeyContext = { isRoot, passwordEnabled, bothActive: active1 && active2, privileges };

  let mask = 0;
  let activeKeys = 0;
  let oldestRotatedMs: number | undefined;
  // no_information (not used since IAM began tracking in Oct 2014) and N/A both mean never used.
  const passwordUsedMs = parseReportTimeMs(row.password_last_used);
  let lastActivityMs = passwordUsedMs;

  let key1: EvaluatedKey | undefined;
  if (has1) {
    const m = keyMask(active1, rotated1, used1, ctx, nowMs, thresholds);
    mask |= m;
    key1 = { slot: 1, facts: keyFacts(1, active1, rotated1, used1), findings: listOf(m) };
    if (active1) {
      activeKeys++;
      if (rotated1 !== undefined) oldestRotatedMs = rotated1;
    }
  }
  if (used1 !== undefined && (lastActivityMs === undefined || used1 > lastActivityMs)) lastActivityMs = used1;

  let key2: EvaluatedKey | undefined;
  if (has2) {
    const m = keyMask(active2, rotated2, used2, ctx, nowMs, thresholds);
    mask |= m;
    key2 = { slot: 2, facts: keyFacts(2, active2, rotated2, used2), findings: listOf(m) };
    if (active2) {
      activeKeys++;
      if (rotated2 !== undefined && (oldestRotatedMs === undefined || rotated2 < oldestRotatedMs)) {
        oldestRotatedMs = rotated2;
      }
    }
  }
  if (used2 !== undefined && (lastActivityMs === undefined || used2 > lastActivityMs)) lastActivityMs = used2;

  let own = 0;
  const rootCredentials: RootCredentialState = isRoot ? rootCredentialState(facts) : 'unknown';
  if (isRoot) {
    if (!mfaActive && rootCredentials !== 'none') own |= ROOT_MFA_DISABLED;
    if (mfaActive && facts?.rootMfaVirtual === true && rootCredentials !== 'none') {
      own |= ROOT_HARDWARE_MFA_MISSING;
    }
    own |= passwordPolicyMask(facts?.passwordPolicy);
    if (passwordUsedMs !== undefined && wholeDaysBetweenMs(passwordUsedMs, nowMs) <= thresholds.rootUseDays) {
      own |= ROOT_RECENTLY_USED;
    }
  } else if (facts !== undefined && directPolicyUsers(facts)?.has(row.user) === true) {
    own |= USER_DIRECT_POLICIES;
  }
  if (!isRoot && passwordEnabled) {
    if (!mfaActive) own |= CONSOLE_WITHOUT_MFA;
    // CIS 1.12: a never-used password counts as unused from its last change (else from user creation).
    const sinceMs =
      passwordUsedMs ??
      parseReportTimeMs(row.password_last_changed) ??
      parseReportTimeMs(row.user_creation_time);
    if (sinceMs !== undefined && wholeDaysBetweenMs(sinceMs, nowMs) > thresholds.unusedDays)
      own |= CREDENTIAL_UNUSED;
  }
  mask |= own;

  const keys: EvaluatedKey[] =
    key1 === undefined ? (key2 === undefined ? [] : [key2]) : key2 === undefined ? [key1] : [key1, key2];
  // Every property always present (possibly undefined): one object shape for all users.
  return {
    isRoot,
    rootCredentials,
    activeKeys,
    oldestActiveKeyAgeDays:
      oldestRotatedMs === undefined ? undefined : wholeDaysBetweenMs(oldestRotatedMs, nowMs),
    daysSinceLastActivity:
      lastActivityMs === undefined ? undefined : wholeDaysBetweenMs(lastActivityMs, nowMs),
    findings: listOf(mask),
    ownFindings: listOf(own),
    keys,
  };
}

function keyFacts(
  slot: 1 | 2,
  active: boolean,
  rotatedMs: number | undefined,
  usedMs: number | undefined,
): KeyFacts {
  return {
    slot,
    active,
    lastRotated: rotatedMs === undefined ? undefined : new Date(rotatedMs),
    lastUsed: usedMs === undefined ? undefined : new Date(usedMs),
  };
}
