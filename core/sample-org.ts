/**
 * Organizations to run the core on without AWS: the bundled demo org (`credreport demo`, other helpers'
 * tests) and a deterministic synthetic org of any size (the benchmark). Credential reports are written
 * in the exact AWS CSV format, with times relative to `now`.
 */
import { CREDENTIAL_REPORT_COLUMNS, ROOT_USER } from './columns';
import { ADMIN_SENTINELS } from './direct-power';
import { policyLabel } from './privilege-proofs';
import { formatReportTime } from './time';
import {
  AccessKeyRecord,
  AccountFacts,
  AccountMetadata,
  AccountReport,
  Grant,
  OrgMetadata,
  StoredControlPolicy,
  UserPrivileges,
} from './types';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export const ADMINISTRATOR_ACCESS = 'arn:aws:iam::aws:policy/AdministratorAccess';
export const S3_READ_ONLY = 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess';
export const RDS_READ_ONLY = 'arn:aws:iam::aws:policy/AmazonRDSReadOnlyAccess';
export const DYNAMODB_READ_ONLY = 'arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess';

/** A time as IAM writes it in a credential report: `2024-01-15T10:20:30+00:00` (truncated to the second). */
export function reportTime(ms: number): string {
  return formatReportTime(ms);
}

/** A time as the SDK serialises it (`2024-01-15T10:20:30.000Z`), truncated to the second like IAM. */
function isoTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

interface DayTimes {
  /** Report-format time `days` whole days before the anchor. */
  report(days: number): string;
  /** SDK-format time `days` whole days before the anchor. */
  iso(days: number): string;
}

/**
 * Times counted back in days from an anchor, memoised per anchor: a synthetic org formats the same few
 * thousand instants millions of times (anchors are whole hours before `now`, ages whole days).
 */
const DAY_TIMES = new Map<number, DayTimes>();

function dayTimes(anchorMs: number): DayTimes {
  let times = DAY_TIMES.get(anchorMs);
  if (times) return times;
  const report: string[] = [];
  const iso: string[] = [];
  times = {
    report(days) {
      if (!Number.isInteger(days) || days < 0) return reportTime(anchorMs - days * DAY_MS);
      return (report[days] ??= reportTime(anchorMs - days * DAY_MS));
    },
    iso(days) {
      if (!Number.isInteger(days) || days < 0) return isoTime(anchorMs - days * DAY_MS);
      return (iso[days] ??= isoTime(anchorMs - days * DAY_MS));
    },
  };
  if (DAY_TIMES.size > 64) DAY_TIMES.clear();
  DAY_TIMES.set(anchorMs, times);
  return times;
}

/** One key of a sample user; days are counted back from the report's generation time. */
export interface SampleKey {
  readonly active: boolean;
  readonly createdDaysAgo: number;
  /** Undefined: never used (N/A). */
  readonly lastUsedDaysAgo?: number;
  readonly service?: string;
  readonly region?: string;
}

/** One user of a sample account, turned into a credential report row plus inventory and privileges. */
export interface SampleUser {
  readonly name: string;
  readonly createdDaysAgo: number;
  /** Console password; undefined = no password. `lastUsedDaysAgo` undefined = never used. */
  readonly password?: { readonly changedDaysAgo: number; readonly lastUsedDaysAgo?: number };
  readonly mfa: boolean;
  readonly keys?: readonly [SampleKey?, SampleKey?];
  /** Undefined: no privilege entry (unknown). */
  readonly privileges?: Omit<UserPrivileges, 'userName'>;
}

export interface SampleRoot {
  readonly createdDaysAgo: number;
  readonly mfa: boolean;
  readonly passwordLastUsedDaysAgo?: number;
  readonly keys?: readonly [SampleKey?, SampleKey?];
  /** An active X.509 signing certificate uploaded this many days ago (cert_1); undefined = none. */
  readonly certificateDaysAgo?: number;
}

