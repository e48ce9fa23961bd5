/** The 22 columns of an AWS IAM credential report, in the order AWS writes them. */
export const CREDENTIAL_REPORT_COLUMNS = [
  'user',
  'arn',
  'user_creation_time',
  'password_enabled',
  'password_last_used',
  'password_last_changed',
  'password_next_rotation',
  'mfa_active',
  'access_key_1_active',
  'access_key_1_last_rotated',
  'access_key_1_last_used_date',
  'access_key_1_last_used_region',
  'access_key_1_last_used_service',
  'access_key_2_active',
  'access_key_2_last_rotated',
  'access_key_2_last_used_date',
  'access_key_2_last_used_region',
  'access_key_2_last_used_service',
  'cert_1_active',
  'cert_1_last_rotated',
  'cert_2_active',
  'cert_2_last_rotated',
] as const;

export type CredentialReportColumn = (typeof CREDENTIAL_REPORT_COLUMNS)[number];

/** One row of a credential report with every cell kept as AWS wrote it (`N/A`, `no_information`, … verbatim). */
export type CredentialReportRow = Readonly<Record<CredentialReportColumn, string>>;

/** The user name AWS gives the root user's row. */
export const ROOT_USER = '<root_account>';

/**
 * The exemption columns that close credential-report.csv, access-keys.csv and findings.csv
 * (docs/ARCHITECTURE.md §6): which entries exempt the row's findings, when the earliest of them ends, and
 * `exemption expired on YYYY-MM-DD` for a finding an expired entry reopened.
 */
export const EXEMPTION_COLUMNS = ['exempted_by', 'exemption_expires', 'exemption_note'] as const;

/**
 * Account columns that lead the three output CSVs (tag columns follow them). `report_status` is whether the
 * report the row comes from is `current` or `stale (3 days)` (core/coverage.ts `reportStatusCell`).
 */
export const ACCOUNT_COLUMNS = [
  'account_id',
  'account_name',
  'account_email',
  'account_state',
  'ou_path',
  'report_status',
] as const;

/**
 * What credreport writes in its own columns for a credential never used (access-keys.csv `last_used_date`),
 * the words the digest and findings.csv's `detail` use. AWS's own cells keep AWS's `N/A`.
 */
export const NEVER_USED = 'never used';

/** Columns of credential-report.csv after the credential report's own 22 (docs/ARCHITECTURE.md §6). */
export const CREDENTIAL_REPORT_DERIVED_COLUMNS = [
  'is_root',
  'active_keys',
  'oldest_active_key_age_days',
  'days_since_last_activity',
  'admin',
  's3_read',
  'rds_read',
  'dynamodb_read',
  'admin_path',
  'data_read_path',
  'findings',
  'max_severity',
  'report_generated_time',
  // Account facts (report schema v3), on the root row only; empty elsewhere and when unknown.
  'root_credentials',
  'root_password_present',
  'root_access_keys_present',
  'root_signing_certificates_present',
  'root_mfa_virtual',
  'password_policy',
  // Exemptions (core/exemptions.ts): `finding:entry` of each exempted finding, the earliest end, reopen notes.
  ...EXEMPTION_COLUMNS,
] as const;

/** Columns of access-keys.csv after the account and tag columns (docs/ARCHITECTURE.md §6). */
export const ACCESS_KEY_COLUMNS = [
  'user',
  'user_arn',
  'access_key_id',
  'key_slot',
  'status',
  'created',
  'age_days',
  'last_used_date',
  'last_used_service',
  'last_used_region',
  'days_since_last_use',
  'admin',
  's3_read',
  'rds_read',
  'dynamodb_read',
  'admin_path',
  'data_read_path',
  'granting_policies',
  'findings',
  'severity',
  ...EXEMPTION_COLUMNS,
] as const;

/**
 * Columns of findings.csv after the account and tag columns (docs/ARCHITECTURE.md §6): one row per open
 * finding of a user (access_key_id and key_slot empty) or of a key.
 */
export const FINDINGS_COLUMNS = [
  'user',
  'user_arn',
  'access_key_id',
  'key_slot',
  'finding_id',
  'severity',
  'cis_v4',
  'cis_v5',
  'cis_v6',
  'cis_v7',
  'security_hub_control',
  'first_seen',
  'age_days',
  'detail',
  'path',
  ...EXEMPTION_COLUMNS,
] as const;

/** Prefix of a tag column: `tag:<Key>`. */
export const TAG_COLUMN_PREFIX = 'tag:';
