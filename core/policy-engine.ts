/**
 * A small IAM identity-policy matcher: parses policy documents and answers "could an Allow statement
 * grant this action on some resource that no Deny statement fully takes away?". Pure; no SDK.
 *
 * Why not @cloud-copilot/iam-simulate: it reads its 15 MB action/resource database from disk at run time
 * (so it cannot run from the single inline file the StackSet template carries) and it is AGPL-3.0, which
 * this Apache-2.0 project cannot ship inside the agent. It is used in the unit tests as an oracle instead.
 *
 * Semantics (see core/privileges.ts for how they are used):
 * - Action matching is case-insensitive with `*` and `?`; `NotAction` inverts it.
 * - Resource matching is case-sensitive with `*` and `?`, per ARN segment (a wildcard does not cross the
 *   `:` between partition, service, region and account; the resource part may contain `:`).
 * - Policy variables `${aws:username}`, `${aws:userid}`, `${aws:PrincipalAccount}`, `${aws:PrincipalArn}`,
 *   `${aws:PrincipalType}` are substituted; any other variable widens the pattern to `*` (inexact).
 * - Conditions are assumed satisfiable: a conditional Allow may grant; a conditional Deny may not apply.
 */
import { CredreportError } from './errors';

export class PolicyDocumentError extends CredreportError {}

export type Effect = 'Allow' | 'Deny';

export interface PolicyStatement {
  readonly effect: Effect;
  /** Exactly one of actions / notActions is set. */
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  /** Exactly one of resources / notResources is set. */
  readonly resources?: readonly string[];
  readonly notResources?: readonly string[];
  /** The statement has a non-empty Condition block. */
  readonly conditional: boolean;
}

const asStringList = (value: unknown, field: string): string[] | undefined => {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  if (!list.every((v): v is string => typeof v === 'string')) {
    throw new PolicyDocumentError(`${field} must be a string or a list of strings`);
  }
  return list;
};

/**
 * GetAccountAuthorizationDetails returns documents URL-encoded (RFC 3986); some emulators and SDKs
 * return them decoded. Accepts both.
 */
export function decodePolicyDocument(raw: string): string {
  const trimmed = raw.trimStart();
  if (trimmed.startsWith('{')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch (error) {
    throw new PolicyDocumentError('policy document is neither JSON nor URL-encoded JSON', { cause: error });
  }
}

/** Parses a policy document (JSON text, or URL-encoded JSON text) into statements. */
export function parsePolicyDocument(raw: string): PolicyStatement[] {
  let doc: unknown;
  try {
    doc = JSON.parse(decodePolicyDocument(raw));
  } catch (error) {
    if (error instanceof PolicyDocumentError) throw error;
    throw new PolicyDocumentError('policy document is not valid JSON', { cause: error });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new PolicyDocumentError('policy document is not a JSON object');
  }
  const rawStatements = (doc as { Statement?: unknown }).Statement;
  if (rawStatements === undefined) throw new PolicyDocumentError('policy document has no Statement');
  const list = Array.isArray(rawStatements) ? rawStatements : [rawStatements];
  return list.map((raw, index) => {
    if (typeof raw !== 'object' || raw === null) {
      throw new PolicyDocumentError(`Statement[${index}] is not an object`);
    }
    const s = raw as Record<string, unknown>;
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') {
      throw new PolicyDocumentError(`Statement[${index}].Effect must be Allow or Deny`);
    }
    const actions = asStringList(s.Action, `Statement[${index}].Action`);
    const notActions = asStringList(s.NotAction, `Statement[${index}].NotAction`);
    const resources = asStringList(s.Resource, `Statement[${index}].Resource`);
    const notResources = asStringList(s.NotResource, `Statement[${index}].NotResource`);
    if ((actions === undefined) === (notActions === undefined)) {
      throw new PolicyDocumentError(`Statement[${index}] needs exactly one of Action and NotAction`);
    }
    if ((resources === undefined) === (notResources === undefined)) {
      throw new PolicyDocumentError(`Statement[${index}] needs exactly one of Resource and NotResource`);
    }
    const condition = s.Condition;
    const conditional =
      condition !== undefined &&
      condition !== null &&
      (typeof condition !== 'object' || Object.keys(condition).length > 0);
    return {
      effect: s.Effect,
      ...(actions ? { actions } : { notActions: notActions as string[] }),
      ...(resources ? { resources } : { notResources: notResources as string[] }),
      conditional,
    };
  });
}

