/**
 * Domain types shared by the member agent, the aggregator, the CLI and the core. The zod schema of the
 * report payload (what travels in events and is stored as accounts/<id>/latest.json) lives in
 * core/event-contract.ts and must stay in step with `AccountReport` here.
 */
import type { AlternateContact } from './owners';

/** One access key as listed by IAM ListAccessKeys (+ GetAccessKeyLastUsed where fetched). */
export interface AccessKeyRecord {
  readonly userName: string;
  readonly accessKeyId: string;
  readonly status: 'Active' | 'Inactive' | 'Expired';
  /** ISO 8601 creation time (matches the report's access_key_N_last_rotated). */
  readonly createDate: string;
  /** ISO 8601; absent when never used or not fetched. */
  readonly lastUsedDate?: string;
  readonly lastUsedService?: string;
  readonly lastUsedRegion?: string;
}

export const PRIVILEGE_KINDS = ['admin', 's3Read', 'rdsRead', 'dynamodbRead'] as const;
export type PrivilegeKind = (typeof PRIVILEGE_KINDS)[number];

/**
 * One way a user holds a privilege (report schema v2, docs/ARCHITECTURE.md §4): the proving path as text
 * (`sts:AssumeRole role/ops-admin → AdministratorAccess`) and every IAM action a request along it needs
 * (`sts:AssumeRole`, then the action that proves the flag at the end). The hub clears a flag in an
 * account whose SCP chain denies (or does not allow) at least one action of every grant.
 */
export interface Grant {
  /** At most 512 characters. */
  readonly path: string;
  /** 1–16 IAM actions `service:Action`, in the order the path uses them. */
  readonly actions: readonly string[];
}

/** What one IAM user can do that matters for key risk, and which policies grant it. */
export interface UserPrivileges {
  readonly userName: string;
  readonly admin: boolean;
  readonly s3Read: boolean;
  readonly rdsRead: boolean;
  readonly dynamodbRead: boolean;
  /** Per kind, the names (managed policy ARN, or `user:<name>/<policy>`, `group:<group>/<policy>`) that grant it. */
  readonly grantingPolicies: Readonly<Partial<Record<PrivilegeKind, readonly string[]>>>;
  /**
   * Schema v2: per granted kind, the shortest ways the user holds it (at most 8, shortest first); the
   * first is the kind's proving path (`admin_path`, `data_read_path`). Absent in v1 reports.
   */
  readonly grants?: Readonly<Partial<Record<PrivilegeKind, readonly Grant[]>>>;
  /**
   * Schema v2: the AWSCompromisedKeyQuarantine policies (V1/V2/V3) attached to the user: AWS attaches
   * them when it finds the user's key exposed in public (finding `key-quarantined`).
   */
  readonly quarantinePolicies?: readonly string[];
}

/**
 * The root user's credentials as IAM `GetAccountSummary` counts them (`AccountMFAEnabled`,
 * `AccountAccessKeysPresent`, `AccountPasswordPresent`, `AccountSigningCertificatesPresent`). A field that
 * is absent is unknown (the answer lacked the key: moto omits `AccountPasswordPresent`), never false.
 */
export interface RootCredentialFacts {
  readonly mfaEnabled?: boolean;
  readonly accessKeysPresent?: boolean;
  readonly passwordPresent?: boolean;
  readonly signingCertificatesPresent?: boolean;
}

/**
 * The account's IAM password policy (`GetAccountPasswordPolicy`): `present: false` when IAM answers
 * NoSuchEntity (no policy set: IAM's defaults apply, 8 characters, reuse allowed).
 */
export type PasswordPolicyFact =
  | { readonly present: false }
  | {
      readonly present: true;
      /** 6–128 (IAM's range). */
      readonly minimumPasswordLength: number;
      /** 1–24 previous passwords that may not be reused; absent: reuse allowed. */
      readonly passwordReusePrevention?: number;
    };

/**
 * Account-level facts (report schema v3, docs/ARCHITECTURE.md §4). Each field absent = unknown (the read
 * was refused or failed; the report's warnings say which): unknown keeps the findings that do not need it.
 */
