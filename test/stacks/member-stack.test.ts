import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE, MEMBER_AGENT_FUNCTION_NAME } from '../../core/names';
import { bundleMemberAgent } from '../../member-agent/bundle';
import { MemberAgentEnvSchema } from '../../member-agent/env';
import { MemberStackSet } from '../../stacks/constructs/member-stackset';
import {
  actionsOf,
  leastPrivilegeProblems,
  readTemplates,
  resource,
  resourcesOfType,
  roleStatements,
  type CfnTemplate,
} from './helpers';

// The member template on its own: a parent stack holding only the StackSet, synthesized once.
jest.setTimeout(300_000);

const CENTRAL_BUS = 'arn:aws:events:us-east-1:111111111111:event-bus/credreport-central';
let app: App;
let members: MemberStackSet;
let json: CfnTemplate;
let template: ReturnType<typeof readTemplates>['memberTemplate'];
let templatePath: string;
let agentCode: string;
let outdir: string;

beforeAll(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'credreport-member-'));
  app = new App({ outdir });
  const parent = new Stack(app, 'Parent', { env: { region: 'us-east-1' } });
  members = new MemberStackSet(parent, 'Members', {
    centralBusArn: CENTRAL_BUS,
    agentSchedule: 'rate(12 hours)',
    organizationalUnitIds: ['r-ab12'],
    region: 'us-east-1',
    delegatedAdmin: false,
    retainStacksOnAccountRemoval: false,
    maxConcurrentPercentage: 50,
    failureTolerancePercentage: 10,
    maxEntryBytes: 250_000,
    collectBudgetSeconds: 600,
    logRetention: logs.RetentionDays.THREE_MONTHS,
  });
  app.synth();
  const read = readTemplates(outdir, undefined, members.memberStack);
  json = read.memberJson;
  template = read.memberTemplate;
  templatePath = read.memberTemplatePath;
  agentCode = bundleMemberAgent().code;
});
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const id = (type: string, prefix: string) => resource(json, type, prefix)[0];

