/**
 * Differential test against @cloud-copilot/iam-simulate (AGPL, so used only here as a test oracle, never
 * shipped): for random unconditional identity policies and permission boundaries, our matcher and the
 * simulator must agree on whether each concrete request is allowed.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import fc from 'fast-check';
import { grantingPoliciesFor } from '../../../core/privileges';
import { ACCOUNT } from '../collector/fixtures';
import { encode } from './policy-fixtures';

const USER = 'oracle';
const USER_ARN = `arn:aws:iam::${ACCOUNT}:user/${USER}`;

const ACTIONS = [
  '*',
  's3:*',
  's3:Get*',
  's3:GetObject',
  's3:List*',
  'S3:getobject',
  'dynamodb:*',
  'dynamodb:Query',
  'dynamodb:Get*',
  'iam:*',
  'iam:PutUserPolicy',
  'iam:Put*',
];
const RESOURCES = [
  '*',
  'arn:aws:s3:::bucket/*',
  'arn:aws:s3:::bucket/key',
  'arn:aws:s3:::other/*',
  'arn:aws:s3:::b*',
  'arn:aws:s3:::*/key',
  `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`,
  'arn:aws:dynamodb:*:*:table/*',
  'arn:aws:dynamodb:*:*:table/ord?rs',
  USER_ARN,
  `arn:aws:iam::${ACCOUNT}:user/*`,
  `arn:aws:iam::${ACCOUNT}:user/other`,
];
const REQUESTS: readonly [string, string][] = [
  ['s3:GetObject', 'arn:aws:s3:::bucket/key'],
  ['s3:GetObject', 'arn:aws:s3:::other/file'],
  ['dynamodb:Query', `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`],
  ['dynamodb:GetItem', `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/users`],
  ['iam:PutUserPolicy', USER_ARN],
];

/** Conditions on keys the snapshot answers exactly: both sides must agree on them. */
const CONDITIONS: readonly unknown[] = [
  { StringEquals: { 'aws:username': USER } },
  { StringEquals: { 'aws:username': 'someone-else' } },
  { StringNotEquals: { 'aws:username': 'someone-else' } },
  { StringLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:user/o*` } },
  { StringEquals: { 'aws:PrincipalTag/team': 'data' } },
  { StringEquals: { 'aws:PrincipalTag/team': 'web' } },
];
const CONTEXT = { 'aws:username': USER, 'aws:PrincipalArn': USER_ARN, 'aws:PrincipalTag/team': 'data' };

const list = <T>(arb: fc.Arbitrary<T>) => fc.oneof(arb, fc.array(arb, { minLength: 1, maxLength: 3 }));
const statementArb = fc
  .record({
    Effect: fc.constantFrom('Allow', 'Deny'),
    notAction: fc.boolean(),
    notResource: fc.boolean(),
    actions: list(fc.constantFrom(...ACTIONS)),
    resources: list(fc.constantFrom(...RESOURCES)),
    condition: fc.option(fc.constantFrom(...CONDITIONS), { nil: undefined }),
  })
  .map(({ Effect, notAction, notResource, actions, resources, condition }) => ({
    Effect,
    [notAction ? 'NotAction' : 'Action']: actions,
    [notResource ? 'NotResource' : 'Resource']: resources,
    ...(condition ? { Condition: condition } : {}),
  }));
const policyArb = fc
  .array(statementArb, { minLength: 1, maxLength: 4 })
  .map((Statement) => ({ Version: '2012-10-17', Statement }));

describe('grantingPoliciesFor (differential against iam-simulate)', () => {
  it('agrees with iam-simulate on concrete requests, with boundaries, NotAction/NotResource and answerable conditions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(policyArb, { minLength: 1, maxLength: 2 }),
        fc.option(policyArb, { nil: undefined }),
        async (identity, boundary) => {
          const boundaryArn = `arn:aws:iam::${ACCOUNT}:policy/boundary`;
          const details = {
            users: [
              {
                UserName: USER,
                Arn: USER_ARN,
                Tags: [{ Key: 'team', Value: 'data' }],
                UserPolicyList: identity.map((d, i) => ({ PolicyName: `p${i}`, PolicyDocument: encode(d) })),
                ...(boundary
                  ? {
                      PermissionsBoundary: {
                        PermissionsBoundaryType: 'PermissionsBoundaryPolicy' as const,
                        PermissionsBoundaryArn: boundaryArn,
                      },
                    }
                  : {}),
              },
            ],
            groups: [],
            policies: boundary
              ? [
                  {
                    Arn: boundaryArn,
                    PolicyName: 'boundary',
                    DefaultVersionId: 'v1',
                    PolicyVersionList: [
                      { VersionId: 'v1', IsDefaultVersion: true, Document: encode(boundary) },
                    ],
                  },
                ]
              : [],
          };
          for (const [action, resource] of REQUESTS) {
            const ours = grantingPoliciesFor(details, USER, action, resource).length > 0;
            const result = await runSimulation(
              {
                request: {
                  principal: USER_ARN,
                  action,
                  resource: { resource, accountId: ACCOUNT },
                  contextVariables: CONTEXT,
                },
                identityPolicies: identity.map((policy, i) => ({ name: `p${i}`, policy })),
                ...(boundary ? { permissionBoundaryPolicies: [{ name: 'boundary', policy: boundary }] } : {}),
                serviceControlPolicies: [],
                resourceControlPolicies: [],
              } as Parameters<typeof runSimulation>[0],
              {},
            );
            if (result.resultType === 'error')
              throw new Error(`iam-simulate error: ${JSON.stringify(result.errors)}`);
            expect({ action, resource, allowed: ours }).toEqual({
              action,
              resource,
              allowed: result.overallResult === 'Allowed',
            });
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
