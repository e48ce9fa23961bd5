/**
 * Seeds an AWS Organization in moto: the management account (moto's default account), OUs two levels
 * deep, member accounts with tags (hostile and non-ASCII values included), a suspended account, and IAM
 * users in every account covering the cases the findings and privilege columns distinguish.
 *
 * Member accounts are reached the way `credreport collect` and an operator reach them: STS AssumeRole into
 * `OrganizationAccountAccessRole`; moto associates the temporary credentials with that account.
 */
import { randomBytes } from 'node:crypto';
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  CreateVirtualMFADeviceCommand,
  EnableMFADeviceCommand,
  IAMClient,
  PutGroupPolicyCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  CloseAccountCommand,
  CreateAccountCommand,
  CreateOrganizationCommand,
  CreateOrganizationalUnitCommand,
  ListRootsCommand,
  MoveAccountCommand,
  AttachPolicyCommand,
  CreatePolicyCommand,
  EnablePolicyTypeCommand,
  OrganizationsClient,
  TagResourceCommand,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DEFAULT_COLLECT_ROLE_NAME } from '../../core/names';
import { MOTO_DEFAULT_ACCOUNT_ID } from './moto';
import type { BridgedRootUser } from './proxy';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export type PolicyDocument = {
  readonly Version: '2012-10-17';
  readonly Statement: readonly Record<string, unknown>[];
};

export interface KeySpec {
  readonly status: 'Active' | 'Inactive';
  /** Sign one request with the key so IAM records a last use (moto records service and region). */
  readonly used?: boolean;
}

/** The privilege columns the scenario expects for a user (what its policies grant). */
export interface ExpectedPrivileges {
  readonly admin: boolean;
  readonly s3Read: boolean;
  readonly rdsRead: boolean;
  readonly dynamodbRead: boolean;
}

export interface UserSpec {
  readonly name: string;
  /** Console password (login profile). */
  readonly password?: boolean;
  /** A virtual MFA device enabled for the user. */
  readonly mfa?: boolean;
  readonly keys?: readonly KeySpec[];
  /** AWS managed policy names, e.g. `AdministratorAccess` (moto loads them with MOTO_IAM_LOAD_MANAGED_POLICIES). */
  readonly managedPolicies?: readonly string[];
  readonly inlinePolicies?: Readonly<Record<string, PolicyDocument>>;
  readonly groups?: readonly string[];
  readonly expect: ExpectedPrivileges;
}

export interface GroupSpec {
  readonly name: string;
  readonly managedPolicies?: readonly string[];
  readonly inlinePolicies?: Readonly<Record<string, PolicyDocument>>;
}

export interface AccountSpec {
  /** Logical name tests refer to. */
  readonly key: string;
  readonly name: string;
  readonly email: string;
  /** OU path below the root, e.g. `Workloads/Prod`; '' for the root. */
  readonly ou: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** Closed after seeding: Organizations reports it SUSPENDED. */
  readonly suspended?: boolean;
  readonly groups?: readonly GroupSpec[];
  readonly users: readonly UserSpec[];
}

export interface OrgSpec {
  /** OU paths below the root, parents before children, e.g. `Workloads`, `Workloads/Prod`. */
  readonly ous: readonly string[];
  readonly management: Omit<AccountSpec, 'key' | 'name' | 'email' | 'ou' | 'suspended'>;
  readonly accounts: readonly AccountSpec[];
}

export interface SeededKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** 1 or 2: the order IAM lists the user's keys, which is the report's slot order. */
  readonly slot: 1 | 2;
  readonly status: 'Active' | 'Inactive';
  readonly used: boolean;
}

export interface SeededUser {
  readonly spec: UserSpec;
  readonly name: string;
  readonly arn: string;
  readonly keys: readonly SeededKey[];
}

export interface SeededAccount {
  readonly key: string;
  readonly id: string;
  readonly name: string;
  readonly email: string;
  /** `Root/…` as the output's ou_path column writes it. */
  readonly ouPath: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly state: 'ACTIVE' | 'SUSPENDED';
  readonly isManagement: boolean;
  /** Credentials acting in this account (assumed role for members, the default test keys for management). */
  readonly credentials: AwsCredentials;
  readonly users: readonly SeededUser[];
}

