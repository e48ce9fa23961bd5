/**
 * Service control policies (SCPs) and resource control policies (RCPs) over the agents' privilege
 * grants (docs/ARCHITECTURE.md §7 "SCPs and RCPs"). Pure; no SDK.
 *
 * Semantics, erring toward reporting privilege wherever the data cannot decide:
 * - An account's SCP chain is root → each OU on its path → the account. An action is allowed by SCPs
 *   only when EVERY level has an Allow statement for it (FullAWSAccess, attached by default, is one)
 *   and no level Denies it. A conditional Allow counts as an Allow (its condition may hold); a
 *   conditional Deny is ignored (it may not apply). A Deny counts only when its `Resource` includes `*`
 *   (a grant names actions, not resources, so a Deny on some resources may leave others reachable);
 *   `NotResource` Denies are ignored for the same reason. Matching is core/policy-engine.ts's
 *   (case-insensitive, no backtracking: linear in pattern × action length).
 * - RCPs limit access to the resources of the account they are attached above, for the services that
 *   RCPs cover ({@link RCP_SERVICES}). Only Deny statements matter: `RCPFullAWSAccess` is attached to
 *   every level and cannot be detached, and RCPs allow `Allow` in that policy alone. The same rules as
 *   SCP Denies apply (unconditional, `Resource` `*`), so the usual data-perimeter RCP — Deny unless
 *   `aws:PrincipalOrgID` is the organization's — is conditional and never blocks a user of the account.
 *   An unconditional RCP Deny of `s3:GetObject` blocks the user's reads of its own account's buckets;
 *   reads of another account's bucket need that bucket's policy to admit the user, which credreport
 *   does not model (resource policies are outside §7), so the flag is cleared.
 * - The management account is not subject to SCPs or RCPs: its flags are never cleared.
 * - Unknown SCP data (not read, refused, the type not enabled, a level without any attached SCP, a
 *   policy that does not parse) clears nothing. Unknown RCP data only means no RCP is applied.
 * - A flag is cleared when every grant that proves it has at least one action not allowed; the flag's
 *   path then reads the first blocking reason, e.g. `blocked by SCP p-abc123 DenyS3`.
 */
import { parsePolicyDocument, PolicyStatement, statementAppliesToAction, isAllStars } from './policy-engine';
import { OrgMetadata, PRIVILEGE_KINDS, PrivilegeKind, UserPrivileges } from './types';

/**
 * One way a user holds a privilege, as the agent reports it (privileges v2): `path` describes the proof,
 * `actions` every IAM action (`service:Action`) that proof needs. Defined here as an input type so that
 * this module does not depend on the event contract's version.
 */
export interface PrivilegeGrant {
  readonly path: string;
  readonly actions: readonly string[];
}

/** A user's grants per privilege kind (`grants` of a v2 report's user). */
export type PrivilegeGrants = Readonly<Partial<Record<PrivilegeKind, readonly PrivilegeGrant[]>>>;

/**
 * Services whose resources RCPs govern: the IAM prefixes of the AWS Organizations user guide's "List of AWS
 * services that support RCPs" (62 services, read 2026-12-04; the Control Tower control reference names only
 * its own five). Of the data-read probes, S3, DynamoDB and DAX are covered and RDS is not. A service added
 * there later and missing here only means its RCPs are not applied (privilege reported).
 */
export const RCP_SERVICES: ReadonlySet<string> = new Set([
  'appstream',
  'dsql',
  'clouddirectory',
  'cloudfront',
  'cloudsearch',
  'logs',
  'networkmonitor',
  'cognito-identity',
  'cognito-idp',
  'comprehend',
  'comprehendmedical',
  'firehose',
  'dynamodb',
  'dax',
  'autoscaling',
  'ecr',
  'ecr-public',
  'gamelift',
  'inspector-scan',
  'kendra',
  'kinesisvideo',
  'memorydb',
  'aoss',
  'personalize',
  'polly',
  's3',
  'swf',
  'sqs',
  'textract',
  'timestream-influxdb',
  'transcribe',
  'translate',
  'workspaces',
  'appconfig',
  'autoscaling-plans',
  'budgets',
  'servicediscovery',
  'cloudtrail-data',
  'codeartifact',
  'codebuild',
  'codecommit',
  'codepipeline',
  'compute-optimizer',
  'cost-optimization-hub',
  'events',
  'fms',
  'fis',
  'health',
  'rolesanywhere',
  'kms',
  'opensearch',
  'pricing',
  'pca-connector-ad',
  'resource-groups',
  'secretsmanager',
  'sts',
  'signin',
  'support',
  'transfer',
  'notifications',
  'wafv2',
  'xray',
]);

export interface ControlPolicy {
  readonly id: string;
  readonly name: string;
  readonly statements: readonly PolicyStatement[];
}

/** One level of the chain: the root, an OU or the account, and the policies attached directly to it. */
export interface ChainLevel {
  readonly targetId: string;
  readonly policies: readonly ControlPolicy[];
}

