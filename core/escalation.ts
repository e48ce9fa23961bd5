/**
 * Escalation paths (docs/ARCHITECTURE.md §7.1): what a principal can turn its permissions into, from one
 * snapshot. Modelled one-hop paths, each a Proof whose first step names the action and target:
 * - self: put/attach a policy on itself or one of its groups; write a new default version of, or set an
 *   older admin version as default of, a customer managed policy attached to it (capped by a boundary
 *   unless the boundary allows everything);
 * - lift the cap: delete or replace its own permissions boundary, or rewrite the boundary policy;
 * - remove its own Deny: delete/detach the inline or managed policy holding it (own or group's);
 * - iam:AddUserToGroup into a group with more power;
 * - iam:CreateAccessKey / CreateLoginProfile / UpdateLoginProfile on another user with power;
 * - sts:AssumeRole into a role whose trust admits it; iam:UpdateAssumeRolePolicy on a role; iam:PassRole
 *   of a role together with a service that runs code as that role (COMPUTE_SERVICES);
 * - role chains through the same role edges, up to MAX_ROLE_DEPTH roles, cycle-safe (depth-bounded).
 */
import { directPower, fillProbe, type Self } from './direct-power';
import type { Probe } from './policy-set';
import {
  emptyPower,
  hasPower,
  mergePower,
  prefixPower,
  shortArn,
  addPrefixed,
  addPrefixedKind,
  addProofs,
  MAX_GRANTS_PER_KIND,
  proof,
  type Power,
  type Proof,
} from './privilege-proofs';
import type { Attachment, Principal, PreparedRole, Snapshot } from './privilege-snapshot';
import { PRIVILEGE_KINDS, type PrivilegeKind } from './types';

/** Longest role chain followed (user → role → role → role). */
export const MAX_ROLE_DEPTH = 3;

/**
 * Services that run code with a role passed to them, and the actions that start that code (PMapper's
 * edges; each set is one path).
 */
export const COMPUTE_SERVICES: readonly { readonly service: string; readonly actions: readonly string[] }[] =
  [
    { service: 'lambda.amazonaws.com', actions: ['lambda:CreateFunction', 'lambda:InvokeFunction'] },
    {
      service: 'lambda.amazonaws.com',
      actions: ['lambda:CreateFunction', 'lambda:CreateEventSourceMapping'],
    },
    { service: 'ec2.amazonaws.com', actions: ['ec2:RunInstances'] },
    { service: 'cloudformation.amazonaws.com', actions: ['cloudformation:CreateStack'] },
    { service: 'glue.amazonaws.com', actions: ['glue:CreateDevEndpoint'] },
    { service: 'glue.amazonaws.com', actions: ['glue:CreateJob', 'glue:StartJobRun'] },
    {
      service: 'sagemaker.amazonaws.com',
      actions: ['sagemaker:CreateNotebookInstance', 'sagemaker:CreatePresignedNotebookInstanceUrl'],
    },
    { service: 'sagemaker.amazonaws.com', actions: ['sagemaker:CreateProcessingJob'] },
    { service: 'ecs-tasks.amazonaws.com', actions: ['ecs:RegisterTaskDefinition', 'ecs:RunTask'] },
    { service: 'codebuild.amazonaws.com', actions: ['codebuild:CreateProject', 'codebuild:StartBuild'] },
  ];

/** Every action a role edge probes: principals that agree on these policies reach the same roles. */
const ROLE_EDGE_ACTIONS: readonly string[] = [
  'sts:AssumeRole',
  'iam:UpdateAssumeRolePolicy',
  'iam:PassRole',
  ...new Set(COMPUTE_SERVICES.flatMap((s) => s.actions)),
];

const adminArn = (partition: string): string => `arn:${partition}:iam::aws:policy/AdministratorAccess`;
const isAwsManaged = (arn: string): boolean => /^arn:[^:]+:iam::aws:policy\//.test(arn);

/** IAM action names for acting on oneself, by principal kind. */
const own = (p: Principal, verb: string, noun: string): string =>
  `iam:${verb}${p.kind === 'user' ? 'User' : 'Role'}${noun}`;

