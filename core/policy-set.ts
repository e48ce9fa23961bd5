/**
 * One principal's (user's or role's) policies, ready to answer probe requests, with the work shared
 * across principals: a policy unit (a managed policy's default version, or one inline policy) whose
 * answers do not depend on who holds it is matched once per probe for the whole snapshot, not once per
 * principal (docs/ARCHITECTURE.md §10: ReadOnlyAccess × 5,000 users).
 *
 * Semantics (docs/ARCHITECTURE.md §7.1): an Allow grants unless its condition is known false; a Deny
 * applies only when its condition is known true; the permissions boundary caps the identity policies,
 * and a Deny removes a grant only when it covers the effective allowed set (identity ∩ boundary).
 */
import { evaluateConditions, isPrincipalKey, type Tri } from './policy-conditions';
import {
  conditionContext,
  conditionValueResolver,
  type PolicyStatement,
  type PrincipalVariables,
  type RequestKeys,
  isAllStars,
  resourceCovers,
  resourcesOverlap,
  statementAppliesToAction,
  statementCoversAllActions,
  substituteVariables,
} from './policy-engine';

/** A request template, once filled for a principal: an action on a resource (pattern = "some resource matching"). */
export interface Probe {
  readonly action: string;
  readonly resource: string;
  /** Condition keys the request carries (lower case), e.g. `iam:policyarn`. */
  readonly request?: RequestKeys;
}

const probeKey = (p: Probe): string =>
  p.request === undefined
    ? `${p.action}\u0000${p.resource}`
    : `${p.action}\u0000${p.resource}\u0000${JSON.stringify(p.request)}`;

/** How a Deny statement takes resources away. */
interface DenyPart {
  /** `covers`: every resource one of `patterns` covers; `outside`: every resource none of them meets. */
  readonly kind: 'covers' | 'outside';
  readonly patterns: readonly string[];
}

/** One unit's answer to one probe. */
interface UnitAnswer {
  /** Parts of the probe's resource an Allow may grant. */
  readonly allows: readonly string[];
  readonly denies: readonly DenyPart[];
}

const EMPTY: UnitAnswer = { allows: [], denies: [] };

/** The statement's answers depend on the principal: variables in resources or conditions, or a principal key. */
const statementDependent = (s: PolicyStatement): boolean =>
  (s.variables &&
    ([...(s.resources ?? []), ...(s.notResources ?? [])].some((r) => r.includes('${')) ||
      s.conditions.some((c) => c.values.some((v) => v.includes('${'))))) ||
  s.conditions.some((c) => isPrincipalKey(c.key));

/** One policy document (managed default version or inline), shared by every principal it is attached to. */
let nextUnitId = 0;

export class PolicyUnit {
  /** Identifies the unit in a policy-set signature (see PolicySet.signature). */
  readonly id = nextUnitId++;
  /** Answers depend on the principal: variables in resources or conditions, or a condition on a principal key. */
  readonly principalDependent: boolean;
  private readonly shared = new Map<string, UnitAnswer>();
  private readonly byAction = new Map<string, readonly PolicyStatement[]>();

  constructor(
    /** Granting-policy name: managed policy ARN, `user:<user>/<policy>`, `group:<group>/<policy>`, `role:<role>/<policy>`. */
    readonly source: string,
    readonly statements: readonly PolicyStatement[],
  ) {
    this.principalDependent = statements.some(statementDependent);
  }

  /**
   * Answers to probes of `action` depend on the principal: only the statements applying to that action
   * count, so a unit with `${aws:username}` in its S3 statement still shares its sts:AssumeRole answers.
   */
  dependentFor(action: string): boolean {
    if (!this.principalDependent) return false;
    let dependent = this.dependentByAction.get(action);
    if (dependent === undefined) {
      dependent = this.applying(action).some(statementDependent);
      this.dependentByAction.set(action, dependent);
    }
    return dependent;
  }
  private readonly dependentByAction = new Map<string, boolean>();

