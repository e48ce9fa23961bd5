/**
 * Per-user privilege summary (admin, S3 / RDS / DynamoDB data read) from one GetAccountAuthorizationDetails
 * snapshot. Pure: no SDK calls, no clock.
 *
 * Sources per user: the user's inline policies and attached managed policies, each group's inline and
 * attached managed policies, managed policies at their default version, and the permissions boundary.
 * An explicit Deny (from any of them, boundary included) beats an Allow; the boundary caps what the
 * identity policies allow.
 *
 * The question answered is "could a request signed with this user's access key do X?", so the model
 * errs towards reporting a privilege:
 * - Conditions are assumed satisfiable: a conditional Allow grants, a conditional Deny is ignored (for
 *   example an MFA-only Deny does not clear a user, since the key holder may have the MFA device).
 * - A Deny only removes a privilege when its resources provably cover everything the Allow grants.
 * - Not modelled: SCPs and RCPs (organization level, not visible in the member account), resource-based
 *   policies (bucket/table/key policies can grant to a user with no identity grant, or deny), session
 *   policies, role assumption (sts:AssumeRole into a more powerful role), indirect escalation paths
 *   (iam:PassRole with a compute service, iam:CreateAccessKey on another user, …), KMS key policies.
 *
 * Definitions:
 * - admin: (a) an Allow of every action (`*`) on every resource (`*`), matched by the boundary if one is
 *   attached, unless unconditional Denies take away every IAM permission write in ADMIN_SENTINELS (a
 *   `*`-on-`*` user minus `iam:*` is a power user, not an administrator; one that may still write any
 *   of those can grant itself the rest, so a Deny that only fences some actions or resources — AssumeRole,
 *   a protected bucket, a break-glass role — leaves it an administrator); or (b) direct self-escalation:
 *   allowed to put/attach a policy on itself or one of its groups, or to write a new default version of a
 *   customer managed policy attached to it, and not capped by a permissions boundary it cannot remove.
 * - s3Read / rdsRead / dynamodbRead: allowed at least one action of DATA_READ_PROBES[kind] on some
 *   resource of that action's type (any account, any region) that no Deny fully covers.
 */
import type { AuthorizationDetails, GroupDetail, ManagedPolicyDetail } from './authorization-details';
import { PrivilegeKind, UserPrivileges } from './types';
import {
  PolicyDocumentError,
  PolicyStatement,
  isAllStars,
  PrincipalVariables,
  parsePolicyDocument,
  resourceCovers,
  resourcesOverlap,
  statementAppliesToAction,
  statementCoversAllActions,
  substituteVariables,
} from './policy-engine';

export type { AuthorizationDetails } from './authorization-details';

export interface PrivilegeEvaluation {
  readonly privileges: UserPrivileges[];
  /** Policies that could not be read or found; never contains a policy document. */
  readonly warnings: string[];
}

type DataKind = Exclude<PrivilegeKind, 'admin'>;

/** A request template: `{partition}` is replaced by the user's partition. */
export interface Probe {
  readonly action: string;
  readonly resource: string;
}

/**
 * What counts as reading data, per kind. The resource is the action's resource type with every
 * account/region/name wildcarded, so a grant on any one bucket/table/database counts.
 * - S3: GetObject and GetObjectVersion (reading old versions reads data too).
 * - RDS: IAM database authentication (`rds-db:connect`), the Data API (ExecuteStatement,
 *   BatchExecuteStatement, legacy ExecuteSql), and ModifyDBInstance / ModifyDBCluster, which can reset
 *   the master user password and so read every row. Not counted: rds:DownloadDBLogFilePortion (logs,
 *   not table data — it is in ReadOnlyAccess), snapshot copy/share/export (needs further permissions).
 * - DynamoDB: GetItem, BatchGetItem, Query, Scan, PartiQLSelect (what PartiQL ExecuteStatement /
 *   BatchExecuteStatement SELECTs are authorised as — there is no dynamodb:ExecuteStatement action),
 *   GetRecords (streams carry item images), ExportTableToPointInTime (copies a table to S3), and the
 *   same reads through a DAX cluster (dax:GetItem, BatchGetItem, Query, Scan: DAX answers them with the
 *   table's items under its own role).
 * Not counted: S3 Object Lambda (`s3-object-lambda:GetObject` also needs lambda:InvokeFunction) and
 * grants written only on S3 access point ARNs.
 */
