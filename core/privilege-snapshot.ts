/**
 * Prepares one GetAccountAuthorizationDetails snapshot for evaluation: every policy document parsed once
 * into a shared PolicyUnit, every user and role turned into a PolicySet with its variables and tags.
 */
import type {
  AttachedPolicy,
  AuthorizationDetails,
  GroupDetail,
  InlinePolicy,
  ManagedPolicyDetail,
  PermissionsBoundary,
  Tag,
} from './authorization-details';
import { PolicyDocumentError, parsePolicyDocument, type PrincipalVariables } from './policy-engine';
import { PolicySet, PolicyUnit, PrincipalContext, SetShapes } from './policy-set';
import { TrustPolicy } from './trust-policy';

/** How a unit reaches the principal, which says how the principal could remove it. */
export interface Attachment {
  readonly unit: PolicyUnit;
  /** `user` / `role`: on the principal itself; otherwise the group's ARN. */
  readonly via: 'self' | { readonly groupArn: string };
  readonly inline: boolean;
  readonly policyName: string;
}

export interface Principal {
  readonly kind: 'user' | 'role';
  readonly name: string;
  readonly arn: string;
  readonly partition: string;
  readonly account: string;
  readonly vars: PrincipalVariables;
  readonly set: PolicySet;
  readonly attachments: readonly Attachment[];
  readonly groupArns: readonly string[];
  readonly boundaryArn?: string;
}

export interface PreparedGroup {
  readonly name: string;
  readonly arn: string;
  readonly units: readonly PolicyUnit[];
}

export interface PreparedRole extends Principal {
  readonly trust: TrustPolicy | undefined;
}

export interface ManagedPolicyInfo {
  readonly unit: PolicyUnit | undefined;
  /** Non-default versions whose document allows `*` on `*` (SetDefaultPolicyVersion back to one is admin). */
  readonly adminVersions: readonly string[];
}

export interface Snapshot {
  readonly users: readonly Principal[];
  readonly roles: readonly PreparedRole[];
  readonly groups: ReadonlyMap<string, PreparedGroup>;
  readonly managed: ReadonlyMap<string, ManagedPolicyInfo>;
  readonly nowMs: number | undefined;
  /** Roles were part of the snapshot (Role filter). */
  readonly hasRoles: boolean;
}

const ARN = /^arn:([^:]+):iam::(\d{12}):/;

function describe(error: unknown): string {
  return error instanceof PolicyDocumentError ? error.message : 'unreadable policy document';
}

const tagsOf = (tags: readonly Tag[] | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
};

const grantsEverything = (unit: PolicyUnit, ctx: PrincipalContext): boolean => unit.grantsEverything(ctx);

function indexManaged(
  policies: readonly ManagedPolicyDetail[],
  warn: (message: string) => void,
): Map<string, ManagedPolicyInfo> {
  const neutral = new PrincipalContext({ principalAccount: '*', principalArn: '*' }, undefined);
  const byArn = new Map<string, ManagedPolicyInfo>();
  for (const policy of policies) {
    if (policy.Arn === undefined) continue;
    const arn = policy.Arn;
    const versions = policy.PolicyVersionList ?? [];
    const version =
      versions.find((v) => v.IsDefaultVersion === true) ??
      versions.find((v) => v.VersionId === policy.DefaultVersionId);
    let unit: PolicyUnit | undefined;
    if (version?.Document === undefined) {
      warn(`managed policy ${arn}: no default version document returned; ignored`);
    } else {
      try {
        unit = new PolicyUnit(arn, parsePolicyDocument(version.Document));
      } catch (error) {
        warn(`managed policy ${arn}: ${describe(error)}; ignored`);
      }
    }
    const adminVersions: string[] = [];
    for (const v of versions) {
      if (v === version || v.Document === undefined || v.VersionId === undefined) continue;
      try {
        if (grantsEverything(new PolicyUnit(arn, parsePolicyDocument(v.Document)), neutral))
          adminVersions.push(v.VersionId);
      } catch {
        // An unreadable old version only hides a SetDefaultPolicyVersion path; the default one is what applies.
      }
    }
    byArn.set(arn, { unit, adminVersions });
  }
  return byArn;
}

