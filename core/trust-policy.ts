/**
 * A role's trust policy (AssumeRolePolicyDocument), read for role assumption within the account: which
 * IAM principals and which services it admits to `sts:AssumeRole`. Pure; conditions three-valued as in
 * identity policies (an Allow admits unless its condition is known false; a Deny blocks only when its
 * condition is known true).
 */
import { evaluateConditions, parseConditionBlock, type ConditionClause } from './policy-conditions';
import {
  actionMatches,
  conditionContext,
  conditionValueResolver,
  decodePolicyDocument,
  PolicyDocumentError,
  type PrincipalVariables,
} from './policy-engine';
import { globMatches } from './glob';

interface TrustStatement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  /** `*` (anyone), IAM principal ARNs or account ids, service principals. */
  readonly anyone: boolean;
  readonly aws: readonly string[];
  readonly services: readonly string[];
  /** NotPrincipal: admits everyone not listed (kept as "anyone", the conservative reading). */
  readonly notPrincipal: boolean;
  readonly conditions: readonly ConditionClause[];
  readonly variables: boolean;
}

/** How a trust policy admits a principal: naming it (no identity permission needed) or its account (needed). */
export type Admission = 'principal' | 'account';

const asList = (value: unknown): string[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter(
    (v): v is string => typeof v === 'string',
  );

export class TrustPolicy {
  private constructor(private readonly statements: readonly TrustStatement[]) {}

  /** Parses a trust policy; throws PolicyDocumentError when it cannot be read. */
  static parse(raw: string): TrustPolicy {
    let doc: unknown;
    try {
      doc = JSON.parse(decodePolicyDocument(raw));
    } catch (error) {
      if (error instanceof PolicyDocumentError) throw error;
      throw new PolicyDocumentError('trust policy is not valid JSON', { cause: error });
    }
    if (typeof doc !== 'object' || doc === null)
      throw new PolicyDocumentError('trust policy is not a JSON object');
    const variables = (doc as { Version?: unknown }).Version === '2012-10-17';
    const raw_ = (doc as { Statement?: unknown }).Statement;
    const list = Array.isArray(raw_) ? raw_ : raw_ === undefined ? [] : [raw_];
    const statements = list.map((item, index): TrustStatement => {
      const s = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
      if (s.Effect !== 'Allow' && s.Effect !== 'Deny') {
        throw new PolicyDocumentError(`trust Statement[${index}].Effect must be Allow or Deny`);
      }
      const principal = s.Principal ?? s.NotPrincipal;
      const anyone = principal === '*' || s.NotPrincipal !== undefined;
      const p = (typeof principal === 'object' && principal !== null ? principal : {}) as Record<
        string,
        unknown
      >;
      let conditions: ConditionClause[];
      try {
        conditions = parseConditionBlock(s.Condition, `trust Statement[${index}].Condition`);
      } catch (error) {
        throw new PolicyDocumentError((error as Error).message, { cause: error });
      }
      return {
        effect: s.Effect,
        ...(s.Action !== undefined ? { actions: asList(s.Action) } : { notActions: asList(s.NotAction) }),
        anyone: anyone || asList(p.AWS).includes('*'),
        aws: asList(p.AWS),
        services: asList(p.Service),
        notPrincipal: s.NotPrincipal !== undefined,
        conditions,
        variables,
      };
    });
    return new TrustPolicy(statements);
  }

  /** Some Allow names IAM principals (or `*`) rather than only accounts: admission may need no identity permission. */
  get namesPrincipals(): boolean {
    this.names ??= this.statements.some(
      (s) =>
        s.effect === 'Allow' &&
        (s.anyone || s.aws.some((a) => a.includes(':user/') || a.includes(':role/') || a.includes('*'))),
    );
    return this.names;
  }
  private names: boolean | undefined;

  private applies(s: TrustStatement): boolean {
    if (s.actions) return s.actions.some((a) => actionMatches(a, 'sts:AssumeRole'));
    return !(s.notActions ?? []).some((a) => actionMatches(a, 'sts:AssumeRole'));
  }

  private holds(s: TrustStatement, vars: PrincipalVariables, nowMs: number | undefined): boolean | undefined {
    if (s.conditions.length === 0) return true;
    return evaluateConditions(
      s.conditions,
      conditionContext(vars, {}, nowMs),
      conditionValueResolver(vars, s.variables),
    );
  }

  /**
   * How the trust policy admits the IAM principal `vars` describes (a user, or a role's session), or
   * undefined. `principal`: the statement names its ARN or `*`; `account`: it names the account (root
   * ARN or id), so the principal's identity policies must also allow sts:AssumeRole on the role.
   */
  admits(vars: PrincipalVariables, nowMs: number | undefined): Admission | undefined {
    const root = `arn:${partitionOf(vars.principalArn)}:iam::${vars.principalAccount}:root`;
    const match = (s: TrustStatement): Admission | undefined => {
      if (s.anyone) return 'principal';
      if (
        s.aws.some((a) => a === vars.principalArn || (a.includes('*') && globMatches(a, vars.principalArn)))
      ) {
        return 'principal';
      }
      if (s.aws.some((a) => a === root || a === vars.principalAccount)) return 'account';
      return undefined;
    };
    let best: Admission | undefined;
    for (const s of this.statements) {
      if (!this.applies(s)) continue;
      const how = match(s);
      if (how === undefined) continue;
      const holds = this.holds(s, vars, nowMs);
      if (s.effect === 'Deny') {
        if (holds === true && !s.notPrincipal) return undefined;
        continue;
      }
      if (holds === false) continue;
      if (best === undefined || how === 'principal') best = how;
    }
    return best;
  }

  /** The trust policy lets `service` (e.g. `lambda.amazonaws.com`) assume the role. */
  admitsService(service: string): boolean {
    return this.statements.some(
      (s) =>
        s.effect === 'Allow' &&
        this.applies(s) &&
        // A condition here (aws:SourceAccount, aws:SourceArn) can be met by the key holder's own resources.
        s.services.some((x) => x.toLowerCase() === service),
    );
  }
}

const partitionOf = (arn: string): string => arn.split(':')[1] ?? 'aws';
