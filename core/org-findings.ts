/**
 * Organization-level findings (docs/ARCHITECTURE.md §7 "Organization findings"): whether the organization
 * manages its member accounts' root users centrally (IAM "root access management", CIS v7.0.0 2.1.1), and,
 * when it does, which member accounts' root users still hold long-term credentials. Pure: it reads the
 * cached organization metadata (`rootAccess`, collector/root-access.ts) and the root row of each account's
 * credential report.
 */
import type { CredentialReportRow } from './columns';
import { type FindingControls, SEVERITIES, type Severity, severityRank } from './finding-ids';
import type { OrgMetadata, RootCredentialFacts } from './types';

/** Organization findings, in output order (after every user and key finding in findings.csv). */
export const ORG_FINDING_IDS = ['root-access-not-centralized', 'member-root-credentials-present'] as const;
export type OrgFindingId = (typeof ORG_FINDING_IDS)[number];

/**
 * Severity of each organization finding. root-access-not-centralized: Prowler's
 * iam_root_credentials_management_enabled is high (prowler-cloud/prowler at 3e000fa). A member root that
 * still holds a password, keys or certificates after centralization is the credential that check exists to
 * remove: high as well (a root access key alone is also `root-access-key`, critical, on the account's row).
 */
export const ORG_FINDING_SEVERITY: Readonly<Record<OrgFindingId, Severity>> = {
  'root-access-not-centralized': 'high',
  'member-root-credentials-present': 'high',
};

/**
 * CIS controls: v7.0.0 2.1.1 "Ensure centralized root access in AWS Organizations" (prowler/compliance/aws/
 * cis_7.0_aws.json, check iam_root_credentials_management_enabled); no earlier version has the control.
 * A member's remaining root credentials are the subject of that control's remediation, not a control of
 * their own.
 */
export const ORG_FINDING_CONTROLS: Readonly<Record<OrgFindingId, FindingControls>> = {
  'root-access-not-centralized': { cisV7: '2.1.1' },
  'member-root-credentials-present': {},
};

/** One line per organization finding for the digest and the README. */
export const ORG_FINDING_TITLES: Readonly<Record<OrgFindingId, string>> = {
  'root-access-not-centralized': 'Centralized root access not enabled for the organization',
  'member-root-credentials-present': 'Member account root user still holds credentials',
};

export type RootCredentialKind = 'password' | 'access key' | 'signing certificate';

/** What a root user holds: `present` undefined when it cannot be told (a password IAM's report does not show). */
export interface RootCredentials {
  readonly present: boolean | undefined;
  readonly kinds: readonly RootCredentialKind[];
}

const isTrue = (cell: string): boolean => cell.toLowerCase() === 'true';

/** A credential report cell as a boolean: `true` / `false`, anything else (`not_supported`, `N/A`) unknown. */
function cellBool(cell: string): boolean | undefined {
  const v = cell.toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : undefined;
}

/**
 * What one account's root user holds, each kind `undefined` when it cannot be told: summary.json's
 * `byAccount[].root`, and the source of {@link RootCredentials}.
 */
export interface RootHoldings {
  readonly password?: boolean;
  readonly accessKeys?: boolean;
  readonly signingCertificates?: boolean;
  /** The root user has MFA (`AccountMFAEnabled`, else the root row's `mfa_active`). */
  readonly mfa?: boolean;
}

/**
 * What a root user holds. GetAccountSummary's answer (schema v3 `accountFacts.rootCredentials`:
 * `AccountPasswordPresent`, `AccountAccessKeysPresent`, `AccountSigningCertificatesPresent`,
 * `AccountMFAEnabled`) decides each kind it states; a kind it does not state (an older report, a refused read,
 * moto's missing `AccountPasswordPresent`) comes from the root row of the credential report, when the report
 * has one: an active access key or signing certificate (`access_key_N_active`, `cert_N_active`), a password
 * (`password_enabled`), MFA (`mfa_active`). IAM writes `not_supported` as the root row's `password_enabled`, so
 * without the facts the root's password is unknown unless the cell says `true` or `false`.
 */