  /** The statements whose Action/NotAction applies to `action` (matched once per action for every principal). */
  applying(action: string): readonly PolicyStatement[] {
    let list = this.byAction.get(action);
    if (list === undefined) {
      list = this.statements.filter((s) => statementAppliesToAction(s, action));
      this.byAction.set(action, list);
    }
    return list;
  }

  answer(probe: Probe, key: string, evaluator: PrincipalContext): UnitAnswer {
    const statements = this.applying(probe.action);
    if (statements.length === 0) return EMPTY;
    if (this.dependentFor(probe.action)) return computeAnswer(statements, probe, evaluator);
    let cached = this.shared.get(key);
    if (cached === undefined) {
      cached = computeAnswer(statements, probe, evaluator);
      this.shared.set(key, cached);
    }
    return cached;
  }

  /** Statements with an Allow of `*` on `*` whose condition is not known false. */
  grantsEverything(evaluator: PrincipalContext): boolean {
    if (!this.principalDependent && this.everything !== undefined) return this.everything;
    const answer = this.statements.some(
      (s) =>
        s.effect === 'Allow' &&
        statementCoversAllActions(s) &&
        (s.resources ?? []).some(isAllStars) &&
        evaluator.condition(s, undefined) !== false,
    );
    if (!this.principalDependent) this.everything = answer;
    return answer;
  }
  private everything: boolean | undefined;

  /** The unit holds a Deny that can apply. */
  get hasDeny(): boolean {
    return this.statements.some((s) => s.effect === 'Deny');
  }
}

/** Evaluates conditions and variables for one principal. */
export class PrincipalContext {
  constructor(
    readonly vars: PrincipalVariables,
    private readonly nowMs: number | undefined,
  ) {}

  condition(s: PolicyStatement, request: RequestKeys | undefined): Tri {
    if (s.conditions.length === 0) return true;
    return evaluateConditions(
      s.conditions,
      conditionContext(this.vars, request ?? {}, this.nowMs),
      conditionValueResolver(this.vars, s.variables),
    );
  }

  resource(s: PolicyStatement, raw: string): { readonly pattern: string; readonly exact: boolean } {
    return substituteVariables(raw, this.vars, s.variables);
  }
}

function computeAnswer(
  statements: readonly PolicyStatement[],
  probe: Probe,
  ctx: PrincipalContext,
): UnitAnswer {
  const allows: string[] = [];
  const denies: DenyPart[] = [];
  const domain = probe.resource;
  for (const s of statements) {
    const holds = ctx.condition(s, probe.request);
    if (s.effect === 'Allow') {
      if (holds === false) continue;
      if (s.resources) {
        for (const raw of s.resources) {
          const { pattern } = ctx.resource(s, raw);
          if (!resourcesOverlap(pattern, domain)) continue;
          allows.push(resourceCovers(pattern, domain) ? domain : pattern);
        }
      } else {
        const excluded = (s.notResources ?? []).some((raw) => {
          const { pattern, exact } = ctx.resource(s, raw);
          return exact && resourceCovers(pattern, domain);
        });
        if (!excluded) allows.push(domain);
      }
    } else if (holds === true) {
      // A Deny whose condition may be false for the request (MFA, source IP, …) never removes a privilege.
      if (s.resources) {
        const patterns = s.resources
          .map((raw) => ctx.resource(s, raw))
          .filter((r) => r.exact)
          .map((r) => r.pattern);
        if (patterns.length > 0) denies.push({ kind: 'covers', patterns });
      } else {
        denies.push({
          kind: 'outside',
          patterns: (s.notResources ?? []).map((raw) => ctx.resource(s, raw).pattern),
        });
      }
    }
  }
  return allows.length === 0 && denies.length === 0 ? EMPTY : { allows, denies };
}

const denies = (parts: readonly DenyPart[], candidate: string): boolean =>
  parts.some((d) =>
    d.kind === 'covers'
      ? d.patterns.some((p) => resourceCovers(p, candidate))
      : !d.patterns.some((p) => resourcesOverlap(p, candidate)),
  );

