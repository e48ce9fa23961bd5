/**
 * Per-user privilege summary (admin, S3 / RDS / DynamoDB data read) from one GetAccountAuthorizationDetails
 * snapshot, with the shortest paths that prove each (docs/ARCHITECTURE.md §7.1). Pure: no SDK calls, no
 * clock (the collection time is passed in for aws:CurrentTime / aws:EpochTime).
 *
 * Sources per principal: its inline and attached managed policies, its groups' (users), managed policies
 * at their default version, and the permissions boundary. An applicable Deny beats an Allow; the boundary
 * caps the identity policies unless the principal can lift it.
 *
 * The question answered is "could a request signed with this user's access key do X, directly or by an
 * escalation path?", so the model errs towards reporting a privilege:
 * - Conditions are three-valued (core/policy-conditions.ts): only the keys the snapshot answers are
 *   evaluated; an Allow grants unless its condition is known false, a Deny applies only when known true.
 * - A Deny only removes a privilege when its resources provably cover the effective allowed set.
 * - Not modelled: SCPs and RCPs (organization level; the hub clears flags from the `grants` this
 *   publishes), resource-based policies (bucket/table/key policies), session policies, identities
 *   outside IAM users (IAM Identity Center permission sets, federation), KMS key policies.
 *
 * Definitions:
 * - admin: (a) an Allow of every action (`*`) on every resource (`*`), matched by the boundary if one
 *   caps, unless applicable Denies take away every IAM permission write in ADMIN_SENTINELS; or (b) an
 *   escalation path (core/escalation.ts) ending in admin.
 * - s3Read / rdsRead / dynamodbRead: allowed at least one action of DATA_READ_PROBES[kind] on some
 *   resource of that action's type that no Deny fully covers, directly or through a path.
 */
import type { AuthorizationDetails } from './authorization-details';
import { rolePowers, TakeoverIndex, throughUsers, userPower } from './escalation';
import { copyPower, type Proof, toGrants, type Power } from './privilege-proofs';
import { prepareSnapshot } from './privilege-snapshot';
import { type Grant, PRIVILEGE_KINDS, type PrivilegeKind, type UserPrivileges } from './types';

export type { AuthorizationDetails } from './authorization-details';
export { ADMIN_SENTINELS, DATA_READ_PROBES } from './direct-power';
export type { Probe } from './policy-set';

export interface PrivilegeEvaluation {
  readonly privileges: UserPrivileges[];
  /** Policies that could not be read or found; never contains a policy document. */
  readonly warnings: string[];
}

export interface EvaluationOptions {
  /** Collection time (ISO text): answers aws:CurrentTime / aws:EpochTime; without it they are unknown. */
  readonly now?: string;
}

/**
 * The AWS managed policies AWS attaches to a user whose access key it found exposed in public. V3 denies
 * s3:GetObject but not s3:GetObjectVersion, so a quarantined key may still read object data.
 */
export const QUARANTINE_POLICY_NAMES = [
  'AWSCompromisedKeyQuarantine',
  'AWSCompromisedKeyQuarantineV2',
  'AWSCompromisedKeyQuarantineV3',
] as const;

const QUARANTINE = new RegExp(`^arn:[^:]+:iam::aws:policy/(${QUARANTINE_POLICY_NAMES.join('|')})$`);

const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/** The distinct granting policies of one kind's proofs, sorted (as `sorted`, without the intermediate Set). */
function grantingList(proofs: readonly Proof[]): string[] {
  const all: string[] = [];
  for (const p of proofs) for (const source of p.sources) all.push(source);
  all.sort();
  let kept = 0;
  for (let i = 0; i < all.length; i++)
    if (i === 0 || all[i] !== all[kept - 1]) all[kept++] = all[i] as string;
  all.length = kept;
  return all;
}

function toPrivileges(userName: string, power: Power, quarantine: readonly string[]): UserPrivileges {
  const granting: Partial<Record<PrivilegeKind, readonly string[]>> = {};
  const grants: Partial<Record<PrivilegeKind, readonly Grant[]>> = {};
  const flags: Record<PrivilegeKind, boolean> = {
    admin: false,
    s3Read: false,
    rdsRead: false,
    dynamodbRead: false,
  };
  for (const kind of PRIVILEGE_KINDS) {
    const proofs = power[kind];
    if (proofs.length === 0) continue;
    flags[kind] = true;
    granting[kind] = grantingList(proofs);
    grants[kind] = toGrants(proofs);
  }
  return {
    userName,
    ...flags,
    grantingPolicies: granting,
    grants,
    ...(quarantine.length > 0 ? { quarantinePolicies: quarantine } : {}),
  };
}

/**
 * Evaluates every user of the snapshot. Never throws on a bad policy: it is skipped with a warning
 * (which can only hide a grant of that one policy, and the warning says so).
 */
export function evaluatePrivileges(
  details: AuthorizationDetails,
  options: EvaluationOptions = {},
): PrivilegeEvaluation {
  const warnings = new Set<string>();
  const nowMs = options.now === undefined ? undefined : Date.parse(options.now);
  const snapshot = prepareSnapshot(details, Number.isNaN(nowMs) ? undefined : nowMs, (m) => warnings.add(m));
  const roles = rolePowers(snapshot);
  const memo = new Map<string, Power>();
  const first = snapshot.users.map((user) => ({ user, power: userPower(user, snapshot, roles, memo) }));
  const takeover = new TakeoverIndex(first);
  const privileges = first.map(({ user, power }) => {
    const total = copyPower(power);
    throughUsers(user, takeover, total);
    const quarantine = sorted(
      user.attachments.filter((a) => !a.inline && QUARANTINE.test(a.policyName)).map((a) => a.policyName),
    );
    return toPrivileges(user.name, total, quarantine);
  });
  return { privileges, warnings: [...warnings] };
}

/**
 * The policies that allow `userName` to perform `action` on `resource` (a concrete ARN, or a pattern
 * meaning "some resource matching it") by its own policies, under the same model as evaluatePrivileges
 * (no escalation). Empty: not allowed.
 */
export function grantingPoliciesFor(
  details: AuthorizationDetails,
  userName: string,
  action: string,
  resource: string,
  options: EvaluationOptions & { readonly request?: Readonly<Record<string, string>> } = {},
): string[] {
  const nowMs = options.now === undefined ? undefined : Date.parse(options.now);
  const snapshot = prepareSnapshot(
    { ...details, users: details.users.filter((u) => u.UserName === userName), roles: [] },
    nowMs,
    () => {},
  );
  const user = snapshot.users[0];
  if (user === undefined) return [];
  return sorted(
    user.set.granting({ action, resource, ...(options.request ? { request: options.request } : {}) }),
  );
}