export function rootHoldings(
  row: CredentialReportRow | undefined,
  facts?: RootCredentialFacts,
): RootHoldings {
  const password = facts?.passwordPresent ?? (row ? cellBool(row.password_enabled) : undefined);
  const accessKeys =
    facts?.accessKeysPresent ??
    (row ? isTrue(row.access_key_1_active) || isTrue(row.access_key_2_active) : undefined);
  const signingCertificates =
    facts?.signingCertificatesPresent ??
    (row ? isTrue(row.cert_1_active) || isTrue(row.cert_2_active) : undefined);
  const mfa = facts?.mfaEnabled ?? (row ? cellBool(row.mfa_active) : undefined);
  return {
    ...(password !== undefined ? { password } : {}),
    ...(accessKeys !== undefined ? { accessKeys } : {}),
    ...(signingCertificates !== undefined ? { signingCertificates } : {}),
    ...(mfa !== undefined ? { mfa } : {}),
  };
}

/**
 * Whether the root holds long-term credentials: `present` when any kind is held, `false` when every kind is
 * known not to be, else `undefined`. The one rule behind the organization line, `member-root-credentials-present`,
 * summary.json's `accountFacts.rootCredentials` and `byAccount[].root.credentials`.
 */
export function rootCredentialsOf(h: RootHoldings): RootCredentials {
  const kinds: RootCredentialKind[] = [];
  if (h.password) kinds.push('password');
  if (h.accessKeys) kinds.push('access key');
  if (h.signingCertificates) kinds.push('signing certificate');
  if (kinds.length > 0) return { present: true, kinds };
  const none = h.password === false && h.accessKeys === false && h.signingCertificates === false;
  return { present: none ? false : undefined, kinds };
}

/** {@link rootCredentialsOf} the {@link rootHoldings} of a root row (and the account's facts, when any). */
export function rootCredentialsOfRow(row: CredentialReportRow, facts?: RootCredentialFacts): RootCredentials {
  return rootCredentialsOf(rootHoldings(row, facts));
}

/** `present` / `none` / `unknown`: {@link RootCredentials.present} as summary.json writes it. */
export function rootCredentialsWord(c: RootCredentials): 'present' | 'none' | 'unknown' {
  return c.present === undefined ? 'unknown' : c.present ? 'present' : 'none';
}

/**
 * `centralized`: RootCredentialsManagement enabled; `not-centralized`: IAM's answer shows it is not (or
 * cannot be) enabled; `unreadable`: this account could not read it (coverage says so; never a pass);
 * `not-read`: no metadata holds it (merge of local files, metadata cached before it was read).
 */
export type RootAccessState = 'centralized' | 'not-centralized' | 'unreadable' | 'not-read';

/** One organization finding: a row of findings.csv and an entry of summary.json's `organization.findings`. */
export interface OrgFinding {
  readonly id: OrgFindingId;
  readonly severity: Severity;
  /** The organization id (root-access-not-centralized) or the member account id. */
  readonly resource: string;
  /** The account the finding is acted on in: the management account, or the member. */
  readonly accountId?: string;
  readonly detail: string;
}

/** summary.json's `organization` section. */
export interface OrganizationSummary {
  readonly organizationId?: string;
  readonly managementAccountId?: string;
  readonly rootAccess: {
    readonly state: RootAccessState;
    readonly rootCredentialsManagement?: boolean;
    readonly rootSessions?: boolean;
    /** `iam.amazonaws.com` trusted access in Organizations; absent when unknown. */
    readonly iamTrustedAccess?: boolean;
    readonly detail?: string;
    readonly fetchedAt?: string;
  };
  /**
   * Member accounts (every account of the organization but the management account) whose report was read
   * this run, by what their root user holds; counted only when root access is centralized.
   */
  readonly members: {
    readonly withRootCredentials: number;
    readonly withoutRootCredentials: number;
    /** Root password not known (no key or certificate, and a report that cannot show a root password). */
    readonly unknown: number;
  };
  /** Sorted by finding, then account; at most one per member. */
  readonly findings: readonly OrgFinding[];
  /** `findings` per severity, most severe first (zero included); also added to `totals.openFindings`. */
  readonly openFindings: Readonly<Record<Severity, number>>;
}

/** The root user of one account as this run read it. */
export interface AccountRoot {
  readonly accountId: string;
  readonly credentials: RootCredentials;
}

const REMEDIATE_MEMBER =
  'delete them from the management account with sts:AssumeRoot (task policy IAMDeleteRootUserCredentials)';