function selfOf(p: Principal): Self {
  return { arn: p.arn, partition: p.partition, account: p.account };
}

/** The principal is granted `probe` (sources), or undefined. */
function granted(p: Principal, set: Principal['set'], probe: Probe): string[] | undefined {
  const sources = set.granting(fillProbe(probe, selfOf(p)));
  return sources.length > 0 ? sources.sort() : undefined;
}

/** Admin by writing a policy onto itself, its groups or its customer managed policies. */
function selfWritePower(p: Principal, set: Principal['set'], snapshot: Snapshot): Power {
  const power = emptyPower();
  if (!set.boundaryAllowsEverything()) return power;
  const admin = adminArn(p.partition);
  const tryStep = (probe: Probe, step: string): void => {
    const sources = granted(p, set, probe);
    if (sources) addProofs(power, 'admin', [proof([step], 'admin', [probe.action], sources)]);
  };
  const self = shortArn(p.arn);
  tryStep({ action: own(p, 'Put', 'Policy'), resource: p.arn }, `${own(p, 'Put', 'Policy')} on ${self}`);
  tryStep(
    { action: own(p, 'Attach', 'Policy'), resource: p.arn, request: { 'iam:policyarn': admin } },
    `${own(p, 'Attach', 'Policy')} on ${self}`,
  );
  for (const groupArn of p.groupArns) {
    const group = shortArn(groupArn);
    tryStep({ action: 'iam:PutGroupPolicy', resource: groupArn }, `iam:PutGroupPolicy on ${group}`);
    tryStep(
      { action: 'iam:AttachGroupPolicy', resource: groupArn, request: { 'iam:policyarn': admin } },
      `iam:AttachGroupPolicy on ${group}`,
    );
  }
  const attached = new Set(p.attachments.filter((a) => !a.inline).map((a) => a.policyName));
  for (const arn of attached) {
    if (isAwsManaged(arn)) continue; // AWS managed policies cannot be changed
    tryStep(
      { action: 'iam:CreatePolicyVersion', resource: arn },
      `iam:CreatePolicyVersion on ${shortArn(arn)}`,
    );
    const older = snapshot.managed.get(arn)?.adminVersions[0];
    if (older !== undefined) {
      tryStep(
        { action: 'iam:SetDefaultPolicyVersion', resource: arn },
        `iam:SetDefaultPolicyVersion on ${shortArn(arn)} ${older}`,
      );
    }
  }
  return power;
}

/** How the principal could remove one attachment holding a Deny, or undefined. */
function removal(p: Principal, a: Attachment): { probe: Probe; step: string } | undefined {
  const target = a.via === 'self' ? p.arn : a.via.groupArn;
  const label = a.inline ? a.policyName : shortArn(a.policyName);
  let action: string;
  if (a.via === 'self') action = a.inline ? own(p, 'Delete', 'Policy') : own(p, 'Detach', 'Policy');
  else action = a.inline ? 'iam:DeleteGroupPolicy' : 'iam:DetachGroupPolicy';
  const probe: Probe = a.inline
    ? { action, resource: target }
    : { action, resource: target, request: { 'iam:policyarn': a.policyName } };
  return { probe, step: `${action} ${label} on ${shortArn(target)}` };
}

