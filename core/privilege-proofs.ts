/**
 * Proofs of a privilege: the path that shows a principal holds it, the IAM actions that path needs, and
 * the policies that grant its first step. Kept per kind, shortest first, at most MAX_GRANTS_PER_KIND.
 */
import { PRIVILEGE_KINDS, type Grant, type PrivilegeKind } from './types';

/** Contract bounds of a grant (core/event-contract.ts). */
export const MAX_GRANTS_PER_KIND = 8;
export const MAX_GRANT_ACTIONS = 16;
export const MAX_GRANT_PATH = 512;

export interface Proof {
  /** Steps before the end, e.g. `sts:AssumeRole role/ops`. */
  readonly steps: readonly string[];
  /** What the path ends in: a policy name (`AdministratorAccess`) or `admin`. */
  readonly end: string;
  readonly actions: readonly string[];
  /** Policies of the principal that grant the first step. */
  readonly sources: readonly string[];
}

export type Power = Record<PrivilegeKind, Proof[]>;

export const emptyPower = (): Power => ({ admin: [], s3Read: [], rdsRead: [], dynamodbRead: [] });

export const proofText = (p: Proof): string => [...p.steps, p.end].join(' → ');

const shorter = (a: Proof, b: Proof): number =>
  a.steps.length - b.steps.length ||
  proofText(a).length - proofText(b).length ||
  (proofText(a) < proofText(b) ? -1 : proofText(a) > proofText(b) ? 1 : 0);

/** Adds proofs, keeping each kind's shortest distinct ones (by text and actions). */
export function addProofs(power: Power, kind: PrivilegeKind, proofs: readonly Proof[]): void {
  if (proofs.length === 0) return;
  const list = power[kind];
  for (const p of proofs) {
    const text = proofText(p);
    const same = list.find((q) => proofText(q) === text && q.actions.join() === p.actions.join());
    if (same === undefined) list.push(p);
  }
  list.sort(shorter);
  // Keep more than the contract's cap while combining, so merging two powers still finds the shortest.
  if (list.length > MAX_GRANTS_PER_KIND * 2) list.length = MAX_GRANTS_PER_KIND * 2;
}

export function mergePower(into: Power, from: Power): void {
  for (const kind of PRIVILEGE_KINDS) addProofs(into, kind, from[kind]);
}

/** `from`'s proofs behind one more step (its actions first). */
export function prefixPower(
  from: Power,
  step: string,
  actions: readonly string[],
  sources: readonly string[],
): Power {
  const out = emptyPower();
  for (const kind of PRIVILEGE_KINDS) {
    out[kind] = from[kind].map((p) => ({
      steps: [step, ...p.steps],
      end: p.end,
      actions: [...actions, ...p.actions],
      sources,
    }));
  }
  return out;
}

export const hasPower = (power: Power): boolean => PRIVILEGE_KINDS.some((k) => power[k].length > 0);

const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** The contract's grants of one kind: the shortest proofs, path and action lists capped. */
export function toGrants(proofs: readonly Proof[]): Grant[] {
  return proofs.slice(0, MAX_GRANTS_PER_KIND).map((p) => ({
    path: cut(proofText(p), MAX_GRANT_PATH),
    actions: [...new Set(p.actions)].slice(0, MAX_GRANT_ACTIONS),
  }));
}

/** A readable name of a granting policy: the managed policy's name, or the inline label as is. */
export function policyLabel(source: string): string {
  const at = source.indexOf(':policy/');
  if (source.startsWith('arn:') && at >= 0) return source.slice(source.lastIndexOf('/') + 1);
  return source;
}

/** `user/alice`, `role/ops`, `group/admins`, `policy/deploy` from an IAM ARN (path dropped). */
export function shortArn(arn: string): string {
  const resource = arn.split(':').slice(5).join(':');
  const slash = resource.indexOf('/');
  if (slash < 0) return resource;
  return `${resource.slice(0, slash)}/${resource.slice(resource.lastIndexOf('/') + 1)}`;
}
