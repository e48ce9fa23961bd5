/**
 * Three-valued evaluation of IAM policy Condition blocks against what one authorization snapshot can
 * answer (docs/ARCHITECTURE.md §7.1). Pure; no clock (the collection time is passed in).
 *
 * A condition is `true` (it holds for every request the key holder could sign), `false` (it holds for
 * none) or `undefined` (unknown: it depends on the request, the network, the session, MFA, …). Only the
 * keys in ANSWERABLE_KEYS are evaluated; every other key is unknown. Callers keep the model's bias
 * towards reporting a privilege: an Allow grants unless its condition is `false`; a Deny applies only when
 * its condition is `true`.
 */
import { globMatches } from './glob';

export type Tri = boolean | undefined;

/** One `Operator: { key: values }` entry of a Condition block. */
export interface ConditionClause {
  /** Lower-case operator without `IfExists` and qualifier, e.g. `stringlike`. */
  readonly operator: string;
  readonly ifExists: boolean;
  /** `ForAnyValue:` / `ForAllValues:` set operators are left unknown (the answerable keys are single-valued). */
  readonly qualified: boolean;
  /** Lower-case condition key. */
  readonly key: string;
  readonly values: readonly string[];
}

/**
 * What is known about one key: `absent` (known not to be in the request), a value, or unknown.
 * `undefined` means unknown.
 */
export type KeyValue = { readonly present: false } | { readonly present: true; readonly value: string };

/** Answers condition keys for one request; `undefined` = unknown. */
export type ConditionContext = (key: string) => KeyValue | undefined;

/** Keys taken from the principal (user or role) the snapshot describes. */
export const PRINCIPAL_KEYS: readonly string[] = [
  'aws:username',
  'aws:userid',
  'aws:principalarn',
  'aws:principalaccount',
  'aws:principaltype',
];
/** Principal tag keys: `aws:PrincipalTag/<tag>`; a tag the principal does not have is known absent. */
export const PRINCIPAL_TAG_PREFIX = 'aws:principaltag/';
/** Keys of the collection time. */
export const TIME_KEYS: readonly string[] = ['aws:currenttime', 'aws:epochtime'];
/** Keys a probe sets for the request it stands for (the policy attached, the service passed to). */
export const REQUEST_KEYS: readonly string[] = [
  'iam:policyarn',
  'iam:permissionsboundary',
  'iam:passedtoservice',
];

/** The key depends on which principal signs the request (so the answer cannot be shared across principals). */
export const isPrincipalKey = (key: string): boolean =>
  PRINCIPAL_KEYS.includes(key) || key.startsWith(PRINCIPAL_TAG_PREFIX);

/** Parses a Condition element; throws on a shape IAM would reject. */
export function parseConditionBlock(condition: unknown, field: string): ConditionClause[] {
  if (condition === undefined || condition === null) return [];
  if (typeof condition !== 'object' || Array.isArray(condition)) {
    throw new TypeError(`${field} must be an object`);
  }
  const clauses: ConditionClause[] = [];
  for (const [rawOperator, entries] of Object.entries(condition as Record<string, unknown>)) {
    if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) {
      throw new TypeError(`${field}.${rawOperator} must be an object`);
    }
    let operator = rawOperator.toLowerCase();
    const qualified = operator.startsWith('foranyvalue:') || operator.startsWith('forallvalues:');
    if (qualified) operator = operator.slice(operator.indexOf(':') + 1);
    const ifExists = operator.endsWith('ifexists');
    if (ifExists) operator = operator.slice(0, -'ifexists'.length);
    for (const [key, raw] of Object.entries(entries as Record<string, unknown>)) {
      const list = Array.isArray(raw) ? raw : [raw];
      if (!list.every((v) => ['string', 'number', 'boolean'].includes(typeof v))) {
        throw new TypeError(`${field}.${rawOperator}.${key} must be a string or a list of strings`);
      }
      clauses.push({ operator, ifExists, qualified, key: key.toLowerCase(), values: list.map(String) });
    }
  }
  return clauses;
}