/**
 * The policies of every principal holding the same units in the same order and the same boundary (one
 * per snapshot, interned by SetShapes): their combined answer to a probe is computed once and shared
 * when no unit applying to the probe's action depends on the principal (PolicyUnit.dependentFor).
 */
class SetShape {
  readonly granting = new Map<string, readonly string[]>();
  readonly denied = new Map<string, boolean>();
  /** Per-shape memo of derived answers (e.g. core/direct-power.ts's data reads), keyed by their callers. */
  readonly memo = new Map<string, unknown>();
  private readonly dependentByAction = new Map<string, boolean>();

  constructor(
    private readonly units: readonly PolicyUnit[],
    private readonly boundary: PolicyUnit | undefined,
  ) {}

  /** Some identity unit has a statement applying to `action`. */
  applies(action: string): boolean {
    let applies = this.appliesByAction.get(action);
    if (applies === undefined) {
      applies = this.units.some((u) => u.applying(action).length > 0);
      this.appliesByAction.set(action, applies);
    }
    return applies;
  }
  private readonly appliesByAction = new Map<string, boolean>();

  /** Some unit (or the boundary) has a statement applying to `action` whose answer depends on the principal. */
  dependentFor(action: string): boolean {
    let dependent = this.dependentByAction.get(action);
    if (dependent === undefined) {
      dependent =
        this.units.some((u) => u.dependentFor(action)) || (this.boundary?.dependentFor(action) ?? false);
      this.dependentByAction.set(action, dependent);
    }
    return dependent;
  }
}

/** Interns SetShapes by unit ids and boundary id; one registry per snapshot (units are per snapshot). */
export class SetShapes {
  private readonly byKey = new Map<string, SetShape>();

  of(units: readonly PolicyUnit[], boundary: PolicyUnit | undefined): SetShape {
    let key = '';
    for (const u of units) key += `${u.id},`;
    key += `|${boundary?.id ?? ''}`;
    let shape = this.byKey.get(key);
    if (shape === undefined) {
      shape = new SetShape(units, boundary);
      this.byKey.set(key, shape);
    }
    return shape;
  }
}

/** A principal's identity policies and optional boundary. */
export class PolicySet {
  private readonly shape: SetShape;

  constructor(
    readonly units: readonly PolicyUnit[],
    /** undefined: no boundary (or one that could not be read). */
    readonly boundary: PolicyUnit | undefined,
    readonly context: PrincipalContext,
    /** Principals of one snapshot share answers through one registry; without it nothing is shared. */
    private readonly shapes: SetShapes = new SetShapes(),
  ) {
    this.shape = shapes.of(units, boundary);
  }

  /**
   * A value derived only from this set's answers to probes of `actions` that name no principal, shared by
   * every principal with the same policies when none of them depends on the principal for those actions.
   * `key` names the computation; `compute` must not read anything but this set's answers.
   */
  shared<T>(key: string, actions: readonly string[], compute: () => T): T {
    if (actions.some((a) => this.shape.dependentFor(a))) return compute();
    if (this.shape.memo.has(key)) return this.shape.memo.get(key) as T;
    const value = compute();
    this.shape.memo.set(key, value);
    return value;
  }

  /**
   * Identifies the policies that apply to `actions` when none of them depends on the principal
   * (undefined otherwise): two principals with the same signature get the same answer to every probe
   * of those actions whose resource does not name the principal itself.
   */
  signature(actions: readonly string[]): string | undefined {
    const key = `signature\u0000${actions.join(',')}`;
    if (this.shape.memo.has(key)) return this.shape.memo.get(key) as string | undefined;
    const signature = this.signatureOf(actions);
    this.shape.memo.set(key, signature);
    return signature;
  }

  private signatureOf(actions: readonly string[]): string | undefined {
    const relevant = (u: PolicyUnit): boolean => actions.some((a) => u.applying(a).length > 0);
    const units = this.units.filter(relevant);
    const boundary = this.boundary !== undefined && relevant(this.boundary) ? this.boundary : undefined;
    const dependent = (u: PolicyUnit): boolean => actions.some((a) => u.dependentFor(a));
    if (units.some(dependent) || (boundary !== undefined && dependent(boundary))) return undefined;
    // A boundary that applies to none of the actions caps all of them.
    const capped = this.boundary !== undefined && boundary === undefined ? 'capped' : '';
    return `${units.map((u) => u.id).join(',')}|${boundary?.id ?? capped}`;
  }

