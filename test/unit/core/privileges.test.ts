import { evaluatePrivileges, grantingPoliciesFor } from '../../../core/privileges';
import type { UserPrivileges } from '../../../core/types';
import { ACCOUNT } from '../collector/fixtures';
import {
  AWS_POLICIES,
  customerPolicyArn,
  details,
  doc,
  groupDetail,
  managedPolicy,
  type UserSpec,
} from './policy-fixtures';

const ADMIN = AWS_POLICIES.AdministratorAccess.Arn;
const S3_RO = AWS_POLICIES.AmazonS3ReadOnlyAccess.Arn;
const RO = AWS_POLICIES.ReadOnlyAccess.Arn;
const POWER = AWS_POLICIES.PowerUserAccess.Arn;
const DDB_RO = AWS_POLICIES.AmazonDynamoDBReadOnlyAccess.Arn;
const IAM_FULL = AWS_POLICIES.IAMFullAccess.Arn;

function one(
  spec: UserSpec,
  ...rest: Parameters<typeof details> extends [unknown, ...infer R] ? R : never
): UserPrivileges {
  const result = evaluatePrivileges(details([spec], ...rest));
  expect(result.privileges).toHaveLength(1);
  return result.privileges[0]!;
}

const flags = (p: UserPrivileges) => ({
  admin: p.admin,
  s3Read: p.s3Read,
  rdsRead: p.rdsRead,
  dynamodbRead: p.dynamodbRead,
});

describe('evaluatePrivileges with real AWS managed policies', () => {
  it('grants everything and names the policy when AdministratorAccess is attached', () => {
    const p = one({ name: 'alice', attached: [ADMIN] });
    expect(flags(p)).toEqual({ admin: true, s3Read: true, rdsRead: true, dynamodbRead: true });
    expect(p.grantingPolicies).toEqual({
      admin: [ADMIN],
      s3Read: [ADMIN],
      rdsRead: [ADMIN],
      dynamodbRead: [ADMIN],
    });
  });

  it('grants only S3 read when AmazonS3ReadOnlyAccess is attached', () => {
    const p = one({ name: 'bob', attached: [S3_RO] });
    expect(flags(p)).toEqual({ admin: false, s3Read: true, rdsRead: false, dynamodbRead: false });
    expect(p.grantingPolicies).toEqual({ s3Read: [S3_RO] });
  });

  it('grants S3 and DynamoDB read but not RDS data when ReadOnlyAccess is attached', () => {
    // ReadOnlyAccess has rds:Download* (log files) but neither rds-db:connect nor the Data API.
    const p = one({ name: 'carol', attached: [RO] });
    expect(flags(p)).toEqual({ admin: false, s3Read: true, rdsRead: false, dynamodbRead: true });
    expect(p.grantingPolicies).toEqual({ s3Read: [RO], dynamodbRead: [RO] });
  });

  it('grants data read but not admin when PowerUserAccess (NotAction iam:*) is attached', () => {
    const p = one({ name: 'dave', attached: [POWER] });
    expect(flags(p)).toEqual({ admin: false, s3Read: true, rdsRead: true, dynamodbRead: true });
    expect(p.grantingPolicies.rdsRead).toEqual([POWER]);
  });

  it('grants only DynamoDB read when AmazonDynamoDBReadOnlyAccess is attached', () => {
    const p = one({ name: 'erin', attached: [DDB_RO] });
    expect(flags(p)).toEqual({ admin: false, s3Read: false, rdsRead: false, dynamodbRead: true });
  });

  it('counts PowerUserAccess with IAMFullAccess as admin when both are attached', () => {
    const p = one({ name: 'dora', attached: [POWER, IAM_FULL] });
    expect(flags(p)).toEqual({ admin: true, s3Read: true, rdsRead: true, dynamodbRead: true });
    expect(p.grantingPolicies.admin).toEqual([IAM_FULL]);
  });

  it('counts IAMFullAccess as admin when the user can attach policies to itself', () => {
    const p = one({ name: 'frank', attached: [IAM_FULL] });
    expect(flags(p)).toEqual({ admin: true, s3Read: false, rdsRead: false, dynamodbRead: false });
    expect(p.grantingPolicies.admin).toEqual([IAM_FULL]);
  });

  it('grants nothing when no policy is attached', () => {
    const p = one({ name: 'nobody' });
    expect(flags(p)).toEqual({ admin: false, s3Read: false, rdsRead: false, dynamodbRead: false });
    expect(p.grantingPolicies).toEqual({});
  });

  it('ignores non-default policy versions when evaluating a managed policy', () => {
    // managedPolicy() puts an Allow * on * in the non-default v1 of every fixture policy.
    expect(one({ name: 'bob', attached: [S3_RO] }).admin).toBe(false);
  });
});

