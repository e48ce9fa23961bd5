/**
 * The finding ids and their bit positions: the one definition that evaluation (core/findings.ts), the
 * delta (core/delta.ts, previous-run masks) and the summary counters (core/summary.ts) share. Bit i is
 * FINDING_IDS[i]; a finding's position is also its index in FINDING_IDS-ordered lists and counters.
 */

/** Every finding of docs/ARCHITECTURE.md §7, in output order (CSV cells, summary.json, digest tables). */
export const FINDING_IDS = [
  'root-access-key',
  'root-mfa-disabled',
  'root-recently-used',
  'console-without-mfa',
  'key-created-at-setup',
  'credential-unused',
  'multiple-active-keys',
  'key-not-rotated',
  'privileged-key',
  'data-read-key',
  'key-quarantined',
  // Account facts (report schema v3). Appended, so that bit positions of older run states stay valid.
  'root-hardware-mfa-missing',
  'password-policy-weak-length',
  'password-policy-no-reuse-prevention',
  'user-direct-policies',
] as const;
export type FindingId = (typeof FINDING_IDS)[number];

/** Severities, most severe first (the order of every per-severity list and counter). */
export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * The severity of each finding (docs/ARCHITECTURE.md §7 gives the reason of each). Aligned with Prowler's
 * severity for the same check (prowler-cloud/prowler at 3e000fa, prowler/providers/aws/services/iam/<check>/
 * <check>.metadata.json) and with Security Hub's for the same control; where they differ the higher is
 * taken (console-without-mfa: Prowler high, Security Hub IAM.5 medium).
 *
 * | finding              | Prowler check (severity)                            | Security Hub (severity) |
 * | -------------------- | --------------------------------------------------- | ----------------------- |
 * | root-access-key      | iam_no_root_access_key (critical)                   | IAM.4 (critical)        |
 * | root-mfa-disabled    | iam_root_mfa_enabled (critical)                     | IAM.9 (critical)        |
 * | root-recently-used   | iam_avoid_root_usage (high)                         | —                       |
 * | console-without-mfa  | iam_user_mfa_enabled_console_access (high)          | IAM.5 (medium)          |
 * | key-created-at-setup | iam_user_no_setup_initial_access_key (medium)       | —                       |
 * | credential-unused    | iam_user_accesskey_unused, …console_access_unused (medium) | IAM.22 (medium)  |
 * | multiple-active-keys | iam_user_two_active_access_key (medium)             | —                       |
 * | key-not-rotated      | iam_rotate_access_key_90_days (medium)              | IAM.3 (medium)          |
 * | privileged-key       | iam_user_administrator_access_policy (critical)     | —                       |
 * | data-read-key        | —                                                   | —                       |
 * | root-hardware-mfa-missing | iam_root_hardware_mfa_enabled (critical)       | IAM.6 (critical)        |
 * | password-policy-weak-length | iam_password_policy_minimum_length_14 (medium) | IAM.15 (medium)       |
 * | password-policy-no-reuse-prevention | iam_password_policy_reuse_24 (medium) | IAM.16 (low)          |
 * | user-direct-policies | iam_policy_attached_only_to_group_or_roles (low)    | IAM.2 (low)             |
 *
 * privileged-key is high, not Prowler's critical: Prowler's check is about the AdministratorAccess policy
 * on a user, ours about a long-lived key on a user with admin power however granted; a root finding (which
 * no policy can restrict) stays above it. data-read-key has no peer check: medium, as the other key-hygiene
 * findings.
 */
export const FINDING_SEVERITY: Readonly<Record<FindingId, Severity>> = {
  'root-access-key': 'critical',
  'root-mfa-disabled': 'critical',
  'root-recently-used': 'high',
  'console-without-mfa': 'high',
  'key-created-at-setup': 'medium',
  'credential-unused': 'medium',
  'multiple-active-keys': 'medium',
  'key-not-rotated': 'medium',
  'privileged-key': 'high',
  'data-read-key': 'medium',
  'key-quarantined': 'critical',
  'root-hardware-mfa-missing': 'critical',
  'password-policy-weak-length': 'medium',
  'password-policy-no-reuse-prevention': 'medium',
  'user-direct-policies': 'low',
};

/** The CIS AWS Foundations Benchmark versions whose numbering credreport knows. */
export const CIS_VERSIONS = ['v4.0.1', 'v5.0.0', 'v6.0.0', 'v7.0.0'] as const;
export type CisVersion = (typeof CIS_VERSIONS)[number];
/** The CIS numbering shown when none is configured (`cisVersion`, `--cis-version`). */
export const DEFAULT_CIS_VERSION: CisVersion = 'v5.0.0';

