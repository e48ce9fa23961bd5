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
  /** The path text (computed once: proofs are compared and sorted often). */
  readonly text: string;
}

export function proof(
  steps: readonly string[],
  end: string,
  actions: readonly string[],
  sources: readonly string[],
): Proof {
  return { steps, end, actions, sources, text: [...steps, end].join(' → ') };
}

export type Power = Record<PrivilegeKind, Proof[]>;

export const emptyPower = (): Power => ({ admin: [], s3Read: [], rdsRead: [], dynamodbRead: [] });

export const proofText = (p: Proof): string => p.text;

const shorter = (a: Proof, b: Proof): number =>
  a.steps.length - b.steps.length ||
  a.text.length - b.text.length ||
  (a.text < b.text ? -1 : a.text > b.text ? 1 : 0);

/** Adds proofs, keeping each kind's shortest distinct ones (by text and actions). */
export function addProofs(power: Power, kind: PrivilegeKind, proofs: readonly Proof[]): void {
  if (proofs.length === 0) return;
  const list = power[kind];
  let added = false;
  // Compared with the worst kept proof before this batch (the list is sorted then), not with one just pushed.
  const worst = list.length >= MAX_GRANTS_PER_KIND ? (list[list.length - 1] as Proof) : undefined;
  for (const p of proofs) {
    if (worst !== undefined && shorter(p, worst) >= 0) continue;
    const same = list.some((q) => q === p || (q.text === p.text && sameActions(q.actions, p.actions)));
    if (!same) {
      list.push(p);
      added = true;
    }
  }
  if (!added) return;
  list.sort(shorter);
  // Every list is kept shortest first, and a prefix keeps that order, so the 8 shortest of a merge are
  // among the 8 shortest of each side.
  if (list.length > MAX_GRANTS_PER_KIND) list.length = MAX_GRANTS_PER_KIND;
}

const sameActions = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** A copy of `from` (each kind's list is already shortest first, distinct and capped). */
export function copyPower(from: Power): Power {
  const out = emptyPower();
  for (const kind of PRIVILEGE_KINDS) out[kind] = [...from[kind]];
  return out;
}

export function mergePower(into: Power, from: Power): void {
  for (const kind of PRIVILEGE_KINDS) addProofs(into, kind, from[kind]);
}

/**
 * Adds `from`'s proofs behind one more step into `into`, building only those short enough to be kept
 * (a user who may assume many powerful roles would otherwise build thousands of proofs to keep 8).
 */
export function addPrefixed(
  into: Power,
  from: Power,
  step: string,
  actions: readonly string[],
  sources: readonly string[],
): void {
  for (const kind of PRIVILEGE_KINDS) addPrefixedKind(into, from, kind, step, actions, sources);
}

/** addPrefixed for one kind. */
export function addPrefixedKind(
  into: Power,
  from: Power,
  kind: PrivilegeKind,
  step: string,
  actions: readonly string[],
  sources: readonly string[],
): void {
  const list = into[kind];
  const candidates: Proof[] = [];
  for (const p of from[kind]) {
    const worst = list.length >= MAX_GRANTS_PER_KIND ? list[list.length - 1] : undefined;
    if (worst !== undefined) {
      const steps = p.steps.length + 1;
      const length = step.length + 3 + p.text.length;
      if (steps > worst.steps.length || (steps === worst.steps.length && length > worst.text.length)) break;
    }
    candidates.push(proof([step, ...p.steps], p.end, [...actions, ...p.actions], sources));
  }
  addProofs(into, kind, candidates);
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
    out[kind] = from[kind].map((p) => proof([step, ...p.steps], p.end, [...actions, ...p.actions], sources));
  }
  return out;
}

export const hasPower = (power: Power): boolean => PRIVILEGE_KINDS.some((k) => power[k].length > 0);

const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** The contract's grants of one kind: the shortest proofs, path and action lists capped. */
export function toGrants(proofs: readonly Proof[]): Grant[] {
  return proofs.slice(0, MAX_GRANTS_PER_KIND).map(grantOf);
}

/** A proof's grant, built once: proofs through shared roles and policies are shared by many principals. */
function grantOf(p: Proof): Grant {
  let grant = GRANTS.get(p);
  if (grant === undefined) {
    grant = {
      path: cut(p.text, MAX_GRANT_PATH),
      actions: [...new Set(p.actions)].slice(0, MAX_GRANT_ACTIONS),
    };
    GRANTS.set(p, grant);
  }
  return grant;
}
const GRANTS = new WeakMap<Proof, Grant>();

/** A readable name of a granting policy: the managed policy's name, or the inline label as is. */
export function policyLabel(source: string): string {
  const at = source.indexOf(':policy/');
  if (source.startsWith('arn:') && at >= 0) return source.slice(source.lastIndexOf('/') + 1);
  return source;
}

/** `user/alice`, `role/ops`, `group/admins`, `policy/deploy` from an IAM ARN (path dropped). */
export function shortArn(arn: string): string {
  let short = SHORT_ARNS.get(arn);
  if (short === undefined) {
    // Bounded: a snapshot names at most its principals, groups and policies; a long run starts over.
    if (SHORT_ARNS.size >= 100_000) SHORT_ARNS.clear();
    short = shortArnOf(arn);
    SHORT_ARNS.set(arn, short);
  }
  return short;
}
const SHORT_ARNS = new Map<string, string>();

function shortArnOf(arn: string): string {
  const resource = arn.split(':').slice(5).join(':');
  const slash = resource.indexOf('/');
  if (slash < 0) return resource;
  return `${resource.slice(0, slash)}/${resource.slice(resource.lastIndexOf('/') + 1)}`;
}