/** Why an action is not allowed, or `undefined` when it is. */
export interface Block {
  readonly by: 'SCP' | 'RCP';
  readonly targetId: string;
  readonly action: string;
  /** The Denying policy; absent when the level has no Allow for the action. */
  readonly policy?: { readonly id: string; readonly name: string };
}

export type ControlPolicyChain =
  | { readonly status: 'exempt' }
  | { readonly status: 'unknown'; readonly reason: string }
  | {
      readonly status: 'known';
      readonly scp: readonly ChainLevel[];
      /** Absent when RCPs are not known (not enabled, unreadable): none are applied. */
      readonly rcp?: readonly ChainLevel[];
      /** Verdicts per action, shared by every account with the same policies on its path. */
      readonly verdicts: Map<string, Block | null>;
    };

const denyCoversEverything = (s: PolicyStatement): boolean =>
  s.effect === 'Deny' && !s.conditional && (s.resources ?? []).some(isAllStars);

function firstDeny(levels: readonly ChainLevel[], action: string, by: Block['by']): Block | undefined {
  for (const level of levels) {
    for (const policy of level.policies) {
      for (const s of policy.statements) {
        if (denyCoversEverything(s) && statementAppliesToAction(s, action)) {
          return { by, targetId: level.targetId, action, policy: { id: policy.id, name: policy.name } };
        }
      }
    }
  }
  return undefined;
}

/** Whether the SCP levels allow `action` (every level Allows, none Denies): the first block, if any. */
export function scpBlock(levels: readonly ChainLevel[], action: string): Block | undefined {
  const denied = firstDeny(levels, action, 'SCP');
  if (denied) return denied;
  for (const level of levels) {
    const allowed = level.policies.some((p) =>
      p.statements.some((s) => s.effect === 'Allow' && statementAppliesToAction(s, action)),
    );
    if (!allowed) return { by: 'SCP', targetId: level.targetId, action };
  }
  return undefined;
}

/** Whether an RCP on the levels Denies `action` on the account's own resources. */
export function rcpBlock(levels: readonly ChainLevel[], action: string): Block | undefined {
  const service = action.slice(0, action.indexOf(':')).toLowerCase();
  if (!RCP_SERVICES.has(service)) return undefined;
  return firstDeny(levels, action, 'RCP');
}

/** The verdict for one action on a known chain, cached on the chain. */
export function actionBlock(
  chain: Extract<ControlPolicyChain, { status: 'known' }>,
  action: string,
): Block | undefined {
  const cached = chain.verdicts.get(action);
  if (cached !== undefined) return cached ?? undefined;
  const block = scpBlock(chain.scp, action) ?? (chain.rcp ? rcpBlock(chain.rcp, action) : undefined);
  chain.verdicts.set(action, block ?? null);
  return block;
}

/** The text shown in a cleared flag's path column. */
export function describeBlock(block: Block): string {
  return block.policy
    ? `blocked by ${block.by} ${block.policy.id} ${block.policy.name}`
    : `blocked by ${block.by}: no Allow for ${block.action} at ${block.targetId}`;
}

export interface ScpApplication {
  /** The users, with cleared flags set to false (the same objects where nothing changed). */
  readonly users: readonly UserPrivileges[];
  /** Per user, per cleared kind: the path text (`blocked by SCP p-abc123 DenyS3`). */
  readonly blocked: ReadonlyMap<string, Readonly<Partial<Record<PrivilegeKind, string>>>>;
  /**
   * Per user, per kind still granted on a known chain: the path of its first (shortest) grant that the
   * chain allows, which the path columns show rather than a shorter one the chain blocks.
   */
  readonly allowed: ReadonlyMap<string, Readonly<Partial<Record<PrivilegeKind, string>>>>;
  /** Flags cleared, per kind. */
  readonly cleared: Readonly<Record<PrivilegeKind, number>>;
}

const noneCleared = (): Record<PrivilegeKind, number> => ({
  admin: 0,
  s3Read: 0,
  rdsRead: 0,
  dynamodbRead: 0,
});

/**
 * Clears each flag whose every grant needs an action the chain does not allow (see the module comment).
 * A user without grants, a flag without grants and an exempt or unknown chain are left as they are.
 */
