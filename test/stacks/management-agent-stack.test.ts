import * as fs from 'node:fs';
import * as path from 'node:path';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  AGENT_FAILURE_DETAIL_TYPE,
  EVENT_DETAIL_TYPE,
  EVENT_SOURCE,
  MEMBER_AGENT_FUNCTION_NAME,
  MEMBER_AGENT_ROLE_NAME,
} from '../../core/names';
import { buildApp } from '../../stacks/credreport-app';
import type { ManagementAgentStack } from '../../stacks/management-agent-stack';
import {
  ACCEPTED_CFN_LINT_WARNINGS,
  SHIPPED_CONTEXT,
  accessMismatches,
  cfnLint,
  resource,
  resolveCfn,
  resourcesOfType,
  roleStatements,
  synthesize,
  templateFiles,
  type CfnTemplate,
  type Statement,
  type Synthesized,
} from './helpers';

// Delegated-admin mode with the management account collected: one synthesis of the three stacks.
jest.setTimeout(600_000);

const HUB = '111111111111';
const MANAGEMENT = '999999999999';
const REGION = 'eu-west-1';
const CENTRAL_BUS = `arn:aws:events:${REGION}:${HUB}:event-bus/credreport-central`;

let s: Synthesized;
let stack: ManagementAgentStack;
let json: CfnTemplate;
beforeAll(() => {
  s = synthesize({
    delegatedAdmin: true,
    account: HUB,
    managementAccountId: MANAGEMENT,
    deploymentRegion: REGION,
  });
  stack = s.managementAgent as ManagementAgentStack;
  json = JSON.parse(fs.readFileSync(path.join(s.assemblyDir, stack.templateFile), 'utf8')) as CfnTemplate;
});
afterAll(() => {
  if (s) fs.rmSync(s.assemblyDir, { recursive: true, force: true });
});

const deployed = (value: unknown) => resolveCfn(json, value, { account: MANAGEMENT, region: REGION });

describe('ManagementAgentStack', () => {
  it('is a stack of its own, CredreportHubManagementAgent, pinned to the management account and the region', () => {
    expect(stack.stackName).toBe('CredreportHubManagementAgent');
    expect(stack.account).toBe(MANAGEMENT);
    expect(stack.region).toBe(REGION);
    // Deployable alone: nothing of the hub stack is referenced (a cross-account stack cannot import it).
    expect(stack.dependencies).toEqual([]);
  });

  it('deploys the same agent as the members: fixed function and role names, putting events on the hub central bus only', () => {
    const [, fn] = resource(json, 'AWS::Lambda::Function', 'AgentFunction');
    expect(fn.Properties?.FunctionName).toBe(MEMBER_AGENT_FUNCTION_NAME);
    const [roleId, role] = resource(json, 'AWS::IAM::Role', 'AgentRole');
    expect(role.Properties?.RoleName).toBe(MEMBER_AGENT_ROLE_NAME);
    const env = deployed((fn.Properties?.Environment as { Variables: unknown }).Variables) as Record<
      string,
      string
    >;
    expect(env.EVENT_BUS_NAME).toBe(CENTRAL_BUS);
    const put = (deployed(roleStatements(json, roleId)) as Statement[]).filter(
      (st) => st.Action === 'events:PutEvents',
    );
    expect(put.map((st) => st.Resource)).toEqual([CENTRAL_BUS]);
  });

  it('keeps the lost-runs queue, destination and alarm of the member template', () => {
    const queue = resource(json, 'AWS::SQS::Queue', 'AgentFailedRuns')[0];
    expect(
      resourcesOfType(json, 'AWS::Lambda::EventInvokeConfig').map(
        ([, c]) => (c.Properties?.DestinationConfig as { OnFailure: unknown }).OnFailure,
      ),
    ).toEqual([{ Destination: { 'Fn::GetAtt': [queue, 'Arn'] } }]);
    expect(resourcesOfType(json, 'AWS::CloudWatch::Alarm')).toHaveLength(1);
    expect(resourcesOfType(json, 'Custom::CredreportFirstRun')).toHaveLength(1);
  });

  it('is admitted by the hub bus policy like any account of the organization (simulated)', async () => {
    const statements = resourcesOfType(s.hubJson, 'AWS::Events::EventBusPolicy').map(
      ([, p]) =>
        resolveCfn(s.hubJson, p.Properties?.Statement, { account: HUB, region: REGION }) as Statement,
    );
    const agent = `arn:aws:iam::${MANAGEMENT}:role/${MEMBER_AGENT_ROLE_NAME}`;
    const identity = (deployed(roleStatements(json, resource(json, 'AWS::IAM::Role', 'AgentRole')[0])) ??
      []) as Statement[];
    const context = (detailType: string) => ({
      'aws:PrincipalArn': agent,
      'aws:PrincipalOrgID': 'o-exampleorg1',
      'events:source': [EVENT_SOURCE],
      'events:detail-type': [detailType],
    });
    expect(
      await accessMismatches(
        identity,
        [EVENT_DETAIL_TYPE, AGENT_FAILURE_DETAIL_TYPE].map((detailType) => ({
          action: 'events:PutEvents',
          resource: CENTRAL_BUS,
          resourceAccount: HUB,
          context: context(detailType),
          allowed: true,
        })),
        {
          principal: agent,
          principalAccount: MANAGEMENT,
          resourcePolicy: { Version: '2012-10-17', Statement: statements },
        },
      ),
    ).toEqual([]);
  });

  it('makes the digest expect the management account', () => {
    const [, fn] = resource(s.hubJson, 'AWS::Lambda::Function', 'DigestFunction');
    expect((fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      MANAGEMENT_ACCOUNT_ID: MANAGEMENT,
    });
  });

  it('has no unacknowledged cdk-nag AwsSolutions finding', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(
      report.violations.map(
        (v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(',')}`,
      ),
    ).toEqual([]);
  });

  it('passes cfn-lint with the hub and member templates (no error, no unexplained warning)', () => {
    const files = templateFiles(s.assemblyDir);
    expect(files.map((f) => path.basename(f)).sort()).toEqual(
      expect.arrayContaining(['CredreportHub.template.json', 'CredreportHubManagementAgent.template.json']),
    );
    expect(files).toHaveLength(3);
    const unexplained = cfnLint(files).filter(
      (f) => f.Level === 'Error' || !(f.Rule.Id in ACCEPTED_CFN_LINT_WARNINGS) || f.Level !== 'Warning',
    );
    expect(unexplained.map((f) => `${f.Level} ${f.Rule.Id} ${f.Filename}: ${f.Message}`)).toEqual([]);
  });
});

describe('delegated-admin mode without managementAccountId', () => {
  it('adds no management stack and warns at synth that nothing collects the management account', () => {
    const built = buildApp({ context: { ...SHIPPED_CONTEXT, delegatedAdmin: true } });
    expect(built.managementAgent).toBeUndefined();
    expect(built.app.node.children.map((c) => c.node.id)).toEqual(['CredreportHub']);
    Annotations.fromStack(built.hub).hasWarning(
      '*',
      Match.stringLikeRegexp('managementAccountId is not set: nothing collects the management account'),
    );
  });
});
