import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { CfnResource, CfnTemplate } from './helpers';

/**
 * Every permission a synthesized template grants, in a form a person can read and a test can compare:
 * one entry per role (trust policy, managed policy attachments and every policy attached to it) and per
 * resource policy, keyed by logical id without CDK's hash (`DigestRole`), with every reference rendered
 * as text (`${Reports.Arn}/incoming/*`, `arn:${AWS::Partition}:iam::*:role/…`). Used by
 * test/stacks/iam-exact.test.ts and scripts/print-iam.ts (docs/ARCHITECTURE.md §9, §11).
 */
export type PermissionInventory = Record<string, PermissionEntry>;

/** One role or resource policy. `type` is the CloudFormation type; the other keys depend on it. */
export interface PermissionEntry {
  readonly type: string;
  readonly [key: string]: unknown;
}

/** A statement as the expected list writes it: Action/Resource always arrays, references as text. */
export interface RenderedStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: unknown;
  readonly NotPrincipal?: unknown;
  readonly Action?: readonly string[];
  readonly NotAction?: readonly string[];
  readonly Resource?: readonly string[];
  readonly NotResource?: readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** Thrown for a resource type the inventory has not been told about (so a new kind of grant is never missed). */
export class UnclassifiedResourceError extends Error {}

/**
 * Resource types that grant nothing by themselves (a role they name is inventoried as a role). A type in
 * neither this list nor POLICY_TYPES makes the inventory throw, so a new kind of resource — say an
 * AWS::SecretsManager::ResourcePolicy or an ECR repository with a policy — has to be classified first.
 */
export const NO_POLICY_TYPES: readonly string[] = [
  'AWS::CloudFormation::StackSet',
  'AWS::CloudWatch::Alarm',
  'AWS::Events::Rule',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::Lambda::Function',
  'AWS::Logs::LogGroup',
  'AWS::S3::Bucket',
  'AWS::Scheduler::Schedule',
  'AWS::SNS::Subscription',
  'AWS::SNS::Topic',
  'AWS::SQS::Queue',
  'Custom::CredreportFirstRun',
];

/** Resource types that carry a policy, and what of them the inventory keeps. */
export const POLICY_TYPES: readonly string[] = [
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::IAM::User',
  'AWS::IAM::Group',
  'AWS::Events::EventBus',
  'AWS::Events::EventBusPolicy',
  'AWS::S3::BucketPolicy',
  'AWS::SQS::QueuePolicy',
  'AWS::SNS::TopicPolicy',
  'AWS::KMS::Key',
  'AWS::Lambda::Permission',
];

const PSEUDO = /^AWS::/;
// CDK appends an 8-hex-digit hash to every logical id (twice for some generated ids).
const CDK_HASH = /(?:[0-9A-F]{8})+$/;

/** Builds the inventory of `template`. Throws UnclassifiedResourceError for an unknown resource type. */
export function inventory(template: CfnTemplate): PermissionInventory {
  const names = displayNames(template);
  const render = (value: unknown): unknown => renderValue(value, names);
  const out: Record<string, PermissionEntry> = {};
  const folded = new Set<string>();

  const roleIds = new Set(
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Role')
      .map(([id]) => id),
  );
  // A policy attached to roles of this template only is shown inside each of them.
  const attachedPolicies = new Map<string, [string, readonly RenderedStatement[]][]>();
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const p = r.Properties ?? {};
    const roles = (p.Roles as unknown[] | undefined) ?? [];
    const refs = roles.map((x) => (x as { Ref?: unknown }).Ref);
    if (p.Users !== undefined || p.Groups !== undefined || roles.length === 0) continue;
    if (!refs.every((ref) => typeof ref === 'string' && roleIds.has(ref))) continue;
    folded.add(id);
    for (const ref of refs as string[]) {
      const list = attachedPolicies.get(ref) ?? [];
      list.push([name(names, id), statementsOf(p.PolicyDocument, render)]);
      attachedPolicies.set(ref, list);
    }
  }

  for (const [id, r] of Object.entries(template.Resources)) {
    if (!POLICY_TYPES.includes(r.Type)) {
      if (NO_POLICY_TYPES.includes(r.Type)) continue;
      throw new UnclassifiedResourceError(
        `${id}: resource type ${r.Type} is in neither NO_POLICY_TYPES nor POLICY_TYPES of test/stacks/iam-inventory.ts; classify it (and inventory its policy, if it has one)`,
      );
    }
    if (folded.has(id)) continue;
    const entry = entryOf(id, r, render, attachedPolicies.get(id) ?? []);
    if (entry !== undefined) out[name(names, id)] = entry;
  }
  return out;
}