describe('evaluatePrivileges sources', () => {
  it('names group-attached and group-inline policies when the user gets them from groups', () => {
    const groups = [
      groupDetail('admins', [ADMIN]),
      groupDetail('readers', [], {
        'read-orders': doc({
          Effect: 'Allow',
          Action: 'dynamodb:Query',
          Resource: `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/orders`,
        }),
      }),
    ];
    const p = one({ name: 'gina', groups: ['admins', 'readers'] }, groups);
    expect(p.admin).toBe(true);
    expect(p.grantingPolicies.dynamodbRead).toEqual([ADMIN, 'group:readers/read-orders']);
  });

  it('names an inline user policy as user:<name>/<policy> when it grants a read', () => {
    const p = one({
      name: 'hank',
      inline: {
        'read-bucket': doc({ Effect: 'Allow', Action: 's3:Get*', Resource: 'arn:aws:s3:::reports/*' }),
      },
    });
    expect(p.grantingPolicies).toEqual({ s3Read: ['user:hank/read-bucket'] });
  });

  it('reads customer managed policies when they are attached', () => {
    const arn = customerPolicyArn('rds-connect');
    const policy = managedPolicy(
      arn,
      doc({
        Effect: 'Allow',
        Action: 'rds-db:connect',
        Resource: `arn:aws:rds-db:eu-west-1:${ACCOUNT}:dbuser:db-ABC/app`,
      }),
    );
    const p = one({ name: 'ivan', attached: [arn] }, [], [policy]);
    expect(p.rdsRead).toBe(true);
    expect(p.grantingPolicies.rdsRead).toEqual([arn]);
  });

  it('accepts documents that are not URL-encoded', () => {
    const d = details([{ name: 'jo' }]);
    const user = {
      ...d.users[0]!,
      UserPolicyList: [
        {
          PolicyName: 'raw',
          PolicyDocument: JSON.stringify(doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' })),
        },
      ],
    };
    expect(evaluatePrivileges({ ...d, users: [user] }).privileges[0]!.s3Read).toBe(true);
  });
});

describe('evaluatePrivileges wildcards', () => {
  it.each([
    ['s3:*', true],
    ['s3:Get*', true],
    ['S3:getobject', true],
    ['s3:Get?bject', true],
    ['*', true],
    ['s3:GetObjectAcl', false],
    ['s3:List*', false],
    ['s3-object-lambda:GetObject', false],
  ])('decides s3Read when the action pattern is %s (expect %s)', (action, expected) => {
    const p = one({ name: 'kim', inline: { p: doc({ Effect: 'Allow', Action: action, Resource: '*' }) } });
    expect(p.s3Read).toBe(expected);
  });

  it.each([
    ['arn:aws:s3:::bucket/*', true],
    ['arn:aws:s3:::*', true],
    ['arn:aws:s3:::bucket', false], // the bucket, not its objects
    ['arn:aws:s3', true], // a short ARN is padded with wildcards
    ['arn:aws:dynamodb:*:*:table/*', false],
  ])('decides s3Read when the resource is %s (expect %s)', (resource, expected) => {
    const p = one({
      name: 'lee',
      inline: { p: doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: resource }) },
    });
    expect(p.s3Read).toBe(expected);
  });

  it('grants when NotResource leaves some objects readable', () => {
    const p = one({
      name: 'max',
      inline: { p: doc({ Effect: 'Allow', Action: 's3:GetObject', NotResource: 'arn:aws:s3:::secret/*' }) },
    });
    expect(p.s3Read).toBe(true);
  });

  it('does not grant when NotResource excludes every object', () => {
    const p = one({
      name: 'max',
      inline: { p: doc({ Effect: 'Allow', Action: 's3:GetObject', NotResource: 'arn:aws:s3:::*' }) },
    });
    expect(p.s3Read).toBe(false);
  });

  it('substitutes ${aws:username} when a policy scopes reads to the user home prefix', () => {
    const p = one({
      name: 'nia',
      inline: {
        home: doc(
          { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::home/${aws:username}/*' },
          { Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::home/${aws:username}/*' },
        ),
      },
    });
    expect(p.s3Read).toBe(false);
  });
});

describe('evaluatePrivileges Deny', () => {
  it('keeps S3 read through deleting the Deny when AdministratorAccess meets its own Deny s3:* on *', () => {
    const p = one({
      name: 'oli',
      attached: [ADMIN],
      inline: { 'no-s3': doc({ Effect: 'Deny', Action: 's3:*', Resource: '*' }) },
    });
    expect(flags(p)).toEqual({ admin: true, s3Read: true, rdsRead: true, dynamodbRead: true });
    expect(p.grants?.s3Read?.[0]).toEqual({
      path: 'iam:DeleteUserPolicy no-s3 on user/oli → AdministratorAccess',
      actions: ['iam:DeleteUserPolicy', 's3:GetObject'],
    });
  });

  it('removes S3 read but keeps admin when the Deny s3:* on * cannot be removed', () => {
    const p = one({
      name: 'oli',
      attached: [ADMIN],
      inline: {
        'no-s3': doc(
          { Effect: 'Deny', Action: 's3:*', Resource: '*' },
          { Effect: 'Deny', Action: ['iam:DeleteUserPolicy', 'iam:PutUserPolicy'], Resource: '*' },
        ),
      },
    });
    expect(flags(p)).toEqual({ admin: true, s3Read: false, rdsRead: true, dynamodbRead: true });
  });

  it.each([
    ['sts:AssumeRole', '*'],
    ['iam:PutUserPolicy', '*'],
    ['iam:*', `arn:aws:iam::${ACCOUNT}:role/*`],
  ])('keeps admin when AdministratorAccess meets a Deny of only %s on %s', (action, resource) => {
    // Any IAM permission write left open lets the user grant itself the rest.
    const p = one({
      name: 'ole',
      attached: [ADMIN],
      inline: { fence: doc({ Effect: 'Deny', Action: action, Resource: resource }) },
    });
    expect(p.admin).toBe(true);
    expect(p.grantingPolicies.admin).toEqual([ADMIN]);
  });

  it('removes admin when a Deny takes away IAM self-management', () => {
    const p = one({
      name: 'pat',
      attached: [ADMIN],
      inline: { 'no-iam': doc({ Effect: 'Deny', Action: 'iam:*', Resource: '*' }) },
    });
    expect(p.admin).toBe(false);
    expect(p.s3Read).toBe(true);
  });

  it('keeps a read when the Deny only fences one bucket', () => {
    const p = one({
      name: 'quin',
      attached: [S3_RO],
      inline: { fence: doc({ Effect: 'Deny', Action: 's3:*', Resource: 'arn:aws:s3:::payroll/*' }) },
    });
    expect(p.s3Read).toBe(true);
  });

  it('removes a read when the Deny covers everything the Allow grants', () => {
    const p = one({
      name: 'ray',
      inline: {
        read: doc({
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: ['arn:aws:s3:::payroll/2024/*', 'arn:aws:s3:::payroll/2023/*'],
        }),
        fence: doc({ Effect: 'Deny', Action: 's3:Get*', Resource: 'arn:aws:s3:::payroll*' }),
      },
    });
    expect(p.s3Read).toBe(false);
  });

  it('ignores a conditional Deny because it may not apply to the request', () => {
    const mfaOnly = doc({
      Effect: 'Deny',
      NotAction: ['iam:ChangePassword', 'sts:GetSessionToken'],
      Resource: '*',
      Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
    });
    const p = one({ name: 'sam', attached: [ADMIN], inline: { 'force-mfa': mfaOnly } });
    expect(p.admin).toBe(true);
  });

  it('counts reads through a DAX cluster as DynamoDB read', () => {
    const p = one({
      name: 'dax',
      inline: {
        cache: doc({
          Effect: 'Allow',
          Action: 'dax:GetItem',
          Resource: `arn:aws:dax:eu-west-1:${ACCOUNT}:cache/orders`,
        }),
      },
    });
    expect(flags(p)).toEqual({ admin: false, s3Read: false, rdsRead: false, dynamodbRead: true });
    expect(p.grantingPolicies).toEqual({ dynamodbRead: ['user:dax/cache'] });
  });

  it('counts a conditional Allow because its condition may be met', () => {
    const p = one({
      name: 'tess',
      inline: {
        ip: doc({
          Effect: 'Allow',
          Action: 'dynamodb:Scan',
          Resource: '*',
          Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
        }),
      },
    });
    expect(p.dynamodbRead).toBe(true);
  });

  it('denies everything outside NotResource when a Deny uses NotResource', () => {
    const p = one({
      name: 'uma',
      attached: [ADMIN],
      inline: { only: doc({ Effect: 'Deny', Action: '*', NotResource: 'arn:aws:s3:::public/*' }) },
    });
    expect(flags(p)).toEqual({ admin: false, s3Read: true, rdsRead: false, dynamodbRead: false });
  });

  it('applies a Deny written with NotAction to every other action', () => {
    const p = one({
      name: 'vic',
      attached: [ADMIN],
      inline: { only: doc({ Effect: 'Deny', NotAction: 's3:*', Resource: '*' }) },
    });
    expect(flags(p)).toEqual({ admin: false, s3Read: true, rdsRead: false, dynamodbRead: false });
  });
});

describe('evaluatePrivileges permission boundaries', () => {
  it('caps AdministratorAccess to S3 read when the boundary is AmazonS3ReadOnlyAccess', () => {
    const p = one({ name: 'wes', attached: [ADMIN], boundary: S3_RO });
    expect(flags(p)).toEqual({ admin: false, s3Read: true, rdsRead: false, dynamodbRead: false });
    expect(p.grantingPolicies).toEqual({ s3Read: [ADMIN] });
  });

  it('grants nothing the identity policies do not when the boundary is AdministratorAccess', () => {
    const p = one({ name: 'xia', attached: [S3_RO], boundary: ADMIN });
    expect(flags(p)).toEqual({ admin: false, s3Read: true, rdsRead: false, dynamodbRead: false });
  });

  it('does not count IAM self-escalation as admin when a boundary caps it and cannot be removed', () => {
    const p = one({ name: 'yan', attached: [IAM_FULL], boundary: POWER });
    expect(p.admin).toBe(false);
  });

  it('counts IAM self-escalation as admin when the user may delete its own boundary', () => {
    const p = one({ name: 'zed', attached: [IAM_FULL], boundary: IAM_FULL });
    expect(p.admin).toBe(true);
  });

  it('warns and evaluates without the boundary when its document is missing', () => {
    const result = evaluatePrivileges(
      details([{ name: 'amy', attached: [S3_RO], boundary: customerPolicyArn('gone') }]),
    );
    expect(result.privileges[0]!.s3Read).toBe(true);
    expect(result.warnings).toEqual([
      `permissions boundary ${customerPolicyArn('gone')} of user amy could not be read; evaluated without it`,
    ]);
  });
});

describe('evaluatePrivileges self-escalation', () => {
  it('counts admin when the user can write a new version of its own customer managed policy', () => {
    const arn = customerPolicyArn('dev');
    const policy = managedPolicy(
      arn,
      doc({ Effect: 'Allow', Action: ['iam:CreatePolicyVersion', 'ec2:Describe*'], Resource: '*' }),
    );
    const p = one({ name: 'bea', attached: [arn] }, [], [policy]);
    expect(p.admin).toBe(true);
    expect(p.grantingPolicies.admin).toEqual([arn]);
  });

  it('counts admin when the user can put an inline policy on one of its groups', () => {
    const groups = [
      groupDetail('devs', [], {
        g: doc({
          Effect: 'Allow',
          Action: 'iam:PutGroupPolicy',
          Resource: `arn:aws:iam::${ACCOUNT}:group/devs`,
        }),
      }),
    ];
    expect(one({ name: 'cal', groups: ['devs'] }, groups).admin).toBe(true);
  });

  it('does not count admin when the user may only manage other users', () => {
    const p = one({
      name: 'dee',
      inline: {
        p: doc({
          Effect: 'Allow',
          Action: 'iam:AttachUserPolicy',
          Resource: `arn:aws:iam::${ACCOUNT}:user/interns/*`,
        }),
      },
    });
    expect(p.admin).toBe(false);
  });
});

describe('evaluatePrivileges bad input', () => {
  it('skips an unreadable inline policy with a warning and keeps evaluating the rest', () => {
    const d = details([{ name: 'eve', attached: [S3_RO] }]);
    const user = {
      ...d.users[0]!,
      UserPolicyList: [{ PolicyName: 'broken', PolicyDocument: '%7B%22Statement' }],
    };
    const result = evaluatePrivileges({ ...d, users: [user] });
    expect(result.privileges[0]!.s3Read).toBe(true);
    expect(result.warnings).toEqual([
      'inline policy user:eve/broken: policy document is not valid JSON; ignored',
    ]);
  });

  it('warns when an attached managed policy is not in the snapshot', () => {
    const result = evaluatePrivileges(details([{ name: 'fay', attached: [customerPolicyArn('missing')] }]));
    expect(result.warnings[0]).toMatch(/missing attached to user fay was not returned/);
  });

  it('warns when a group of the user is not in the snapshot', () => {
    const result = evaluatePrivileges(details([{ name: 'gus', groups: ['ghost'] }]));
    expect(result.warnings).toEqual(['group ghost of user gus was not returned; its policies are ignored']);
  });

  it('rejects a statement with both Action and NotAction as unreadable', () => {
    const d = details([
      { name: 'hal', inline: { p: doc({ Effect: 'Allow', Action: '*', NotAction: 's3:*', Resource: '*' }) } },
    ]);
    const result = evaluatePrivileges(d);
    expect(result.privileges[0]!.admin).toBe(false);
    expect(result.warnings[0]).toMatch(/exactly one of Action and NotAction/);
  });
});

describe('grantingPoliciesFor', () => {
  it('answers a concrete request when given an ARN', () => {
    const d = details([{ name: 'ida', attached: [S3_RO, POWER] }]);
    expect(grantingPoliciesFor(d, 'ida', 's3:GetObject', 'arn:aws:s3:::b/k')).toEqual([POWER, S3_RO].sort());
    expect(grantingPoliciesFor(d, 'ida', 'iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/x`)).toEqual([]);
  });
});