/** Name of the SCP the scenario attaches to its first OU. */
export const SEEDED_SCP_NAME = 'DenyS3';
/** The actions that SCP denies (one unconditional statement on `Resource` `*`). */
export const SEEDED_SCP_DENIED_ACTIONS: readonly string[] = ['s3:*'];

export interface SeededOrg {
  readonly organizationId: string;
  readonly rootId: string;
  readonly managementAccountId: string;
  /** OU path (`Workloads/Prod`) → OU id. */
  readonly ouIds: Readonly<Record<string, string>>;
  /** The SCP {@link SEEDED_SCP_NAME} attached to the spec's first OU. */
  readonly scpId: string;
  /** The OU path (`Workloads`) the SCP is attached to; absent when the spec has no OU. */
  readonly scpOuPath?: string;
  /** Management account first, then members in spec order. */
  readonly accounts: readonly SeededAccount[];
  account(key: string): SeededAccount;
  /** ACTIVE accounts, management included: the ones expected to report. */
  activeAccounts(): SeededAccount[];
}

export const HOSTILE_FORMULA = "=cmd|' /C calc'!A0";
export const HOSTILE_SCRIPT = '<script>alert(1)</script>';
export const NON_ASCII = 'Ünïcødé 東京';

const allow = (actions: string[], resource = '*'): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: actions, Resource: resource }],
});
const deny = (actions: string[], resource = '*'): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Deny', Action: actions, Resource: resource }],
});

const NOTHING: ExpectedPrivileges = { admin: false, s3Read: false, rdsRead: false, dynamodbRead: false };
/** Allow * on * reads every data store too. */
const EVERYTHING: ExpectedPrivileges = { admin: true, s3Read: true, rdsRead: true, dynamodbRead: true };

export const STANDARD_GROUPS: readonly GroupSpec[] = [
  { name: 'readers', managedPolicies: ['AmazonS3ReadOnlyAccess'] },
  { name: 'admins', managedPolicies: ['AdministratorAccess'] },
  { name: 'table-readers', inlinePolicies: { 'read-tables': allow(['dynamodb:GetItem', 'dynamodb:Query']) } },
];

/**
 * The user mix of a workload account. `variant` drops some users so that accounts differ; every case
 * appears in several accounts.
 */
export function workloadUsers(variant: number): UserSpec[] {
  const users: UserSpec[] = [
    // console user, no MFA, admin by direct attachment, a key never used
    {
      name: 'alice.admin',
      password: true,
      keys: [{ status: 'Active' }],
      managedPolicies: ['AdministratorAccess'],
      expect: EVERYTHING,
    },
    // console user with MFA, two active keys (one used), S3 reader through a group
    {
      name: 'bob.mfa',
      password: true,
      mfa: true,
      keys: [{ status: 'Active', used: true }, { status: 'Active' }],
      groups: ['readers'],
      expect: { ...NOTHING, s3Read: true },
    },
    // automation: no password, admin through a group, used key
    { name: 'ci-deploy', keys: [{ status: 'Active', used: true }], groups: ['admins'], expect: EVERYTHING },
    // automation: DynamoDB reader by inline policy, one active and one inactive key
    {
      name: 'etl-reader',
      keys: [{ status: 'Active', used: true }, { status: 'Inactive' }],
      inlinePolicies: {
        'read-orders': allow(['dynamodb:GetItem', 'dynamodb:Scan'], 'arn:aws:dynamodb:*:*:table/orders'),
      },
      expect: { ...NOTHING, dynamodbRead: true },
    },
    // S3 reader through a group, but an explicit Deny on s3:* takes it away
    {
      name: 'denied-reader',
      keys: [{ status: 'Active' }],
      groups: ['readers'],
      inlinePolicies: { 'deny-s3': deny(['s3:*']) },
      expect: NOTHING,
    },
    // console only, MFA, no keys, no policies
    { name: 'carol.console', password: true, mfa: true, expect: NOTHING },
    // a name that starts with a formula character (IAM allows =,+,-,@ in user names)
    {
      name: '=1+2@evil',
      keys: [{ status: 'Active' }],
      groups: ['table-readers'],
      expect: { ...NOTHING, dynamodbRead: true },
    },
    // RDS Data API reader, inactive key only
    {
      name: '-rds.reader',
      keys: [{ status: 'Inactive' }],
      inlinePolicies: { 'rds-data': allow(['rds-data:ExecuteStatement']) },
      expect: { ...NOTHING, rdsRead: true },
    },
  ];
  // Variants: 0 keeps everyone; others drop a different pair of users.
  if (variant === 0) return users;
  const drop = new Set([variant % users.length, (variant * 3) % users.length]);
  return users.filter((_, index) => !drop.has(index));
}