/** The controls one finding maps to; absent: no such control. */
export interface FindingControls {
  /** CIS AWS Foundations Benchmark v4.0.1 recommendation (section 1, IAM). */
  readonly cisV4?: string;
  /** CIS AWS Foundations Benchmark v5.0.0 recommendation. */
  readonly cisV5?: string;
  /** CIS AWS Foundations Benchmark v6.0.0 recommendation (section 2, IAM). */
  readonly cisV6?: string;
  /** CIS AWS Foundations Benchmark v7.0.0 recommendation; absent where v7.0.0 dropped the control. */
  readonly cisV7?: string;
  /** AWS Security Hub control id. */
  readonly securityHub?: string;
}

/**
 * The controls each finding maps to. CIS ids from Prowler's mappings of the benchmark
 * (prowler/compliance/aws/cis_4.0_aws.json, "Version": "4.0.1", and cis_5.0_aws.json, at 3e000fa): v5.0.0
 * removed 1.3 "Ensure security questions are registered", so every later IAM recommendation moved down by
 * one (1.4 → 1.3 … 1.14 → 1.13). v6.0.0 and v7.0.0 from cis_6.0_aws.json ("CIS Amazon Web Services
 * Foundations Benchmark v6.0.0", last changed at fe7e667) and cis_7.0_aws.json ("… v7.0.0", last changed at
 * 1ee4de1), both read at prowler-cloud/prowler 3e000fa: v6.0.0 moved the IAM section to 2 in v5.0.0's order
 * (2.1–2.21); v7.0.0 opened it with 2.1.1–2.1.6 (AWS Organizations: 2.1.1 "Ensure centralized root access
 * in AWS Organizations", check iam_root_credentials_management_enabled), moved the contacts to 2.2–2.3 and
 * dropped "Do not create access keys during initial setup" and "Ensure there is only one active access
 * key": key-created-at-setup and multiple-active-keys have no v7.0.0 id. Security Hub ids from prowler/
 * compliance/aws/aws_foundational_security_best_practices_aws.json (IAM.3 iam_rotate_access_key_90_days,
 * IAM.4 iam_no_root_access_key, IAM.5 iam_user_mfa_enabled_console_access, IAM.9 root MFA, IAM.22
 * iam_user_accesskey_unused + iam_user_console_access_unused).
 *
 * The account-facts findings below (root hardware MFA, password length and reuse, permissions only through
 * groups) take their ids from the same files (the comment above them names the checks); centralized root
 * access (v7.0.0 2.1.1) is an organization finding, numbered in core/org-findings.ts ORG_FINDING_CONTROLS.
 */
export const FINDING_CONTROLS: Readonly<Record<FindingId, FindingControls>> = {
  'root-access-key': { cisV4: '1.4', cisV5: '1.3', cisV6: '2.3', cisV7: '2.4', securityHub: 'IAM.4' },
  'root-mfa-disabled': { cisV4: '1.5', cisV5: '1.4', cisV6: '2.4', cisV7: '2.5', securityHub: 'IAM.9' },
  'root-recently-used': { cisV4: '1.7', cisV5: '1.6', cisV6: '2.6', cisV7: '2.7' },
  'console-without-mfa': { cisV4: '1.10', cisV5: '1.9', cisV6: '2.9', cisV7: '2.10', securityHub: 'IAM.5' },
  'key-created-at-setup': { cisV4: '1.11', cisV5: '1.10', cisV6: '2.10' },
  'credential-unused': { cisV4: '1.12', cisV5: '1.11', cisV6: '2.11', cisV7: '2.11', securityHub: 'IAM.22' },
  'multiple-active-keys': { cisV4: '1.13', cisV5: '1.12', cisV6: '2.12' },
  'key-not-rotated': { cisV4: '1.14', cisV5: '1.13', cisV6: '2.13', cisV7: '2.12', securityHub: 'IAM.3' },
  'privileged-key': {},
  'data-read-key': {},
  'key-quarantined': {},
  // Account facts: CIS v4.0.1 1.6 / 1.8 / 1.9 / 1.15 and v5.0.0 1.5 / 1.7 / 1.8 / 1.14 (cis_4.0_aws.json,
  // cis_5.0_aws.json: iam_root_hardware_mfa_enabled, iam_password_policy_minimum_length_14,
  // iam_password_policy_reuse_24, iam_policy_attached_only_to_group_or_roles); Security Hub IAM.6, IAM.15,
  // IAM.16, IAM.2.
  'root-hardware-mfa-missing': {
    cisV4: '1.6',
    cisV5: '1.5',
    cisV6: '2.5',
    cisV7: '2.6',
    securityHub: 'IAM.6',
  },
  'password-policy-weak-length': {
    cisV4: '1.8',
    cisV5: '1.7',
    cisV6: '2.7',
    cisV7: '2.8',
    securityHub: 'IAM.15',
  },
  'password-policy-no-reuse-prevention': {
    cisV4: '1.9',
    cisV5: '1.8',
    cisV6: '2.8',
    cisV7: '2.9',
    securityHub: 'IAM.16',
  },
  'user-direct-policies': {
    cisV4: '1.15',
    cisV5: '1.14',
    cisV6: '2.14',
    cisV7: '2.13',
    securityHub: 'IAM.2',
  },
};