/** Power from the principal's own policies, its own escalations, and lifting its boundary. */
export function selfPower(p: Principal, snapshot: Snapshot, set = p.set): Power {
  const power = directPower(set, selfOf(p));
  mergePower(power, selfWritePower(p, set, snapshot));

  // Remove one's own Deny: the power of the same policies without that one, where it adds a kind.
  const seen = new Set<string>();
  for (const a of p.attachments) {
    if (!a.unit.hasDeny || seen.has(a.unit.source)) continue;
    seen.add(a.unit.source);
    const how = removal(p, a);
    if (how === undefined) continue;
    const sources = granted(p, set, how.probe);
    if (!sources) continue;
    const without = set.with(
      set.units.filter((u) => u !== a.unit),
      set.boundary,
    );
    const gained = directPower(without, selfOf(p));
    mergePower(gained, selfWritePower(p, without, snapshot));
    for (const kind of PRIVILEGE_KINDS) if (power[kind].length > 0) gained[kind] = [];
    mergePower(power, prefixPower(gained, how.step, [how.probe.action], sources));
  }

  // Lift the boundary: delete or replace it, or rewrite the customer managed policy it is.
  if (set.boundary !== undefined && !set.boundaryAllowsEverything()) {
    const admin = adminArn(p.partition);
    const lifts: Probe[] = [
      { action: own(p, 'Delete', 'PermissionsBoundary'), resource: p.arn },
      {
        action: own(p, 'Put', 'PermissionsBoundary'),
        resource: p.arn,
        request: { 'iam:permissionsboundary': admin },
      },
    ];
    const boundaryArn = p.boundaryArn;
    if (boundaryArn !== undefined && !isAwsManaged(boundaryArn)) {
      lifts.push({ action: 'iam:CreatePolicyVersion', resource: boundaryArn });
      if ((snapshot.managed.get(boundaryArn)?.adminVersions.length ?? 0) > 0) {
        lifts.push({ action: 'iam:SetDefaultPolicyVersion', resource: boundaryArn });
      }
    }
    for (const probe of lifts) {
      const sources = granted(p, set, probe);
      if (!sources) continue;
      const uncapped = selfPower(p, snapshot, set.with(set.units, undefined));
      mergePower(
        power,
        prefixPower(uncapped, `${probe.action} on ${shortArn(probe.resource)}`, [probe.action], sources),
      );
      break; // one lift suffices; the shortest is the first listed
    }
  }
  return power;
}

/** Edges from `p` to role `r` (assume, rewrite trust, pass to a compute service), each with its actions. */
function roleEdges(
  p: Principal,
  r: PreparedRole,
  snapshot: Snapshot,
  may: { readonly assume: boolean; readonly update: boolean; readonly pass: boolean },
): { step: string; actions: string[]; sources: string[] }[] {
  if (r.arn === p.arn) return [];
  const edges: { step: string; actions: string[]; sources: string[] }[] = [];
  const role = shortArn(r.arn);
  const admission = r.trust?.admits(p.vars, snapshot.nowMs);
  const assume: Probe = { action: 'sts:AssumeRole', resource: r.arn };
  if (admission === 'principal' && !p.set.deniedEverywhere(assume)) {
    edges.push({ step: `sts:AssumeRole ${role}`, actions: ['sts:AssumeRole'], sources: [`trust:${role}`] });
  } else if (admission === 'account' && may.assume) {
    const sources = granted(p, p.set, assume);
    if (sources) edges.push({ step: `sts:AssumeRole ${role}`, actions: ['sts:AssumeRole'], sources });
  }
  const update = may.update
    ? granted(p, p.set, { action: 'iam:UpdateAssumeRolePolicy', resource: r.arn })
    : undefined;
  if (update) {
    edges.push({
      step: `iam:UpdateAssumeRolePolicy ${role}`,
      actions: ['iam:UpdateAssumeRolePolicy', 'sts:AssumeRole'],
      sources: update,
    });
  }
  for (const { service, actions } of may.pass ? COMPUTE_SERVICES : []) {
    if (!r.trust?.admitsService(service)) continue;
    const pass = granted(p, p.set, {
      action: 'iam:PassRole',
      resource: r.arn,
      request: { 'iam:passedtoservice': service },
    });
    if (!pass) continue;
    if (!actions.every((action) => granted(p, p.set, { action, resource: '*' }))) continue;
    edges.push({
      step: `iam:PassRole ${role} + ${actions.join(' + ')}`,
      actions: ['iam:PassRole', ...actions],
      sources: pass,
    });
  }
  return edges;
}

/**
 * Power of `p` through the roles it can reach, given each role's power. Through roles whose trust
 * names only accounts the answer depends only on `p`'s policies, so it is computed once per policy-set
 * signature (`memo`); roles whose trust names principals are checked per principal.
 */