// ---------------------------------------------------------------------------------------------------
// Glob matching. A pattern symbol is a literal character, `*` (any run, possibly empty) or `?` (one).

/** The pattern is only `*`s: it matches everything. */
export const isAllStars = (pattern: string): boolean => /^\*+$/.test(pattern);

/**
 * Glob match without backtracking (docs/ARCHITECTURE.md §12: a member account's policy must not stall
 * the agent). The pattern is split at `*` into chunks of literals and `?`: the first chunk must match
 * the start, the last the end, and the middle ones are placed left to right at their earliest position
 * — placing a chunk later can only leave less room for the rest, so the first placement that fails is
 * final. A chunk of literals is found with `indexOf`; one with `?` by a scan. Worst case
 * O(|pattern| × |value|) with no exponential or polynomial blow-up from the number of `*`s (a regular
 * expression `^.*a.*a…$` backtracks in O(|value|^stars) when it fails).
 *
 * `anyOk(c)` says which value characters `?` may stand for.
 */
function wildcardMatch(pattern: string, value: string, anyOk: (c: string) => boolean): boolean {
  const chunks = pattern.split('*');
  const first = chunks[0] as string;
  if (chunks.length === 1) return first.length === value.length && chunkAt(first, value, 0, anyOk);
  const last = chunks[chunks.length - 1] as string;
  if (first.length + last.length > value.length) return false;
  if (!chunkAt(first, value, 0, anyOk)) return false;
  const end = value.length - last.length;
  if (!chunkAt(last, value, end, anyOk)) return false;
  let from = first.length;
  for (let k = 1; k < chunks.length - 1; k++) {
    const chunk = chunks[k] as string;
    if (chunk.length === 0) continue;
    const at = findChunk(chunk, value, from, end, anyOk);
    if (at < 0) return false;
    from = at + chunk.length;
  }
  return true;
}

/** `chunk` (literals and `?`) matches `value` at `at`. */
function chunkAt(chunk: string, value: string, at: number, anyOk: (c: string) => boolean): boolean {
  for (let i = 0; i < chunk.length; i++) {
    const p = chunk.charCodeAt(i);
    const c = value.charCodeAt(at + i);
    if (p === QUESTION ? !anyOk(value[at + i] as string) : p !== c) return false;
  }
  return true;
}

/** Earliest position ≥ `from` where `chunk` matches and ends by `end`, or -1. */
function findChunk(
  chunk: string,
  value: string,
  from: number,
  end: number,
  anyOk: (c: string) => boolean,
): number {
  if (!chunk.includes('?')) {
    const at = value.indexOf(chunk, from);
    return at >= 0 && at + chunk.length <= end ? at : -1;
  }
  for (let at = from; at + chunk.length <= end; at++) if (chunkAt(chunk, value, at, anyOk)) return at;
  return -1;
}

const QUESTION = '?'.charCodeAt(0);
const anyChar = (): boolean => true;
const notStar = (c: string): boolean => c !== '*';

/** `value` (a concrete string) is matched by glob `pattern`. */
export function globMatches(pattern: string, value: string, caseInsensitive = false): boolean {
  if (pattern === '*') return true;
  return caseInsensitive
    ? wildcardMatch(pattern.toLowerCase(), value.toLowerCase(), anyChar)
    : wildcardMatch(pattern, value, anyChar);
}

/**
 * Sound test that every string matched by glob `specific` is matched by glob `general` (L(specific) ⊆
 * L(general)). May answer false for some true inclusions; never answers true for a false one. Used to
 * decide that a Deny takes away everything an Allow gives, so a false "no" only over-reports.
 *
 * `specific` is read as text in which its own `*` must be matched by a `*` of `general` and a `?` by a
 * `?` or `*`: `general`'s `?` stands for any character but `*`.
 */
export function globCovers(general: string, specific: string, caseInsensitive = false): boolean {
  if (isAllStars(general)) return true;
  return caseInsensitive
    ? wildcardMatch(general.toLowerCase(), specific.toLowerCase(), notStar)
    : wildcardMatch(general, specific, notStar);
}

