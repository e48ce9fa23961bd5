import { privilegePaths, ROOT_PATH, V1_PATH_NOTE } from '../../../core/privilege-paths';
import { evaluatePrivileges } from '../../../core/privileges';
import type { AuthorizationDetails } from '../../../core/authorization-details';
import type { UserPrivileges } from '../../../core/types';

const NONE: UserPrivileges = {
  userName: 'u',
  admin: false,
  s3Read: false,
  rdsRead: false,
  dynamodbRead: false,
  grantingPolicies: {},
  grants: {},
};

describe('privilegePaths', () => {
  it('gives the first grant of a granted kind, which the agent keeps shortest first', () => {
    const paths = privilegePaths(
      {
        ...NONE,
        admin: true,
        grantingPolicies: { admin: ['user:u/escalate'] },
        grants: {
          admin: [
            { path: 'iam:CreateAccessKey on user/deploy-bot → admin', actions: ['iam:CreateAccessKey'] },
            {
              path: 'sts:AssumeRole role/ops → iam:CreateAccessKey on user/deploy-bot → admin',
              actions: ['sts:AssumeRole', 'iam:CreateAccessKey'],
            },
          ],
        },
      },
      undefined,
    );
    expect(paths).toEqual({ admin: 'iam:CreateAccessKey on user/deploy-bot → admin', dataRead: '' });
  });

  it('gives the data kind with the fewest steps, then the fewest characters, and says which kind', () => {
    const user: UserPrivileges = {
      ...NONE,
      s3Read: true,
      rdsRead: true,
      dynamodbRead: true,
      grants: {
        s3Read: [{ path: 'sts:AssumeRole role/reader → AmazonS3ReadOnlyAccess', actions: ['s3:GetObject'] }],
        rdsRead: [{ path: 'group:dev/rds-data-access', actions: ['rds-data:ExecuteStatement'] }],
        dynamodbRead: [{ path: 'AmazonDynamoDBReadOnlyAccess', actions: ['dynamodb:GetItem'] }],
      },
    };
    // One step each for RDS and DynamoDB; the RDS path is shorter (without its prefix).
    expect(privilegePaths(user, undefined).dataRead).toBe('rds: group:dev/rds-data-access');
    // Equal steps and length: S3, then RDS, then DynamoDB.
    const tie: UserPrivileges = {
      ...NONE,
      rdsRead: true,
      dynamodbRead: true,
      grants: {
        rdsRead: [{ path: 'ReadPolicyB', actions: ['rds-db:connect'] }],
        dynamodbRead: [{ path: 'ReadPolicyA', actions: ['dynamodb:Scan'] }],
      },
    };
    expect(privilegePaths(tie, undefined).dataRead).toBe('rds: ReadPolicyB');
  });

  it('leaves both empty when no flag is granted and nothing was cleared, and for unknown privileges', () => {
    expect(privilegePaths(NONE, undefined)).toEqual({ admin: '', dataRead: '' });
    expect(privilegePaths(undefined, undefined)).toEqual({ admin: '', dataRead: '' });
  });

  it('shows why a flag SCPs cleared is false, for each cleared data kind, when no data kind is left', () => {
    const paths = privilegePaths(NONE, {
      blocked: {
        admin: 'blocked by SCP: no Allow for iam:PutUserPolicy at ou-ab12-11111111',
        s3Read: 'blocked by SCP p-abc123 DenyS3',
        dynamodbRead: 'blocked by RCP p-def456 DenyData',
      },
    });
    expect(paths).toEqual({
      admin: 'blocked by SCP: no Allow for iam:PutUserPolicy at ou-ab12-11111111',
      dataRead: 's3: blocked by SCP p-abc123 DenyS3; dynamodb: blocked by RCP p-def456 DenyData',
    });
  });

  it('shows a data kind still granted rather than another one SCPs cleared', () => {
    const paths = privilegePaths(
      {
        ...NONE,
        dynamodbRead: true,
        grants: { dynamodbRead: [{ path: 'AmazonDynamoDBReadOnlyAccess', actions: ['dynamodb:GetItem'] }] },
      },
      { blocked: { s3Read: 'blocked by SCP p-abc123 DenyS3' } },
    );
    expect(paths.dataRead).toBe('dynamodb: AmazonDynamoDBReadOnlyAccess');
  });

  it('shows the shortest grant the SCPs allow rather than a shorter one they block', () => {
    const user: UserPrivileges = {
      ...NONE,
      s3Read: true,
      grants: {
        s3Read: [
          { path: 'ReadBuckets', actions: ['s3:GetObject'] },
          {
            path: 'sts:AssumeRole role/archive → ReadArchive',
            actions: ['sts:AssumeRole', 's3:GetObjectVersion'],
          },
        ],
      },
    };
    const allowed = { s3Read: 'sts:AssumeRole role/archive → ReadArchive' };
    expect(privilegePaths(user, { allowed }).dataRead).toBe('s3: sts:AssumeRole role/archive → ReadArchive');
    expect(privilegePaths(user, undefined).dataRead).toBe('s3: ReadBuckets');
  });

  it('names the granting policy of a v1 report (no grants) and says there is no path', () => {
    const { grants: _none, ...v1 } = {
      ...NONE,
      admin: true,
      grantingPolicies: { admin: ['arn:aws:iam::aws:policy/AdministratorAccess'] },
    };
    void _none;
    expect(privilegePaths(v1, undefined)).toEqual({
      admin: `AdministratorAccess${V1_PATH_NOTE}`,
      dataRead: '',
    });
  });

  it('gives the root user its own path for both', () => {
    expect(privilegePaths(undefined, undefined, true)).toEqual({ admin: ROOT_PATH, dataRead: ROOT_PATH });
  });

  it('shows the shortest path the evaluation found for a user who escalates through another user', () => {
    const admin = 'arn:aws:iam::aws:policy/AdministratorAccess';
    const details: AuthorizationDetails = {
      users: [
        {
          UserName: 'deploy-bot',
          Arn: 'arn:aws:iam::123456789012:user/deploy-bot',
          AttachedManagedPolicies: [{ PolicyName: 'AdministratorAccess', PolicyArn: admin }],
        },
        {
          UserName: 'helper',
          Arn: 'arn:aws:iam::123456789012:user/helper',
          UserPolicyList: [
            {
              PolicyName: 'keys',
              PolicyDocument: JSON.stringify({
                Version: '2012-10-17',
                Statement: [
                  {
                    Effect: 'Allow',
                    Action: 'iam:CreateAccessKey',
                    Resource: 'arn:aws:iam::123456789012:user/deploy-bot',
                  },
                ],
              }),
            },
          ],
        },
      ],
      groups: [],
      roles: [],
      policies: [
        {
          PolicyName: 'AdministratorAccess',
          Arn: admin,
          DefaultVersionId: 'v1',
          PolicyVersionList: [
            {
              VersionId: 'v1',
              IsDefaultVersion: true,
              Document: JSON.stringify({
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
              }),
            },
          ],
        },
      ],
    };
    const helper = evaluatePrivileges(details).privileges.find((p) => p.userName === 'helper');
    const paths = privilegePaths(helper, undefined);
    expect(paths.admin).toBe(helper?.grants?.admin?.[0]?.path);
    expect(paths.admin).toMatch(/^iam:CreateAccessKey .*deploy-bot → /);
    expect(paths.dataRead).toMatch(/^s3: iam:CreateAccessKey .*deploy-bot → /);
  });
});