/** The default organization: 8 member accounts (one suspended) under OUs two levels deep. */
export function defaultOrgSpec(): OrgSpec {
  return {
    ous: ['Workloads', 'Workloads/Prod', 'Workloads/Dev', 'Sandbox', 'Sandbox/Lab'],
    management: {
      tags: { Environment: 'management', Owner: 'platform' },
      groups: STANDARD_GROUPS,
      users: [
        { name: 'break-glass', password: true, managedPolicies: ['AdministratorAccess'], expect: EVERYTHING },
        {
          name: 'billing-export',
          keys: [{ status: 'Active', used: true }],
          inlinePolicies: { 'read-billing': allow(['s3:GetObject'], 'arn:aws:s3:::billing-reports/*') },
          expect: { ...NOTHING, s3Read: true },
        },
      ],
    },
    accounts: [
      {
        key: 'prod-payments',
        name: 'prod-payments',
        email: 'aws+prod-payments@example.com',
        ou: 'Workloads/Prod',
        tags: { Environment: 'prod', Owner: 'payments', CostCenter: '1001' },
        groups: STANDARD_GROUPS,
        users: workloadUsers(0),
      },
      {
        key: 'prod-data',
        name: 'prod-data',
        email: 'aws+prod-data@example.com',
        ou: 'Workloads/Prod',
        tags: { Environment: HOSTILE_FORMULA, Owner: 'data' },
        groups: STANDARD_GROUPS,
        users: workloadUsers(1),
      },
      {
        key: 'dev-web',
        name: 'dev-web',
        email: 'aws+dev-web@example.com',
        ou: 'Workloads/Dev',
        tags: { Environment: HOSTILE_SCRIPT, Owner: '@web-team' },
        groups: STANDARD_GROUPS,
        users: workloadUsers(2),
      },
      {
        key: 'dev-tokyo',
        name: NON_ASCII,
        email: 'aws+dev-tokyo@example.com',
        ou: 'Workloads/Dev',
        tags: { Environment: 'dev', City: NON_ASCII, CostCenter: '+SUM(1,2)' },
        groups: STANDARD_GROUPS,
        users: workloadUsers(3),
      },
      {
        key: 'lab',
        name: 'sandbox-lab',
        email: 'aws+lab@example.com',
        ou: 'Sandbox/Lab',
        tags: { Environment: 'sandbox', Owner: '-team' },
        groups: STANDARD_GROUPS,
        users: workloadUsers(4),
      },
      {
        key: 'sandbox',
        name: 'sandbox-shared',
        email: 'aws+sandbox@example.com',
        ou: 'Sandbox',
        groups: STANDARD_GROUPS,
        users: workloadUsers(5),
      },
      {
        key: 'legacy',
        name: 'legacy',
        email: 'aws+legacy@example.com',
        ou: '',
        tags: { Environment: 'legacy' },
        groups: STANDARD_GROUPS,
        users: workloadUsers(6),
      },
      {
        key: 'closed',
        name: 'closed-sandbox',
        email: 'aws+closed@example.com',
        ou: 'Sandbox',
        tags: { Environment: 'sandbox' },
        suspended: true,
        groups: STANDARD_GROUPS,
        users: workloadUsers(7),
      },
    ],
  };
}