export interface AccountFacts {
  readonly rootCredentials?: RootCredentialFacts;
  readonly passwordPolicy?: PasswordPolicyFact;
  /**
   * True when the root user's assigned MFA device is virtual (`ListVirtualMFADevices`, AssignmentStatus
   * Assigned: a device whose `User.Arn` ends `:root`); false when no assigned virtual device is the root's.
   */
  readonly rootMfaVirtual?: boolean;
  /**
   * IAM users with a managed policy attached directly or an inline policy (CIS "permissions only through
   * groups"), from the GetAccountAuthorizationDetails snapshot; absent when the snapshot was not read.
   */
  readonly usersWithDirectPolicies?: readonly string[];
  /**
   * The tags of every IAM user that has any (GetAccountAuthorizationDetails `UserDetailList[].Tags`), for the
   * staged deactivation's opt-out tag (core/deactivation.ts). Absent: unknown (the snapshot was not read, or
   * its tags passed USER_TAG_BOUNDS and were left out with a warning); present and empty: nobody has tags.
   */
  readonly userTags?: readonly UserTags[];
}

/** One IAM user's tags (key → value). */
export interface UserTags {
  readonly userName: string;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * One account's complete collected report: the payload of the event contract once reassembled, and
 * the content of accounts/<id>/latest.json.
 */
export interface AccountReport {
  /** 1: no `grants` / `quarantinePolicies`; 2: with them; 3: also `accountFacts`. The hub accepts all three. */
  readonly schemaVersion: 1 | 2 | 3;
  readonly accountId: string;
  /** ISO time IAM generated the credential report (GetCredentialReport GeneratedTime). */
  readonly generatedTime: string;
  /** ISO time the agent finished collecting. */
  readonly collectedTime: string;
  /** The raw credential report CSV exactly as IAM returned it (decoded as UTF-8). */
  readonly credentialReportCsv: string;
  readonly accessKeys: readonly AccessKeyRecord[];
  /** Absent when privileges could not be collected (the report is still whole without them). */
  readonly privileges?: readonly UserPrivileges[];
  /** Non-fatal gaps in collection (e.g. a user deleted between listing and reading), for coverage. */
  readonly warnings?: readonly string[];
  /** Schema v3: account-level facts (absent in v1/v2 reports, and when none could be read). */
  readonly accountFacts?: AccountFacts;
}

/** An account of the organization, enriched for the output columns. */
export interface AccountMetadata {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  /** Organizations `State`: ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED (kept verbatim). */
  readonly state: string;
  /** ISO time the account joined the organization. */
  readonly joinedTime?: string;
  /** Names from the root down, joined with `/`, e.g. `Root/Workloads/Prod`. */
  readonly ouPath: string;
  /** Ids from the root down, e.g. `['r-ab12', 'ou-ab12-11111111', 'ou-ab12-22222222']`. */
  readonly ouIdPath: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
}

/** Organization metadata as cached in org/metadata.json and written by `credreport collect --metadata-out`. */
export interface OrgMetadata {
  readonly organizationId?: string;
  readonly managementAccountId?: string;
  /** ISO time the account list was fetched. */
  readonly fetchedAt: string;
  readonly accounts: readonly AccountMetadata[];
  /** ISO time each account's tags were last fetched (lets a warm cache skip unchanged accounts). */
  readonly tagsFetchedAt?: Readonly<Record<string, string>>;
  /** SCPs and RCPs attached on every account's path (docs/ARCHITECTURE.md §7); absent when never read. */
  readonly controlPolicies?: OrgControlPolicies;
  /** Centralized root access (IAM ListOrganizationsFeatures, Organizations trusted access); absent when never read. */
  readonly rootAccess?: OrgRootAccess;
  /** Alternate SECURITY contacts read for owner digests (core/owners.ts), by account id; absent when never read. */
  readonly alternateContacts?: Readonly<Record<string, AlternateContact>>;
}

/** The centralized root access features IAM can enable for an organization (ListOrganizationsFeatures). */
export const ROOT_ACCESS_FEATURES = ['RootCredentialsManagement', 'RootSessions'] as const;
export type RootAccessFeature = (typeof ROOT_ACCESS_FEATURES)[number];

/**
 * Centralized root access as read from the hub's (or `collect`'s) account (collector/root-access.ts):
 * `read` when IAM answered with the features enabled, or when its answer proves none can be (IAM has no
 * trusted access, the organization lacks all features); `unreadable` when this account may not ask (not
 * the management account nor IAM's delegated administrator for root access management, AccessDenied)
 * or the answer did not come: never a pass.
 */
export interface OrgRootAccess {
  readonly status: 'read' | 'unreadable';
  /** The features enabled (`read` only). */
  readonly enabledFeatures?: readonly RootAccessFeature[];
  /** Whether `iam.amazonaws.com` has trusted access in Organizations; absent when that could not be read. */
  readonly iamTrustedAccess?: boolean;
  /** Why it is unreadable, or why no feature can be enabled; safe to show (error names, no report data). */
  readonly detail?: string;
  /** ISO time of the answer. */
  readonly fetchedAt: string;
}

/** The two Organizations policy types that limit access (ListPoliciesForTarget `Filter`). */
export const CONTROL_POLICY_TYPES = ['SERVICE_CONTROL_POLICY', 'RESOURCE_CONTROL_POLICY'] as const;
export type ControlPolicyType = (typeof CONTROL_POLICY_TYPES)[number];

/** What is known of one policy type in the organization. */
export interface ControlPolicyTypeState {
  /**
   * `enabled`: the root lists the type ENABLED and its attachments were read; `not-enabled`: the root does
   * not (the type limits nothing); `unreadable`: Organizations refused (AccessDenied) or failed.
   */
  readonly status: 'enabled' | 'not-enabled' | 'unreadable';
  /** Why not `enabled`, safe to show. */
  readonly detail?: string;
  /** Per target (root, OU or account id): the policy ids attached directly to it, and when that was read. */
  readonly attachments: Readonly<Record<string, ControlPolicyAttachments>>;
}

export interface ControlPolicyAttachments {
  readonly policyIds: readonly string[];
  /** ISO time ListPoliciesForTarget was answered for this target. */
  readonly fetchedAt: string;
}

/** A policy's content as DescribePolicy returned it, cached by id. */
export interface StoredControlPolicy {
  readonly name: string;
  readonly type: ControlPolicyType;
  /** The policy document (JSON text). */
  readonly content: string;
  /** ISO time DescribePolicy was answered. */
  readonly fetchedAt: string;
}

export interface OrgControlPolicies {
  readonly scp: ControlPolicyTypeState;
  readonly rcp: ControlPolicyTypeState;
  /** By policy id (`p-…`). */
  readonly policies: Readonly<Record<string, StoredControlPolicy>>;
}

/** Why an expected account has no usable fresh report. */
export type CoverageReason =
  'never-reported' | 'stale' | 'rejected' | 'assembly-incomplete' | 'collection-failed' | 'unreadable';

/**
 * An account whose report could not be used, as known upstream of the core (ingest rejection, a part
 * missing, an assume-role failure in collect, an S3 read failure, a malformed local file).
 */
export interface ReportProblem {
  readonly accountId: string;
  readonly reason: Exclude<CoverageReason, 'never-reported' | 'stale'>;
  /** Human-readable detail, safe to show (no report contents, no secrets). */
  readonly detail: string;
  /** ISO time the problem was recorded, when known. */
  readonly at?: string;
}

export type CoverageStatus = 'reporting' | 'stale' | 'missing';

export interface CoverageEntry {
  readonly accountId: string;
  readonly accountName?: string;
  readonly ouPath?: string;
  readonly status: CoverageStatus;
  /** Absent when reporting. */
  readonly reason?: CoverageReason;
  readonly detail?: string;
  /** generatedTime of the report used (or of the stale one). */
  readonly lastReportTime?: string;
}

export { FINDING_CIS, FINDING_IDS } from './finding-ids';
export type { FindingId } from './finding-ids';
