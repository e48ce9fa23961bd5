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
import { globCovers, globMatches, globsOverlap, isAllStars } from './glob';
import {
  type ConditionClause,
  type ConditionContext,
  type ValueResolver,
  parseConditionBlock,
} from './policy-conditions';

export { globCovers, globMatches, globsOverlap, isAllStars } from './glob';

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
  /** The parsed Condition block (empty when unconditional). */
  readonly conditions: readonly ConditionClause[];
  /**
   * The document declares `"Version": "2012-10-17"`, the only version in which IAM substitutes policy
   * variables: in any other (or none), `${aws:username}` is literal text.
   */
  readonly variables: boolean;
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
  const variables = (doc as { Version?: unknown }).Version === '2012-10-17';
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
    let conditions: ConditionClause[];
    try {
      conditions = parseConditionBlock(s.Condition, `Statement[${index}].Condition`);
    } catch (error) {
      throw new PolicyDocumentError((error as Error).message, { cause: error });
    }
    return {
      effect: s.Effect,
      ...(actions ? { actions } : { notActions: notActions as string[] }),
      ...(resources ? { resources } : { notResources: notResources as string[] }),
      conditional: conditions.length > 0,
      conditions,
      variables,
    };
  });
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
  /** Absent for a role (aws:username is only set for IAM users). */
  readonly username?: string;
  readonly userid?: string;
  readonly principalAccount: string;
  readonly principalArn: string;
  /** `User` for an IAM user, `AssumedRole` for a role session. */
  readonly principalType?: 'User' | 'AssumedRole';
  /** The principal's tags (aws:PrincipalTag/*); a tag not listed is known absent. */
  readonly tags?: Readonly<Record<string, string>>;
}

/** The principal's value for a policy variable name (lower case); undefined when not known here. */
function principalValue(name: string, vars: PrincipalVariables): string | undefined {
  switch (name) {
    case 'aws:username':
      return vars.username;
    case 'aws:userid':
      return vars.userid;
    case 'aws:principalaccount':
      return vars.principalAccount;
    case 'aws:principalarn':
      return vars.principalArn;
    case 'aws:principaltype':
      return vars.principalType ?? 'User';
    default:
      if (name.startsWith('aws:principaltag/') && vars.tags !== undefined) {
        const wanted = name.slice('aws:principaltag/'.length);
        const hit = Object.entries(vars.tags).find(([k]) => k.toLowerCase() === wanted);
        return hit?.[1];
      }
      return undefined;
  }
}

/**
 * Substitutes the principal's policy variables. A variable whose value is unknown here (a request-time
 * key such as `${s3:prefix}`, or the literal `${*}`) becomes `*` and the result is marked not `exact`:
 * callers widen Allow patterns with it but never let such a pattern prove that a Deny covers something.
 * With `enabled` false (a document without `"Version": "2012-10-17"`) the text is literal.
 */
export function substituteVariables(
  pattern: string,
  vars: PrincipalVariables,
  enabled = true,
): { readonly pattern: string; readonly exact: boolean } {
  if (!enabled || !pattern.includes('${')) return { pattern, exact: true };
  let exact = true;
  const out = pattern.replace(/\$\{([^}]*)\}/g, (_match, body: string) => {
    const name = body.split(',')[0]?.trim().toLowerCase() ?? '';
    if (name === '$' || name === '*' || name === '?') {
      if (name === '$') return '$';
      // `${*}` / `${?}` are literal characters a glob cannot express.
      exact = false;
      return '*';
    }
    const value = principalValue(name, vars);
    if (value !== undefined) return value;
    exact = false;
    return '*';
  });
  return { pattern: out, exact };
}

/** What a probe request carries besides its action and resource (condition keys, lower case). */
export type RequestKeys = Readonly<Record<string, string>>;

/**
 * The condition keys one snapshot can answer for a request of `vars`' principal (docs/ARCHITECTURE.md
 * §7.1): the principal's own keys and tags, the collection time, and the request keys the probe sets.
 * Request keys a probe does not set, and every other key, are unknown.
 */
export function conditionContext(
  vars: PrincipalVariables,
  request: RequestKeys,
  nowMs: number | undefined,
): ConditionContext {
  return (key) => {
    if (key in request) return { present: true, value: request[key] as string };
    if (key === 'aws:currenttime') {
      return nowMs === undefined ? undefined : { present: true, value: new Date(nowMs).toISOString() };
    }
    if (key === 'aws:epochtime') {
      return nowMs === undefined ? undefined : { present: true, value: String(Math.floor(nowMs / 1000)) };
    }
    if (key === 'aws:username' && vars.principalType === 'AssumedRole') return { present: false };
    if (key === 'aws:userid' && vars.userid === undefined) return undefined;
    if (key.startsWith('aws:principaltag/') && vars.tags === undefined) return undefined;
    if (
      key === 'aws:username' ||
      key === 'aws:userid' ||
      key === 'aws:principalarn' ||
      key === 'aws:principalaccount' ||
      key === 'aws:principaltype' ||
      key.startsWith('aws:principaltag/')
    ) {
      const value = principalValue(key, vars);
      return value === undefined ? { present: false } : { present: true, value };
    }
    return undefined;
  };
}

/** Resolves policy variables in condition values; undefined when a variable is unknown here. */
export function conditionValueResolver(vars: PrincipalVariables, enabled: boolean): ValueResolver {
  return (value) => {
    const { pattern, exact } = substituteVariables(value, vars, enabled);
    return exact ? pattern : undefined;
  };
}
