import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MEMBER_AGENT_FUNCTION_NAME, MEMBER_AGENT_ROLE_NAME } from '../../core/names';
import { bundleMemberAgent } from '../../stacks/build/agent-bundle';
import { MemberAgentEnvSchema } from '../../member-agent/env';
import { MemberStackSet } from '../../stacks/constructs/member-stackset';
import {
  accessMismatches,
  actionsOf,
  leastPrivilegeProblems,
  readTemplates,
  resolveCfn,
  resource,
  resourcesOfType,
  roleStatements,
  type AccessCase,
  type CfnResource,
  type CfnTemplate,
  type Statement,
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
    const env = (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    for (const key of Object.keys(MemberAgentEnvSchema.shape)) expect(env).toHaveProperty(key);
    expect(env.EVENT_BUS_NAME).toEqual(ref('CentralBusArn'));
    const deployed = resolveCfn(json, env, {
      account: '222222222222',
      region: 'us-east-1',
      parameters: { CentralBusArn: CENTRAL_BUS },
    });
    expect(MemberAgentEnvSchema.parse(deployed)).toEqual({
      EVENT_BUS_NAME: CENTRAL_BUS,
      MAX_ENTRY_BYTES: 250_000,
      COLLECT_BUDGET_SECONDS: 600,
      // Staged deactivation off (the shipped config): no bucket, nothing acted on.
      DEACTIVATION_MODE: 'off',
      REPORT_BUCKET: '',
      PLAN_MAX_AGE_HOURS: 26,
      // The default start window, 4 minutes: with the 600 s budget and a minute to publish, 900 s.
      START_WINDOW_SECONDS: 240,
      // The deployed bundle's label, sent with a failure report.
      AGENT_VERSION: createHash('sha256').update(agentCode).digest('hex').slice(0, 12),
      SECURITY_HUB: 'false',
      ROTATION_DAYS: 90,
      UNUSED_DAYS: 45,
      GRACE_DAYS: 7,
      ROOT_USE_DAYS: 30,
    });
  });

  it('lets the agent read the IAM report and put events on the central bus parameter only, with its fixed role name', () => {
    expect(json.Resources[id('AWS::IAM::Role', 'AgentRole')]?.Properties?.RoleName).toBe(
      MEMBER_AGENT_ROLE_NAME,
    );
    const statements = roleStatements(json, id('AWS::IAM::Role', 'AgentRole'));
    expect(actionsOf(statements)).toEqual([
      'events:PutEvents',
      'iam:GenerateCredentialReport',
      'iam:GetAccessKeyLastUsed',
      'iam:GetAccountAuthorizationDetails',
      'iam:GetAccountPasswordPolicy',
      'iam:GetAccountSummary',
      'iam:GetCredentialReport',
      'iam:ListAccessKeys',
      'iam:ListUsers',
      'iam:ListVirtualMFADevices',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      // The on-failure destination: its own queue only.
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
    ]);
    expect(statements.find((s) => s.Action === 'events:PutEvents')?.Resource).toEqual(ref('CentralBusArn'));
    const queue = id('AWS::SQS::Queue', 'AgentFailedRuns');
    for (const s of statements.filter((s) => actionsOf([s]).some((a) => a.startsWith('sqs:'))))
      expect(s.Resource).toEqual(arnOf(queue));
  });

  it('lets the agent do its job and nothing near it (simulated, as deployed)', async () => {
    const member = '222222222222';
    const deployed = (roleId: string) =>
      resolveCfn(json, roleStatements(json, id('AWS::IAM::Role', roleId)), {
        account: member,
        region: 'us-east-1',
        parameters: { CentralBusArn: CENTRAL_BUS },
      }) as Statement[];
    const own = (resource: string) => `arn:aws:${resource.replace('ACCOUNT', member)}`;
    const agentCases: AccessCase[] = [
      { action: 'iam:GenerateCredentialReport', resource: '*', allowed: true },
      { action: 'iam:GetCredentialReport', resource: '*', allowed: true },
      { action: 'iam:ListUsers', resource: '*', allowed: true },
      { action: 'iam:GetAccountAuthorizationDetails', resource: '*', allowed: true },
      { action: 'iam:GetAccountSummary', resource: '*', allowed: true },
      { action: 'iam:GetAccountPasswordPolicy', resource: '*', allowed: true },
      { action: 'iam:ListVirtualMFADevices', resource: '*', allowed: true },
      { action: 'iam:ListAccessKeys', resource: own('iam::ACCOUNT:user/alice'), allowed: true },
      { action: 'iam:GetAccessKeyLastUsed', resource: own('iam::ACCOUNT:user/team/bob'), allowed: true },
      // No bus but the hub's central bus (below), nothing that writes IAM.
      {
        action: 'events:PutEvents',
        resource: own('events:us-east-1:ACCOUNT:event-bus/default'),
        allowed: false,
      },
      {
        action: 'events:PutEvents',
        resource: 'arn:aws:events:us-east-1:111111111111:event-bus/default',
        resourceAccount: '111111111111',
        allowed: false,
      },
      {
        action: 'events:PutEvents',
        resource: own('events:us-east-1:ACCOUNT:event-bus/other'),
        allowed: false,
      },
      {
        action: 'iam:ListAccessKeys',
        resource: 'arn:aws:iam::333333333333:user/alice',
        resourceAccount: '333333333333',
        allowed: false,
      },
      { action: 'iam:CreateAccessKey', resource: own('iam::ACCOUNT:user/alice'), allowed: false },
      { action: 'iam:UpdateAccessKey', resource: own('iam::ACCOUNT:user/alice'), allowed: false },
    ];
    // Cross-account: the bus policy's side is covered by the hub tests; here the role's own policy must allow.
    const openBusPolicy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'events:PutEvents', Resource: '*' }],
    };
    const principal = own(`iam::ACCOUNT:role/${MEMBER_AGENT_ROLE_NAME}`);
    expect(
      await accessMismatches(deployed('AgentRole'), agentCases, { principal, principalAccount: member }),
    ).toEqual([]);
    // Straight to the hub's central bus: allowed by the role's own policy (the bus side: hub tests).
    const toHub: AccessCase = {
      action: 'events:PutEvents',
      resource: CENTRAL_BUS,
      resourceAccount: '111111111111',
      allowed: true,
    };
    expect(
      await accessMismatches(deployed('AgentRole'), [toHub], {
        principal,
        principalAccount: member,
        resourcePolicy: openBusPolicy,
      }),
    ).toEqual([]);
    expect(
      await accessMismatches([], [{ ...toHub, allowed: false }], {
        principal,
        principalAccount: member,
        resourcePolicy: openBusPolicy,
      }),
    ).toEqual([]);
  });

  it('grants no wildcard action and "*" only where IAM requires it', async () => {
    for (const [roleId] of resourcesOfType(json, 'AWS::IAM::Role')) {
      expect(await leastPrivilegeProblems(roleStatements(json, roleId))).toEqual([]);
      expect(json.Resources[roleId]?.Properties?.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('runs the agent on the AgentSchedule parameter, which alone may invoke it through EventBridge', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: ref('AgentSchedule'),
      Targets: [Match.objectLike({ Arn: arnOf(id('AWS::Lambda::Function', 'AgentFunction')) })],
    });
    expect(resourcesOfType(json, 'AWS::Lambda::Permission').map(([, p]) => p.Properties)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: arnOf(id('AWS::Lambda::Function', 'AgentFunction')),
        Principal: 'events.amazonaws.com',
        SourceArn: arnOf(id('AWS::Events::Rule', 'AgentSchedule')),
      },
    ]);
  });

  it('deploys no forwarding rule: nothing another principal puts on the default bus reaches the hub', () => {
    expect(resourcesOfType(json, 'AWS::Events::Rule').map(([, r]) => r.Properties?.EventPattern)).toEqual([
      undefined,
    ]);
    expect(resourcesOfType(json, 'AWS::IAM::Role').map(([rid]) => rid)).toEqual([
      id('AWS::IAM::Role', 'AgentRole'),
    ]);
  });

  it('runs the agent once on creation through a custom resource, after its permissions exist', () => {
    const [, firstRun] = resource(json, 'Custom::CredreportFirstRun', 'AgentFirstRun');
    expect(firstRun.Properties).toEqual({
      ServiceToken: arnOf(id('AWS::Lambda::Function', 'AgentFunction')),
      ServiceTimeout: '300',
    });
    // Every policy of the role, including the one-statement policies of the wildcard grants.
    expect(firstRun.DependsOn).toEqual(
      expect.arrayContaining([
        id('AWS::IAM::Policy', 'AgentRoleDefaultPolicy'),
        id('AWS::IAM::Policy', 'AgentRoleCollectAccountCredentialReport'),
        id('AWS::IAM::Policy', 'AgentRoleReadAccessKeyMetadata'),
      ]),
    );
  });

  describe('first-run custom resource, answered by the inline agent code itself', () => {
    // CloudFormation invokes the ServiceToken (the agent) with this resource's properties and waits for a
    // PUT to ResponseURL. Run the template's exact ZipFile against such events, with a local server
    // standing in for both the pre-signed response URL and IAM.
    let server: http.Server;
    let base: string;
    const responses: Record<string, unknown>[] = [];
    const iamActions: string[] = [];
    let handler: (event: unknown, context: unknown) => Promise<unknown>;
    const saved = { ...process.env };

    beforeAll(async () => {
      server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        req.on('end', () => {
          if (req.method === 'PUT' && req.url?.startsWith('/cfn-response')) {
            responses.push(JSON.parse(body) as Record<string, unknown>);
            res.writeHead(200).end();
            return;
          }
          // Any IAM call: refused, so the collection after the answer fails fast and visibly.
          iamActions.push(new URLSearchParams(body).get('Action') ?? '?');
          res
            .writeHead(403, { 'content-type': 'text/xml' })
            .end(
              '<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>denied</Message></Error><RequestId>r</RequestId></ErrorResponse>',
            );
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      Object.assign(process.env, {
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE00',
        AWS_SECRET_ACCESS_KEY: 'example',
        AWS_ENDPOINT_URL_IAM: base,
        AWS_ENDPOINT_URL_EVENTBRIDGE: base,
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        ...(resolveCfn(
          json,
          (
            resource(json, 'AWS::Lambda::Function', 'AgentFunction')[1].Properties?.Environment as {
              Variables: Record<string, unknown>;
            }
          ).Variables,
          { account: '222222222222', region: 'us-east-1', parameters: { CentralBusArn: CENTRAL_BUS } },
        ) as Record<string, string>),
      });
      const module = { exports: {} as Record<string, unknown> };
      new Function('module', 'exports', 'require', agentCode)(
        module,
        module.exports,
        createRequire(path.join(__dirname, '..', '..', 'package.json')),
      );
      handler = module.exports.handler as typeof handler;
    });
    afterAll(async () => {
      process.env = saved;
      await new Promise((resolve) => server.close(resolve));
    });
    beforeEach(() => {
      responses.length = 0;
      iamActions.length = 0;
    });

    const context = {
      invokedFunctionArn: `arn:aws:lambda:us-east-1:222222222222:function:${MEMBER_AGENT_FUNCTION_NAME}`,
      functionName: MEMBER_AGENT_FUNCTION_NAME,
      awsRequestId: 'invocation-1',
      getRemainingTimeInMillis: () => 900_000,
    };
    const event = (requestType: 'Create' | 'Update' | 'Delete') => {
      const [logicalId, firstRun] = resource(json, 'Custom::CredreportFirstRun', 'AgentFirstRun');
      const properties = resolveCfn(json, firstRun.Properties, {
        account: '222222222222',
        region: 'us-east-1',
      }) as Record<string, unknown>;
      return {
        RequestType: requestType,
        ServiceToken: properties.ServiceToken,
        ResponseURL: `${base}/cfn-response?X-Amz-Signature=abc`,
        StackId:
          'arn:aws:cloudformation:us-east-1:222222222222:stack/StackSet-credreport-member-agent-1/guid',
        RequestId: `request-${requestType}`,
        LogicalResourceId: logicalId,
        ResourceType: firstRun.Type,
        ResourceProperties: properties,
        ...(requestType === 'Create' ? {} : { PhysicalResourceId: 'credreport-member-agent-initial-report' }),
        ...(requestType === 'Update' ? { OldResourceProperties: properties } : {}),
      };
    };

    it('answers Create with SUCCESS before collecting, so a failed collection never fails the stack', async () => {
      await expect(handler(event('Create'), context)).rejects.toThrow();
      expect(responses).toEqual([
        expect.objectContaining({
          Status: 'SUCCESS',
          PhysicalResourceId: 'credreport-member-agent-initial-report',
          RequestId: 'request-Create',
          LogicalResourceId: resource(json, 'Custom::CredreportFirstRun', 'AgentFirstRun')[0],
          StackId: expect.stringContaining('StackSet-credreport-member-agent'),
        }),
      ]);
      // The collection did start after the answer (and failed on the refused IAM call).
      expect(iamActions.length).toBeGreaterThan(0);
    });

    it('answers Delete with SUCCESS, keeping the physical id, and collects nothing', async () => {
      await expect(handler(event('Delete'), context)).resolves.toMatchObject({ parts: 0 });
      expect(responses).toEqual([
        expect.objectContaining({
          Status: 'SUCCESS',
          PhysicalResourceId: 'credreport-member-agent-initial-report',
        }),
      ]);
      expect(iamActions).toEqual([]);
    });

    it('keeps its properties constant across deployments, so it is never updated (one run per stack)', () => {
      const [, firstRun] = resource(json, 'Custom::CredreportFirstRun', 'AgentFirstRun');
      // Only the function ARN (a fixed name) and a literal timeout: nothing that changes with the code.
      expect(Object.keys(firstRun.Properties ?? {}).sort()).toEqual(['ServiceTimeout', 'ServiceToken']);
      expect(
        resolveCfn(json, firstRun.Properties?.ServiceToken, { account: '222222222222', region: 'us-east-1' }),
      ).toBe(`arn:aws:lambda:us-east-1:222222222222:function:${MEMBER_AGENT_FUNCTION_NAME}`);
    });
  });

  describe('lost runs', () => {
    it('sends a run that failed after Lambda retries to the failed-runs queue (on-failure destination)', () => {
      const queue = id('AWS::SQS::Queue', 'AgentFailedRuns');
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: ref(id('AWS::Lambda::Function', 'AgentFunction')),
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 21_600,
        DestinationConfig: { OnFailure: { Destination: arnOf(queue) } },
      });
    });

    it('gives the schedule target retries and the same queue as its dead-letter queue', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: ref('AgentSchedule'),
        Targets: [
          Match.objectLike({
            DeadLetterConfig: { Arn: arnOf(id('AWS::SQS::Queue', 'AgentFailedRuns')) },
            RetryPolicy: { MaximumEventAgeInSeconds: 7_200, MaximumRetryAttempts: 2 },
          }),
        ],
      });
    });

    it('keeps the queue encrypted and TLS-only, and lets only this schedule rule send to it', () => {
      const queue = id('AWS::SQS::Queue', 'AgentFailedRuns');
      template.hasResourceProperties('AWS::SQS::Queue', {
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 1_209_600,
      });
      const [, policy] = resourcesOfType(json, 'AWS::SQS::QueuePolicy')[0] as [string, CfnResource];
      const statements = (policy.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] })
        .Statement;
      expect(statements).toEqual([
        expect.objectContaining({
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
        {
          Sid: expect.any(String),
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: arnOf(queue),
          Condition: { ArnEquals: { 'aws:SourceArn': arnOf(id('AWS::Events::Rule', 'AgentSchedule')) } },
        },
      ]);
    });

    it('alarms in the member account as soon as a lost run is in the queue', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `${MEMBER_AGENT_FUNCTION_NAME}-failed-runs`,
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [id('AWS::SQS::Queue', 'AgentFailedRuns'), 'QueueName'] },
          },
        ],
        Statistic: 'Maximum',
        Period: 300,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    });
  });

  it('holds nothing else: one function, one rule, one role with its three policies, one log group, the custom resource, the lost-runs queue and alarm', () => {
    const types = Object.values(json.Resources)
      .map((r) => r.Type)
      .filter((t) => t !== 'AWS::CDK::Metadata')
      .sort();
    expect(types).toEqual(
      [
        'AWS::Events::Rule',
        // The default policy and one per wildcard statement (iam-exact.test.ts lists their statements).
        'AWS::IAM::Policy',
        'AWS::IAM::Policy',
        'AWS::IAM::Policy',
        'AWS::IAM::Role',
        'AWS::Lambda::EventInvokeConfig',
        'AWS::Lambda::Function',
        'AWS::Lambda::Permission',
        'AWS::Logs::LogGroup',
        'AWS::SQS::Queue',
        'AWS::SQS::QueuePolicy',
        'AWS::CloudWatch::Alarm',
        'Custom::CredreportFirstRun',
      ].sort(),
    );
  });

  it('has no unacknowledged cdk-nag AwsSolutions finding', () => {
    const report = new AwsSolutionsChecks().validateScope(members.memberStack);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });
});