/** A small organization for fault scenarios: `count` workload accounts in two OUs. */
export function smallOrgSpec(count = 3): OrgSpec {
  const spec = defaultOrgSpec();
  return {
    ous: ['Workloads', 'Workloads/Prod'],
    management: { ...spec.management },
    accounts: Array.from({ length: count }, (_, index) => ({
      key: `acct-${index + 1}`,
      name: `workload-${index + 1}`,
      email: `aws+workload-${index + 1}@example.com`,
      ou: index % 2 === 0 ? 'Workloads/Prod' : 'Workloads',
      tags: { Environment: index % 2 === 0 ? 'prod' : 'dev' },
      groups: STANDARD_GROUPS,
      users: workloadUsers(index + 1).slice(0, 4),
    })),
  };
}

export class ScenarioError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScenarioError';
  }
}

async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new ScenarioError(
      `seeding failed at ${what}: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
}

/** AssumeRole into `OrganizationAccountAccessRole` of `accountId` with the management credentials. */
export async function assumeAccountRole(
  accountId: string,
  roleName = DEFAULT_COLLECT_ROLE_NAME,
): Promise<AwsCredentials> {
  const sts = new STSClient({});
  const { Credentials } = await sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${accountId}:role/${roleName}`,
      RoleSessionName: 'emulator-seed',
    }),
  );
  if (!Credentials?.AccessKeyId || !Credentials.SecretAccessKey) {
    throw new ScenarioError(`AssumeRole into ${accountId} returned no credentials`);
  }
  return {
    accessKeyId: Credentials.AccessKeyId,
    secretAccessKey: Credentials.SecretAccessKey,
    sessionToken: Credentials.SessionToken,
  };
}

async function seedIam(
  accountLabel: string,
  iam: IAMClient,
  groups: readonly GroupSpec[],
  users: readonly UserSpec[],
): Promise<SeededUser[]> {
  for (const group of groups) {
    await step(`${accountLabel} group ${group.name}`, async () => {
      await iam.send(new CreateGroupCommand({ GroupName: group.name }));
      for (const policy of group.managedPolicies ?? []) {
        await iam.send(
          new AttachGroupPolicyCommand({
            GroupName: group.name,
            PolicyArn: `arn:aws:iam::aws:policy/${policy}`,
          }),
        );
      }
      for (const [policyName, document] of Object.entries(group.inlinePolicies ?? {})) {
        await iam.send(
          new PutGroupPolicyCommand({
            GroupName: group.name,
            PolicyName: policyName,
            PolicyDocument: JSON.stringify(document),
          }),
        );
      }
    });
  }
  const seeded: SeededUser[] = [];
  for (const user of users) {
    seeded.push(
      await step(`${accountLabel} user ${user.name}`, async () => {
        const created = await iam.send(new CreateUserCommand({ UserName: user.name }));
        const arn = created.User?.Arn;
        if (!arn) throw new ScenarioError('CreateUser returned no ARN');
        if (user.password) {
          await iam.send(
            new CreateLoginProfileCommand({ UserName: user.name, Password: 'Emulator-Passw0rd!' }),
          );
        }
        if (user.mfa) {
          const device = await iam.send(
            new CreateVirtualMFADeviceCommand({
              VirtualMFADeviceName: `${user.name.replace(/[^\w+=,.@-]/g, '')}-mfa`,
            }),
          );
          await iam.send(
            new EnableMFADeviceCommand({
              UserName: user.name,
              SerialNumber: device.VirtualMFADevice?.SerialNumber,
              AuthenticationCode1: '123456',
              AuthenticationCode2: '654321',
            }),
          );
        }
        for (const policy of user.managedPolicies ?? []) {
          await iam.send(
            new AttachUserPolicyCommand({
              UserName: user.name,
              PolicyArn: `arn:aws:iam::aws:policy/${policy}`,
            }),
          );
        }
        for (const [policyName, document] of Object.entries(user.inlinePolicies ?? {})) {
          await iam.send(
            new PutUserPolicyCommand({
              UserName: user.name,
              PolicyName: policyName,
              PolicyDocument: JSON.stringify(document),
            }),
          );
        }
        for (const group of user.groups ?? []) {
          await iam.send(new AddUserToGroupCommand({ GroupName: group, UserName: user.name }));
        }
        const keys: SeededKey[] = [];
        for (const [index, key] of (user.keys ?? []).entries()) {
          const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: user.name }));
          if (!AccessKey?.AccessKeyId || !AccessKey.SecretAccessKey)
            throw new ScenarioError('CreateAccessKey returned no key');
          if (key.used) {
            // Any signed request marks the key as used in moto (service and region recorded).
            await new STSClient({
              credentials: { accessKeyId: AccessKey.AccessKeyId, secretAccessKey: AccessKey.SecretAccessKey },
            }).send(new GetCallerIdentityCommand({}));
          }
          if (key.status === 'Inactive') {
            await iam.send(
              new UpdateAccessKeyCommand({
                UserName: user.name,
                AccessKeyId: AccessKey.AccessKeyId,
                Status: 'Inactive',
              }),
            );
          }
          keys.push({
            accessKeyId: AccessKey.AccessKeyId,
            secretAccessKey: AccessKey.SecretAccessKey,
            slot: index === 0 ? 1 : 2,
            status: key.status,
            used: key.used ?? false,
          });
        }
        return { spec: user, name: user.name, arn, keys };
      }),
    );
  }
  return seeded;
}