export function applyServiceControlPolicies(
  users: readonly UserPrivileges[],
  grantsByUser: ReadonlyMap<string, PrivilegeGrants>,
  chain: ControlPolicyChain,
): ScpApplication {
  const cleared = noneCleared();
  const blocked = new Map<string, Partial<Record<PrivilegeKind, string>>>();
  const allowed = new Map<string, Partial<Record<PrivilegeKind, string>>>();
  if (chain.status !== 'known') return { users, blocked, allowed, cleared };
  const out = users.map((user) => {
    const grants = grantsByUser.get(user.userName);
    if (!grants) return user;
    let changed: Record<string, unknown> | undefined;
    for (const kind of PRIVILEGE_KINDS) {
      const list = grants[kind];
      if (!user[kind] || !list || list.length === 0) continue;
      let first: Block | undefined;
      let all = true;
      for (const grant of list) {
        let block: Block | undefined;
        for (const action of grant.actions) {
          block = actionBlock(chain, action);
          if (block) break;
        }
        if (!block) {
          all = false;
          const paths = allowed.get(user.userName) ?? {};
          paths[kind] = grant.path;
          allowed.set(user.userName, paths);
          break;
        }
        first ??= block;
      }
      if (!all || !first) continue;
      changed ??= { ...user };
      changed[kind] = false;
      cleared[kind]++;
      const texts = blocked.get(user.userName) ?? {};
      texts[kind] = describeBlock(first);
      blocked.set(user.userName, texts);
    }
    return changed ? (changed as unknown as UserPrivileges) : user;
  });
  return { users: out, blocked, allowed, cleared };
}

/** Bounds on what is parsed from the cache (Organizations allows 5,120 characters per SCP, 5 per target). */
export const MAX_CONTROL_POLICY_CHARS = 20_000;

/**
 * The chains of an organization's accounts, built from org/metadata.json once per run: each policy is
 * parsed once, and accounts whose paths carry the same policies share one chain (and its verdicts).
 */
export class ControlPolicyIndex {
  private readonly parsed = new Map<string, ControlPolicy | string>();
  private readonly shared = new Map<string, ControlPolicyChain>();
  private readonly byAccount: ReadonlyMap<string, OrgMetadata['accounts'][number]>;

  constructor(private readonly metadata: OrgMetadata | undefined) {
    this.byAccount = new Map((metadata?.accounts ?? []).map((a) => [a.id, a]));
  }

  /** The chain of `accountId`: exempt (management), unknown with its reason, or known. */
  chainFor(accountId: string): ControlPolicyChain {
    const metadata = this.metadata;
    if (metadata?.managementAccountId === accountId) return { status: 'exempt' };
    const control = metadata?.controlPolicies;
    if (!control) return { status: 'unknown', reason: 'SCPs not read' };
    // Without it the management account could not be told apart, and SCPs never apply to it.
    if (!metadata.managementAccountId) return { status: 'unknown', reason: 'management account not known' };
    if (control.scp.status !== 'enabled') {
      return { status: 'unknown', reason: control.scp.detail ?? `SCPs ${control.scp.status}` };
    }
    const account = this.byAccount.get(accountId);
    if (!account || account.ouIdPath.length === 0) {
      return { status: 'unknown', reason: 'account not placed in the OU tree' };
    }
    const targets = [...account.ouIdPath, accountId];
    const scp = this.levels(control.scp.attachments, targets, true);
    if (typeof scp === 'string') return { status: 'unknown', reason: scp };
    const rcp =
      control.rcp.status === 'enabled' ? this.levels(control.rcp.attachments, targets, false) : undefined;
    const rcpLevels = typeof rcp === 'string' ? undefined : rcp;
    const key = `${levelKey(scp)}|${rcpLevels ? levelKey(rcpLevels) : '-'}`;
    let chain = this.shared.get(key);
    if (!chain) {
      chain = { status: 'known', scp, ...(rcpLevels ? { rcp: rcpLevels } : {}), verdicts: new Map() };
      this.shared.set(key, chain);
    }
    return chain;
  }

  /** The levels for `targets`, or why they are unknown. */
  private levels(
    attachments: NonNullable<OrgMetadata['controlPolicies']>['scp']['attachments'],
    targets: readonly string[],
    needsPolicy: boolean,
  ): ChainLevel[] | string {
    const levels: ChainLevel[] = [];
    for (const targetId of targets) {
      const attached = attachments[targetId];
      if (!attached) return `policies attached to ${targetId} not read`;
      if (needsPolicy && attached.policyIds.length === 0) return `no SCP listed on ${targetId}`;
      const policies: ControlPolicy[] = [];
      for (const id of attached.policyIds) {
        const policy = this.policy(id);
        if (typeof policy === 'string') return policy;
        policies.push(policy);
      }
      levels.push({ targetId, policies });
    }
    return levels;
  }

  private policy(id: string): ControlPolicy | string {
    let policy = this.parsed.get(id);
    if (policy === undefined) {
      const stored = this.metadata?.controlPolicies?.policies[id];
      if (!stored) policy = `policy ${id} not read`;
      else if (stored.content.length > MAX_CONTROL_POLICY_CHARS) policy = `policy ${id} is too large`;
      else {
        try {
          policy = { id, name: stored.name, statements: parsePolicyDocument(stored.content) };
        } catch {
          policy = `policy ${id} could not be parsed`;
        }
      }
      this.parsed.set(id, policy);
    }
    return policy;
  }
}

const levelKey = (levels: readonly ChainLevel[]): string =>
  levels.map((l) => `${l.targetId}=${l.policies.map((p) => p.id).join(',')}`).join('/');