function entryOf(
  id: string,
  r: CfnResource,
  render: (v: unknown) => unknown,
  attached: readonly [string, readonly RenderedStatement[]][],
): PermissionEntry | undefined {
  const p = r.Properties ?? {};
  const type = r.Type;
  switch (type) {
    case 'AWS::IAM::Role': {
      const policies: Record<string, readonly RenderedStatement[]> = {};
      for (const inline of (p.Policies as { PolicyName: unknown; PolicyDocument: unknown }[] | undefined) ??
        []) {
        policies[`inline:${String(render(inline.PolicyName))}`] = statementsOf(inline.PolicyDocument, render);
      }
      for (const [policyName, statements] of [...attached].sort(([a], [b]) => byJson(a, b))) {
        policies[policyName] = statements;
      }
      return omitUndefined({
        type,
        RoleName: render(p.RoleName),
        Path: render(p.Path),
        PermissionsBoundary: render(p.PermissionsBoundary),
        ManagedPolicyArns:
          p.ManagedPolicyArns !== undefined ? sorted(render(p.ManagedPolicyArns)) : undefined,
        AssumeRolePolicy: statementsOf(p.AssumeRolePolicyDocument, render),
        Policies: policies,
      });
    }
    case 'AWS::IAM::User':
    case 'AWS::IAM::Group':
      // Neither exists today; shown whole so that adding one is a visible change.
      return { type, ...(render(p) as object) };
    case 'AWS::IAM::Policy':
    case 'AWS::IAM::ManagedPolicy': {
      const { PolicyDocument, ...rest } = p;
      return { type, ...(render(rest) as object), Statement: statementsOf(PolicyDocument, render) };
    }
    case 'AWS::Events::EventBus':
      return p.Policy === undefined ? undefined : { type, Statement: statementsOf(p.Policy, render) };
    case 'AWS::Events::EventBusPolicy': {
      const { Statement, ...rest } = p;
      if (Statement === undefined) return { type, ...(render(p) as object) };
      return { type, ...(render(rest) as object), Statement: statementsOf({ Statement }, render) };
    }
    case 'AWS::S3::BucketPolicy':
    case 'AWS::SQS::QueuePolicy':
    case 'AWS::SNS::TopicPolicy': {
      const { PolicyDocument, ...rest } = p;
      return { type, ...(render(rest) as object), Statement: statementsOf(PolicyDocument, render) };
    }
    case 'AWS::KMS::Key':
      return { type, Statement: statementsOf(p.KeyPolicy, render) };
    case 'AWS::Lambda::Permission':
      return { type, ...(render(p) as object) };
    default:
      throw new UnclassifiedResourceError(`${id}: no inventory rule for ${type}`);
  }
}

function statementsOf(document: unknown, render: (v: unknown) => unknown): RenderedStatement[] {
  const raw = (document as { Statement?: unknown } | undefined)?.Statement;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return sortStatements(list.map((s) => render(s) as Record<string, unknown>));
}

/**
 * The canonical form of a rendered statement: Action/NotAction/Resource/NotResource as sorted arrays,
 * condition and principal values sorted (a one-element list written as its element), any other key kept.
 * Applied to both sides of a comparison, so the expected list may be written in any order.
 */
export function canonicalStatement(s: Readonly<Record<string, unknown>>): RenderedStatement {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(s)) {
    if (['Action', 'NotAction', 'Resource', 'NotResource'].includes(key)) out[key] = sorted(value);
    else if (key === 'Condition' || key === 'Principal' || key === 'NotPrincipal')
      out[key] = canonicalValues(value);
    else out[key] = value;
  }
  return out as unknown as RenderedStatement;
}

