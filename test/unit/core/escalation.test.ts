import type { ManagedPolicyDetail } from '@aws-sdk/client-iam';
/** Issue 12 items 2 and 7: every modelled escalation path, with the path present (admin) and one permission missing (not admin). */
import { evaluatePrivileges } from '../../../core/privileges';
import type { UserPrivileges } from '../../../core/types';
import {
  ACCOUNT_ROOT,
  AWS_POLICIES,
  customerPolicyArn,
  details,
  doc,
  groupDetail,
  managedPolicy,
  roleArn,
  roleDetail,
  userArn,
  type RoleSpec,
  type UserSpec,
} from './policy-fixtures';

const ADMIN = AWS_POLICIES.AdministratorAccess.Arn;
const S3_RO = AWS_POLICIES.AmazonS3ReadOnlyAccess.Arn;
const allow = (Action: string | string[], Resource: string | string[] = '*', Condition?: unknown) =>
  doc({ Effect: 'Allow', Action, Resource, ...(Condition ? { Condition } : {}) });

function evaluate(
  users: UserSpec[],
  roles: RoleSpec[] = [],
  groups = [groupDetail('admins', [ADMIN])],
  extra: ManagedPolicyDetail[] = [],
) {
  const d = details(users, groups, extra);
  return evaluatePrivileges({ ...d, roles: roles.map(roleDetail) }).privileges;
}
const first = (privileges: UserPrivileges[]) => privileges[0]!;