/** The FindingControls field that holds each CIS version's id. */
export const CIS_FIELD: Readonly<Record<CisVersion, 'cisV4' | 'cisV5' | 'cisV6' | 'cisV7'>> = {
  'v4.0.1': 'cisV4',
  'v5.0.0': 'cisV5',
  'v6.0.0': 'cisV6',
  'v7.0.0': 'cisV7',
};

/** The CIS id of a finding in the given numbering (`undefined`: no CIS control). */
export function cisIdOf(id: FindingId, version: CisVersion): string | undefined {
  return FINDING_CONTROLS[id][CIS_FIELD[version]];
}

/** The CIS AWS Foundations control each finding maps to in the default numbering (`undefined`: none). */
export const FINDING_CIS: Readonly<Record<FindingId, string | undefined>> = Object.fromEntries(
  FINDING_IDS.map((id) => [id, cisIdOf(id, DEFAULT_CIS_VERSION)]),
) as Record<FindingId, string | undefined>;

/** Index of each finding in FINDING_IDS (its bit position, its slot in per-finding counters). */
export const FINDING_INDEX: Readonly<Record<FindingId, number>> = Object.fromEntries(
  FINDING_IDS.map((id, i) => [id, i]),
) as Record<FindingId, number>;

/** Bit of each finding in a finding mask. */
export const FINDING_BIT: Readonly<Record<FindingId, number>> = Object.fromEntries(
  FINDING_IDS.map((id, i) => [id, 1 << i]),
) as Record<FindingId, number>;

const BIT_BY_NAME = new Map<string, number>(FINDING_IDS.map((id, i) => [id, 1 << i]));

/** Finding ids → bitmask; unknown ids (e.g. in a CSV written by a newer version) are ignored. */
export function findingMask(findings: Iterable<string>): number {
  let mask = 0;
  for (const id of findings) mask |= BIT_BY_NAME.get(id) ?? 0;
  return mask;
}

/**
 * Mask → its frozen FINDING_IDS-ordered list, built on first use: 2^15 masks are possible, but an
 * organization meets a few hundred combinations, so a table built up front would mostly be waste.
 */
const LISTS: (readonly FindingId[] | undefined)[] = new Array<readonly FindingId[] | undefined>(
  1 << FINDING_IDS.length,
);

/**
 * The findings of a mask in FINDING_IDS order, as a shared frozen array (no allocation after a mask's
 * first use: this runs once per user of the whole organization). Bits above the known findings are ignored.
 */
export function findingsOfMask(mask: number): readonly FindingId[] {
  const known = mask & (LISTS.length - 1);
  return (LISTS[known] ??= Object.freeze(FINDING_IDS.filter((_id, i) => (known & (1 << i)) !== 0)));
}

const SEVERITY_INDEX: Readonly<Record<Severity, number>> = { critical: 0, high: 1, medium: 2, low: 3 };

/** Rank of a severity: 0 critical … 3 low (lower is more severe). */
export function severityRank(severity: Severity): number {
  return SEVERITY_INDEX[severity];
}

/** The most severe of the findings' severities; undefined when there are none. */
export function maxSeverity(findings: readonly FindingId[]): Severity | undefined {
  let best: Severity | undefined;
  for (const id of findings) {
    const s = FINDING_SEVERITY[id];
    if (best === undefined || SEVERITY_INDEX[s] < SEVERITY_INDEX[best]) best = s;
  }
  return best;
}