/** Seeds `spec` into moto (which must be freshly reset) with the SDK pointed at it. */
export async function seedOrganization(spec: OrgSpec = defaultOrgSpec()): Promise<SeededOrg> {
  const organizations = new OrganizationsClient({});
  const organization = await step('CreateOrganization', async () => {
    const { Organization } = await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    if (!Organization?.Id || !Organization.MasterAccountId)
      throw new ScenarioError('no organization returned');
    return Organization;
  });
  const root = await step('ListRoots', async () => {
    const { Roots } = await organizations.send(new ListRootsCommand({}));
    const first = Roots?.[0];
    if (!first?.Id || !first.Name) throw new ScenarioError('no root returned');
    return { id: first.Id, name: first.Name };
  });

  const ouIds: Record<string, string> = {};
  for (const path of spec.ous) {
    const parts = path.split('/');
    const name = parts[parts.length - 1] ?? path;
    const parentPath = parts.slice(0, -1).join('/');
    const parentId = parentPath === '' ? root.id : ouIds[parentPath];
    if (!parentId) throw new ScenarioError(`OU ${path} listed before its parent ${parentPath}`);
    ouIds[path] = await step(`OU ${path}`, async () => {
      const { OrganizationalUnit } = await organizations.send(
        new CreateOrganizationalUnitCommand({ ParentId: parentId, Name: name }),
      );
      if (!OrganizationalUnit?.Id) throw new ScenarioError('no OU id returned');
      return OrganizationalUnit.Id;
    });
  }
  // SCPs enabled (moto, like AWS, leaves them off until asked) and one Deny attached to the first OU, so the
  // digest reads a real chain: FullAWSAccess at every level, DenyS3 on the first OU.
  await step('EnablePolicyType SCP', () =>
    organizations.send(
      new EnablePolicyTypeCommand({ RootId: root.id, PolicyType: 'SERVICE_CONTROL_POLICY' }),
    ),
  );
  const firstOu = spec.ous[0];
  const scpId = await step('CreatePolicy DenyS3', async () => {
    const { Policy } = await organizations.send(
      new CreatePolicyCommand({
        Name: SEEDED_SCP_NAME,
        Description: 'Denies S3 everywhere below the first OU',
        Type: 'SERVICE_CONTROL_POLICY',
        Content: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Deny', Action: SEEDED_SCP_DENIED_ACTIONS, Resource: '*' }],
        }),
      }),
    );
    const id = Policy?.PolicySummary?.Id;
    if (!id) throw new ScenarioError('no policy id returned');
    return id;
  });
  if (firstOu) {
    const target = ouIds[firstOu] as string;
    await step('AttachPolicy DenyS3', () =>
      organizations.send(new AttachPolicyCommand({ PolicyId: scpId, TargetId: target })),
    );
  }
  const ouPath = (ou: string) => (ou === '' ? root.name : `${root.name}/${ou}`);
  const toTags = (tags: Readonly<Record<string, string>> | undefined) =>
    Object.entries(tags ?? {}).map(([Key, Value]) => ({ Key, Value }));

  const managementId = organization.MasterAccountId ?? MOTO_DEFAULT_ACCOUNT_ID;
  if (spec.management.tags) {
    await step('management tags', () =>
      organizations.send(
        new TagResourceCommand({ ResourceId: managementId, Tags: toTags(spec.management.tags) }),
      ),
    );
  }
  const managementUsers = await seedIam(
    'management',
    new IAMClient({}),
    spec.management.groups ?? [],
    spec.management.users,
  );
  const accounts: SeededAccount[] = [
    {
      key: 'management',
      id: managementId,
      name: 'master',
      email: organization.MasterAccountEmail ?? 'master@example.com',
      ouPath: root.name,
      tags: spec.management.tags ?? {},
      state: 'ACTIVE',
      isManagement: true,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      users: managementUsers,
    },
  ];

  for (const account of spec.accounts) {
    const id = await step(`CreateAccount ${account.key}`, async () => {
      const { CreateAccountStatus } = await organizations.send(
        new CreateAccountCommand({
          AccountName: account.name,
          Email: account.email,
          Tags: toTags(account.tags),
        }),
      );
      if (CreateAccountStatus?.State !== 'SUCCEEDED' || !CreateAccountStatus.AccountId) {
        throw new ScenarioError(`CreateAccount state ${CreateAccountStatus?.State}`);
      }
      return CreateAccountStatus.AccountId;
    });
    if (account.ou !== '') {
      const destination = ouIds[account.ou];
      if (!destination) throw new ScenarioError(`account ${account.key} names unknown OU ${account.ou}`);
      await step(`MoveAccount ${account.key}`, () =>
        organizations.send(
          new MoveAccountCommand({
            AccountId: id,
            SourceParentId: root.id,
            DestinationParentId: destination,
          }),
        ),
      );
    }
    const credentials = await step(`AssumeRole ${account.key}`, () => assumeAccountRole(id));
    const users = await seedIam(
      account.key,
      new IAMClient({ credentials }),
      account.groups ?? [],
      account.users,
    );
    if (account.suspended) {
      await step(`CloseAccount ${account.key}`, () =>
        organizations.send(new CloseAccountCommand({ AccountId: id })),
      );
    }
    accounts.push({
      key: account.key,
      id,
      name: account.name,
      email: account.email,
      ouPath: ouPath(account.ou),
      tags: account.tags ?? {},
      state: account.suspended ? 'SUSPENDED' : 'ACTIVE',
      isManagement: false,
      credentials,
      users,
    });
  }

  return {
    organizationId: organization.Id ?? '',
    rootId: root.id,
    scpId,
    ...(firstOu ? { scpOuPath: firstOu } : {}),
    managementAccountId: managementId,
    ouIds,
    accounts,
    account(key: string) {
      const found = accounts.find((a) => a.key === key);
      if (!found) throw new ScenarioError(`no seeded account '${key}'`);
      return found;
    },
    activeAccounts: () => accounts.filter((a) => a.state === 'ACTIVE'),
  };
}