/** Parses the snapshot. Never throws on a bad policy: it is skipped with a warning. */
export function prepareSnapshot(
  details: AuthorizationDetails,
  nowMs: number | undefined,
  warn: (message: string) => void,
): Snapshot {
  const managed = indexManaged(details.policies, warn);
  const shapes = new SetShapes();
  const managedUnit = (arn: string, attachedTo: string): PolicyUnit | undefined => {
    const info = managed.get(arn);
    if (info === undefined) warn(`managed policy ${arn} attached to ${attachedTo} was not returned; ignored`);
    return info?.unit;
  };
  const inlineUnit = (label: string, document: string | undefined): PolicyUnit | undefined => {
    if (document === undefined) return undefined;
    try {
      return new PolicyUnit(label, parsePolicyDocument(document));
    } catch (error) {
      warn(`inline policy ${label}: ${describe(error)}; ignored`);
      return undefined;
    }
  };
  const attach = (
    out: Attachment[],
    prefix: string,
    owner: string,
    via: Attachment['via'],
    inline: readonly InlinePolicy[] | undefined,
    attached: readonly AttachedPolicy[] | undefined,
  ): void => {
    for (const p of inline ?? []) {
      const name = p.PolicyName ?? '?';
      const unit = inlineUnit(`${prefix}:${owner}/${name}`, p.PolicyDocument);
      if (unit) out.push({ unit, via, inline: true, policyName: name });
    }
    for (const a of attached ?? []) {
      if (a.PolicyArn === undefined) continue;
      const unit = managedUnit(a.PolicyArn, `${prefix} ${owner}`);
      if (unit) out.push({ unit, via, inline: false, policyName: a.PolicyArn });
    }
  };
  const boundaryOf = (b: PermissionsBoundary | undefined, owner: string): PolicyUnit | undefined => {
    const arn = b?.PermissionsBoundaryArn;
    if (arn === undefined) return undefined;
    const unit = managed.get(arn)?.unit;
    if (unit === undefined)
      warn(`permissions boundary ${arn} of ${owner} could not be read; evaluated without it`);
    return unit;
  };

  const groupDetails = new Map<string, GroupDetail>();
  for (const g of details.groups) if (g.GroupName) groupDetails.set(g.GroupName, g);
  const groups = new Map<string, PreparedGroup>();
  const groupAttachments = new Map<string, Attachment[]>();
  for (const [name, g] of groupDetails) {
    const arn = g.Arn ?? '';
    const list: Attachment[] = [];
    attach(list, 'group', name, { groupArn: arn }, g.GroupPolicyList, g.AttachedManagedPolicies);
    groupAttachments.set(name, list);
    if (arn) groups.set(arn, { name, arn, units: list.map((a) => a.unit) });
  }

  const users: Principal[] = [];
  for (const user of details.users) {
    const name = user.UserName;
    const arn = user.Arn;
    if (name === undefined || arn === undefined) continue;
    const m = ARN.exec(arn);
    const attachments: Attachment[] = [];
    attach(attachments, 'user', name, 'self', user.UserPolicyList, user.AttachedManagedPolicies);
    const groupArns: string[] = [];
    for (const groupName of user.GroupList ?? []) {
      const list = groupAttachments.get(groupName);
      if (list === undefined) {
        warn(`group ${groupName} of user ${name} was not returned; its policies are ignored`);
        continue;
      }
      const groupArn = groupDetails.get(groupName)?.Arn;
      if (groupArn) groupArns.push(groupArn);
      attachments.push(...list);
    }
    const vars: PrincipalVariables = {
      username: name,
      ...(user.UserId ? { userid: user.UserId } : {}),
      principalAccount: m?.[2] ?? '*',
      principalArn: arn,
      principalType: 'User',
      tags: tagsOf(user.Tags),
    };
    const boundaryArn = user.PermissionsBoundary?.PermissionsBoundaryArn;
    users.push({
      kind: 'user',
      name,
      arn,
      partition: m?.[1] ?? 'aws',
      account: m?.[2] ?? '*',
      vars,
      set: new PolicySet(
        attachments.map((a) => a.unit),
        boundaryOf(user.PermissionsBoundary, `user ${name}`),
        new PrincipalContext(vars, nowMs),
        shapes,
      ),
      attachments,
      groupArns,
      ...(boundaryArn ? { boundaryArn } : {}),
    });
  }

  const roles: PreparedRole[] = [];
  for (const role of details.roles ?? []) {
    const name = role.RoleName;
    const arn = role.Arn;
    if (name === undefined || arn === undefined) continue;
    const m = ARN.exec(arn);
    const attachments: Attachment[] = [];
    attach(attachments, 'role', name, 'self', role.RolePolicyList, role.AttachedManagedPolicies);
    let trust: TrustPolicy | undefined;
    if (role.AssumeRolePolicyDocument !== undefined) {
      try {
        trust = TrustPolicy.parse(role.AssumeRolePolicyDocument);
      } catch (error) {
        warn(`trust policy of role ${name}: ${describe(error)}; role not assumable in the evaluation`);
      }
    }
    const vars: PrincipalVariables = {
      // A role session's aws:userid is `<role id>:<session name>`: not known here.
      principalAccount: m?.[2] ?? '*',
      principalArn: arn,
      principalType: 'AssumedRole',
      tags: tagsOf(role.Tags),
    };
    const boundaryArn = role.PermissionsBoundary?.PermissionsBoundaryArn;
    roles.push({
      kind: 'role',
      name,
      arn,
      partition: m?.[1] ?? 'aws',
      account: m?.[2] ?? '*',
      vars,
      set: new PolicySet(
        attachments.map((a) => a.unit),
        boundaryOf(role.PermissionsBoundary, `role ${name}`),
        new PrincipalContext(vars, nowMs),
        shapes,
      ),
      attachments,
      groupArns: [],
      trust,
      ...(boundaryArn ? { boundaryArn } : {}),
    });
  }
  return { users, roles, groups, managed, nowMs, hasRoles: details.roles !== undefined };
}
