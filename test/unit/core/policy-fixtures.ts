/** GetAccountAuthorizationDetails-shaped builders over the real AWS managed policy fixtures. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { GroupDetail, ManagedPolicyDetail, RoleDetail, UserDetail } from '@aws-sdk/client-iam';
import type { AuthorizationDetails } from '../../../core/privileges';
import { ACCOUNT } from '../collector/fixtures';

const FIXTURES = path.join(__dirname, '../../fixtures/member-agent/policies');

export interface PolicyFixture {
  readonly PolicyName: string;
  readonly Arn: string;
  readonly VersionId: string;
  readonly Document: unknown;
}

export function loadPolicy(file: string): PolicyFixture {
  return JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as PolicyFixture;
}

export const AWS_POLICIES = {
  AdministratorAccess: loadPolicy('AdministratorAccess.json'),
  AmazonS3ReadOnlyAccess: loadPolicy('AmazonS3ReadOnlyAccess.json'),
  ReadOnlyAccess: loadPolicy('ReadOnlyAccess.excerpt.json'),
  PowerUserAccess: loadPolicy('PowerUserAccess.json'),
  AmazonDynamoDBReadOnlyAccess: loadPolicy('AmazonDynamoDBReadOnlyAccess.json'),
  IAMFullAccess: loadPolicy('IAMFullAccess.json'),
} as const;

/** URL-encoded as GetAccountAuthorizationDetails returns documents (RFC 3986). */
export const encode = (document: unknown): string => encodeURIComponent(JSON.stringify(document));

export function managedPolicy(
  arn: string,
  document: unknown,
  name = arn.split('/').pop() ?? arn,
): ManagedPolicyDetail {
  return {
    PolicyName: name,
    Arn: arn,
    DefaultVersionId: 'v2',
    PolicyVersionList: [
      // An older, more powerful version must be ignored: only the default version applies.
      {
        VersionId: 'v1',
        IsDefaultVersion: false,
        Document: encode({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
        }),
      },
      { VersionId: 'v2', IsDefaultVersion: true, Document: encode(document) },
    ],
  };
}

export const awsManaged = (fixture: PolicyFixture): ManagedPolicyDetail =>
  managedPolicy(fixture.Arn, fixture.Document, fixture.PolicyName);

export const customerPolicyArn = (name: string): string => `arn:aws:iam::${ACCOUNT}:policy/${name}`;

export interface UserSpec {
  readonly name: string;
  readonly attached?: readonly string[];
  readonly inline?: Readonly<Record<string, unknown>>;
  readonly groups?: readonly string[];
  readonly boundary?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

export function userDetail(spec: UserSpec): UserDetail {
  return {
    UserName: spec.name,
    UserId: `AIDA${spec.name
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, 'X')
      .padEnd(17, 'X')
      .slice(0, 17)}`,
    Arn: `arn:aws:iam::${ACCOUNT}:user/${spec.name}`,
    Path: '/',
    GroupList: [...(spec.groups ?? [])],
    AttachedManagedPolicies: (spec.attached ?? []).map((arn) => ({
      PolicyArn: arn,
      PolicyName: arn.split('/').pop(),
    })),
    UserPolicyList: Object.entries(spec.inline ?? {}).map(([PolicyName, doc]) => ({
      PolicyName,
      PolicyDocument: encode(doc),
    })),
    ...(spec.tags ? { Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
    ...(spec.boundary
      ? {
          PermissionsBoundary: {
            PermissionsBoundaryType: 'PermissionsBoundaryPolicy' as const,
            PermissionsBoundaryArn: spec.boundary,
          },
        }
      : {}),
  };
}

export function groupDetail(
  name: string,
  attached: readonly string[] = [],
  inline: Readonly<Record<string, unknown>> = {},
): GroupDetail {
  return {
    GroupName: name,
    Arn: `arn:aws:iam::${ACCOUNT}:group/${name}`,
    AttachedManagedPolicies: attached.map((arn) => ({ PolicyArn: arn, PolicyName: arn.split('/').pop() })),
    GroupPolicyList: Object.entries(inline).map(([PolicyName, doc]) => ({
      PolicyName,
      PolicyDocument: encode(doc),
    })),
  };
}

/** Every AWS fixture policy, plus any extra managed policies. */
export function details(
  users: readonly UserSpec[],
  groups: readonly GroupDetail[] = [],
  extra: readonly ManagedPolicyDetail[] = [],
): AuthorizationDetails {
  return {
    users: users.map(userDetail),
    groups,
    policies: [...Object.values(AWS_POLICIES).map(awsManaged), ...extra],
  };
}

export const doc = (...Statement: unknown[]): unknown => ({ Version: '2012-10-17', Statement });

export interface RoleSpec {
  readonly name: string;
  /** Principals the trust policy admits: `{ AWS: … }` / `{ Service: … }` / `*`. */
  readonly trust: unknown;
  readonly trustCondition?: unknown;
  readonly attached?: readonly string[];
  readonly inline?: Readonly<Record<string, unknown>>;
}

export const roleArn = (name: string): string => `arn:aws:iam::${ACCOUNT}:role/${name}`;
export const userArn = (name: string): string => `arn:aws:iam::${ACCOUNT}:user/${name}`;
export const ACCOUNT_ROOT = `arn:aws:iam::${ACCOUNT}:root`;

export function roleDetail(spec: RoleSpec): RoleDetail {
  return {
    RoleName: spec.name,
    Arn: roleArn(spec.name),
    AssumeRolePolicyDocument: encode({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: spec.trust,
          Action: 'sts:AssumeRole',
          ...(spec.trustCondition ? { Condition: spec.trustCondition } : {}),
        },
      ],
    }),
    AttachedManagedPolicies: (spec.attached ?? []).map((arn) => ({
      PolicyArn: arn,
      PolicyName: arn.split('/').pop(),
    })),
    RolePolicyList: Object.entries(spec.inline ?? {}).map(([PolicyName, d]) => ({
      PolicyName,
      PolicyDocument: encode(d),
    })),
  };
}