function canonicalValues(value: unknown): unknown {
  if (Array.isArray(value)) {
    const list = sorted(value.map(canonicalValues));
    return list.length === 1 ? list[0] : list;
  }
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canonicalValues(v)]));
}

/**
 * `inv` with every statement canonical and every statement list in one order: applied to the expected
 * list before comparing, so it may be written in any order and with single values unwrapped.
 */
export function canonicalInventory(inv: Readonly<Record<string, PermissionEntry>>): PermissionInventory {
  const entries = Object.entries(inv).map(([key, entry]) => {
    const out: Record<string, unknown> = { ...entry };
    for (const field of ['Statement', 'AssumeRolePolicy']) {
      if (Array.isArray(out[field])) out[field] = sortStatements(out[field] as Record<string, unknown>[]);
    }
    if (typeof out.Policies === 'object' && out.Policies !== null) {
      out.Policies = Object.fromEntries(
        Object.entries(out.Policies as Record<string, Record<string, unknown>[]>).map(([k, v]) => [
          k,
          sortStatements(v),
        ]),
      );
    }
    return [key, out as PermissionEntry] as const;
  });
  return Object.fromEntries(entries);
}

function sortStatements(list: readonly Readonly<Record<string, unknown>>[]): RenderedStatement[] {
  return list.map(canonicalStatement).sort((a, b) => byJson(a, b));
}

function sorted(value: unknown): unknown[] {
  const list = Array.isArray(value) ? [...(value as unknown[])] : [value];
  return list.sort(byJson);
}

/** Code-point order of the stable JSON texts: independent of key order, the same in every locale. */
function byJson(a: unknown, b: unknown): number {
  const x = stableJson(a);
  const y = stableJson(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** JSON with every object's keys sorted, so equal values have equal texts. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function omitUndefined(o: Record<string, unknown>): PermissionEntry {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as PermissionEntry;
}

/** Logical id → the name shown: without CDK's hash, unless two ids would then collide. */
function displayNames(template: CfnTemplate): Map<string, string> {
  const ids = [...Object.keys(template.Resources), ...Object.keys(template.Parameters ?? {})];
  const short = (id: string) => id.replace(CDK_HASH, '') || id;
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(short(id), (counts.get(short(id)) ?? 0) + 1);
  return new Map(ids.map((id) => [id, counts.get(short(id)) === 1 ? short(id) : id]));
}

function name(names: Map<string, string>, id: string): string {
  return names.get(id) ?? id;
}

/** Renders CloudFormation intrinsics as text: `${Name}`, `${Name.Attr}`, joins concatenated. */
function renderValue(value: unknown, names: Map<string, string>): unknown {
  const render = (v: unknown): unknown => renderValue(v, names);
  if (Array.isArray(value)) return value.map(render);
  if (typeof value !== 'object' || value === null) return value;
  const v = value as Record<string, unknown>;
  const keys = Object.keys(v);
  if (keys.length === 1 && typeof v.Ref === 'string') {
    return PSEUDO.test(v.Ref) ? `\${${v.Ref}}` : `\${${name(names, v.Ref)}}`;
  }
  if (keys.length === 1 && Array.isArray(v['Fn::GetAtt'])) {
    const [id, attribute] = v['Fn::GetAtt'] as [string, string];
    return `\${${name(names, id)}.${attribute}}`;
  }
  if (keys.length === 1 && Array.isArray(v['Fn::Join'])) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    const rendered = parts.map(render);
    if (rendered.every((p) => typeof p === 'string')) return rendered.join(separator);
    return { 'Fn::Join': [separator, rendered] };
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, render(x)]));
}

/** One acknowledged cdk-nag finding (or other validation rule), where it was given and why. */
export interface AcknowledgementRecord {
  /** Construct path it was given on; it covers that construct and everything under it. */
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/** Every acknowledgement recorded in the construct tree under `root`, in path order. */
export function acknowledgements(root: IConstruct): AcknowledgementRecord[] {
  const out: AcknowledgementRecord[] = [];
  for (const c of root.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.push({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return out.sort((a, b) => byJson([a.path, a.id], [b.path, b.id]));
}