function throughRoles(
  p: Principal,
  snapshot: Snapshot,
  rolePower: ReadonlyMap<string, Power>,
  memo?: Map<string, Power>,
): Power {
  const signature = memo !== undefined && p.kind === 'user' ? p.set.signature(ROLE_EDGE_ACTIONS) : undefined;
  const shared = signature === undefined ? undefined : memo?.get(signature);
  const power = emptyPower();
  if (shared !== undefined) {
    mergePower(power, shared);
    rolesFrom(p, snapshot, rolePower, power, (r) => r.trust?.namesPrincipals === true);
    return power;
  }
  if (signature !== undefined) {
    const accountOnly = emptyPower();
    rolesFrom(p, snapshot, rolePower, accountOnly, (r) => r.trust?.namesPrincipals !== true);
    memo?.set(signature, accountOnly);
    mergePower(power, accountOnly);
    rolesFrom(p, snapshot, rolePower, power, (r) => r.trust?.namesPrincipals === true);
    return power;
  }
  rolesFrom(p, snapshot, rolePower, power, () => true);
  return power;
}

function rolesFrom(
  p: Principal,
  snapshot: Snapshot,
  rolePower: ReadonlyMap<string, Power>,
  power: Power,
  include: (r: PreparedRole) => boolean,
): void {
  const anyRole = `arn:${p.partition}:iam::${p.account}:role/*`;
  // Probed on the first role with power only: most principals reach no role through these filters.
  let may: { readonly assume: boolean; readonly update: boolean; readonly pass: boolean } | undefined;
  for (const r of snapshot.roles) {
    if (!include(r)) continue;
    const target = rolePower.get(r.arn);
    if (target === undefined || !hasPower(target)) continue;
    may ??= {
      assume: granted(p, p.set, { action: 'sts:AssumeRole', resource: anyRole }) !== undefined,
      update: granted(p, p.set, { action: 'iam:UpdateAssumeRolePolicy', resource: anyRole }) !== undefined,
      pass: granted(p, p.set, { action: 'iam:PassRole', resource: anyRole }) !== undefined,
    };
    // A trust policy that names only accounts admits nobody without an identity permission.
    if (!may.assume && !may.update && !may.pass && !r.trust?.namesPrincipals) continue;
    for (const edge of roleEdges(p, r, snapshot, may)) {
      addPrefixed(power, target, edge.step, edge.actions, edge.sources);
    }
  }
}

/**
 * Each role's power: its own (selfPower), then through role chains. Iteration d adds chains of d + 1
 * roles from the previous iteration's answers, so a cycle only yields longer, later-sorted paths and
 * the loop ends after MAX_ROLE_DEPTH.
 */
export function rolePowers(snapshot: Snapshot): Map<string, Power> {
  const base = new Map<string, Power>();
  for (const r of snapshot.roles) base.set(r.arn, selfPower(r, snapshot));
  let current = base;
  for (let depth = 1; depth < MAX_ROLE_DEPTH; depth++) {
    const next = new Map<string, Power>();
    for (const r of snapshot.roles) {
      const power = emptyPower();
      mergePower(power, base.get(r.arn) as Power);
      mergePower(power, throughRoles(r, snapshot, current));
      next.set(r.arn, power);
    }
    current = next;
  }
  return current;
}

/** A user's power before edges to other users: self, groups it can join, roles it can reach. */
export function userPower(
  u: Principal,
  snapshot: Snapshot,
  rolePower: ReadonlyMap<string, Power>,
  memo?: Map<string, Power>,
): Power {
  const power = selfPower(u, snapshot);
  mergePower(power, throughRoles(u, snapshot, rolePower, memo));
  const anyGroup = `arn:${u.partition}:iam::${u.account}:group/*`;
  const mayJoin = granted(u, u.set, { action: 'iam:AddUserToGroup', resource: anyGroup }) !== undefined;
  for (const group of mayJoin ? snapshot.groups.values() : []) {
    if (u.groupArns.includes(group.arn) || group.units.length === 0) continue;
    const sources = granted(u, u.set, { action: 'iam:AddUserToGroup', resource: group.arn });
    if (!sources) continue;
    const joined = u.set.with([...u.set.units, ...group.units], u.set.boundary);
    const gained = directPower(joined, selfOf(u));
    for (const kind of PRIVILEGE_KINDS) if (power[kind].length > 0) gained[kind] = [];
    mergePower(
      power,
      prefixPower(gained, `iam:AddUserToGroup on ${shortArn(group.arn)}`, ['iam:AddUserToGroup'], sources),
    );
  }
  return power;
}