/** The organization findings of one run (pure; `roots`: one per account written, any order). */
export function organizationFindings(
  metadata: OrgMetadata | undefined,
  roots: readonly AccountRoot[],
): OrganizationSummary {
  const organizationId = metadata?.organizationId;
  const managementAccountId = metadata?.managementAccountId;
  const ids = {
    ...(organizationId ? { organizationId } : {}),
    ...(managementAccountId ? { managementAccountId } : {}),
  };
  const access = metadata?.rootAccess;
  const findings: OrgFinding[] = [];
  const members = { withRootCredentials: 0, withoutRootCredentials: 0, unknown: 0 };
  let rootAccess: OrganizationSummary['rootAccess'];
  if (!access) {
    rootAccess = { state: 'not-read' };
  } else if (access.status === 'unreadable') {
    rootAccess = {
      state: 'unreadable',
      ...(access.iamTrustedAccess !== undefined ? { iamTrustedAccess: access.iamTrustedAccess } : {}),
      ...(access.detail ? { detail: access.detail } : {}),
      fetchedAt: access.fetchedAt,
    };
  } else {
    const enabled = new Set(access.enabledFeatures ?? []);
    const centralized = enabled.has('RootCredentialsManagement');
    rootAccess = {
      state: centralized ? 'centralized' : 'not-centralized',
      rootCredentialsManagement: centralized,
      rootSessions: enabled.has('RootSessions'),
      ...(access.iamTrustedAccess !== undefined ? { iamTrustedAccess: access.iamTrustedAccess } : {}),
      ...(access.detail ? { detail: access.detail } : {}),
      fetchedAt: access.fetchedAt,
    };
    if (!centralized) {
      const trusted =
        access.iamTrustedAccess === undefined
          ? ''
          : `; IAM trusted access in Organizations ${access.iamTrustedAccess ? 'enabled' : 'not enabled'}`;
      findings.push({
        id: 'root-access-not-centralized',
        severity: ORG_FINDING_SEVERITY['root-access-not-centralized'],
        resource: organizationId ?? managementAccountId ?? '',
        ...(managementAccountId ? { accountId: managementAccountId } : {}),
        detail: `RootCredentialsManagement not enabled${trusted}${access.detail ? ` (${access.detail})` : ''}`,
      });
    } else if (managementAccountId) {
      // Without the management account's id no account can be called a member: none is judged.
      const inOrganization = new Set(metadata.accounts.map((a) => a.id));
      const seen = new Set<string>();
      for (const root of [...roots].sort((a, b) => a.accountId.localeCompare(b.accountId))) {
        const id = root.accountId;
        if (id === managementAccountId || !inOrganization.has(id) || seen.has(id)) continue;
        seen.add(id);
        const present = root.credentials.present;
        if (present === undefined) members.unknown++;
        else if (!present) members.withoutRootCredentials++;
        else {
          members.withRootCredentials++;
          findings.push({
            id: 'member-root-credentials-present',
            severity: ORG_FINDING_SEVERITY['member-root-credentials-present'],
            resource: id,
            accountId: id,
            detail: `root ${root.credentials.kinds.join(', ')} present; ${REMEDIATE_MEMBER}`,
          });
        }
      }
    }
  }
  const counts = new Array<number>(SEVERITIES.length).fill(0);
  for (const f of findings) counts[severityRank(f.severity)]!++;
  return {
    ...ids,
    rootAccess,
    members,
    findings,
    openFindings: Object.fromEntries(SEVERITIES.map((s, i) => [s, counts[i] ?? 0])) as Record<
      Severity,
      number
    >,
  };
}

/**
 * `Root access: centrally managed · 3 member accounts still hold root credentials` (the digests' headline
 * area). Undefined when it was never read (nothing to say, rather than a false pass).
 */
export function rootAccessLine(org: OrganizationSummary | undefined): string | undefined {
  if (!org) return undefined;
  const r = org.rootAccess;
  switch (r.state) {
    case 'not-read':
      return undefined;
    case 'unreadable':
      return `Root access: not readable from this account${r.detail ? ` (${r.detail})` : ''}`;
    case 'not-centralized':
      return 'Root access: not centrally managed (CIS v7.0.0 2.1.1) · enable centralized root access';
    case 'centralized': {
      const m = org.members;
      const held =
        m.withRootCredentials === 0
          ? `no member account ${m.unknown > 0 ? 'known to hold' : 'holds'} root credentials`
          : `${m.withRootCredentials} member ${m.withRootCredentials === 1 ? 'account still holds' : 'accounts still hold'} root credentials`;
      const unknown =
        m.unknown > 0
          ? ` · ${m.unknown} member ${m.unknown === 1 ? 'account' : 'accounts'} whose root password is not known`
          : '';
      return `Root access: centrally managed · ${held}${unknown}`;
    }
  }
}
