/**
 * The work shared across principals (core/policy-set.ts SetShape, core/direct-power.ts data reads, the
 * per-signature role memo, granting lists) must not change any answer: on generated accounts whose
 * policies depend on the principal (`${aws:username}` resources, aws:PrincipalTag and aws:username
 * conditions), with boundaries, groups, Denies and roles, every user's result is the same as when that
 * user is evaluated alone, and the same whatever order the users come in.
 */
import type {
  AuthorizationDetails,
  ManagedPolicyDetail,
  UserDetail,
} from '../../../core/authorization-details';
import { evaluatePrivileges } from '../../../core/privileges';
import type { UserPrivileges } from '../../../core/types';
import { ACCOUNT, prng } from '../collector/fixtures';
import {
  ACCOUNT_ROOT,
  customerPolicyArn,
  doc,
  encode,
  groupDetail,
  managedPolicy,
  roleArn,
  roleDetail,
  userArn,
} from './policy-fixtures';

const NOW = '2026-12-03T06:00:00Z';

/** Statements of the generated policies: shared, principal-dependent, conditional, Denies, escalations. */
const STATEMENTS: readonly unknown[] = [
  { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::home/${aws:username}/*' },
  { Effect: 'Allow', Action: ['s3:Get*', 's3:List*'], Resource: 'arn:aws:s3:::shared/*' },
  { Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::home/u1/*' },
  { Effect: 'Deny', Action: 's3:*', Resource: 'arn:aws:s3:::shared/*' },
  {
    Effect: 'Allow',
    Action: 'dynamodb:Query',
    Resource: `arn:aws:dynamodb:*:${ACCOUNT}:table/*`,
    Condition: { StringEquals: { 'aws:PrincipalTag/team': 'data' } },
  },
  {
    Effect: 'Deny',
    Action: 'dynamodb:*',
    Resource: '*',
    Condition: { StringEquals: { 'aws:PrincipalTag/team': 'ops' } },
  },
  {
    Effect: 'Allow',
    Action: 'rds-db:connect',
    Resource: `arn:aws:rds-db:*:${ACCOUNT}:dbuser:*/\${aws:username}`,
  },
  {
    Effect: 'Allow',
    Action: 'iam:PutUserPolicy',
    Resource: `arn:aws:iam::${ACCOUNT}:user/\${aws:username}`,
  },
  {
    Effect: 'Allow',
    Action: 'iam:AttachUserPolicy',
    Resource: userArn('u3'),
  },
  {
    Effect: 'Allow',
    Action: 'sts:AssumeRole',
    Resource: roleArn('*'),
    Condition: { StringLike: { 'aws:username': 'u*2' } },
  },
  { Effect: 'Allow', Action: 'iam:AddUserToGroup', Resource: `arn:aws:iam::${ACCOUNT}:group/g0` },
  {
    Effect: 'Allow',
    Action: 'rds-data:ExecuteStatement',
    Resource: '*',
    Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
  },
  { Effect: 'Allow', Action: 'iam:DeleteUserPermissionsBoundary', Resource: userArn('u4') },
];

const TAKEOVER = {
  Effect: 'Allow',
  Action: 'iam:CreateAccessKey',
  Resource: `arn:aws:iam::${ACCOUNT}:user/*`,
};

const pick = <T>(random: () => number, list: readonly T[], n: number): T[] =>
  Array.from({ length: n }, () => list[Math.floor(random() * list.length)] as T);

function account(seed: number, users: number, takeover: boolean): AuthorizationDetails {
  const random = prng(seed);
  const policies: ManagedPolicyDetail[] = Array.from({ length: 8 }, (_, i) =>
    managedPolicy(
      customerPolicyArn(`p${i}`),
      doc(...pick(random, takeover && i === 7 ? [TAKEOVER] : STATEMENTS, 1 + Math.floor(random() * 3))),
    ),
  );
  policies.push(
    managedPolicy(customerPolicyArn('cap-s3'), doc({ Effect: 'Allow', Action: 's3:*', Resource: '*' })),
    managedPolicy(customerPolicyArn('cap-all'), doc({ Effect: 'Allow', Action: '*', Resource: '*' })),
  );
  const policyArns = policies.map((p) => p.Arn as string);
  const groups = Array.from({ length: 4 }, (_, g) =>
    groupDetail(
      `g${g}`,
      pick(random, policyArns.slice(0, 8), 1 + (g % 2)),
      g === 3 ? { inline: doc(...pick(random, STATEMENTS, 2)) } : {},
    ),
  );
  const roles = [
    roleDetail({ name: 'r-admin', trust: { AWS: ACCOUNT_ROOT }, attached: [customerPolicyArn('cap-all')] }),
    roleDetail({
      name: 'r-named',
      trust: { AWS: userArn('u2') },
      inline: { read: doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }) },
    }),
    roleDetail({
      name: 'r-tagged',
      trust: { AWS: ACCOUNT_ROOT },
      trustCondition: { StringEquals: { 'aws:PrincipalTag/team': 'data' } },
      inline: { read: doc({ Effect: 'Allow', Action: 'dynamodb:Scan', Resource: '*' }) },
    }),
  ];
  // Users come in cohorts holding the same groups, policies and boundary (so their answers are shared)
  // but with their own names and tags (so a principal-dependent answer differs within a cohort).
  const profiles = Array.from({ length: 12 }, () => ({
    groups: pick(random, ['g0', 'g1', 'g2', 'g3'], Math.floor(random() * 3)),
    attached: pick(random, policyArns.slice(0, 8), 1 + Math.floor(random() * 2)),
    boundary: random() < 0.25 ? pick(random, ['cap-s3', 'cap-all', 'p0'], 1)[0] : undefined,
  }));
  const tags = ['data', 'ops', undefined];
  const detailsOfUsers: UserDetail[] = Array.from({ length: users }, (_, i) => {
    const name = `u${i}`;
    const tag = tags[Math.floor(random() * tags.length)];
    const profile = profiles[Math.floor(random() * profiles.length)] as (typeof profiles)[number];
    return {
      UserName: name,
      UserId: `AIDA${String(i).padStart(17, '0')}`,
      Arn: userArn(name),
      GroupList: profile.groups,
      AttachedManagedPolicies: profile.attached.map((arn) => ({
        PolicyArn: arn,
        PolicyName: arn.split('/').pop(),
      })),
      UserPolicyList:
        random() < 0.1
          ? [{ PolicyName: 'own', PolicyDocument: encode(doc(...pick(random, STATEMENTS, 2))) }]
          : [],
      ...(tag ? { Tags: [{ Key: 'team', Value: tag }] } : {}),
      ...(profile.boundary
        ? {
            PermissionsBoundary: {
              PermissionsBoundaryType: 'Policy',
              PermissionsBoundaryArn: customerPolicyArn(profile.boundary),
            },
          }
        : {}),
    };
  });
  return { users: detailsOfUsers, groups, roles, policies };
}

const byName = (privileges: readonly UserPrivileges[]): Map<string, UserPrivileges> =>
  new Map(privileges.map((p) => [p.userName, p]));

describe('privilege evaluation shared across users', () => {
  it.each([1, 2, 4, 5, 6, 7])(
    'gives every user of a generated account (seed %i) the answer it gets evaluated alone',
    (seed) => {
      const details = account(seed, 60, false);
      const together = byName(evaluatePrivileges(details, { now: NOW }).privileges);
      // The generated accounts do hold shareable and principal-dependent answers of both signs.
      expect([...together.values()].some((p) => p.s3Read)).toBe(true);
      expect([...together.values()].some((p) => !p.s3Read)).toBe(true);
      for (const user of details.users) {
        const alone = evaluatePrivileges({ ...details, users: [user] }, { now: NOW }).privileges[0];
        expect({ user: user.UserName, result: together.get(user.UserName as string) }).toEqual({
          user: user.UserName,
          result: alone,
        });
      }
    },
  );

  it.each([12, 13, 14])(
    'gives the same answers whatever order the users come in, with credential takeover (seed %i)',
    (seed) => {
      const details = account(seed, 80, true);
      const forward = evaluatePrivileges(details, { now: NOW });
      const reversed = evaluatePrivileges({ ...details, users: [...details.users].reverse() }, { now: NOW });
      const random = prng(seed * 7);
      const shuffled = [...details.users].sort(() => random() - 0.5);
      const mixed = evaluatePrivileges({ ...details, users: shuffled }, { now: NOW });
      const expected = byName(forward.privileges);
      expect(byName(reversed.privileges)).toEqual(expected);
      expect(byName(mixed.privileges)).toEqual(expected);
      expect(
        forward.privileges.some((p) =>
          (p.grants?.admin ?? []).some((g) => g.path.includes('iam:CreateAccessKey')),
        ),
      ).toBe(true);
    },
  );
});