export const DATA_READ_PROBES: Readonly<Record<DataKind, readonly Probe[]>> = {
  s3Read: [
    { action: 's3:GetObject', resource: 'arn:{partition}:s3:::*/*' },
    { action: 's3:GetObjectVersion', resource: 'arn:{partition}:s3:::*/*' },
  ],
  rdsRead: [
    { action: 'rds-db:connect', resource: 'arn:{partition}:rds-db:*:*:dbuser:*/*' },
    { action: 'rds-data:ExecuteStatement', resource: 'arn:{partition}:rds:*:*:cluster:*' },
    { action: 'rds-data:BatchExecuteStatement', resource: 'arn:{partition}:rds:*:*:cluster:*' },
    { action: 'rds-data:ExecuteSql', resource: 'arn:{partition}:rds:*:*:cluster:*' },
    { action: 'rds:ModifyDBInstance', resource: 'arn:{partition}:rds:*:*:db:*' },
    { action: 'rds:ModifyDBCluster', resource: 'arn:{partition}:rds:*:*:cluster:*' },
  ],
  dynamodbRead: [
    { action: 'dynamodb:GetItem', resource: 'arn:{partition}:dynamodb:*:*:table/*' },
    { action: 'dynamodb:BatchGetItem', resource: 'arn:{partition}:dynamodb:*:*:table/*' },
    { action: 'dynamodb:Query', resource: 'arn:{partition}:dynamodb:*:*:table/*' },
    { action: 'dynamodb:Scan', resource: 'arn:{partition}:dynamodb:*:*:table/*' },
    { action: 'dynamodb:PartiQLSelect', resource: 'arn:{partition}:dynamodb:*:*:table/*' },
    { action: 'dynamodb:GetRecords', resource: 'arn:{partition}:dynamodb:*:*:table/*/stream/*' },
    { action: 'dynamodb:ExportTableToPointInTime', resource: 'arn:{partition}:dynamodb:*:*:table/*' },
    { action: 'dax:GetItem', resource: 'arn:{partition}:dax:*:*:cache/*' },
    { action: 'dax:BatchGetItem', resource: 'arn:{partition}:dax:*:*:cache/*' },
    { action: 'dax:Query', resource: 'arn:{partition}:dax:*:*:cache/*' },
    { action: 'dax:Scan', resource: 'arn:{partition}:dax:*:*:cache/*' },
  ],
};

/**
 * The IAM permission writes of a `*`-on-`*` user: it stops being an administrator only when every one of
 * them is unconditionally denied (any one left lets it grant itself the rest, directly or through a role
 * it then assumes). `{self}` is the user's ARN, `{role}` and `{policy}` a generic role / customer managed
 * policy ARN in the user's account.
 */
export const ADMIN_SENTINELS: readonly Probe[] = [
  { action: 'iam:PutUserPolicy', resource: '{self}' },
  { action: 'iam:AttachUserPolicy', resource: '{self}' },
  { action: 'iam:PutRolePolicy', resource: '{role}' },
  { action: 'iam:AttachRolePolicy', resource: '{role}' },
  { action: 'iam:CreatePolicyVersion', resource: '{policy}' },
];

interface SourcedStatement extends PolicyStatement {
  /** Granting-policy name: managed policy ARN, `user:<user>/<policy>` or `group:<group>/<policy>`. */
  readonly source: string;
}

const USER_ARN = /^arn:([^:]+):iam::(\d{12}):user\//;

/** Statement → action → applies; managed policies' statements are shared by every user they attach to. */
const actionCache = new WeakMap<PolicyStatement, Map<string, boolean>>();
function appliesToAction(statement: PolicyStatement, action: string): boolean {
  let byAction = actionCache.get(statement);
  if (byAction === undefined) {
    byAction = new Map();
    actionCache.set(statement, byAction);
  }
  let applies = byAction.get(action);
  if (applies === undefined) {
    applies = statementAppliesToAction(statement, action);
    byAction.set(action, applies);
  }
  return applies;
}