describe('escalation paths to admin', () => {
  const cases: { name: string; grant: unknown; missing: unknown; path: string; extra?: Partial<UserSpec> }[] =
    [
      {
        name: 'iam:AddUserToGroup into a group holding AdministratorAccess',
        grant: allow('iam:AddUserToGroup', `arn:aws:iam::*:group/admins`),
        missing: allow('iam:AddUserToGroup', `arn:aws:iam::*:group/readers`),
        path: 'iam:AddUserToGroup on group/admins → AdministratorAccess',
      },
      {
        name: 'iam:PutUserPolicy on itself',
        grant: allow('iam:PutUserPolicy', userArn('eve')),
        missing: allow('iam:PutUserPolicy', userArn('other')),
        path: 'iam:PutUserPolicy on user/eve → admin',
      },
      {
        name: 'iam:AttachUserPolicy on itself',
        grant: allow('iam:AttachUserPolicy', userArn('eve')),
        missing: allow('iam:DetachUserPolicy', userArn('eve')),
        path: 'iam:AttachUserPolicy on user/eve → admin',
      },
    ];
  it.each(cases)(
    'counts admin through $name, and not when that permission is missing',
    ({ grant, missing, path }) => {
      const yes = first(evaluate([{ name: 'eve', inline: { p: grant } }]));
      expect(yes.admin).toBe(true);
      expect(yes.grants?.admin?.[0]?.path).toBe(path);
      expect(first(evaluate([{ name: 'eve', inline: { p: missing } }])).admin).toBe(false);
    },
  );

  it.each([
    ['iam:PutGroupPolicy', allow('iam:PutGroupPolicy', 'arn:aws:iam::*:group/devs')],
    ['iam:AttachGroupPolicy', allow('iam:AttachGroupPolicy', 'arn:aws:iam::*:group/devs')],
  ])('counts admin through %s on its own group, and not on another group', (action, grant) => {
    const groups = [groupDetail('devs'), groupDetail('ops')];
    const yes = first(evaluate([{ name: 'eve', groups: ['devs'], inline: { p: grant } }], [], groups));
    expect(yes.admin).toBe(true);
    expect(yes.grants?.admin?.[0]?.path).toBe(`${action} on group/devs → admin`);
    const other = allow(action, 'arn:aws:iam::*:group/ops');
    expect(first(evaluate([{ name: 'eve', groups: ['devs'], inline: { p: other } }], [], groups)).admin).toBe(
      false,
    );
  });

  it('counts admin through iam:CreatePolicyVersion on its own customer managed policy, and not on another one', () => {
    const deploy = managedPolicy(customerPolicyArn('deploy'), allow('ec2:Describe*'));
    const spec = (resource: string): UserSpec => ({
      name: 'eve',
      attached: [deploy.Arn!],
      inline: { p: allow('iam:CreatePolicyVersion', resource) },
    });
    const yes = first(evaluate([spec(customerPolicyArn('deploy'))], [], [], [deploy]));
    expect(yes.admin).toBe(true);
    expect(yes.grants?.admin?.[0]?.path).toBe('iam:CreatePolicyVersion on policy/deploy → admin');
    expect(first(evaluate([spec(customerPolicyArn('other'))], [], [], [deploy])).admin).toBe(false);
  });

  it.each([['iam:CreateAccessKey'], ['iam:CreateLoginProfile'], ['iam:UpdateLoginProfile']])(
    'counts admin through %s on another user who is admin, and not on a user who is not',
    (action) => {
      const [eve] = evaluate([
        { name: 'eve', inline: { p: allow(action, userArn('deploy-bot')) } },
        { name: 'deploy-bot', attached: [ADMIN] },
        { name: 'intern' },
      ]);
      expect(eve!.admin).toBe(true);
      expect(eve!.grants?.admin?.[0]?.path).toBe(`${action} on user/deploy-bot → AdministratorAccess`);
      expect(eve!.grants?.admin?.[0]?.actions).toEqual([action, 'iam:PutUserPolicy']);
      const [other] = evaluate([
        { name: 'eve', inline: { p: allow(action, userArn('intern')) } },
        { name: 'deploy-bot', attached: [ADMIN] },
        { name: 'intern' },
      ]);
      expect(other!.admin).toBe(false);
    },
  );

  it('keeps the shortest takeover paths whatever the order of the users, and only users it may take over', () => {
    const admins = ['zz-long-admin-name', 'b', 'ccc', 'a', 'dd', 'eeee', 'f', 'gg', 'hhhhh', 'i', 'jj'];
    const users = (order: string[]): UserSpec[] => [
      {
        name: 'eve',
        inline: {
          p: allow(
            'iam:CreateAccessKey',
            ['b', 'ccc', 'a', 'dd', 'eeee', 'f', 'gg', 'hhhhh', 'i', 'zz-long-admin-name'].map(userArn),
          ),
        },
      },
      ...order.map((name) => ({ name, attached: [ADMIN] })),
    ];
    const paths = (order: string[]) => evaluate(users(order))[0]!.grants?.admin?.map((g) => g.path);
    // Each admin target gives several proofs of one text (one per IAM write proved): the shortest names win.
    const kept = paths(admins);
    expect([...new Set(kept)]).toEqual(
      ['a', 'b'].map((n) => `iam:CreateAccessKey on user/${n} → AdministratorAccess`),
    );
    expect(kept).toHaveLength(8);
    expect(paths([...admins].reverse())).toEqual(kept);
    const [narrow] = evaluate([
      { name: 'eve', inline: { p: allow('iam:CreateAccessKey', userArn('zz-long-admin-name')) } },
      ...admins.map((name) => ({ name, attached: [ADMIN] })),
    ]);
    const targets = new Set(narrow!.grants?.admin?.map((g) => g.path.split(' → ')[0]));
    expect([...targets]).toEqual(['iam:CreateAccessKey on user/zz-long-admin-name']);
  });

  it('keeps the alphabetically first takeover paths when every target name has the same length', () => {
    const names = ['kk', 'cc', 'ee', 'aa', 'jj', 'bb', 'ii', 'dd', 'hh', 'ff', 'gg'];
    const kept = (order: string[]) =>
      evaluate([
        { name: 'eve', inline: { p: allow('iam:CreateAccessKey', userArn('*')) } },
        ...order.map((name) => ({ name, attached: [S3_RO] })),
      ])[0]!.grants?.s3Read?.map((g) => g.path);
    // Several proofs per target (one per read action): the distinct targets are the first by name.
    const paths = kept(names);
    const targets = [...new Set(paths)];
    expect(targets).toEqual(
      ['aa', 'bb', 'cc', 'dd'].map((n) => `iam:CreateAccessKey on user/${n} → AmazonS3ReadOnlyAccess`),
    );
    expect(kept([...names].reverse())).toEqual(paths);
  });

  it('counts admin through SetDefaultPolicyVersion back to an older admin version of its own policy', () => {
    const arn = customerPolicyArn('deploy');
    const policy = managedPolicy(
      arn,
      doc({ Effect: 'Allow', Action: 'iam:SetDefaultPolicyVersion', Resource: arn }),
    );
    const yes = first(evaluate([{ name: 'eve', attached: [arn] }], [], [], [policy]));
    expect(yes.grants?.admin?.[0]?.path).toBe('iam:SetDefaultPolicyVersion on policy/deploy v1 → admin');
    const none = managedPolicy(
      arn,
      doc({ Effect: 'Allow', Action: 'iam:ListPolicyVersions', Resource: arn }),
    );
    expect(first(evaluate([{ name: 'eve', attached: [arn] }], [], [], [none])).admin).toBe(false);
  });

  it('counts admin through deleting its own Deny, and not when that deletion is denied too', () => {
    const deny = (more: string[]) => doc({ Effect: 'Deny', Action: ['iam:*', ...more], Resource: '*' });
    const yes = first(
      evaluate([
        {
          name: 'eve',
          attached: [ADMIN],
          inline: { fence: doc({ Effect: 'Deny', NotAction: 'iam:DeleteUserPolicy', Resource: '*' }) },
        },
      ]),
    );
    expect(yes.admin).toBe(true);
    expect(yes.grants?.admin?.[0]?.path).toBe('iam:DeleteUserPolicy fence on user/eve → AdministratorAccess');
    expect(first(evaluate([{ name: 'eve', attached: [ADMIN], inline: { fence: deny([]) } }])).admin).toBe(
      false,
    );
  });

  it('counts admin through detaching a group-attached Deny policy, and not without DetachGroupPolicy', () => {
    const fence = customerPolicyArn('fence');
    const policy = managedPolicy(
      fence,
      doc({ Effect: 'Deny', NotAction: 'iam:DetachGroupPolicy', Resource: '*' }),
    );
    const groups = [groupDetail('ops', [ADMIN, fence])];
    const yes = first(evaluate([{ name: 'eve', groups: ['ops'] }], [], groups, [policy]));
    expect(yes.grants?.admin?.[0]?.path).toBe(
      'iam:DetachGroupPolicy policy/fence on group/ops → AdministratorAccess',
    );
    const closed = managedPolicy(fence, doc({ Effect: 'Deny', Action: 'iam:*', Resource: '*' }));
    expect(first(evaluate([{ name: 'eve', groups: ['ops'] }], [], groups, [closed])).admin).toBe(false);
  });
});

