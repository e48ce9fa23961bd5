/**
 * The subset of IAM's GetAccountAuthorizationDetails response that the privilege evaluation reads,
 * declared here so that core needs no AWS SDK. Every field is optional and read-only, so the SDK's own
 * `UserDetail` / `GroupDetail` / `ManagedPolicyDetail` objects (all pages merged) pass in unchanged;
 * `collector/authorization-details.ts` returns the SDK objects as this type, so `tsc` keeps the two
 * compatible.
 */

/** An inline policy as listed on a user or group (document URL-encoded, as IAM returns it). */
export interface InlinePolicy {
  readonly PolicyName?: string | undefined;
  readonly PolicyDocument?: string | undefined;
}

/** A managed policy attachment on a user or group. */
export interface AttachedPolicy {
  readonly PolicyName?: string | undefined;
  readonly PolicyArn?: string | undefined;
}

/** A tag as IAM lists it on a user or role. */
export interface Tag {
  readonly Key?: string | undefined;
  readonly Value?: string | undefined;
}

/** A permissions boundary as IAM lists it on a user or role. */
export interface PermissionsBoundary {
  readonly PermissionsBoundaryType?: string | undefined;
  readonly PermissionsBoundaryArn?: string | undefined;
}

export interface UserDetail {
  readonly Path?: string | undefined;
  readonly UserName?: string | undefined;
  readonly UserId?: string | undefined;
  readonly Arn?: string | undefined;
  readonly UserPolicyList?: readonly InlinePolicy[] | undefined;
  readonly GroupList?: readonly string[] | undefined;
  readonly AttachedManagedPolicies?: readonly AttachedPolicy[] | undefined;
  readonly PermissionsBoundary?: PermissionsBoundary | undefined;
  /** The user's tags (aws:PrincipalTag/* in conditions). */
  readonly Tags?: readonly Tag[] | undefined;
}

export interface RoleDetail {
  readonly Path?: string | undefined;
  readonly RoleName?: string | undefined;
  readonly RoleId?: string | undefined;
  readonly Arn?: string | undefined;
  /** The trust policy (URL-encoded, as IAM returns it). */
  readonly AssumeRolePolicyDocument?: string | undefined;
  readonly RolePolicyList?: readonly InlinePolicy[] | undefined;
  readonly AttachedManagedPolicies?: readonly AttachedPolicy[] | undefined;
  readonly PermissionsBoundary?: PermissionsBoundary | undefined;
  readonly Tags?: readonly Tag[] | undefined;
}

export interface GroupDetail {
  readonly Path?: string | undefined;
  readonly GroupName?: string | undefined;
  readonly GroupId?: string | undefined;
  readonly Arn?: string | undefined;
  readonly GroupPolicyList?: readonly InlinePolicy[] | undefined;
  readonly AttachedManagedPolicies?: readonly AttachedPolicy[] | undefined;
}

export interface PolicyVersion {
  readonly Document?: string | undefined;
  readonly VersionId?: string | undefined;
  readonly IsDefaultVersion?: boolean | undefined;
}

export interface ManagedPolicyDetail {
  readonly PolicyName?: string | undefined;
  readonly PolicyId?: string | undefined;
  readonly Arn?: string | undefined;
  readonly Path?: string | undefined;
  readonly DefaultVersionId?: string | undefined;
  readonly PolicyVersionList?: readonly PolicyVersion[] | undefined;
}

/** The parts of a GetAccountAuthorizationDetails response the evaluation reads (all pages merged). */
export interface AuthorizationDetails {
  readonly users: readonly UserDetail[];
  readonly groups: readonly GroupDetail[];
  readonly policies: readonly ManagedPolicyDetail[];
  /** Absent in a snapshot taken without the Role filter: role paths are then not evaluated. */
  readonly roles?: readonly RoleDetail[];
}
