/** Issue 12 item 3: the condition keys one snapshot can answer, evaluated three-valued. */
import { evaluateConditions, parseConditionBlock } from '../../../core/policy-conditions';
import {
  conditionContext,
  conditionValueResolver,
  type PrincipalVariables,
} from '../../../core/policy-engine';
import { evaluatePrivileges, grantingPoliciesFor } from '../../../core/privileges';
import { ACCOUNT } from '../collector/fixtures';
import { details, doc, type UserSpec } from './policy-fixtures';

const VARS: PrincipalVariables = {
  username: 'tess',
  userid: 'AIDATESS',
  principalAccount: ACCOUNT,
  principalArn: `arn:aws:iam::${ACCOUNT}:user/tess`,
  principalType: 'User',
  tags: { team: 'data' },
};
const NOW = Date.parse('2026-12-03T06:00:00Z');

const evaluate = (condition: unknown, request: Record<string, string> = {}, nowMs: number | null = NOW) =>
  evaluateConditions(
    parseConditionBlock(condition, 'Condition'),
    conditionContext(VARS, request, nowMs ?? undefined),
    conditionValueResolver(VARS, true),
  );

describe('evaluateConditions', () => {
  it.each([
    [{ StringEquals: { 'aws:username': 'tess' } }, true],
    [{ StringEquals: { 'aws:username': 'other' } }, false],
    [{ StringNotEquals: { 'aws:username': 'other' } }, true],
    [{ StringEqualsIgnoreCase: { 'aws:UserName': 'TESS' } }, true],
    [{ StringLike: { 'aws:userid': 'AIDA*' } }, true],
    [{ ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:user/t*` } }, true],
    [{ ArnNotLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:user/t*` } }, false],
    [{ StringEquals: { 'aws:PrincipalAccount': '999999999999' } }, false],
    [{ StringEquals: { 'aws:PrincipalType': 'User' } }, true],
    [{ StringEquals: { 'aws:PrincipalTag/team': 'data' } }, true],
    [{ StringEquals: { 'aws:PrincipalTag/Team': 'web' } }, false],
    [{ StringEquals: { 'aws:PrincipalTag/cost-center': 'x' } }, false],
    [{ StringEqualsIfExists: { 'aws:PrincipalTag/cost-center': 'x' } }, true],
    [{ Null: { 'aws:PrincipalTag/cost-center': 'true' } }, true],
    [{ Null: { 'aws:PrincipalTag/team': 'true' } }, false],
    [{ StringEquals: { 'aws:username': '${aws:username}' } }, true],
    [{ DateLessThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } }, false],
    [{ DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } }, true],
    [{ NumericLessThan: { 'aws:EpochTime': String(NOW / 1000 + 60) } }, true],
    [{ NumericGreaterThan: { 'aws:EpochTime': String(NOW / 1000 + 60) } }, false],
  ])('answers %j with %s for the snapshot user', (condition, expected) => {
    expect(evaluate(condition)).toBe(expected);
  });

  it('leaves keys the snapshot cannot answer unknown', () => {
    expect(evaluate({ Bool: { 'aws:MultiFactorAuthPresent': 'true' } })).toBeUndefined();
    expect(evaluate({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } })).toBeUndefined();
    expect(evaluate({ StringEquals: { 's3:prefix': 'home/' } })).toBeUndefined();
  });

  it('answers false when one clause is false even if another is unknown', () => {
    expect(
      evaluate({ Bool: { 'aws:MultiFactorAuthPresent': 'true' }, StringEquals: { 'aws:username': 'other' } }),
    ).toBe(false);
  });

  it('leaves the time unknown when no collection time is given', () => {
    expect(
      evaluate({ DateLessThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } }, {}, null),
    ).toBeUndefined();
  });

  it('answers request keys only when the probe sets them', () => {
    const attachAdmin = { 'iam:policyarn': 'arn:aws:iam::aws:policy/AdministratorAccess' };
    const only = { ArnEquals: { 'iam:PolicyARN': 'arn:aws:iam::aws:policy/ReadOnlyAccess' } };
    expect(evaluate(only, attachAdmin)).toBe(false);
    expect(evaluate(only)).toBeUndefined();
  });

  it('leaves set operators on answerable keys unknown', () => {
    expect(evaluate({ 'ForAllValues:StringEquals': { 'aws:username': 'other' } })).toBeUndefined();
  });
});