describe('MemberStack', () => {
  it('is environment-agnostic: the hub bus ARN and the schedule arrive as parameters', () => {
    expect(Object.keys(json.Parameters ?? {}).sort()).toEqual(['AgentSchedule', 'CentralBusArn']);
    expect(json.Parameters?.CentralBusArn).toMatchObject({ Type: 'String' });
    expect(new RegExp(json.Parameters?.CentralBusArn?.AllowedPattern as string).test(CENTRAL_BUS)).toBe(true);
    expect(json.Parameters?.AgentSchedule).toMatchObject({ Type: 'String', Default: 'rate(12 hours)' });
    expect(JSON.stringify(json)).not.toContain('111111111111');
  });

  it('carries the agent code inline (no asset, no bucket) and it exports the handler', () => {
    const [, fn] = resource(json, 'AWS::Lambda::Function', 'AgentFunction');
    expect(fn.Properties?.Code).toEqual({ ZipFile: agentCode });
    expect(fn.Properties?.Handler).toBe('index.handler');
    const module = { exports: {} as Record<string, unknown> };
    // Evaluate the bundle the way the Lambda runtime loads index.js (CommonJS), with the repo's modules.
    new Function('module', 'exports', 'require', agentCode)(
      module,
      module.exports,
      createRequire(path.join(__dirname, '..', '..', 'package.json')),
    );
    expect(typeof module.exports.handler).toBe('function');
  });

  it('stays under the 1 MB CloudFormation limit for a template read from S3', () => {
    expect(fs.statSync(templatePath).size).toBeLessThan(1_000_000);
  });

  it('runs the agent on Node.js 22, ARM64, 15 minutes, 1024 MB, JSON logs kept 90 days', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: MEMBER_AGENT_FUNCTION_NAME,
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 900,
      MemorySize: 1024,
      LoggingConfig: Match.objectLike({
        LogFormat: 'JSON',
        LogGroup: ref(id('AWS::Logs::LogGroup', 'AgentLogs')),
      }),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: `/aws/lambda/${MEMBER_AGENT_FUNCTION_NAME}`,
      RetentionInDays: 90,
    });
  });

  it('sets every variable the agent parses, and they parse', () => {
    const [, fn] = resource(json, 'AWS::Lambda::Function', 'AgentFunction');
    const env = (fn.Properties?.Environment as { Variables: Record<string, string> }).Variables;
    for (const key of Object.keys(MemberAgentEnvSchema.shape)) expect(env).toHaveProperty(key);
    expect(MemberAgentEnvSchema.parse(env)).toEqual({
      EVENT_BUS_NAME: 'default',
      MAX_ENTRY_BYTES: 250_000,
      COLLECT_BUDGET_SECONDS: 600,
    });
  });

  it('lets the agent read the IAM report and put events on this account default bus only', () => {
    const statements = roleStatements(json, id('AWS::IAM::Role', 'AgentRole'));
    expect(actionsOf(statements)).toEqual([
      'events:PutEvents',
      'iam:GenerateCredentialReport',
      'iam:GetAccessKeyLastUsed',
      'iam:GetAccountAuthorizationDetails',
      'iam:GetCredentialReport',
      'iam:ListAccessKeys',
      'iam:ListUsers',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    expect(statements.find((s) => s.Action === 'events:PutEvents')?.Resource).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':events:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':event-bus/default',
        ],
      ],
    });
  });

  it('grants no wildcard action and "*" only where IAM requires it', async () => {
    for (const [roleId] of resourcesOfType(json, 'AWS::IAM::Role')) {
      expect(await leastPrivilegeProblems(roleStatements(json, roleId))).toEqual([]);
      expect(json.Resources[roleId]?.Properties?.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('runs the agent on the AgentSchedule parameter', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: ref('AgentSchedule'),
      Targets: [Match.objectLike({ Arn: arnOf(id('AWS::Lambda::Function', 'AgentFunction')) })],
    });
  });

  it('forwards the agent events from the default bus to the central bus parameter with a role allowed only that', () => {
    const forwardingRole = id('AWS::IAM::Role', 'AgentForwardingRole');
    const [, rule] = resource(json, 'AWS::Events::Rule', 'AgentForward');
    expect(rule.Properties).toMatchObject({
      EventPattern: { source: [EVENT_SOURCE], 'detail-type': [EVENT_DETAIL_TYPE] },
      Targets: [{ Arn: ref('CentralBusArn'), RoleArn: arnOf(forwardingRole), Id: 'Target0' }],
    });
    expect(rule.Properties?.EventBusName).toBeUndefined(); // the account's default bus
    expect(roleStatements(json, forwardingRole)).toEqual([
      { Effect: 'Allow', Action: 'events:PutEvents', Resource: ref('CentralBusArn') },
    ]);
    expect(json.Resources[forwardingRole]?.Properties?.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { Service: 'events.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ],
    });
  });

  it('runs the agent once on creation through a custom resource, after the forwarding path exists', () => {
    const [, firstRun] = resource(json, 'Custom::CredreportFirstRun', 'AgentFirstRun');
    expect(firstRun.Properties).toEqual({
      ServiceToken: arnOf(id('AWS::Lambda::Function', 'AgentFunction')),
      ServiceTimeout: '300',
    });
    expect(firstRun.DependsOn).toEqual(
      expect.arrayContaining([
        id('AWS::Events::Rule', 'AgentForward'),
        id('AWS::IAM::Policy', 'AgentForwardingRoleDefaultPolicy'),
        id('AWS::IAM::Policy', 'AgentRoleDefaultPolicy'),
      ]),
    );
  });

  it('holds nothing else: one function, two rules, two roles, one log group, the custom resource', () => {
    const types = Object.values(json.Resources)
      .map((r) => r.Type)
      .filter((t) => t !== 'AWS::CDK::Metadata')
      .sort();
    expect(types).toEqual(
      [
        'AWS::Events::Rule',
        'AWS::Events::Rule',
        'AWS::IAM::Policy',
        'AWS::IAM::Policy',
        'AWS::IAM::Role',
        'AWS::IAM::Role',
        'AWS::Lambda::EventInvokeConfig',
        'AWS::Lambda::Function',
        'AWS::Lambda::Permission',
        'AWS::Logs::LogGroup',
        'Custom::CredreportFirstRun',
      ].sort(),
    );
  });

  it('has no unacknowledged cdk-nag AwsSolutions finding', () => {
    const report = new AwsSolutionsChecks().validateScope(members.memberStack);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });
});