/** Actions that give the key holder another user's credentials. */
export const CREDENTIAL_ACTIONS = [
  'iam:CreateAccessKey',
  'iam:CreateLoginProfile',
  'iam:UpdateLoginProfile',
] as const;

/** One kind's candidate targets for credential takeover, ordered by their shortest proof behind one step. */
interface TakeoverEntry {
  readonly index: number;
  readonly target: string;
  readonly best: Proof;
  /** `<target> → <best proof>`: the candidate path without its leading action. */
  readonly key: string;
}

/**
 * Users by the proofs a takeover of them would give, per kind, shortest first (docs/ARCHITECTURE.md
 * §10): built once per snapshot so each principal that may take over users reads targets in order and
 * stops once no further target can be among the kept shortest proofs, instead of probing every user.
 */
export class TakeoverIndex {
  readonly byKind: Record<PrivilegeKind, readonly TakeoverEntry[]>;

  constructor(readonly users: readonly { readonly user: Principal; readonly power: Power }[]) {
    const byKind = {} as Record<PrivilegeKind, TakeoverEntry[]>;
    for (const kind of PRIVILEGE_KINDS) {
      const entries: TakeoverEntry[] = [];
      users.forEach(({ user, power }, index) => {
        const best = power[kind][0];
        if (best === undefined) return;
        const target = shortArn(user.arn);
        entries.push({ index, target, best, key: `${target} → ${best.text}` });
      });
      // The same step before every target: compare steps, then `<target> → <proof>` by length and text.
      entries.sort(
        (a, b) =>
          a.best.steps.length - b.best.steps.length ||
          a.key.length - b.key.length ||
          (a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index),
      );
      byKind[kind] = entries;
    }
    this.byKind = byKind;
  }
}

/** The best candidate through `entry` with `action` first sorts before `worst` (steps, length, text). */
function shorterThan(action: string, entry: TakeoverEntry, worst: Proof): boolean {
  const steps = entry.best.steps.length + 1;
  if (steps !== worst.steps.length) return steps < worst.steps.length;
  const length = action.length + ' on '.length + entry.key.length;
  if (length !== worst.text.length) return length < worst.text.length;
  return `${action} on ${entry.key}` < worst.text;
}

/**
 * Adds to `power` (the principal's own first-phase power, so the kept shortest proofs bound the scan)
 * its power through taking over another user's credentials, one hop. Per target the first action of
 * CREDENTIAL_ACTIONS that works is used (the shortest path to the same power).
 */
export function throughUsers(u: Principal, index: TakeoverIndex, power: Power): void {
  // One probe on every user first: most principals may not touch other users' credentials at all.
  const anyUser = `arn:${u.partition}:iam::${u.account}:user/*`;
  const actions = CREDENTIAL_ACTIONS.filter((action) => granted(u, u.set, { action, resource: anyUser }));
  if (actions.length === 0) return;
  const chosen = new Map<number, { action: string; sources: string[] } | null>();
  const choose = (i: number, arn: string): { action: string; sources: string[] } | null => {
    let c = chosen.get(i);
    if (c === undefined) {
      c = null;
      for (const action of actions) {
        const sources = granted(u, u.set, { action, resource: arn });
        if (sources) {
          c = { action, sources };
          break;
        }
      }
      chosen.set(i, c);
    }
    return c;
  };
  for (const kind of PRIVILEGE_KINDS) {
    const list = power[kind];
    for (const entry of index.byKind[kind]) {
      const worst = list.length >= MAX_GRANTS_PER_KIND ? list[list.length - 1] : undefined;
      // For each action, candidates come in the order of the entries: once none is shorter than the worst
      // kept proof (as addProofs compares them), no later one can be kept.
      if (worst !== undefined && actions.every((a) => !shorterThan(a, entry, worst))) break;
      const { user: v, power: target } = index.users[entry.index] as { user: Principal; power: Power };
      if (v.arn === u.arn) continue;
      const how = choose(entry.index, v.arn);
      if (how === null) continue;
      addPrefixedKind(power, target, kind, `${how.action} on ${entry.target}`, [how.action], how.sources);
    }
  }
}