/** An Allow of every action on every resource (`*` on `*`). */
const grantsEverything = (s: PolicyStatement): boolean =>
  s.effect === 'Allow' && statementCoversAllActions(s) && (s.resources ?? []).some(isAllStars);

/** One user's policies, ready to answer requests. */
class UserPolicySet {
  private readonly allows: SourcedStatement[];
  private readonly denies: PolicyStatement[];
  private readonly boundaryAllows: PolicyStatement[] | undefined;

  constructor(
    statements: readonly SourcedStatement[],
    boundary: readonly PolicyStatement[] | undefined,
    private readonly vars: PrincipalVariables,
  ) {
    this.allows = statements.filter((s) => s.effect === 'Allow');
    // A conditional Deny may not apply to the request, so it never removes a privilege.
    this.denies = [...statements, ...(boundary ?? [])].filter((s) => s.effect === 'Deny' && !s.conditional);
    this.boundaryAllows = boundary?.filter((s) => s.effect === 'Allow');
  }

  get hasBoundary(): boolean {
    return this.boundaryAllows !== undefined;
  }

  private widen(pattern: string): string {
    return substituteVariables(pattern, this.vars).pattern;
  }

  /** The parts of `domain` statement `s` may grant (a narrower pattern, or `domain` itself). */
  private candidates(s: PolicyStatement, domain: string): string[] {
    if (s.resources) {
      const out: string[] = [];
      for (const raw of s.resources) {
        const pattern = this.widen(raw);
        if (!resourcesOverlap(pattern, domain)) continue;
        out.push(resourceCovers(pattern, domain) ? domain : pattern);
      }
      return out;
    }
    const excluded = (s.notResources ?? []).some((raw) => {
      const { pattern, exact } = substituteVariables(raw, this.vars);
      return exact && resourceCovers(pattern, domain);
    });
    return excluded ? [] : [domain];
  }

  private boundaryPermits(action: string, candidate: string): boolean {
    if (this.boundaryAllows === undefined) return true;
    return this.boundaryAllows.some(
      (b) => appliesToAction(b, action) && this.candidates(b, candidate).length > 0,
    );
  }

  /** An unconditional Deny takes away every resource in `candidate` for `action`. */
  deniedEverywhere(action: string, candidate: string): boolean {
    return this.denies.some((d) => {
      if (!appliesToAction(d, action)) return false;
      if (d.resources) {
        return d.resources.some((raw) => {
          const { pattern, exact } = substituteVariables(raw, this.vars);
          return exact && resourceCovers(pattern, candidate);
        });
      }
      // Deny NotResource X denies everything outside X: all of `candidate` unless it meets X.
      return !(d.notResources ?? []).some((raw) => resourcesOverlap(this.widen(raw), candidate));
    });
  }

  /** Names of the policies whose Allow grants `action` on some part of `domain` left after Denies and the boundary. */
  granting(action: string, domain: string): string[] {
    const sources = new Set<string>();
    for (const s of this.allows) {
      if (sources.has(s.source) || !appliesToAction(s, action)) continue;
      for (const candidate of this.candidates(s, domain)) {
        if (this.boundaryPermits(action, candidate) && !this.deniedEverywhere(action, candidate)) {
          sources.add(s.source);
          break;
        }
      }
    }
    return [...sources];
  }

  /** Names of the policies with an Allow of `*` on `*`. */
  fullAccessGrants(): string[] {
    return [...new Set(this.allows.filter(grantsEverything).map((s) => s.source))];
  }

  boundaryAllowsEverything(): boolean {
    return this.boundaryAllows === undefined || this.boundaryAllows.some(grantsEverything);
  }
}