const NEGATED = new Set([
  'stringnotequals',
  'stringnotequalsignorecase',
  'stringnotlike',
  'arnnotequals',
  'arnnotlike',
  'numericnotequals',
  'datenotequals',
]);

/** Splits an ARN into its 6 segments (the last keeps further `:`); undefined when not an ARN. */
function arnParts(value: string): string[] | undefined {
  const parts = value.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

function arnLike(pattern: string, value: string): boolean {
  const p = arnParts(pattern);
  const v = arnParts(value);
  if (p === undefined || v === undefined) return false;
  return p.every((segment, i) => globMatches(segment, v[i] as string));
}

const toTime = (value: string): number | undefined => {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
};

const compare = (op: string, a: number, b: number): boolean | undefined => {
  if (op.endsWith('lessthanequals')) return a <= b;
  if (op.endsWith('lessthan')) return a < b;
  if (op.endsWith('greaterthanequals')) return a >= b;
  if (op.endsWith('greaterthan')) return a > b;
  if (op.endsWith('notequals')) return a !== b;
  if (op.endsWith('equals')) return a === b;
  return undefined;
};

/** One policy value against the request value, for a positive operator; undefined = operator not modelled. */
function matchesOne(operator: string, expected: string, actual: string): boolean | undefined {
  switch (operator) {
    case 'stringequals':
    case 'stringnotequals':
      return expected === actual;
    case 'stringequalsignorecase':
    case 'stringnotequalsignorecase':
      return expected.toLowerCase() === actual.toLowerCase();
    case 'stringlike':
    case 'stringnotlike':
      return globMatches(expected, actual);
    case 'arnequals':
    case 'arnlike':
    case 'arnnotequals':
    case 'arnnotlike':
      return arnLike(expected, actual);
    case 'bool':
      return expected.toLowerCase() === actual.toLowerCase();
    default:
      if (operator.startsWith('date') || operator.startsWith('numeric')) {
        const isDate = operator.startsWith('date');
        const a = isDate ? toTime(actual) : Number(actual);
        const e = isDate ? toTime(expected) : Number(expected);
        if (a === undefined || e === undefined || Number.isNaN(a) || Number.isNaN(e)) return undefined;
        // Negated forms are folded in `evaluateClause`; compare with the positive form here.
        return compare(operator.replace('not', ''), a, e);
      }
      return undefined;
  }
}

/** Resolves policy variables in a condition value; undefined when one is unknown. */
export type ValueResolver = (value: string) => string | undefined;

function evaluateClause(clause: ConditionClause, ctx: ConditionContext, resolve: ValueResolver): Tri {
  if (clause.qualified) return undefined;
  const known = ctx(clause.key);
  if (known === undefined) return undefined;
  if (clause.operator === 'null') {
    const wantAbsent = clause.values.map((v) => v.toLowerCase() === 'true');
    return wantAbsent.some((absent) => absent === !known.present);
  }
  if (!known.present) return clause.ifExists || NEGATED.has(clause.operator);
  let unknown = false;
  let any = false;
  for (const raw of clause.values) {
    const expected = resolve(raw);
    if (expected === undefined) {
      unknown = true;
      continue;
    }
    const hit = matchesOne(clause.operator, expected, known.value);
    if (hit === undefined) return undefined;
    if (hit) any = true;
  }
  if (NEGATED.has(clause.operator)) {
    // Negated operators were compared in their positive form: they hold when no value matches.
    if (any) return false;
    return unknown ? undefined : true;
  }
  if (any) return true;
  return unknown ? undefined : false;
}

/** A Condition block: every clause must hold (false if one is false, true if all are true, else unknown). */
export function evaluateConditions(
  clauses: readonly ConditionClause[],
  ctx: ConditionContext,
  resolve: ValueResolver,
): Tri {
  let result: Tri = true;
  for (const clause of clauses) {
    const value = evaluateClause(clause, ctx, resolve);
    if (value === false) return false;
    if (value === undefined) result = undefined;
  }
  return result;
}