/**
 * Adds `count` console-less users with one active key each to `account`, each under a long random IAM
 * path (it appears in the user's ARN) so that the report is big and compresses poorly: 80 of them take a
 * report past two 16 KB event parts. Returns the seeded users.
 */
export async function addBulkUsers(
  account: SeededAccount,
  count: number,
  prefix = 'bulk-user',
): Promise<SeededUser[]> {
  const iam = new IAMClient({ credentials: account.credentials });
  const seeded: SeededUser[] = [];
  const seedOne = async (index: number): Promise<SeededUser> => {
    const name = `${prefix}-${String(index + 1).padStart(4, '0')}`;
    return step(`${account.key} bulk user ${name}`, async () => {
      const path = `/bulk/${randomBytes(200).toString('hex')}/`;
      const created = await iam.send(new CreateUserCommand({ UserName: name, Path: path }));
      const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
      if (!created.User?.Arn || !AccessKey?.AccessKeyId || !AccessKey.SecretAccessKey) {
        throw new ScenarioError('CreateUser/CreateAccessKey returned no ARN or key');
      }
      return {
        spec: { name, keys: [{ status: 'Active' }], expect: NOTHING },
        name,
        arn: created.User.Arn,
        keys: [
          {
            accessKeyId: AccessKey.AccessKeyId,
            secretAccessKey: AccessKey.SecretAccessKey,
            slot: 1,
            status: 'Active',
            used: false,
          },
        ],
      };
    });
  };
  // A few calls in flight: moto serves requests on threads, and the node side overlaps the waiting.
  const inFlight = 8;
  for (let start = 0; start < count; start += inFlight) {
    const batch = Array.from({ length: Math.min(inFlight, count - start) }, (_, i) => seedOne(start + i));
    seeded.push(...(await Promise.all(batch)));
  }
  return seeded;
}