/** Exact test that two globs match at least one common string (L(a) ∩ L(b) ≠ ∅). */
export function globsOverlap(a: string, b: string): boolean {
  if (a === b || isAllStars(a) || isAllStars(b)) return true;
  const la = a.length;
  const lb = b.length;
  const seen = new Uint8Array((la + 1) * (lb + 1));
  const stack: [number, number][] = [[0, 0]];
  while (stack.length > 0) {
    const [i, j] = stack.pop() as [number, number];
    const index = i * (lb + 1) + j;
    if (seen[index] === 1) continue;
    seen[index] = 1;
    if (i === la && j === lb) return true;
    const ca = i < la ? a[i] : undefined;
    const cb = j < lb ? b[j] : undefined;
    if (ca === '*') {
      stack.push([i + 1, j]);
      if (cb !== undefined) stack.push([i, j + 1]);
    }
    if (cb === '*') {
      stack.push([i, j + 1]);
      if (ca !== undefined) stack.push([i + 1, j]);
    }
    if (ca !== undefined && cb !== undefined && ca !== '*' && cb !== '*') {
      if (ca === cb || ca === '?' || cb === '?') stack.push([i + 1, j + 1]);
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// ARN-aware resource matching.

/** Splits an ARN (or ARN pattern) into its 6 segments; the last keeps any further `:`. */
function arnSegments(value: string): string[] | undefined {
  if (!value.startsWith('arn:')) return undefined;
  const parts = value.split(':');
  if (parts.length < 6) {
    // IAM pads a short ARN pattern with wildcards (`arn:aws:s3` matches every S3 ARN).
    while (parts.length < 6) parts.push('*');
    return parts;
  }
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

/** Every resource matched by `specific` is matched by `general` (sound, see globCovers). */
export function resourceCovers(general: string, specific: string): boolean {
  if (isAllStars(general)) return true;
  if (isAllStars(specific)) return false;
  const g = arnSegments(general);
  const s = arnSegments(specific);
  if (g === undefined || s === undefined) return globCovers(general, specific);
  return g.every((segment, i) => globCovers(segment, s[i] as string));
}

/** Some resource is matched by both patterns. */
export function resourcesOverlap(a: string, b: string): boolean {
  if (isAllStars(a) || isAllStars(b)) return true;
  const sa = arnSegments(a);
  const sb = arnSegments(b);
  if (sa === undefined || sb === undefined) return globsOverlap(a, b);
  return sa.every((segment, i) => globsOverlap(segment, sb[i] as string));
}

/** The action pattern matches `action` (`service:Name`), case-insensitively. */
export function actionMatches(pattern: string, action: string): boolean {
  return globMatches(pattern, action, true);
}

/** The statement's Action/NotAction applies to `action`. */
export function statementAppliesToAction(statement: PolicyStatement, action: string): boolean {
  if (statement.actions) return statement.actions.some((p) => actionMatches(p, action));
  return !(statement.notActions ?? []).some((p) => actionMatches(p, action));
}

/** The statement allows (or denies) every action: `Action: "*"` (or `*:*`). */
export function statementCoversAllActions(statement: PolicyStatement): boolean {
  return (statement.actions ?? []).some((p) => globCovers(p, '*:*', true));
}

// ---------------------------------------------------------------------------------------------------
// Policy variables.

export interface PrincipalVariables {
  readonly username: string;
  readonly userid?: string;
  readonly principalAccount: string;
  readonly principalArn: string;
}

/**
 * Substitutes the principal's policy variables. A variable whose value is unknown here (a request-time
 * key such as `${s3:prefix}`, or the literal `${*}`) becomes `*` and the result is marked not `exact`:
 * callers widen Allow patterns with it but never let such a pattern prove that a Deny covers something.
 */
export function substituteVariables(
  pattern: string,
  vars: PrincipalVariables,
): { readonly pattern: string; readonly exact: boolean } {
  if (!pattern.includes('${')) return { pattern, exact: true };
  let exact = true;
  const out = pattern.replace(/\$\{([^}]*)\}/g, (_match, body: string) => {
    const name = body.split(',')[0]?.trim().toLowerCase() ?? '';
    switch (name) {
      case '$':
        return '$';
      case 'aws:username':
        return vars.username;
      case 'aws:userid':
        if (vars.userid !== undefined) return vars.userid;
        exact = false;
        return '*';
      case 'aws:principalaccount':
        return vars.principalAccount;
      case 'aws:principalarn':
        return vars.principalArn;
      case 'aws:principaltype':
        return 'User';
      default:
        // `${*}` / `${?}` are literal characters a glob cannot express; request-time keys are unknown here.
        exact = false;
        return '*';
    }
  });
  return { pattern: out, exact };
}