/** Parses every managed policy's default version once; its statements carry the policy ARN as source. */
function indexManagedPolicies(
  policies: readonly ManagedPolicyDetail[],
  warn: (message: string) => void,
): Map<string, SourcedStatement[] | undefined> {
  const byArn = new Map<string, SourcedStatement[] | undefined>();
  for (const policy of policies) {
    if (policy.Arn === undefined) continue;
    const arn = policy.Arn;
    const version =
      policy.PolicyVersionList?.find((v) => v.IsDefaultVersion === true) ??
      policy.PolicyVersionList?.find((v) => v.VersionId === policy.DefaultVersionId);
    if (version?.Document === undefined) {
      warn(`managed policy ${arn}: no default version document returned; ignored`);
      byArn.set(arn, undefined);
      continue;
    }
    try {
      byArn.set(
        arn,
        parsePolicyDocument(version.Document).map((st) => ({ ...st, source: arn })),
      );
    } catch (error) {
      warn(`managed policy ${arn}: ${describe(error)}; ignored`);
      byArn.set(arn, undefined);
    }
  }
  return byArn;
}

function describe(error: unknown): string {
  return error instanceof PolicyDocumentError ? error.message : 'unreadable policy document';
}

const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort();

interface PreparedUser {
  readonly userName: string;
  readonly userArn: string;
  readonly partition: string;
  readonly account: string;
  readonly set: UserPolicySet;
  readonly groupArns: readonly string[];
  readonly attachedArns: readonly string[];
}

/** Gathers every user's statements (own, groups', managed) and boundary from the snapshot. */
function prepareUsers(details: AuthorizationDetails, warn: (message: string) => void): PreparedUser[] {
  const managed = indexManagedPolicies(details.policies, warn);
  const groupsByName = new Map<string, GroupDetail>();
  for (const group of details.groups) if (group.GroupName) groupsByName.set(group.GroupName, group);

  const managedStatements = (arn: string, attachedTo: string): readonly SourcedStatement[] => {
    if (!managed.has(arn)) {
      warn(`managed policy ${arn} attached to ${attachedTo} was not returned; ignored`);
      return [];
    }
    return managed.get(arn) ?? [];
  };
  const inlineStatements = (label: string, document: string | undefined): SourcedStatement[] => {
    if (document === undefined) return [];
    try {
      return parsePolicyDocument(document).map((s) => ({ ...s, source: label }));
    } catch (error) {
      warn(`inline policy ${label}: ${describe(error)}; ignored`);
      return [];
    }
  };

  const prepared: PreparedUser[] = [];
  for (const user of details.users) {
    const userName = user.UserName;
    const userArn = user.Arn;
    if (userName === undefined || userArn === undefined) continue;
    const arnMatch = USER_ARN.exec(userArn);
    const partition = arnMatch?.[1] ?? 'aws';
    const account = arnMatch?.[2] ?? '*';

    const statements: SourcedStatement[] = [];
    for (const p of user.UserPolicyList ?? []) {
      statements.push(...inlineStatements(`user:${userName}/${p.PolicyName ?? '?'}`, p.PolicyDocument));
    }
    const attachedArns: string[] = [];
    for (const a of user.AttachedManagedPolicies ?? []) {
      if (a.PolicyArn === undefined) continue;
      attachedArns.push(a.PolicyArn);
      statements.push(...managedStatements(a.PolicyArn, `user ${userName}`));
    }
    const groupArns: string[] = [];
    for (const groupName of user.GroupList ?? []) {
      const group = groupsByName.get(groupName);
      if (group === undefined) {
        warn(`group ${groupName} of user ${userName} was not returned; its policies are ignored`);
        continue;
      }
      if (group.Arn) groupArns.push(group.Arn);
      for (const p of group.GroupPolicyList ?? []) {
        statements.push(...inlineStatements(`group:${groupName}/${p.PolicyName ?? '?'}`, p.PolicyDocument));
      }
      for (const a of group.AttachedManagedPolicies ?? []) {
        if (a.PolicyArn === undefined) continue;
        attachedArns.push(a.PolicyArn);
        statements.push(...managedStatements(a.PolicyArn, `group ${groupName}`));
      }
    }

    let boundary: PolicyStatement[] | undefined;
    const boundaryArn = user.PermissionsBoundary?.PermissionsBoundaryArn;
    if (boundaryArn !== undefined) {
      boundary = managed.get(boundaryArn);
      if (boundary === undefined) {
        warn(
          `permissions boundary ${boundaryArn} of user ${userName} could not be read; evaluated without it`,
        );
      }
    }

    const vars: PrincipalVariables = {
      username: userName,
      ...(user.UserId ? { userid: user.UserId } : {}),
      principalAccount: account,
      principalArn: userArn,
    };
    prepared.push({
      userName,
      userArn,
      partition,
      account,
      set: new UserPolicySet(statements, boundary, vars),
      groupArns,
      attachedArns: [...new Set(attachedArns)],
    });
  }
  return prepared;
}

