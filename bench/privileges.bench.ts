/**
 * The privilege evaluation alone, over generated snapshots (docs/ARCHITECTURE.md §10):
 * `npm run bench -- --only privileges [--privilege-users 5000]`.
 * - ReadOnlyAccess × N users: the fixture excerpt's statement padded to the real document's size (about
 *   1,400 action patterns) with generated `<service>:Get*`-style entries of other service names.
 * - N users, 200 customer managed policies, 50 groups, 100 roles: every user in 2 groups with 2 policies
 *   of its own; a tenth of the policies use `${aws:username}` (not shareable across users); 10 roles are
 *   admin, 20 read data, every role trusts the account and a third of them Lambda; users may assume
 *   `role/app-*` and pass `role/app-*` to Lambda.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  AuthorizationDetails,
  ManagedPolicyDetail,
  RoleDetail,
  UserDetail,
} from '../core/authorization-details';
import { evaluatePrivileges } from '../core/privileges';
import { BenchModule, BenchRow, timed } from './harness';

const ACCOUNT = '123456789012';
const encode = (document: unknown): string => encodeURIComponent(JSON.stringify(document));
const doc = (...Statement: unknown[]) => ({ Version: '2012-10-17', Statement });
const managed = (arn: string, document: unknown): ManagedPolicyDetail => ({
  Arn: arn,
  PolicyName: arn.split('/').pop(),
  DefaultVersionId: 'v1',
  PolicyVersionList: [{ VersionId: 'v1', IsDefaultVersion: true, Document: encode(document) }],
});

function readOnlyAccess(): ManagedPolicyDetail {
  const file = join(__dirname, '../test/fixtures/member-agent/policies/ReadOnlyAccess.excerpt.json');
  const fixture = JSON.parse(readFileSync(file, 'utf8')) as {
    Arn: string;
    Document: { Statement: { Action: string[] }[] };
  };
  const statement = fixture.Document.Statement[0]!;
  const actions = [...statement.Action];
  for (let i = 0; actions.length < 1_400; i++) {
    for (const verb of ['Describe*', 'Get*', 'List*']) actions.push(`svc${i}:${verb}`);
  }
  return managed(fixture.Arn, { ...fixture.Document, Statement: [{ ...statement, Action: actions }] });
}

const ADMIN_ARN = 'arn:aws:iam::aws:policy/AdministratorAccess';
const user = (i: number, extra: Partial<UserDetail>): UserDetail => ({
  UserName: `user${String(i).padStart(5, '0')}`,
  UserId: `AIDA${String(i).padStart(17, '0')}`,
  Arn: `arn:aws:iam::${ACCOUNT}:user/user${String(i).padStart(5, '0')}`,
  ...extra,
});

export function readOnlyScenario(users: number): AuthorizationDetails {
  const ro = readOnlyAccess();
  return {
    users: Array.from({ length: users }, (_, i) =>
      user(i, { AttachedManagedPolicies: [{ PolicyArn: ro.Arn, PolicyName: 'ReadOnlyAccess' }] }),
    ),
    groups: [],
    roles: [],
    policies: [ro],
  };
}

function customerPolicy(i: number): ManagedPolicyDetail {
  const arn = `arn:aws:iam::${ACCOUNT}:policy/team-${i}`;
  const bucket = `arn:aws:s3:::bucket-${i % 40}`;
  const statements: unknown[] = [
    { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: bucket },
    {
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: i % 10 === 0 ? `${bucket}/home/\${aws:username}/*` : `${bucket}/team-${i}/*`,
    },
    { Effect: 'Allow', Action: ['ec2:Describe*', 'cloudwatch:Get*', 'logs:Get*'], Resource: '*' },
    {
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:Query'],
      Resource: `arn:aws:dynamodb:*:${ACCOUNT}:table/team-${i}-*`,
      Condition: { Bool: { 'aws:SecureTransport': 'true' } },
    },
  ];
  if (i % 7 === 0) statements.push({ Effect: 'Deny', Action: 's3:DeleteBucket', Resource: '*' });
  if (i % 5 === 0) {
    statements.push({
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: `arn:aws:iam::${ACCOUNT}:role/app-*`,
    });
  }
  if (i % 9 === 0) {
    statements.push({
      Effect: 'Allow',
      Action: ['iam:PassRole', 'lambda:CreateFunction', 'lambda:InvokeFunction'],
      Resource: '*',
      Condition: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
    });
  }
  return managed(arn, doc(...statements));
}

function role(i: number): RoleDetail {
  const name = `app-${i}`;
  const principals: unknown[] = [{ AWS: `arn:aws:iam::${ACCOUNT}:root` }];
  if (i % 3 === 0) principals.push({ Service: 'lambda.amazonaws.com' });
  const attached =
    i < 10
      ? [{ PolicyArn: ADMIN_ARN, PolicyName: 'AdministratorAccess' }]
      : i < 30
        ? [{ PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/team-${i}`, PolicyName: `team-${i}` }]
        : [];
  return {
    RoleName: name,
    Arn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
    AssumeRolePolicyDocument: encode(
      doc(...principals.map((Principal) => ({ Effect: 'Allow', Principal, Action: 'sts:AssumeRole' }))),
    ),
    AttachedManagedPolicies: attached,
    RolePolicyList: [
      {
        PolicyName: 'logs',
        PolicyDocument: encode(doc({ Effect: 'Allow', Action: 'logs:*', Resource: '*' })),
      },
    ],
  };
}

export function teamScenario(users: number): AuthorizationDetails {
  const policies = [
    managed(ADMIN_ARN, doc({ Effect: 'Allow', Action: '*', Resource: '*' })),
    ...Array.from({ length: 200 }, (_, i) => customerPolicy(i)),
  ];
  const groups = Array.from({ length: 50 }, (_, g) => ({
    GroupName: `group-${g}`,
    Arn: `arn:aws:iam::${ACCOUNT}:group/group-${g}`,
    AttachedManagedPolicies: [0, 1, 2, 3].map((k) => ({
      PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/team-${(g * 4 + k) % 200}`,
      PolicyName: `team-${(g * 4 + k) % 200}`,
    })),
    GroupPolicyList: [],
  }));
  return {
    users: Array.from({ length: users }, (_, i) =>
      user(i, {
        GroupList: [`group-${i % 50}`, `group-${(i * 7 + 3) % 50}`],
        AttachedManagedPolicies: [(i * 13) % 200, (i * 17 + 5) % 200].map((k) => ({
          PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/team-${k}`,
          PolicyName: `team-${k}`,
        })),
        Tags: [{ Key: 'team', Value: `t${i % 20}` }],
      }),
    ),
    groups,
    roles: Array.from({ length: 100 }, (_, i) => role(i)),
    policies,
  };
}

async function measure(name: string, details: AuthorizationDetails): Promise<BenchRow> {
  const runs = 3;
  const times: number[] = [];
  let admins = 0;
  let s3Readers = 0;
  let paths = 0;
  for (let r = 0; r < runs; r++) {
    const { value, ms } = await timed(async () =>
      evaluatePrivileges(details, { now: '2026-12-03T06:00:00Z' }),
    );
    times.push(ms);
    admins = value.privileges.filter((p) => p.admin).length;
    s3Readers = value.privileges.filter((p) => p.s3Read).length;
    paths = value.privileges.filter((p) => (p.grants?.admin?.[0]?.path ?? '').includes('→')).length;
  }
  times.sort((a, b) => a - b);
  return {
    name,
    metrics: {
      users: details.users.length,
      runs,
      medianMs: Math.round(times[1]!),
      minMs: Math.round(times[0]!),
      admins,
      s3Readers,
      adminThroughPath: paths,
    },
  };
}

export const privilegesBench: BenchModule = {
  name: 'privileges',
  async run(options) {
    const users = options.int('privilege-users', 5_000);
    return [
      await measure(
        `privileges: ${users.toLocaleString('en-US')} users with ReadOnlyAccess`,
        readOnlyScenario(users),
      ),
      await measure(
        `privileges: ${users.toLocaleString('en-US')} users, 200 customer managed policies, 50 groups, 100 roles`,
        teamScenario(users),
      ),
    ];
  },
};