/**
 * A `<root_account>` credential report row as IAM writes it (moto's report has none): console password
 * state `not_supported`, no MFA, access key 1 active since `keyCreated` and last used `lastUsed`.
 * Spliced into one account's report by the proxy so the root findings travel the whole flow.
 */
export function rootAccountRow(accountId: string, keyCreated: string, lastUsed: string): string {
  return [
    '<root_account>',
    `arn:aws:iam::${accountId}:root`,
    '2019-03-01T09:00:00+00:00',
    'not_supported',
    lastUsed,
    'not_supported',
    'not_supported',
    'false',
    'true',
    keyCreated,
    lastUsed,
    'us-east-1',
    'iam',
    'false',
    'N/A',
    'N/A',
    'N/A',
    'N/A',
    'false',
    'N/A',
    'false',
    'N/A',
  ].join(',');
}

/** Inserts `row` right after the header, where IAM puts the root row. */
export function withRootRow(csv: string, row: string): string {
  const newline = csv.indexOf('\n');
  if (newline < 0) return `${csv}\n${row}\n`;
  return `${csv.slice(0, newline + 1)}${row}\n${csv.slice(newline + 1)}`;
}

/** What one account's root user holds, for {@link rootUser}. */
export interface RootUserSpec {
  /** A console password (`AccountPasswordPresent`; IAM's root row says `not_supported` either way). */
  readonly password: boolean;
  /** One active access key, created a year ago and never used. */
  readonly accessKey: boolean;
  readonly mfa: boolean;
}

/**
 * A root user moto does not model, as the proxy tells of it (proxy.ts `BridgedRootUser`): the
 * `<root_account>` row IAM would write and the GetAccountSummary entries that agree with it.
 */
export function rootUser(accountId: string, spec: RootUserSpec): BridgedRootUser {
  const keyCreated = new Date(Date.now() - 365 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
  const row = [
    '<root_account>',
    `arn:aws:iam::${accountId}:root`,
    '2019-03-01T09:00:00+00:00',
    'not_supported',
    spec.password ? '2024-01-15T09:00:00+00:00' : 'no_information',
    'not_supported',
    'not_supported',
    String(spec.mfa),
    String(spec.accessKey),
    spec.accessKey ? keyCreated : 'N/A',
    'N/A',
    'N/A',
    'N/A',
    'false',
    'N/A',
    'N/A',
    'N/A',
    'N/A',
    'false',
    'N/A',
    'false',
    'N/A',
  ].join(',');
  return {
    row,
    summary: {
      AccountPasswordPresent: spec.password ? 1 : 0,
      AccountAccessKeysPresent: spec.accessKey ? 1 : 0,
      AccountSigningCertificatesPresent: 0,
      AccountMFAEnabled: spec.mfa ? 1 : 0,
    },
  };
}