describe('role paths', () => {
  const opsAdmin: RoleSpec = { name: 'ops-admin', trust: { AWS: ACCOUNT_ROOT }, attached: [ADMIN] };

  it('counts admin through sts:AssumeRole into an admin role trusting the account, and not without the identity permission', () => {
    const yes = first(
      evaluate([{ name: 'eve', inline: { p: allow('sts:AssumeRole', roleArn('ops-admin')) } }], [opsAdmin]),
    );
    expect(yes.grants?.admin?.[0]).toEqual({
      path: 'sts:AssumeRole role/ops-admin → AdministratorAccess',
      actions: ['sts:AssumeRole', 'iam:PutUserPolicy'],
    });
    expect(first(evaluate([{ name: 'eve' }], [opsAdmin])).admin).toBe(false);
  });

  it('counts admin through a role whose trust names the user, without an identity permission', () => {
    const role = { ...opsAdmin, trust: { AWS: userArn('eve') } };
    expect(first(evaluate([{ name: 'eve' }, { name: 'mallory' }], [role])).admin).toBe(true);
    expect(evaluate([{ name: 'mallory' }, { name: 'eve' }], [role])[0]!.admin).toBe(false);
  });

  it('does not count a role whose trust condition on aws:PrincipalTag the user does not meet', () => {
    const role = { ...opsAdmin, trustCondition: { StringEquals: { 'aws:PrincipalTag/team': 'ops' } } };
    const p = allow('sts:AssumeRole');
    expect(first(evaluate([{ name: 'eve', inline: { p }, tags: { team: 'ops' } }], [role])).admin).toBe(true);
    expect(first(evaluate([{ name: 'eve', inline: { p }, tags: { team: 'web' } }], [role])).admin).toBe(
      false,
    );
  });

  it('counts data read through an assumable role that reads S3', () => {
    const role: RoleSpec = { name: 'reader', trust: { AWS: ACCOUNT_ROOT }, attached: [S3_RO] };
    const p = first(
      evaluate([{ name: 'eve', inline: { p: allow('sts:AssumeRole', roleArn('reader')) } }], [role]),
    );
    expect(p).toMatchObject({ admin: false, s3Read: true });
    expect(p.grants?.s3Read?.[0]?.path).toBe('sts:AssumeRole role/reader → AmazonS3ReadOnlyAccess');
  });

  it('follows a role chain and stops at cycles', () => {
    const roles: RoleSpec[] = [
      { name: 'a', trust: { AWS: ACCOUNT_ROOT }, inline: { p: allow('sts:AssumeRole', roleArn('b')) } },
      {
        name: 'b',
        trust: { AWS: roleArn('a') },
        inline: { p: allow('sts:AssumeRole', [roleArn('a'), roleArn('c')]) },
      },
      { name: 'c', trust: { AWS: roleArn('b') }, attached: [ADMIN] },
    ];
    const p = first(evaluate([{ name: 'eve', inline: { p: allow('sts:AssumeRole', roleArn('a')) } }], roles));
    expect(p.grants?.admin?.[0]?.path).toBe(
      'sts:AssumeRole role/a → sts:AssumeRole role/b → sts:AssumeRole role/c → AdministratorAccess',
    );
    const cut = roles.map((r) => (r.name === 'c' ? { ...r, attached: [] } : r));
    expect(
      first(evaluate([{ name: 'eve', inline: { p: allow('sts:AssumeRole', roleArn('a')) } }], cut)).admin,
    ).toBe(false);
  });

  it('counts admin through iam:UpdateAssumeRolePolicy on an admin role, and not on another role', () => {
    const locked = { ...opsAdmin, trust: { Service: 'ec2.amazonaws.com' } };
    const yes = first(
      evaluate(
        [{ name: 'eve', inline: { p: allow('iam:UpdateAssumeRolePolicy', roleArn('ops-admin')) } }],
        [locked],
      ),
    );
    expect(yes.grants?.admin?.[0]?.path).toBe(
      'iam:UpdateAssumeRolePolicy role/ops-admin → AdministratorAccess',
    );
    expect(
      first(
        evaluate(
          [{ name: 'eve', inline: { p: allow('iam:UpdateAssumeRolePolicy', roleArn('other')) } }],
          [locked],
        ),
      ).admin,
    ).toBe(false);
  });

  it.each([
    ['lambda.amazonaws.com', ['lambda:CreateFunction', 'lambda:InvokeFunction']],
    ['ec2.amazonaws.com', ['ec2:RunInstances']],
    ['cloudformation.amazonaws.com', ['cloudformation:CreateStack']],
    ['lambda.amazonaws.com', ['lambda:CreateFunction', 'lambda:CreateEventSourceMapping']],
    ['glue.amazonaws.com', ['glue:CreateDevEndpoint']],
    ['glue.amazonaws.com', ['glue:CreateJob', 'glue:StartJobRun']],
    ['sagemaker.amazonaws.com', ['sagemaker:CreateProcessingJob']],
    [
      'sagemaker.amazonaws.com',
      ['sagemaker:CreateNotebookInstance', 'sagemaker:CreatePresignedNotebookInstanceUrl'],
    ],
    ['ecs-tasks.amazonaws.com', ['ecs:RegisterTaskDefinition', 'ecs:RunTask']],
    ['codebuild.amazonaws.com', ['codebuild:CreateProject', 'codebuild:StartBuild']],
  ])(
    'counts admin through iam:PassRole of an admin role to %s, and not with one action missing',
    (service, actions) => {
      const role: RoleSpec = { name: 'runner', trust: { Service: service }, attached: [ADMIN] };
      const all = doc(
        { Effect: 'Allow', Action: 'iam:PassRole', Resource: roleArn('runner') },
        { Effect: 'Allow', Action: actions, Resource: '*' },
      );
      const yes = first(evaluate([{ name: 'eve', inline: { p: all } }], [role]));
      expect(yes.admin).toBe(true);
      expect(yes.grants?.admin?.[0]?.path).toBe(
        `iam:PassRole role/runner + ${actions.join(' + ')} → AdministratorAccess`,
      );
      const short = doc(
        { Effect: 'Allow', Action: 'iam:PassRole', Resource: roleArn('runner') },
        {
          Effect: 'Allow',
          Action: actions.slice(1).length > 0 ? actions.slice(1) : ['s3:ListBucket'],
          Resource: '*',
        },
      );
      expect(first(evaluate([{ name: 'eve', inline: { p: short } }], [role])).admin).toBe(false);
      const noPass = doc({ Effect: 'Allow', Action: actions, Resource: '*' });
      expect(first(evaluate([{ name: 'eve', inline: { p: noPass } }], [role])).admin).toBe(false);
    },
  );

  it('does not count PassRole when iam:PassedToService admits another service', () => {
    const role: RoleSpec = { name: 'runner', trust: { Service: 'lambda.amazonaws.com' }, attached: [ADMIN] };
    const p = doc(
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: '*',
        Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      },
      { Effect: 'Allow', Action: ['lambda:CreateFunction', 'lambda:InvokeFunction'], Resource: '*' },
    );
    expect(first(evaluate([{ name: 'eve', inline: { p } }], [role])).admin).toBe(false);
  });
});

describe('key-quarantined signal', () => {
  it.each([
    ['AWSCompromisedKeyQuarantine'],
    ['AWSCompromisedKeyQuarantineV2'],
    ['AWSCompromisedKeyQuarantineV3'],
  ])('lists %s when AWS attached it to the user', (name) => {
    const arn = `arn:aws:iam::aws:policy/${name}`;
    const p = first(
      evaluate(
        [{ name: 'eve', attached: [arn] }],
        [],
        [],
        [managedPolicy(arn, doc({ Effect: 'Deny', Action: 'iam:*', Resource: '*' }))],
      ),
    );
    expect(p.quarantinePolicies).toEqual([arn]);
  });

  it('lists nothing when no quarantine policy is attached', () => {
    expect(first(evaluate([{ name: 'eve', attached: [S3_RO] }])).quarantinePolicies).toBeUndefined();
  });
});