function evaluateUserPrivileges(user: PreparedUser): UserPrivileges {
  const { set, userArn, partition, account } = user;
  const fill = (template: string): string =>
    template
      .replace('{partition}', partition)
      .replace('{self}', userArn)
      .replace('{role}', `arn:${partition}:iam::${account}:role/credreport-probe`)
      .replace('{policy}', `arn:${partition}:iam::${account}:policy/credreport-probe`);

  const granting: Partial<Record<PrivilegeKind, readonly string[]>> = {};
  const kinds: Record<PrivilegeKind, boolean> = {
    admin: false,
    s3Read: false,
    rdsRead: false,
    dynamodbRead: false,
  };

  // admin (a): `*` on `*`, unless every IAM permission write is denied.
  const adminSources = new Set<string>();
  const full = set.fullAccessGrants();
  const iamWritesDenied = ADMIN_SENTINELS.every((p) => set.deniedEverywhere(p.action, fill(p.resource)));
  if (full.length > 0 && set.boundaryAllowsEverything() && !iamWritesDenied)
    full.forEach((s) => adminSources.add(s));

  // admin (b): direct self-escalation.
  const escalation = new Set<string>();
  const grant = (action: string, resource: string): void =>
    set.granting(action, resource).forEach((s) => escalation.add(s));
  grant('iam:PutUserPolicy', userArn);
  grant('iam:AttachUserPolicy', userArn);
  for (const groupArn of user.groupArns) {
    grant('iam:PutGroupPolicy', groupArn);
    grant('iam:AttachGroupPolicy', groupArn);
  }
  for (const arn of user.attachedArns) {
    if (arn.includes(':iam::aws:policy/')) continue; // AWS managed policies cannot be changed
    grant('iam:CreatePolicyVersion', arn);
  }
  if (escalation.size > 0) {
    const uncapped =
      !set.hasBoundary ||
      set.boundaryAllowsEverything() ||
      set.granting('iam:DeleteUserPermissionsBoundary', userArn).length > 0 ||
      set.granting('iam:PutUserPermissionsBoundary', userArn).length > 0;
    if (uncapped) escalation.forEach((s) => adminSources.add(s));
  }
  if (adminSources.size > 0) {
    kinds.admin = true;
    granting.admin = sorted(adminSources);
  }

  for (const kind of Object.keys(DATA_READ_PROBES) as DataKind[]) {
    const sources = new Set<string>();
    for (const probe of DATA_READ_PROBES[kind]) {
      set.granting(probe.action, fill(probe.resource)).forEach((s) => sources.add(s));
    }
    if (sources.size > 0) {
      kinds[kind] = true;
      granting[kind] = sorted(sources);
    }
  }
  return { userName: user.userName, ...kinds, grantingPolicies: granting };
}

/**
 * Evaluates every user of the snapshot. Never throws on a bad policy: it is skipped with a warning
 * (which can only hide a grant of that one policy, and the warning says so).
 */
export function evaluatePrivileges(details: AuthorizationDetails): PrivilegeEvaluation {
  const warnings = new Set<string>();
  const users = prepareUsers(details, (message) => warnings.add(message));
  return { privileges: users.map(evaluateUserPrivileges), warnings: [...warnings] };
}

/**
 * The policies that allow `userName` to perform `action` on `resource` (a concrete ARN, or a pattern
 * meaning "some resource matching it"), under the same model as evaluatePrivileges. Empty: not allowed.
 */
export function grantingPoliciesFor(
  details: AuthorizationDetails,
  userName: string,
  action: string,
  resource: string,
): string[] {
  const user = prepareUsers(
    { ...details, users: details.users.filter((u) => u.UserName === userName) },
    () => {},
  )[0];
  return user === undefined ? [] : sorted(user.set.granting(action, resource));
}