describe('evaluatePrivileges with answerable conditions', () => {
  const reads = (condition: unknown, spec: Partial<UserSpec> = {}, now?: string) =>
    evaluatePrivileges(
      details([
        {
          name: 'tess',
          ...spec,
          inline: {
            read: doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: condition }),
          },
        },
      ]),
      now ? { now } : {},
    ).privileges[0]!.s3Read;

  it('does not grant an Allow conditioned on another user name', () => {
    expect(reads({ StringEquals: { 'aws:username': 'someone-else' } })).toBe(false);
    expect(reads({ StringEquals: { 'aws:username': 'tess' } })).toBe(true);
  });

  it('grants an Allow on a principal tag only when the user has the tag value', () => {
    const condition = { StringEquals: { 'aws:PrincipalTag/team': 'data' } };
    expect(reads(condition, { tags: { team: 'data' } })).toBe(true);
    expect(reads(condition, { tags: { team: 'web' } })).toBe(false);
    expect(reads(condition)).toBe(false);
  });

  it('does not grant an Allow that expired before the collection time', () => {
    const condition = { DateLessThan: { 'aws:CurrentTime': '2025-01-01T00:00:00Z' } };
    expect(reads(condition, {}, '2026-12-03T06:00:00Z')).toBe(false);
    expect(reads(condition, {}, '2024-12-03T06:00:00Z')).toBe(true);
  });

  it('still grants an Allow on a key the snapshot cannot answer', () => {
    expect(reads({ Bool: { 'aws:MultiFactorAuthPresent': 'true' } })).toBe(true);
  });

  it('applies a Deny whose condition on the principal ARN holds, and ignores one that does not', () => {
    const withDeny = (pattern: string) =>
      evaluatePrivileges(
        details([
          {
            name: 'tess',
            inline: {
              p: doc(
                { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' },
                {
                  Effect: 'Deny',
                  Action: 's3:*',
                  Resource: '*',
                  Condition: { ArnLike: { 'aws:PrincipalArn': pattern } },
                },
              ),
            },
          },
        ]),
      ).privileges[0]!.s3Read;
    expect(withDeny(`arn:aws:iam::${ACCOUNT}:user/*`)).toBe(false);
    expect(withDeny(`arn:aws:iam::${ACCOUNT}:role/*`)).toBe(true);
  });

  it('does not count attaching a policy as admin when iam:PolicyARN only admits a read-only policy', () => {
    const attach = (arn: string) =>
      evaluatePrivileges(
        details([
          {
            name: 'tess',
            inline: {
              attach: doc({
                Effect: 'Allow',
                Action: 'iam:AttachUserPolicy',
                Resource: '*',
                Condition: { ArnEquals: { 'iam:PolicyARN': arn } },
              }),
            },
          },
        ]),
      ).privileges[0]!.admin;
    expect(attach('arn:aws:iam::aws:policy/ReadOnlyAccess')).toBe(false);
    expect(attach('arn:aws:iam::aws:policy/AdministratorAccess')).toBe(true);
  });

  it('answers iam:PermissionsBoundary on the request a caller describes', () => {
    const d = details([
      {
        name: 'tess',
        inline: {
          put: doc({
            Effect: 'Allow',
            Action: 'iam:PutUserPermissionsBoundary',
            Resource: '*',
            Condition: {
              StringEquals: { 'iam:PermissionsBoundary': 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
            },
          }),
        },
      },
    ]);
    const arn = `arn:aws:iam::${ACCOUNT}:user/tess`;
    const ask = (boundary: string) =>
      grantingPoliciesFor(d, 'tess', 'iam:PutUserPermissionsBoundary', arn, {
        request: { 'iam:permissionsboundary': boundary },
      });
    expect(ask('arn:aws:iam::aws:policy/ReadOnlyAccess')).toEqual(['user:tess/put']);
    expect(ask('arn:aws:iam::aws:policy/AdministratorAccess')).toEqual([]);
  });
});
