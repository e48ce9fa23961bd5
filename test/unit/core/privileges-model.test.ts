/** Issue 12 item 1: corrections within the model (boundaries that do not cap, Version-less policies, Deny vs identity ∩ boundary). */
import { evaluatePrivileges, grantingPoliciesFor } from '../../../core/privileges';
import type { UserPrivileges } from '../../../core/types';
import {
  AWS_POLICIES,
  customerPolicyArn,
  details,
  doc,
  managedPolicy,
  type UserSpec,
} from './policy-fixtures';

const ADMIN = AWS_POLICIES.AdministratorAccess.Arn;
const BOUNDARY = customerPolicyArn('boundary');

function one(spec: UserSpec, extra: Parameters<typeof managedPolicy>[] = []): UserPrivileges {
  const result = evaluatePrivileges(
    details(
      [spec],
      [],
      extra.map((args) => managedPolicy(...args)),
    ),
  );
  return result.privileges[0]!;
}

const s3OnlyAnd = (...more: unknown[]) =>
  doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }, ...more);

describe('evaluatePrivileges boundaries the user can lift', () => {
  it('counts admin through deleting the boundary when the boundary lets the user delete it', () => {
    const p = one({ name: 'bea', attached: [ADMIN], boundary: BOUNDARY }, [
      [BOUNDARY, s3OnlyAnd({ Effect: 'Allow', Action: 'iam:DeleteUserPermissionsBoundary', Resource: '*' })],
    ]);
    expect(p.admin).toBe(true);
    expect(p.grants?.admin?.[0]?.path).toBe(
      'iam:DeleteUserPermissionsBoundary on user/bea → AdministratorAccess',
    );
    expect(p.grants?.admin?.[0]?.actions).toEqual(['iam:DeleteUserPermissionsBoundary', 'iam:PutUserPolicy']);
  });

  it('keeps the cap when the boundary does not let the user delete, replace or rewrite it', () => {
    const p = one({ name: 'bea', attached: [ADMIN], boundary: BOUNDARY }, [[BOUNDARY, s3OnlyAnd()]]);
    expect(p).toMatchObject({ admin: false, s3Read: true, rdsRead: false, dynamodbRead: false });
  });

  it('counts admin through replacing the boundary when PutUserPermissionsBoundary is allowed on itself', () => {
    const p = one({ name: 'bea', attached: [ADMIN], boundary: BOUNDARY }, [
      [BOUNDARY, s3OnlyAnd({ Effect: 'Allow', Action: 'iam:PutUserPermissionsBoundary', Resource: '*' })],
    ]);
    expect(p.grants?.admin?.[0]?.path).toBe(
      'iam:PutUserPermissionsBoundary on user/bea → AdministratorAccess',
    );
  });

  it('counts admin through rewriting the boundary policy when CreatePolicyVersion is allowed on it', () => {
    const p = one({ name: 'bea', attached: [ADMIN], boundary: BOUNDARY }, [
      [BOUNDARY, s3OnlyAnd({ Effect: 'Allow', Action: 'iam:CreatePolicyVersion', Resource: BOUNDARY })],
    ]);
    expect(p.grants?.admin?.[0]?.path).toBe(
      'iam:CreatePolicyVersion on policy/boundary → AdministratorAccess',
    );
  });

  it('counts admin through an older admin version of the boundary when SetDefaultPolicyVersion is allowed on it', () => {
    // The fixture's v1 of every customer managed policy allows * on *.
    const p = one({ name: 'bea', attached: [ADMIN], boundary: BOUNDARY }, [
      [BOUNDARY, s3OnlyAnd({ Effect: 'Allow', Action: 'iam:SetDefaultPolicyVersion', Resource: BOUNDARY })],
    ]);
    expect(p.grants?.admin?.[0]?.path).toBe(
      'iam:SetDefaultPolicyVersion on policy/boundary → AdministratorAccess',
    );
  });

  it('keeps the cap when a Deny in the identity policies takes away the boundary removal', () => {
    const p = one(
      {
        name: 'bea',
        attached: [ADMIN],
        boundary: BOUNDARY,
        inline: { fence: doc({ Effect: 'Deny', Action: 'iam:*PermissionsBoundary', Resource: '*' }) },
      },
      [
        [
          BOUNDARY,
          s3OnlyAnd({ Effect: 'Allow', Action: 'iam:DeleteUserPermissionsBoundary', Resource: '*' }),
        ],
      ],
    );
    expect(p.admin).toBe(false);
  });
});

describe('evaluatePrivileges policy variables and the policy Version', () => {
  const home = (version?: string) => ({
    ...(version ? { Version: version } : {}),
    Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::home/${aws:username}/*' }],
  });

  it('substitutes ${aws:username} when the document declares Version 2012-10-17', () => {
    const d = details([{ name: 'val', inline: { home: home('2012-10-17') } }]);
    expect(grantingPoliciesFor(d, 'val', 's3:GetObject', 'arn:aws:s3:::home/val/notes.txt')).toEqual([
      'user:val/home',
    ]);
  });

  it('keeps ${aws:username} as literal text when the document has no Version', () => {
    const d = details([{ name: 'val', inline: { home: home() } }]);
    expect(grantingPoliciesFor(d, 'val', 's3:GetObject', 'arn:aws:s3:::home/val/notes.txt')).toEqual([]);
    expect(
      grantingPoliciesFor(d, 'val', 's3:GetObject', 'arn:aws:s3:::home/${aws:username}/notes.txt'),
    ).toEqual(['user:val/home']);
  });

  it('keeps variables literal when the document declares the old Version 2008-10-17', () => {
    const d = details([{ name: 'val', inline: { home: home('2008-10-17') } }]);
    expect(grantingPoliciesFor(d, 'val', 's3:GetObject', 'arn:aws:s3:::home/val/notes.txt')).toEqual([]);
  });

  it('does not let a Version-less Deny on ${aws:username} take away the user home read', () => {
    const p = one({
      name: 'val',
      inline: {
        read: doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::home/*' }),
        deny: {
          Statement: [
            { Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::home/${aws:username}/*' },
          ],
        },
      },
    });
    expect(p.s3Read).toBe(true);
  });
});

describe('evaluatePrivileges Deny against identity ∩ boundary', () => {
  it('removes a read when the Deny covers everything identity and boundary together allow', () => {
    const p = one(
      {
        name: 'dee',
        boundary: BOUNDARY,
        inline: {
          read: doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }),
          deny: doc({ Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::data/*' }),
        },
      },
      [[BOUNDARY, doc({ Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::data/*' })]],
    );
    expect(p.s3Read).toBe(false);
  });

  it('keeps a read when the boundary also allows objects the Deny does not cover', () => {
    const p = one(
      {
        name: 'dee',
        boundary: BOUNDARY,
        inline: {
          read: doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }),
          deny: doc({ Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::data/*' }),
        },
      },
      [
        [
          BOUNDARY,
          doc({ Effect: 'Allow', Action: 's3:*', Resource: ['arn:aws:s3:::data/*', 'arn:aws:s3:::logs/*'] }),
        ],
      ],
    );
    expect(p.s3Read).toBe(true);
  });

  it('compares object reads with object ARNs: a Deny on bucket ARNs does not remove GetObject', () => {
    const p = one({
      name: 'dee',
      inline: {
        read: doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::data/*' }),
        deny: doc({ Effect: 'Deny', Action: 's3:*', Resource: 'arn:aws:s3:::data' }),
      },
    });
    expect(p.s3Read).toBe(true);
  });
});