  /** The same principal with other policies (a Deny removed, a boundary lifted, a group joined). */
  with(units: readonly PolicyUnit[], boundary: PolicyUnit | undefined): PolicySet {
    return new PolicySet(units, boundary, this.context, this.shapes);
  }

  /** Names of the policies whose Allow grants the probe on some part of its resource left after Denies and the boundary. */
  granting(probe: Probe): string[] {
    // Most units never apply to most probe actions: that test is cached per policy set and action.
    if (!this.shape.applies(probe.action)) return [];
    const key = probeKey(probe);
    if (this.shape.dependentFor(probe.action)) return this.grantingOf(probe, key);
    let cached = this.shape.granting.get(key);
    if (cached === undefined) {
      cached = this.grantingOf(probe, key);
      this.shape.granting.set(key, cached);
    }
    return [...cached];
  }

  private grantingOf(probe: Probe, key: string): string[] {
    const answers: { unit: PolicyUnit; answer: UnitAnswer }[] = [];
    let anyAllow = false;
    for (const unit of this.units) {
      const answer = unit.answer(probe, key, this.context);
      if (answer === EMPTY) continue;
      if (answer.allows.length > 0) anyAllow = true;
      answers.push({ unit, answer });
    }
    if (!anyAllow) return [];
    const boundary = this.boundary?.answer(probe, key, this.context);
    if (boundary !== undefined && boundary.allows.length === 0) return [];
    const denyParts = answers.flatMap((a) => a.answer.denies).concat(boundary?.denies ?? []);
    const sources: string[] = [];
    for (const { unit, answer } of answers) {
      const granted = answer.allows.some((candidate) =>
        effectiveParts(candidate, boundary?.allows).some((part) => !denies(denyParts, part)),
      );
      if (granted) sources.push(unit.source);
    }
    return sources;
  }

  /** An applicable Deny takes away every resource of the probe. */
  deniedEverywhere(probe: Probe): boolean {
    if (this.boundary === undefined && !this.shape.applies(probe.action)) return false;
    const key = probeKey(probe);
    if (this.shape.dependentFor(probe.action)) return this.deniedOf(probe, key);
    let cached = this.shape.denied.get(key);
    if (cached === undefined) {
      cached = this.deniedOf(probe, key);
      this.shape.denied.set(key, cached);
    }
    return cached;
  }

  private deniedOf(probe: Probe, key: string): boolean {
    const parts = this.units.flatMap((u) => u.answer(probe, key, this.context).denies);
    if (this.boundary) parts.push(...this.boundary.answer(probe, key, this.context).denies);
    return denies(parts, probe.resource);
  }

  /** Names of the identity policies with an Allow of `*` on `*`. */
  fullAccessGrants(): string[] {
    return this.units.filter((u) => u.grantsEverything(this.context)).map((u) => u.source);
  }

  boundaryAllowsEverything(): boolean {
    return this.boundary === undefined || this.boundary.grantsEverything(this.context);
  }
}

/**
 * The parts of `candidate` (what an identity Allow grants) that the boundary also allows: the narrower
 * pattern where one covers the other, else `candidate` (a sound over-approximation of the intersection,
 * so a Deny must cover more than needed: it can only keep a privilege, never drop a real one).
 */
function effectiveParts(candidate: string, boundaryAllows: readonly string[] | undefined): readonly string[] {
  if (boundaryAllows === undefined) return [candidate];
  const out: string[] = [];
  for (const b of boundaryAllows) {
    if (!resourcesOverlap(b, candidate)) continue;
    if (resourceCovers(b, candidate)) out.push(candidate);
    else if (resourceCovers(candidate, b)) out.push(b);
    else out.push(candidate);
  }
  return out;
}