/** Deterministic, realistic-looking access key id (`AKIA` + 16 base-32 characters). */
export function sampleKeyId(accountId: string, userName: string, n: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let h = 2166136261;
  for (const ch of `${accountId}/${userName}/${n}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  let id = 'AKIA';
  for (let i = 0; i < 16; i++) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) ^ i;
    id += alphabet[(h >>> 0) % 32];
  }
  return id;
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

const NO_KEY = 'false,N/A,N/A,N/A,N/A';
const NO_CERTS = 'false,N/A,false,N/A';

function keyCells(key: SampleKey | undefined, times: DayTimes): string {
  if (!key) return NO_KEY;
  const used = key.lastUsedDaysAgo;
  const created = times.report(key.createdDaysAgo);
  if (used === undefined) return `${key.active},${created},N/A,N/A,N/A`;
  return `${key.active},${created},${times.report(used)},${key.region ?? 'us-east-1'},${key.service ?? 's3'}`;
}

/** One credential report (CSV text, AWS format) plus the key inventory and privileges it implies. */
export function buildAccountReport(spec: {
  readonly accountId: string;
  readonly generatedMs: number;
  readonly root: SampleRoot;
  readonly users: readonly SampleUser[];
  /** Keys created after the report (in the inventory only). */
  readonly laterKeys?: readonly AccessKeyRecord[];
  readonly withPrivileges?: boolean;
  readonly partition?: string;
  /** Account facts: the report is then schema v3 (docs/ARCHITECTURE.md §4). */
  readonly facts?: AccountFacts;
}): AccountReport {
  const { accountId, generatedMs: at } = spec;
  const partition = spec.partition ?? 'aws';
  const lines: string[] = [CREDENTIAL_REPORT_COLUMNS.join(',')];
  const root = spec.root;
  const times = dayTimes(at);
  const rootUsed =
    root.passwordLastUsedDaysAgo === undefined
      ? 'no_information'
      : times.report(root.passwordLastUsedDaysAgo);
  lines.push(
    `${ROOT_USER},arn:${partition}:iam::${accountId}:root,${times.report(root.createdDaysAgo)},not_supported,${rootUsed},` +
      `not_supported,not_supported,${root.mfa},${keyCells(root.keys?.[0], times)},${keyCells(root.keys?.[1], times)},` +
      (root.certificateDaysAgo === undefined
        ? NO_CERTS
        : `true,${times.report(root.certificateDaysAgo)},false,N/A`),
  );
  const accessKeys: AccessKeyRecord[] = [];
  const privileges: UserPrivileges[] = [];
  for (const user of spec.users) {
    const pw = user.password;
    const passwordUsed = !pw
      ? 'N/A'
      : pw.lastUsedDaysAgo === undefined
        ? 'no_information'
        : times.report(pw.lastUsedDaysAgo);
    const passwordChanged = pw ? times.report(pw.changedDaysAgo) : 'N/A';
    lines.push(
      `${csvCell(user.name)},${csvCell(`arn:${partition}:iam::${accountId}:user/${user.name}`)},${times.report(user.createdDaysAgo)},` +
        `${pw ? 'true' : 'false'},${passwordUsed},${passwordChanged},N/A,${user.mfa},` +
        `${keyCells(user.keys?.[0], times)},${keyCells(user.keys?.[1], times)},${NO_CERTS}`,
    );
    user.keys?.forEach((key, i) => {
      if (!key) return;
      accessKeys.push({
        userName: user.name,
        accessKeyId: sampleKeyId(accountId, user.name, i + 1),
        status: key.active ? 'Active' : 'Inactive',
        createDate: times.iso(key.createdDaysAgo),
        ...(key.lastUsedDaysAgo !== undefined
          ? {
              lastUsedDate: times.iso(key.lastUsedDaysAgo),
              lastUsedService: key.service ?? 's3',
              lastUsedRegion: key.region ?? 'us-east-1',
            }
          : {}),
      });
    });
    if (user.privileges) privileges.push({ userName: user.name, ...user.privileges });
  }
  accessKeys.push(...(spec.laterKeys ?? []));
  return {
    // Schema v3 with account facts; else v2 as soon as one user carries grants (the proving paths).
    schemaVersion: spec.facts ? 3 : privileges.some((p) => p.grants !== undefined) ? 2 : 1,
    accountId,
    generatedTime: new Date(at).toISOString(),
    collectedTime: new Date(at + 60_000).toISOString(),
    credentialReportCsv: `${lines.join('\n')}\n`,
    accessKeys,
    ...(spec.withPrivileges === false ? {} : { privileges }),
    ...(spec.facts ? { accountFacts: spec.facts } : {}),
  };
}

const NONE = {
  admin: false,
  s3Read: false,
  rdsRead: false,
  dynamodbRead: false,
  grantingPolicies: {},
} as const;
/** The grants the agent reports for a policy granting each action directly: one per action, the path its name. */
const direct = (policy: string, actions: readonly string[]): Grant[] =>
  actions.map((action) => ({ path: policyLabel(policy), actions: [action] }));
const S3_READS = ['s3:GetObject', 's3:GetObjectVersion'];
const ADMIN = {
  ...NONE,
  admin: true,
  grantingPolicies: { admin: [ADMINISTRATOR_ACCESS] },
  grants: {
    admin: direct(
      ADMINISTRATOR_ACCESS,
      ADMIN_SENTINELS.map((p) => p.action),
    ),
  },
} as const;
const S3_READER = {
  ...NONE,
  s3Read: true,
  grantingPolicies: { s3Read: [S3_READ_ONLY] },
  grants: { s3Read: direct(S3_READ_ONLY, S3_READS) },
} as const;

/** The demo's SCPs: FullAWSAccess everywhere, and a Deny of data reads on the Dev OU. */
const FULL_AWS_ACCESS = 'p-FullAWSAccess';
export const SAMPLE_DENY_SCP = { id: 'p-ex12dev0deny', name: 'DenyDevDataReads' } as const;

function sampleControlPolicies(
  fetchedAt: string,
  targets: readonly string[],
  devOu: string,
): NonNullable<OrgMetadata['controlPolicies']> {
  const attachments = Object.fromEntries(
    targets.map((id) => [
      id,
      { policyIds: id === devOu ? [FULL_AWS_ACCESS, SAMPLE_DENY_SCP.id] : [FULL_AWS_ACCESS], fetchedAt },
    ]),
  );
  const policy = (name: string, statement: Record<string, unknown>): StoredControlPolicy => ({
    name,
    type: 'SERVICE_CONTROL_POLICY',
    content: JSON.stringify({ Version: '2012-10-17', Statement: [statement] }),
    fetchedAt,
  });
  return {
    scp: { status: 'enabled', attachments },
    rcp: { status: 'not-enabled', attachments: {} },
    policies: {
      [FULL_AWS_ACCESS]: policy('FullAWSAccess', { Effect: 'Allow', Action: '*', Resource: '*' }),
      [SAMPLE_DENY_SCP.id]: policy(SAMPLE_DENY_SCP.name, {
        Effect: 'Deny',
        Action: ['s3:GetObject*', 'rds-data:*', 'rds-db:connect'],
        Resource: '*',
      }),
    },
  };
}

function account(
  id: string,
  name: string,
  ouPath: string,
  ouIdPath: readonly string[],
  tags: Record<string, string>,
  state = 'ACTIVE',
): AccountMetadata {
  return {
    id,
    name,
    email: `aws+${name}@example.com`,
    state,
    joinedTime: '2021-03-01T09:00:00.000Z',
    ouPath,
    ouIdPath,
    tags,
  };
}

/** Account ids of the demo org, by role (for tests). */
export const SAMPLE_ACCOUNTS = {
  management: '111111111111',
  payments: '222222222222',
  devSandbox: '333333333333',
  security: '444444444444',
  logArchive: '555555555555',
  staging: '666666666666',
  newAccount: '777777777777',
  suspended: '888888888888',
  /** Root credentials removed (centralized root access): no password, no keys, no MFA. */
  orders: '919191919191',
  /** Root credentials removed too; a weak password policy and a user with a direct policy. */
  experiments: '929292929292',
} as const;

/** GetAccountSummary of a member account whose root credentials were removed centrally. */
const ROOT_CREDENTIALS_REMOVED = {
  mfaEnabled: false,
  accessKeysPresent: false,
  passwordPresent: false,
  signingCertificatesPresent: false,
} as const;

/**
 * The bundled demo organization: nine ACTIVE accounts (and one SUSPENDED) in two-level OUs, tagged
 * Environment / Owner / CostCenter (one Owner is a spreadsheet formula, one is a `<script>`), with a root
 * access key, console users without MFA, stale and unrotated keys, never-used keys, a key created after
 * its report, an admin key and a data-read key. Coverage has gaps on purpose: one stale report
 * (log-archive), one malformed report (staging) and one account that never reported (new-account).
 * Two member accounts (prod-orders, dev-experiments) report account facts (schema v3) with their root
 * credentials removed, as centralized root access leaves them: no root MFA finding for them; dev-experiments
 * has a weak password policy (8 characters, reuse allowed) and a user with a policy attached directly.
 */
export function sampleOrganization(now: Date): { metadata: OrgMetadata; reports: AccountReport[] } {
  const t = now.getTime();
  const fresh = t - 2 * HOUR_MS;
  const A = SAMPLE_ACCOUNTS;
  const r = 'r-ex12';
  const workloads = 'ou-ex12-wkld0001';
  const listed: OrgMetadata = {
    organizationId: 'o-example123',
    managementAccountId: A.management,
    fetchedAt: new Date(t - HOUR_MS).toISOString(),
    // Centralized root access is on; dev-sandbox's root still holds a signing certificate (its report shows
    // it), so the digest has an organization line and one member-root-credentials-present.
    rootAccess: {
      status: 'read',
      enabledFeatures: ['RootCredentialsManagement', 'RootSessions'],
      iamTrustedAccess: true,
      fetchedAt: new Date(t - HOUR_MS).toISOString(),
    },
    accounts: [
      account(A.management, 'management', 'Root', [r], {
        Environment: 'Production',
        Owner: 'platform-team',
        CostCenter: 'CC-100',
      }),
      account(A.payments, 'prod-payments', 'Root/Workloads/Prod', [r, workloads, 'ou-ex12-prod0001'], {
        Environment: 'Production',
        Owner: 'payments-team',
        CostCenter: 'CC-200',
      }),
      account(A.devSandbox, 'dev-sandbox', 'Root/Workloads/Dev', [r, workloads, 'ou-ex12-dev00001'], {
        Environment: 'Development',
        Owner: '=HYPERLINK("http://x")',
        CostCenter: 'CC-300',
      }),
      account(A.security, 'security-audit', 'Root/Security', [r, 'ou-ex12-secu0001'], {
        Environment: 'Production',
        Owner: '<script>alert("owner")</script>',
        CostCenter: 'CC-400',
      }),
      account(A.logArchive, 'log-archive', 'Root/Security', [r, 'ou-ex12-secu0001'], {
        Environment: 'Production',
        Owner: 'security-team',
        CostCenter: 'CC-400',
      }),
      account(A.staging, 'staging-web', 'Root/Workloads/Staging', [r, workloads, 'ou-ex12-stag0001'], {
        Environment: 'Staging',
        Owner: 'web-team',
        CostCenter: 'CC-500',
      }),
      account(A.newAccount, 'new-account', 'Root/Workloads/Dev', [r, workloads, 'ou-ex12-dev00001'], {
        Owner: 'data-team',
      }),
      account(
        A.suspended,
        'closed-legacy',
        'Root/Suspended',
        [r, 'ou-ex12-susp0001'],
        { Environment: 'Legacy' },
        'SUSPENDED',
      ),
      account(A.orders, 'prod-orders', 'Root/Workloads/Prod', [r, workloads, 'ou-ex12-prod0001'], {
        Environment: 'Production',
        Owner: 'orders-team',
        CostCenter: 'CC-210',
      }),
      account(A.experiments, 'dev-experiments', 'Root/Workloads/Dev', [r, workloads, 'ou-ex12-dev00001'], {
        Environment: 'Development',
        Owner: 'data-team',
        CostCenter: 'CC-310',
      }),
    ],
  };
  // SCPs read for every target (root, each OU, each account), as the hub's metadata holds them.
  const targets = [...new Set(listed.accounts.flatMap((a) => [...a.ouIdPath, a.id]))];
  const metadata: OrgMetadata = {
    ...listed,
    controlPolicies: sampleControlPolicies(listed.fetchedAt, targets, 'ou-ex12-dev00001'),
  };

  const reports: AccountReport[] = [
    buildAccountReport({
      accountId: A.management,
      generatedMs: fresh,
      root: {
        createdDaysAgo: 2000,
        mfa: false,
        passwordLastUsedDaysAgo: 3,
        keys: [{ active: true, createdDaysAgo: 1500, lastUsedDaysAgo: 10, service: 'iam' }],
      },
      users: [
        {
          name: 'admin-alice',
          createdDaysAgo: 900,
          password: { changedDaysAgo: 60, lastUsedDaysAgo: 1 },
          mfa: true,
          keys: [{ active: true, createdDaysAgo: 200, lastUsedDaysAgo: 2, service: 'sts' }],
          privileges: ADMIN,
        },
        {
          name: 'billing-viewer',
          createdDaysAgo: 400,
          password: { changedDaysAgo: 400 },
          mfa: false,
          privileges: NONE,
        },
      ],
    }),
    buildAccountReport({
      accountId: A.payments,
      generatedMs: fresh,
      root: { createdDaysAgo: 1200, mfa: true },
      users: [
        {
          name: 'deploy-bot',
          createdDaysAgo: 300,
          mfa: false,
          keys: [{ active: true, createdDaysAgo: 30, lastUsedDaysAgo: 0, service: 'cloudformation' }],
          privileges: ADMIN,
        },
        {
          name: 'analytics-reader',
          createdDaysAgo: 500,
          mfa: false,
          keys: [
            { active: true, createdDaysAgo: 120, lastUsedDaysAgo: 1, service: 's3' },
            { active: false, createdDaysAgo: 480, lastUsedDaysAgo: 130, service: 's3' },
          ],
          privileges: S3_READER,
        },
        {
          // CIS 1.12: a key never used counts as unused from its creation.
          name: 'reporting-etl',
          createdDaysAgo: 150,
          mfa: false,
          keys: [{ active: true, createdDaysAgo: 100 }],
          privileges: NONE,
        },
        {
          name: 'bob',
          createdDaysAgo: 250,
          password: { changedDaysAgo: 100, lastUsedDaysAgo: 5 },
          mfa: false,
          privileges: NONE,
        },
      ],
    }),
    buildAccountReport({
      accountId: A.devSandbox,
      generatedMs: fresh,
      root: { createdDaysAgo: 800, mfa: true, certificateDaysAgo: 700 },
      users: [
        {
          // Reads S3 by its policies, but the Dev OU's SCP denies the reads: the flag is cleared.
          name: 'carol',
          createdDaysAgo: 700,
          password: { changedDaysAgo: 300, lastUsedDaysAgo: 100 },
          mfa: false,
          privileges: {
            ...NONE,
            s3Read: true,
            grantingPolicies: { s3Read: ['group:Analysts/ReadReports'] },
            grants: { s3Read: direct('group:Analysts/ReadReports', S3_READS) },
          },
        },
        {
          name: 'ci-user',
          createdDaysAgo: 200,
          mfa: false,
          keys: [
            { active: true, createdDaysAgo: 95, lastUsedDaysAgo: 1, service: 'ecr' },
            { active: true, createdDaysAgo: 30 },
          ],
          privileges: {
            ...NONE,
            dynamodbRead: true,
            rdsRead: true,
            grantingPolicies: {
              dynamodbRead: [DYNAMODB_READ_ONLY],
              rdsRead: ['group:Developers/ReadDatabases'],
            },
            grants: {
              dynamodbRead: direct(DYNAMODB_READ_ONLY, [
                'dynamodb:GetItem',
                'dynamodb:Query',
                'dynamodb:Scan',
              ]),
              // Through a role: the Dev OU's SCP denies the Data API, so this flag is cleared too.
              rdsRead: [
                {
                  path: 'sts:AssumeRole role/db-migrator → AmazonRDSDataFullAccess',
                  actions: ['sts:AssumeRole', 'rds-data:ExecuteStatement'],
                },
              ],
            },
          },
        },
        {
          name: 'old-service',
          createdDaysAgo: 1000,
          mfa: false,
          keys: [
            { active: true, createdDaysAgo: 400, lastUsedDaysAgo: 200, service: 'sqs', region: 'eu-west-1' },
          ],
          privileges: NONE,
        },
        {
          name: '+weird=name@corp',
          createdDaysAgo: 50,
          password: { changedDaysAgo: 50, lastUsedDaysAgo: 2 },
          mfa: true,
          privileges: NONE,
        },
      ],
    }),
    buildAccountReport({
      accountId: A.security,
      generatedMs: fresh,
      root: { createdDaysAgo: 1500, mfa: true, passwordLastUsedDaysAgo: 400 },
      users: [
        {
          name: 'auditor',
          createdDaysAgo: 600,
          password: { changedDaysAgo: 30, lastUsedDaysAgo: 1 },
          mfa: true,
          privileges: NONE,
        },
        {
          name: 'newbie',
          createdDaysAgo: 20,
          password: { changedDaysAgo: 20, lastUsedDaysAgo: 3 },
          mfa: true,
          keys: [{ active: true, createdDaysAgo: 20 }],
          privileges: NONE,
        },
      ],
      // Created an hour after the report was generated: only the inventory knows it.
      laterKeys: [
        {
          userName: 'auditor',
          accessKeyId: sampleKeyId(A.security, 'auditor', 9),
          status: 'Active',
          createDate: new Date(fresh + HOUR_MS).toISOString(),
        },
      ],
    }),
    buildAccountReport({
      accountId: A.logArchive,
      generatedMs: t - 3 * DAY_MS,
      root: { createdDaysAgo: 1500, mfa: true },
      users: [
        {
          name: 'log-shipper',
          createdDaysAgo: 700,
          mfa: false,
          keys: [{ active: true, createdDaysAgo: 700, lastUsedDaysAgo: 0, service: 's3' }],
          privileges: S3_READER,
        },
      ],
    }),
  ];

  reports.push(
    buildAccountReport({
      accountId: A.orders,
      generatedMs: fresh,
      root: { createdDaysAgo: 700, mfa: false },
      users: [
        {
          name: 'orders-deployer',
          createdDaysAgo: 60,
          mfa: false,
          keys: [{ active: true, createdDaysAgo: 20, lastUsedDaysAgo: 0, service: 'ecs' }],
          privileges: NONE,
        },
      ],
      facts: {
        rootCredentials: ROOT_CREDENTIALS_REMOVED,
        passwordPolicy: { present: true, minimumPasswordLength: 14, passwordReusePrevention: 24 },
        rootMfaVirtual: false,
        usersWithDirectPolicies: [],
      },
    }),
    buildAccountReport({
      accountId: A.experiments,
      generatedMs: fresh,
      root: { createdDaysAgo: 400, mfa: false },
      users: [
        {
          name: 'intern',
          createdDaysAgo: 40,
          password: { changedDaysAgo: 40, lastUsedDaysAgo: 2 },
          mfa: true,
          privileges: { ...NONE, s3Read: true, grantingPolicies: { s3Read: ['user:intern/read-datasets'] } },
        },
      ],
      facts: {
        rootCredentials: ROOT_CREDENTIALS_REMOVED,
        passwordPolicy: { present: true, minimumPasswordLength: 8 },
        rootMfaVirtual: false,
        usersWithDirectPolicies: ['intern'],
      },
    }),
  );

  // staging-web: a report cut off mid-line (e.g. a truncated download) — rejected, coverage gap.
  const staging = buildAccountReport({
    accountId: A.staging,
    generatedMs: fresh,
    root: { createdDaysAgo: 600, mfa: true },
    users: [
      {
        name: 'web-deployer',
        createdDaysAgo: 100,
        mfa: false,
        keys: [{ active: true, createdDaysAgo: 10, lastUsedDaysAgo: 1 }],
      },
    ],
  });
  const cut = staging.credentialReportCsv.lastIndexOf(',N/A,false');
  reports.push({ ...staging, credentialReportCsv: staging.credentialReportCsv.slice(0, cut) + '\n' });
  return { metadata, reports };
}

/** Mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const ENVIRONMENTS = ['Production', 'Development', 'Staging', 'Sandbox'] as const;
const OUS = [
  ['Workloads', 'Prod'],
  ['Workloads', 'Dev'],
  ['Workloads', 'Staging'],
  ['Security', 'Audit'],
  ['Sandbox', 'Teams'],
] as const;
const SERVICES = ['s3', 'sts', 'ec2', 'dynamodb', 'lambda', 'sqs', 'ecr', 'cloudformation'] as const;
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2'] as const;

export interface SyntheticOptions {
  readonly accounts: number;
  readonly usersPerAccount: number;
  readonly seed: number;
  readonly now: Date;
  /** Share of accounts whose report is stale. @default 0.01 */
  readonly staleRate?: number;
  /** Share of accounts that never report. @default 0.005 */
  readonly missingRate?: number;
}

/** Account id of the i-th synthetic account (ascending with i). */
export function syntheticAccountId(index: number): string {
  return String(200_000_000_000 + index * 7);
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

function syntheticKey(rand: () => number): SampleKey {
  const created = 1 + Math.floor(rand() * 800);
  const roll = rand();
  return {
    active: rand() < 0.85,
    createdDaysAgo: created,
    ...(roll < 0.1 ? {} : { lastUsedDaysAgo: Math.floor(rand() * Math.min(created, roll < 0.3 ? 300 : 30)) }),
    service: pick(rand, SERVICES),
    region: pick(rand, REGIONS),
  };
}

function syntheticAccountReport(index: number, opts: SyntheticOptions): AccountReport | undefined {
  const rand = prng(opts.seed * 1_000_003 + index);
  const accountId = syntheticAccountId(index);
  const roll = rand();
  if (roll < (opts.missingRate ?? 0.005)) return undefined;
  const stale = roll < (opts.missingRate ?? 0.005) + (opts.staleRate ?? 0.01);
  const generatedMs = opts.now.getTime() - (stale ? 72 : 1 + Math.floor(rand() * 6)) * HOUR_MS;
  const users: SampleUser[] = [];
  for (let u = 0; u < opts.usersPerAccount; u++) {
    const human = rand() < 0.4;
    const name = human ? `user.${u}-${Math.floor(rand() * 1e6)}` : `svc-${pick(rand, SERVICES)}-${u}`;
    const keyRoll = rand();
    const keys: [SampleKey?, SampleKey?] = human
      ? keyRoll < 0.3
        ? [syntheticKey(rand)]
        : []
      : keyRoll < 0.15
        ? [syntheticKey(rand), syntheticKey(rand)]
        : [syntheticKey(rand)];
    const p = rand();
    const privileges =
      p < 0.05
        ? ADMIN
        : p < 0.2
          ? S3_READER
          : p < 0.25
            ? { ...NONE, rdsRead: true, grantingPolicies: { rdsRead: [RDS_READ_ONLY] } }
            : p < 0.3
              ? { ...NONE, dynamodbRead: true, grantingPolicies: { dynamodbRead: [DYNAMODB_READ_ONLY] } }
              : NONE;
    const created = 30 + Math.floor(rand() * 2000);
    users.push({
      name,
      createdDaysAgo: created,
      ...(human
        ? {
            password: {
              changedDaysAgo: Math.floor(rand() * created),
              ...(rand() < 0.9 ? { lastUsedDaysAgo: Math.floor(rand() * 120) } : {}),
            },
          }
        : {}),
      mfa: human && rand() < 0.7,
      keys,
      privileges,
    });
  }
  const rootKey = rand() < 0.02;
  return buildAccountReport({
    accountId,
    generatedMs,
    root: {
      createdDaysAgo: 3000,
      mfa: rand() < 0.95,
      ...(rand() < 0.2 ? { passwordLastUsedDaysAgo: Math.floor(rand() * 200) } : {}),
      ...(rootKey
        ? { keys: [{ active: true, createdDaysAgo: 1000, lastUsedDaysAgo: 40, service: 'iam' }] }
        : {}),
    },
    users,
  });
}

/**
 * A synthetic organization of `accounts` accounts × `usersPerAccount` users with realistic mixes
 * (humans with passwords and MFA or not, service users with one or two keys of any age, never-used keys,
 * admin and data-read privileges, a few root keys, ~1% stale and ~0.5% missing accounts). Deterministic
 * for a seed; reports are generated lazily in ascending account order, one at a time.
 */
export function syntheticOrganization(opts: SyntheticOptions): {
  metadata: OrgMetadata;
  reports: Iterable<AccountReport>;
} {
  const rand = prng(opts.seed);
  const accounts: AccountMetadata[] = [];
  for (let i = 0; i < opts.accounts; i++) {
    const [top, leaf] = pick(rand, OUS);
    const env = rand() < 0.05 ? undefined : pick(rand, ENVIRONMENTS);
    accounts.push({
      id: syntheticAccountId(i),
      name: `acct-${leaf.toLowerCase()}-${i}`,
      email: `aws+acct-${i}@example.com`,
      state: 'ACTIVE',
      ouPath: `Root/${top}/${leaf}`,
      ouIdPath: [
        'r-syn1',
        `ou-syn1-${top.toLowerCase()}`,
        `ou-syn1-${top.toLowerCase()}-${leaf.toLowerCase()}`,
      ],
      tags: {
        ...(env ? { Environment: env } : {}),
        Owner: `team-${i % 97}`,
        CostCenter: `CC-${100 + (i % 40)}`,
      },
    });
  }
  const metadata: OrgMetadata = {
    organizationId: 'o-synthetic01',
    managementAccountId: syntheticAccountId(0),
    fetchedAt: opts.now.toISOString(),
    accounts,
  };
  const reports: Iterable<AccountReport> = {
    *[Symbol.iterator]() {
      for (let i = 0; i < opts.accounts; i++) {
        const report = syntheticAccountReport(i, opts);
        if (report) yield report;
      }
    },
  };
  return { metadata, reports };
}
