import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DigestEnvSchema, IngestEnvSchema } from '../../aggregator/env';
import { METRICS_NAMESPACE } from '../../aggregator/telemetry';
import {
  AGENT_FAILURE_DETAIL_TYPE,
  CENTRAL_BUS_NAME,
  EVENT_DETAIL_TYPE,
  EVENT_SOURCE,
  FINDING_EVENT_DETAIL_TYPE,
  FINDINGS_EVENT_SOURCE,
  HUB_OUTPUTS,
  MEMBER_AGENT_ROLE_NAME,
  MEMBER_STACKSET_NAME,
} from '../../core/names';
import {
  ACCEPTED_CFN_LINT_WARNINGS,
  accessMismatches,
  actionsOf,
  cfnLint,
  DELEGATED_CONTEXT,
  leastPrivilegeProblems,
  resolveCfn,
  resource,
  resourcesOfType,
  roleStatements,
  statement,
  synthesize,
  templateFiles,
  type AccessCase,
  type CfnTemplate,
  type Statement,
  type Synthesized,
} from './helpers';

// Four configurations, each synthesized once: the shipped cdk.json (management account, whole
// organization, no digest email, alarms to an address), a delegated-admin deployment to two OUs with the
// digest mailed, one with a customer managed key on the report bucket (and a fractional staleHours), and
// one whose alarms publish to an existing topic. The last two skip bundling (their code is the same).
jest.setTimeout(600_000);

const EXISTING_TOPIC = 'arn:aws:sns:us-east-1:123456789012:security-alarms';
const EXISTING_CHAT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:security-chat';
let shipped: Synthesized;
let delegated: Synthesized;
let withKms: Synthesized;
let toTopic: Synthesized;
const all = () => [shipped, delegated, withKms, toTopic];
beforeAll(() => {
  shipped = synthesize();
  withKms = synthesize({ 'aws:cdk:bundling-stacks': [], reportBucketKms: true, staleHours: 30.5 });
  toTopic = synthesize({
    'aws:cdk:bundling-stacks': [],
    alarmEmail: undefined,
    alarmTopicArn: EXISTING_TOPIC,
    chatTopicArn: EXISTING_CHAT_TOPIC,
  });
  delegated = synthesize(DELEGATED_CONTEXT);
});
afterAll(() => {
  for (const s of all()) if (s) fs.rmSync(s.assemblyDir, { recursive: true, force: true });
});

const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const logicalId = (t: CfnTemplate, type: string, prefix: string) => resource(t, type, prefix)[0];
const roleOf = (t: CfnTemplate, functionPrefix: string) =>
  (
    resource(t, 'AWS::Lambda::Function', functionPrefix)[1].Properties?.Role as {
      'Fn::GetAtt': [string, string];
    }
  )['Fn::GetAtt'][0];

describe('HubStack', () => {
  it('is named CredreportHub by default and pins only the region (no account lookup at synth)', () => {
    expect(shipped.hub.stackName).toBe('CredreportHub');
    expect(shipped.hub.region).toBe('us-east-1');
    expect(shipped.hub.resolve(shipped.hub.account)).toEqual({ Ref: 'AWS::AccountId' });
  });

  describe('central bus', () => {
    it('admits events:PutEvents only from the member agent role in the organization, for credreport parts and agent failures only', () => {
      const t = shipped.hubJson;
      const bus = logicalId(t, 'AWS::Events::EventBus', 'CentralBus');
      shipped.hubTemplate.hasResourceProperties('AWS::Events::EventBus', { Name: CENTRAL_BUS_NAME });
      const policies = resourcesOfType(t, 'AWS::Events::EventBusPolicy');
      expect(policies.map(([, p]) => p.Properties)).toEqual(
        [
          ['MemberAgentsPutReportParts', EVENT_DETAIL_TYPE],
          ['MemberAgentsPutAgentFailures', AGENT_FAILURE_DETAIL_TYPE],
        ].map(([sid, detailType]) => ({
          EventBusName: ref(bus),
          StatementId: sid,
          Statement: {
            Sid: sid,
            Effect: 'Allow',
            Principal: { AWS: '*' },
            Action: 'events:PutEvents',
            Resource: arnOf(bus),
            Condition: {
              StringEquals: { 'aws:PrincipalOrgID': 'o-exampleorg1' },
              ArnLike: {
                'aws:PrincipalArn': {
                  'Fn::Join': [
                    '',
                    ['arn:', { Ref: 'AWS::Partition' }, `:iam::*:role/${MEMBER_AGENT_ROLE_NAME}`],
                  ],
                },
              },
              'ForAllValues:StringEquals': {
                'events:source': [EVENT_SOURCE],
                'events:detail-type': [detailType],
              },
              Null: { 'events:source': 'false', 'events:detail-type': 'false' },
            },
          },
        })),
      );
    });
  });

  describe('ingest', () => {
    it('routes only credreport parts and agent failures from the central bus to the ingest Lambda, with retries and a DLQ', () => {
      const t = shipped.hubJson;
      const fn = logicalId(t, 'AWS::Lambda::Function', 'IngestFunction');
      const dlq = logicalId(t, 'AWS::SQS::Queue', 'IngestDeliveryDlq');
      shipped.hubTemplate.hasResourceProperties('AWS::Events::Rule', {
        EventBusName: ref(logicalId(t, 'AWS::Events::EventBus', 'CentralBus')),
        EventPattern: {
          source: [EVENT_SOURCE],
          'detail-type': [EVENT_DETAIL_TYPE, AGENT_FAILURE_DETAIL_TYPE],
        },
        Targets: [
          Match.objectLike({
            Arn: arnOf(fn),
            DeadLetterConfig: { Arn: arnOf(dlq) },
            RetryPolicy: { MaximumEventAgeInSeconds: 21_600, MaximumRetryAttempts: 20 },
          }),
        ],
      });
    });

    it('may be invoked by EventBridge for that rule only', () => {
      const t = shipped.hubJson;
      const permissions = resourcesOfType(t, 'AWS::Lambda::Permission').map(([, p]) => p.Properties);
      expect(permissions).toEqual([
        {
          Action: 'lambda:InvokeFunction',
          FunctionName: arnOf(logicalId(t, 'AWS::Lambda::Function', 'IngestFunction')),
          Principal: 'events.amazonaws.com',
          SourceArn: arnOf(logicalId(t, 'AWS::Events::Rule', 'IngestPartsRule')),
        },
      ]);
    });

    it('sends invocations that failed after two retries to its own DLQ', () => {
      const t = shipped.hubJson;
      const fn = logicalId(t, 'AWS::Lambda::Function', 'IngestFunction');
      shipped.hubTemplate.hasResourceProperties('AWS::Lambda::Function', {
        Handler: 'index.handler',
        DeadLetterConfig: { TargetArn: arnOf(logicalId(t, 'AWS::SQS::Queue', 'IngestFailureDlq')) },
        Timeout: 120,
      });
      shipped.hubTemplate.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: ref(fn),
        MaximumRetryAttempts: 2,
      });
      // A flood of parts cannot take the account's whole Lambda concurrency.
      expect(t.Resources[fn]?.Properties?.ReservedConcurrentExecutions).toBe(10);
      expect(envOf(t, 'IngestFunction').MAX_OPEN_PART_SETS).toBe('8');
    });

    it('sets exactly the environment the ingest handler parses', () => {
      const env = envOf(shipped.hubJson, 'IngestFunction');
      for (const key of Object.keys(IngestEnvSchema.shape)) expect(env).toHaveProperty(key);
      expect(IngestEnvSchema.safeParse(concrete(env)).success).toBe(true);
    });

    it('may read and write objects under incoming/ and accounts/ and list only those prefixes', () => {
      const t = shipped.hubJson;
      const bucket = reportBucketId(t);
      const statements = roleStatements(t, roleOf(t, 'IngestFunction'));
      expect(actionsOf(statements)).toEqual([
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'sqs:SendMessage',
      ]);
      expect(statement(statements, 'ReadWriteParts').Resource).toEqual([
        objects(bucket, 'incoming/'),
        objects(bucket, 'accounts/'),
      ]);
      expect(statement(statements, 'ListParts')).toMatchObject({
        Resource: arnOf(bucket),
        Condition: { StringLikeIfExists: { 's3:prefix': ['incoming/*'] } },
      });
    });
  });

  describe('digest', () => {
    it('runs for up to 15 minutes with 3008 MB (the 10,000-account digest)', () => {
      shipped.hubTemplate.hasResourceProperties('AWS::Lambda::Function', {
        Timeout: 900,
        MemorySize: 3008,
        Handler: 'index.handler',
        DeadLetterConfig: { TargetArn: arnOf(logicalId(shipped.hubJson, 'AWS::SQS::Queue', 'DigestDlq')) },
      });
    });

    it('is scheduled by EventBridge Scheduler in the configured time zone, with retries and a DLQ', () => {
      const check = (s: Synthesized, expression: string, zone: string) => {
        const t = s.hubJson;
        s.hubTemplate.hasResourceProperties('AWS::Scheduler::Schedule', {
          ScheduleExpression: expression,
          ScheduleExpressionTimezone: zone,
          State: 'ENABLED',
          Target: Match.objectLike({
            Arn: arnOf(logicalId(t, 'AWS::Lambda::Function', 'DigestFunction')),
            DeadLetterConfig: { Arn: arnOf(logicalId(t, 'AWS::SQS::Queue', 'DigestDlq')) },
            RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 2 },
            Input: '{}',
          }),
        });
      };
      check(shipped, 'cron(0 7 * * ? *)', 'UTC');
      check(delegated, 'cron(30 6 ? * MON-FRI *)', 'Europe/Paris');
    });

    it('lets the schedule role invoke only the digest function', () => {
      const t = shipped.hubJson;
      const scheduleRole = logicalId(t, 'AWS::IAM::Role', 'DigestScheduleRole');
      const statements = roleStatements(t, scheduleRole);
      expect(actionsOf(statements)).toEqual(['lambda:InvokeFunction', 'sqs:SendMessage']);
      const fn = logicalId(t, 'AWS::Lambda::Function', 'DigestFunction');
      expect(statements.find((s) => s.Action === 'lambda:InvokeFunction')?.Resource).toEqual([
        arnOf(fn),
        { 'Fn::Join': ['', [arnOf(fn), ':*']] },
      ]);
    });

    it('sets every variable the digest handler parses, and they parse', () => {
      const env = envOf(shipped.hubJson, 'DigestFunction');
      for (const key of Object.keys(DigestEnvSchema.shape)) expect(env).toHaveProperty(key);
      const parsed = DigestEnvSchema.parse(concrete(env));
      expect(parsed).toMatchObject({
        ORGANIZATION_ID: 'o-exampleorg1',
        TARGET_OU_IDS: ['r-ab12'],
        DIGEST_RECIPIENTS: [],
        DIGEST_SENDER: '',
        ROTATION_DAYS: 90,
        STALE_HOURS: 26,
        CIS_VERSION: 'v5.0.0',
      });
      const other = DigestEnvSchema.parse(concrete(envOf(delegated.hubJson, 'DigestFunction')));
      expect(other).toMatchObject({
        TARGET_OU_IDS: ['ou-ab12-cd34ef56', 'ou-ab12-99887766'],
        DIGEST_RECIPIENTS: ['security@example.com', 'cloud@example.com'],
        DIGEST_SENDER: 'credreport@reports.example.com',
        TAG_KEYS: ['Owner', 'CostCenter'],
      });
    });

    it('grants exactly the S3, Organizations and IAM reads it needs, and no SES without recipients', () => {
      const t = shipped.hubJson;
      const bucket = reportBucketId(t);
      const statements = roleStatements(t, roleOf(t, 'DigestFunction'));
      expect(actionsOf(statements)).toEqual([
        'iam:GenerateCredentialReport',
        'iam:GetAccessKeyLastUsed',
        'iam:GetAccountAuthorizationDetails',
        'iam:GetAccountPasswordPolicy',
        'iam:GetAccountSummary',
        'iam:GetCredentialReport',
        'iam:ListAccessKeys',
        'iam:ListOrganizationsFeatures',
        'iam:ListUsers',
        'iam:ListVirtualMFADevices',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'organizations:DescribeOrganization',
        'organizations:DescribePolicy',
        'organizations:ListAWSServiceAccessForOrganization',
        'organizations:ListAccounts',
        'organizations:ListAccountsForParent',
        'organizations:ListOrganizationalUnitsForParent',
        'organizations:ListParents',
        'organizations:ListPoliciesForTarget',
        'organizations:ListRoots',
        'organizations:ListTagsForResource',
        's3:AbortMultipartUpload',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'sqs:SendMessage',
      ]);
      expect(statement(statements, 'ReadReports').Resource).toEqual(
        ['accounts/', 'org/', 'latest/'].map((p) => objects(bucket, p)),
      );
      expect(statement(statements, 'WriteOutputs').Resource).toEqual(
        ['latest/', 'runs/', 'org/'].map((p) => objects(bucket, p)),
      );
      expect(statement(statements, 'ListReports').Condition).toEqual({
        StringLikeIfExists: { 's3:prefix': ['accounts/*', 'incoming/*'] },
      });
      expect(statement(statements, 'ReadRootAccessManagement')).toMatchObject({
        Action: ['iam:ListOrganizationsFeatures', 'organizations:ListAWSServiceAccessForOrganization'],
        Resource: '*',
      });
      const orgScoped = (kind: string) => ({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:organizations::*:${kind}/o-exampleorg1/*`]],
      });
      expect(statement(statements, 'ReadOrganizationTree').Resource).toEqual([
        orgScoped('root'),
        orgScoped('ou'),
      ]);
      expect(statement(statements, 'ReadAccountParentsAndTags').Resource).toEqual(orgScoped('account'));
      expect(statement(statements, 'ReadControlPolicyAttachments')).toMatchObject({
        Action: 'organizations:ListPoliciesForTarget',
        Resource: [orgScoped('root'), orgScoped('ou'), orgScoped('account')],
        Condition: {
          StringEquals: { 'organizations:PolicyType': ['SERVICE_CONTROL_POLICY', 'RESOURCE_CONTROL_POLICY'] },
        },
      });
      const policyArn = (account: string, name: string) => ({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:organizations::${account}:policy/${name}`]],
      });
      expect(statement(statements, 'ReadControlPolicies')).toMatchObject({
        Action: 'organizations:DescribePolicy',
        Resource: [
          policyArn('*', 'o-exampleorg1/service_control_policy/*'),
          policyArn('aws', 'service_control_policy/*'),
          policyArn('*', 'o-exampleorg1/resource_control_policy/*'),
          policyArn('aws', 'resource_control_policy/*'),
        ],
      });
      expect(statement(statements, 'ReadAccessKeyMetadata').Resource).toEqual({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':user/*']],
      });
    });

    it('may send email only as digestSender, through its SES identity (address or domain) and configuration set', () => {
      const t = delegated.hubJson;
      const send = statement(roleStatements(t, roleOf(t, 'DigestFunction')), 'SendDigest');
      const ses = (resource: string) => ({
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':ses:eu-west-1:', { Ref: 'AWS::AccountId' }, `:${resource}`],
        ],
      });
      expect(send).toEqual({
        Sid: 'SendDigest',
        Effect: 'Allow',
        Action: 'ses:SendEmail',
        Resource: [
          ses('identity/credreport@reports.example.com'),
          ses('identity/reports.example.com'),
          ses('configuration-set/credreport-digest'),
        ],
        Condition: { StringEquals: { 'ses:FromAddress': 'credreport@reports.example.com' } },
      });
    });
  });

  describe('least privilege', () => {
    it('grants no wildcard action and uses "*" only for actions that have no resource type', async () => {
      for (const s of all()) {
        const t = s.hubJson;
        for (const [roleId] of resourcesOfType(t, 'AWS::IAM::Role')) {
          expect({ role: roleId, problems: await leastPrivilegeProblems(roleStatements(t, roleId)) }).toEqual(
            {
              role: roleId,
              problems: [],
            },
          );
        }
      }
    });

    // The policies as deployed (intrinsics resolved), evaluated by an IAM simulator: what each role must be
    // able to do, and the nearest things it must not.
    const HUB = '111111111111';
    const MANAGEMENT = '999999999999';
    const deployedStatements = (s: Synthesized, functionPrefix: string) =>
      resolveCfn(s.hubJson, roleStatements(s.hubJson, roleOf(s.hubJson, functionPrefix)), {
        account: HUB,
        region: s.config.deploymentRegion,
      }) as Statement[];
    const bucketOf = (s: Synthesized) => `arn:aws:s3:::${reportBucketId(s.hubJson).toLowerCase()}`;

    it('lets the digest do exactly its job (simulated against the deployed policies)', async () => {
      for (const s of [shipped, delegated]) {
        const b = bucketOf(s);
        const org = (kind: string, id: string) =>
          `arn:aws:organizations::${MANAGEMENT}:${kind}/o-exampleorg1/${id}`;
        const sender = 'credreport@reports.example.com';
        const sesArn = (r: string) => `arn:aws:ses:${s.config.deploymentRegion}:${HUB}:${r}`;
        const mailing = s === delegated;
        const cases: AccessCase[] = [
          { action: 's3:GetObject', resource: `${b}/accounts/222222222222/latest.json`, allowed: true },
          { action: 's3:GetObject', resource: `${b}/incoming/222222222222/r/part-1-of-2`, allowed: false },
          { action: 's3:GetObject', resource: `${b}/org/metadata.json`, allowed: true },
          { action: 's3:GetObject', resource: `${b}/latest/summary.json`, allowed: true },
          { action: 's3:PutObject', resource: `${b}/latest/credential-report.csv`, allowed: true },
          { action: 's3:PutObject', resource: `${b}/runs/date=2026-11-21/summary.json`, allowed: true },
          { action: 's3:PutObject', resource: `${b}/org/metadata.json`, allowed: true },
          { action: 's3:AbortMultipartUpload', resource: `${b}/latest/access-keys.csv`, allowed: true },
          { action: 's3:ListBucket', resource: b, allowed: true, context: { 's3:prefix': 'accounts/' } },
          { action: 's3:ListBucket', resource: b, allowed: true, context: { 's3:prefix': 'incoming/' } },
          { action: 's3:ListBucket', resource: b, allowed: false, context: { 's3:prefix': 'runs/' } },
          // The digest must never write an account's report, nor delete anything.
          { action: 's3:PutObject', resource: `${b}/accounts/222222222222/latest.json`, allowed: false },
          { action: 's3:PutObject', resource: `${b}/incoming/222222222222/r/part-1-of-1`, allowed: false },
          { action: 's3:DeleteObject', resource: `${b}/latest/summary.json`, allowed: false },
          {
            action: 's3:GetObject',
            resource: 'arn:aws:s3:::another-bucket/latest/summary.json',
            allowed: false,
          },
          { action: 'organizations:ListAccounts', resource: '*', allowed: true },
          { action: 'organizations:DescribeOrganization', resource: '*', allowed: true },
          { action: 'organizations:ListRoots', resource: '*', allowed: true },
          { action: 'organizations:ListAccountsForParent', resource: org('root', 'r-ab12'), allowed: true },
          {
            action: 'organizations:ListOrganizationalUnitsForParent',
            resource: org('ou', 'ou-ab12-cd34ef56'),
            allowed: true,
          },
          {
            action: 'organizations:ListTagsForResource',
            resource: org('account', '222222222222'),
            allowed: true,
          },
          { action: 'organizations:ListParents', resource: org('account', '222222222222'), allowed: true },
          {
            action: 'organizations:ListTagsForResource',
            resource: `arn:aws:organizations::${MANAGEMENT}:account/o-otherorg123/222222222222`,
            allowed: false,
          },
          {
            action: 'organizations:ListTagsForResource',
            resource: org('ou', 'ou-ab12-cd34ef56'),
            allowed: false,
          },
          {
            action: 'organizations:DescribeAccount',
            resource: org('account', '222222222222'),
            allowed: false,
          },
          ...(
            [
              'root/o-exampleorg1/r-ab12',
              'ou/o-exampleorg1/ou-ab12-cd34ef56',
              'account/o-exampleorg1/222222222222',
            ] as const
          ).flatMap((target) =>
            (['SERVICE_CONTROL_POLICY', 'RESOURCE_CONTROL_POLICY'] as const).map((type) => ({
              action: 'organizations:ListPoliciesForTarget',
              resource: `arn:aws:organizations::${MANAGEMENT}:${target}`,
              context: { 'organizations:PolicyType': type },
              allowed: true,
            })),
          ),
          // Only SCPs and RCPs, and only in this organization.
          {
            action: 'organizations:ListPoliciesForTarget',
            resource: org('account', '222222222222'),
            context: { 'organizations:PolicyType': 'TAG_POLICY' },
            allowed: false,
          },
          {
            action: 'organizations:ListPoliciesForTarget',
            resource: `arn:aws:organizations::${MANAGEMENT}:account/o-otherorg123/222222222222`,
            context: { 'organizations:PolicyType': 'SERVICE_CONTROL_POLICY' },
            allowed: false,
          },
          {
            action: 'organizations:DescribePolicy',
            resource: `arn:aws:organizations::${MANAGEMENT}:policy/o-exampleorg1/service_control_policy/p-abc12345`,
            allowed: true,
          },
          {
            action: 'organizations:DescribePolicy',
            resource: `arn:aws:organizations::${MANAGEMENT}:policy/o-exampleorg1/resource_control_policy/p-abc12345`,
            allowed: true,
          },
          // The AWS managed FullAWSAccess (arn:aws:organizations::aws:policy/…) is granted by the statement asserted
          // above; the simulator's action database lists no resource type for it, so it is not simulated here.
          {
            action: 'organizations:DescribePolicy',
            resource: `arn:aws:organizations::${MANAGEMENT}:policy/o-exampleorg1/tag_policy/p-abc12345`,
            allowed: false,
          },
          {
            action: 'organizations:DescribePolicy',
            resource: `arn:aws:organizations::${MANAGEMENT}:policy/o-otherorg123/service_control_policy/p-abc12345`,
            allowed: false,
          },
          {
            action: 'organizations:ListPolicies',
            resource: '*',
            allowed: false,
          },
          { action: 'iam:GenerateCredentialReport', resource: '*', allowed: true },
          { action: 'iam:ListAccessKeys', resource: `arn:aws:iam::${HUB}:user/alice`, allowed: true },
          { action: 'iam:GetAccessKeyLastUsed', resource: `arn:aws:iam::${HUB}:user/ops/bob`, allowed: true },
          {
            action: 'iam:ListAccessKeys',
            resource: 'arn:aws:iam::222222222222:user/alice',
            resourceAccount: '222222222222',
            allowed: false,
          },
          { action: 'iam:CreateAccessKey', resource: `arn:aws:iam::${HUB}:user/alice`, allowed: false },
          {
            action: 'ses:SendEmail',
            resource: sesArn(`identity/${sender}`),
            context: { 'ses:FromAddress': sender },
            allowed: mailing,
          },
          {
            action: 'ses:SendEmail',
            resource: sesArn('identity/reports.example.com'),
            context: { 'ses:FromAddress': sender },
            allowed: mailing,
          },
          {
            action: 'ses:SendEmail',
            resource: sesArn('configuration-set/credreport-digest'),
            context: { 'ses:FromAddress': sender },
            allowed: mailing,
          },
          {
            action: 'ses:SendEmail',
            resource: sesArn('identity/reports.example.com'),
            context: { 'ses:FromAddress': 'ceo@reports.example.com' },
            allowed: false,
          },
          {
            action: 'ses:SendEmail',
            resource: sesArn('identity/example.org'),
            context: { 'ses:FromAddress': sender },
            allowed: false,
          },
          {
            action: 'ses:SendEmail',
            resource: sesArn('configuration-set/other'),
            context: { 'ses:FromAddress': sender },
            allowed: false,
          },
        ];
        expect(
          await accessMismatches(deployedStatements(s, 'DigestFunction'), cases, {
            principal: `arn:aws:iam::${HUB}:role/digest`,
            principalAccount: HUB,
          }),
        ).toEqual([]);
      }
    });

    it('lets the ingest store parts and account reports, and nothing under the digest outputs', async () => {
      const b = bucketOf(shipped);
      const cases: AccessCase[] = [
        { action: 's3:PutObject', resource: `${b}/incoming/222222222222/r/part-1-of-2`, allowed: true },
        { action: 's3:GetObject', resource: `${b}/incoming/222222222222/r/part-2-of-2`, allowed: true },
        { action: 's3:GetObject', resource: `${b}/accounts/222222222222/latest.json`, allowed: true },
        { action: 's3:PutObject', resource: `${b}/accounts/222222222222/latest.json`, allowed: true },
        { action: 's3:PutObject', resource: `${b}/accounts/222222222222/history/t.json.gz`, allowed: true },
        { action: 's3:PutObject', resource: `${b}/accounts/222222222222/rejected.json`, allowed: true },
        { action: 's3:ListBucket', resource: b, allowed: true, context: { 's3:prefix': 'incoming/2222/r/' } },
        { action: 's3:ListBucket', resource: b, allowed: false, context: { 's3:prefix': 'accounts/' } },
        { action: 's3:PutObject', resource: `${b}/latest/credential-report.csv`, allowed: false },
        { action: 's3:GetObject', resource: `${b}/org/metadata.json`, allowed: false },
        { action: 's3:DeleteObject', resource: `${b}/incoming/222222222222/r/part-1-of-2`, allowed: false },
      ];
      expect(
        await accessMismatches(deployedStatements(shipped, 'IngestFunction'), cases, {
          principal: `arn:aws:iam::${HUB}:role/ingest`,
          principalAccount: HUB,
        }),
      ).toEqual([]);
    });

    it('admits events:PutEvents on the central bus from the member agent role of an org account only (simulated)', async () => {
      const t = shipped.hubJson;
      const deployed = (x: unknown) => resolveCfn(t, x, { account: HUB, region: 'us-east-1' });
      // The bus policy as EventBridge evaluates it: every statement of the bus together.
      const statements = resourcesOfType(t, 'AWS::Events::EventBusPolicy').map(
        ([, p]) => deployed(p.Properties?.Statement) as Record<string, unknown>,
      );
      expect(statements).toHaveLength(2);
      const bus = statements[0]?.Resource as string;
      const member = '222222222222';
      // Every caller below may put events on any bus as far as its own account is concerned.
      const callerPolicy: Statement[] = [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: '*' }];
      const genuine = {
        'aws:PrincipalOrgID': 'o-exampleorg1',
        'events:source': [EVENT_SOURCE],
        'events:detail-type': [EVENT_DETAIL_TYPE],
      };
      const put = (principal: string, context: Record<string, string | string[]>, allowed: boolean) =>
        accessMismatches(
          callerPolicy,
          // AWS sets aws:PrincipalArn from the caller; the simulator takes it from the context.
          [
            {
              action: 'events:PutEvents',
              resource: bus,
              resourceAccount: HUB,
              context: { 'aws:PrincipalArn': principal, ...context },
              allowed,
            },
          ],
          {
            principal,
            principalAccount: principal.split(':')[4] as string,
            resourcePolicy: { Version: '2012-10-17', Statement: statements },
          },
        );
      const agent = `arn:aws:iam::${member}:role/${MEMBER_AGENT_ROLE_NAME}`;
      expect(await put(agent, genuine, true)).toEqual([]);
      // Anyone else of the organization: a PowerUser role, a user, a role with the agent's name in a path.
      expect(await put(`arn:aws:iam::${member}:role/PowerUser`, genuine, false)).toEqual([]);
      expect(await put(`arn:aws:iam::${member}:user/alice`, genuine, false)).toEqual([]);
      expect(await put(`arn:aws:iam::${member}:role/x/${MEMBER_AGENT_ROLE_NAME}`, genuine, false)).toEqual(
        [],
      );
      // The agent's role name in an account outside the organization.
      expect(
        await put(
          `arn:aws:iam::999999999999:role/${MEMBER_AGENT_ROLE_NAME}`,
          { ...genuine, 'aws:PrincipalOrgID': 'o-otherorg123' },
          false,
        ),
      ).toEqual([]);
      // The agent role itself, for another source or detail-type, or a batch that mixes one in.
      expect(await put(agent, { ...genuine, 'events:source': ['aws.other'] }, false)).toEqual([]);
      expect(await put(agent, { ...genuine, 'events:detail-type': ['Scheduled Event'] }, false)).toEqual([]);
      expect(await put(agent, { ...genuine, 'events:source': [EVENT_SOURCE, 'x.forged'] }, false)).toEqual(
        [],
      );

      // Agent failures: the agent role alone, as for parts; nobody else of the organization, nobody outside.
      const failure = { ...genuine, 'events:detail-type': [AGENT_FAILURE_DETAIL_TYPE] };
      expect(await put(agent, failure, true)).toEqual([]);
      expect(await put(`arn:aws:iam::${member}:role/PowerUser`, failure, false)).toEqual([]);
      expect(await put(`arn:aws:iam::${member}:user/alice`, failure, false)).toEqual([]);
      expect(
        await put(
          `arn:aws:iam::999999999999:role/${MEMBER_AGENT_ROLE_NAME}`,
          { ...failure, 'aws:PrincipalOrgID': 'o-otherorg123' },
          false,
        ),
      ).toEqual([]);
      expect(await put(agent, { ...failure, 'events:source': ['aws.lambda'] }, false)).toEqual([]);
      // The hub's own findings source: no member principal may put it, the agent role included, so a routed
      // credreport.findings event always comes from the hub's digest.
      const findings = {
        ...genuine,
        'events:source': [FINDINGS_EVENT_SOURCE],
        'events:detail-type': [FINDING_EVENT_DETAIL_TYPE],
      };
      expect(await put(agent, findings, false)).toEqual([]);
      expect(await put(agent, { ...findings, 'events:detail-type': [EVENT_DETAIL_TYPE] }, false)).toEqual([]);
      expect(await put(`arn:aws:iam::${member}:role/PowerUser`, findings, false)).toEqual([]);
      // Each statement admits one detail-type for the whole call: the agent sends a failure on its own.
      expect(
        await put(
          agent,
          { ...genuine, 'events:detail-type': [EVENT_DETAIL_TYPE, AGENT_FAILURE_DETAIL_TYPE] },
          false,
        ),
      ).toEqual([]);
    });

    it('lets only the ingest and digest roles use the report bucket key, and only through S3 (simulated with the key policy)', async () => {
      const t = withKms.hubJson;
      const deployed = (x: unknown) => resolveCfn(t, x, { account: HUB, region: 'us-east-1' });
      const [keyId, key] = resource(t, 'AWS::KMS::Key', 'ReportsReportsKey');
      const keyArn = deployed(arnOf(keyId)) as string;
      const keyPolicy = deployed(key.Properties?.KeyPolicy);
      const viaS3 = { 'kms:ViaService': 's3.us-east-1.amazonaws.com', 'kms:CallerAccount': HUB };
      const use = (action: string, context: Record<string, string>, allowed: boolean): AccessCase => ({
        action,
        resource: keyArn,
        context,
        allowed,
      });
      const hubRoleCases = [
        use('kms:GenerateDataKey', viaS3, true),
        use('kms:Decrypt', viaS3, true),
        // Not directly, not through another service or another region's S3.
        use('kms:Decrypt', { 'kms:CallerAccount': HUB }, false),
        use('kms:Decrypt', { ...viaS3, 'kms:ViaService': 'sqs.us-east-1.amazonaws.com' }, false),
        use('kms:Decrypt', { ...viaS3, 'kms:ViaService': 's3.eu-west-1.amazonaws.com' }, false),
        // Nothing else of the key.
        use('kms:Encrypt', viaS3, false),
        use('kms:ReEncryptFrom', viaS3, false),
        use('kms:CreateGrant', viaS3, false),
        use('kms:PutKeyPolicy', viaS3, false),
        use('kms:ScheduleKeyDeletion', viaS3, false),
      ];
      for (const fn of ['IngestFunction', 'DigestFunction']) {
        const roleId = roleOf(t, fn);
        expect(
          await accessMismatches(deployed(roleStatements(t, roleId)) as Statement[], hubRoleCases, {
            principal: `arn:aws:iam::${HUB}:role/${roleId}`,
            principalAccount: HUB,
            resourcePolicy: keyPolicy,
          }),
        ).toEqual([]);
      }
      // Another principal of the hub account with full S3 access but no grant on the key: denied.
      const s3Only: Statement[] = [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }];
      expect(
        await accessMismatches(
          s3Only,
          [use('kms:Decrypt', viaS3, false), use('kms:GenerateDataKey', viaS3, false)],
          {
            principal: `arn:aws:iam::${HUB}:role/PowerUser`,
            principalAccount: HUB,
            resourcePolicy: keyPolicy,
          },
        ),
      ).toEqual([]);
      // A CLI user of the hub account granted kms:Decrypt on the key (the documented fetch grant): allowed.
      const fetchGrant: Statement[] = [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: keyArn }];
      expect(
        await accessMismatches(
          fetchGrant,
          [use('kms:Decrypt', viaS3, true), use('kms:GenerateDataKey', viaS3, false)],
          {
            principal: `arn:aws:iam::${HUB}:user/analyst`,
            principalAccount: HUB,
            resourcePolicy: keyPolicy,
          },
        ),
      ).toEqual([]);
      // A principal of a member account, even one allowed kms:* on everything by its own account: denied.
      const member = '222222222222';
      expect(
        await accessMismatches(
          [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }],
          [
            {
              action: 'kms:Decrypt',
              resource: keyArn,
              resourceAccount: HUB,
              context: { 'kms:ViaService': 's3.us-east-1.amazonaws.com', 'kms:CallerAccount': member },
              allowed: false,
            },
          ],
          {
            principal: `arn:aws:iam::${member}:role/Admin`,
            principalAccount: member,
            resourcePolicy: keyPolicy,
          },
        ),
      ).toEqual([]);
    });

    it('attaches no managed policies to any role', () => {
      for (const [, role] of resourcesOfType(shipped.hubJson, 'AWS::IAM::Role')) {
        expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
      }
    });
  });

  describe('report bucket', () => {
    it('is SSE-S3 encrypted, versioned, blocks all public access and logs to the access-log bucket', () => {
      const t = shipped.hubJson;
      shipped.hubTemplate.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LoggingConfiguration: {
          DestinationBucketName: ref(logicalId(t, 'AWS::S3::Bucket', 'ReportsAccessLogs')),
        },
      });
      const [, reports] = resource(t, 'AWS::S3::Bucket', reportBucketId(t));
      expect(reports).toMatchObject({ DeletionPolicy: 'Retain' });
    });

    it('is SSE-KMS with bucket keys under a rotating, retained customer managed key when reportBucketKms is on', () => {
      const t = withKms.hubJson;
      const [keyId, key] = resource(t, 'AWS::KMS::Key', 'ReportsReportsKey');
      expect(key).toMatchObject({
        DeletionPolicy: 'Retain',
        Properties: { EnableKeyRotation: true },
      });
      const [, reports] = resource(t, 'AWS::S3::Bucket', reportBucketId(t));
      expect(reports.Properties?.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: arnOf(keyId) },
          },
        ],
      });
      // S3 server access logging requires SSE-S3 on the log bucket, whatever the report bucket uses.
      const [, logs] = resource(t, 'AWS::S3::Bucket', 'ReportsAccessLogs');
      expect(logs.Properties?.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
      // Off (the default): no key at all beside the alarm topic's.
      expect(resourcesOfType(shipped.hubJson, 'AWS::KMS::Key').map(([id]) => id)).toEqual([
        logicalId(shipped.hubJson, 'AWS::KMS::Key', 'AlarmsTopicKey'),
      ]);
    });

    it('has a key policy of exactly the account root admin and the ingest and digest roles, through S3 of this region and account', () => {
      const t = withKms.hubJson;
      const [, key] = resource(t, 'AWS::KMS::Key', 'ReportsReportsKey');
      const throughS3 = {
        StringEquals: {
          'kms:ViaService': { 'Fn::Join': ['', ['s3.us-east-1.', { Ref: 'AWS::URLSuffix' }]] },
          'kms:CallerAccount': { Ref: 'AWS::AccountId' },
        },
      };
      const role = (sid: string, functionPrefix: string) => ({
        Sid: sid,
        Effect: 'Allow',
        Principal: { AWS: arnOf(roleOf(t, functionPrefix)) },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: '*',
        Condition: throughS3,
      });
      expect((key.Properties?.KeyPolicy as { Statement: unknown[] }).Statement).toEqual([
        {
          Effect: 'Allow',
          Principal: {
            AWS: {
              'Fn::Join': [
                '',
                ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root'],
              ],
            },
          },
          Action: 'kms:*',
          Resource: '*',
        },
        role('AllowIngestRoleThroughS3', 'IngestFunction'),
        role('AllowDigestRoleThroughS3', 'DigestFunction'),
      ]);
      // Each role's own policy: the same two actions, on this key only, under the same conditions.
      const [keyId] = resource(t, 'AWS::KMS::Key', 'ReportsReportsKey');
      for (const fn of ['IngestFunction', 'DigestFunction']) {
        expect(statement(roleStatements(t, roleOf(t, fn)), 'UseReportKeyThroughS3')).toEqual({
          Sid: 'UseReportKeyThroughS3',
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: arnOf(keyId),
          Condition: throughS3,
        });
      }
      // Without the key, no role has any KMS permission.
      for (const fn of ['IngestFunction', 'DigestFunction']) {
        expect(
          actionsOf(roleStatements(shipped.hubJson, roleOf(shipped.hubJson, fn))).filter((a) =>
            a.startsWith('kms:'),
          ),
        ).toEqual([]);
      }
    });

    it("expires parts after 7 days, history, runs and the Athena tables' copies after retentionDays, noncurrent versions after 30 days", () => {
      const [, reports] = resource(shipped.hubJson, 'AWS::S3::Bucket', reportBucketId(shipped.hubJson));
      const rules = (reports.Properties?.LifecycleConfiguration as { Rules: Record<string, unknown>[] })
        .Rules;
      expect(rules).toEqual([
        expect.objectContaining({ Prefix: 'incoming/', ExpirationInDays: 7, Status: 'Enabled' }),
        expect.objectContaining({ Prefix: 'accounts/', ExpirationInDays: 400, Status: 'Enabled' }),
        expect.objectContaining({ Prefix: 'runs/', ExpirationInDays: 400, Status: 'Enabled' }),
        expect.objectContaining({ Prefix: 'tables/', ExpirationInDays: 400, Status: 'Enabled' }),
        expect.objectContaining({
          NoncurrentVersionExpiration: { NoncurrentDays: 30 },
          ExpiredObjectDeleteMarker: true,
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          Status: 'Enabled',
        }),
      ]);
      expect(rules.some((r) => r.Prefix === 'latest/' && r.ExpirationInDays !== undefined)).toBe(false);
    });

    it('denies every request without TLS (and below TLS 1.2) on both buckets', () => {
      const policies = resourcesOfType(shipped.hubJson, 'AWS::S3::BucketPolicy');
      expect(policies).toHaveLength(2);
      for (const [, policy] of policies) {
        const statements = (policy.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] })
          .Statement;
        expect(statements).toEqual(
          expect.arrayContaining([
            expect.objectContaining({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
            expect.objectContaining({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
            }),
          ]),
        );
      }
    });
  });

  describe('dead-letter queues', () => {
    it('are SSE-encrypted and TLS-only', () => {
      const t = shipped.hubJson;
      const queues = resourcesOfType(t, 'AWS::SQS::Queue');
      expect(queues).toHaveLength(3);
      for (const [id, queue] of queues) {
        expect(queue.Properties).toMatchObject({
          SqsManagedSseEnabled: true,
          MessageRetentionPeriod: 1_209_600,
        });
        shipped.hubTemplate.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [ref(id)],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        });
      }
    });
  });

  describe('Lambda functions', () => {
    it('run Node.js 22 on ARM64 with JSON logs in a log group with bounded retention', () => {
      const t = shipped.hubJson;
      const functions = resourcesOfType(t, 'AWS::Lambda::Function');
      expect(functions).toHaveLength(2);
      for (const [, fn] of functions) {
        expect(fn.Properties).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN' },
        });
        const logGroup = (fn.Properties?.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
        expect(t.Resources[logGroup]?.Properties).toMatchObject({ RetentionInDays: 90 });
      }
    });

    it('bundle the SDK into the code (no reliance on the runtime copy)', () => {
      // NodejsFunction marks the runtime SDK external unless told otherwise; the asset is bundled, not inline.
      for (const [, fn] of resourcesOfType(shipped.hubJson, 'AWS::Lambda::Function')) {
        expect(fn.Properties?.Code).toMatchObject({ S3Key: expect.stringMatching(/\.zip$/) });
      }
      const digest = shipped.hub.digest.handler.function;
      expect(digest.runtime.name).toBe('nodejs22.x');
    });
  });

  describe('alarms', () => {
    it('watch every DLQ, both functions, missing accounts, email failures and forged parts, notifying the topic', () => {
      const t = shipped.hubJson;
      const topic = logicalId(t, 'AWS::SNS::Topic', 'AlarmsTopic');
      const every = resourcesOfType(t, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties ?? {});
      expect(every).toHaveLength(12);
      for (const alarm of every) expect(alarm).toMatchObject({ AlarmActions: [ref(topic)] });
      // Every alarm but the heartbeat fires on anything above zero.
      const alarms = every.filter((a) => a.MetricName !== 'DigestSucceeded');
      expect(alarms).toHaveLength(11);
      for (const alarm of alarms) {
        expect(alarm).toMatchObject({
          ComparisonOperator: 'GreaterThanThreshold',
          Threshold: 0,
          TreatMissingData: 'notBreaching',
        });
      }
      const queues = resourcesOfType(t, 'AWS::SQS::Queue').map(([id]) => id);
      for (const queue of queues) {
        expect(alarms).toContainEqual(
          expect.objectContaining({
            MetricName: 'ApproximateNumberOfMessagesVisible',
            Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
          }),
        );
      }
      for (const fn of ['IngestFunction', 'DigestFunction']) {
        expect(alarms).toContainEqual(
          expect.objectContaining({
            Namespace: 'AWS/Lambda',
            MetricName: 'Errors',
            Dimensions: [{ Name: 'FunctionName', Value: ref(logicalId(t, 'AWS::Lambda::Function', fn)) }],
          }),
        );
      }
      for (const [metric, service] of [
        ['AccountsMissing', 'credreport-digest'],
        ['EmailFailed', 'credreport-digest'],
        ['ForgedParts', 'credreport-ingest'],
        ['RejectedParts', 'credreport-ingest'],
        ['AgentFailures', 'credreport-ingest'],
      ]) {
        expect(alarms).toContainEqual(
          expect.objectContaining({
            Namespace: METRICS_NAMESPACE,
            MetricName: metric,
            Dimensions: [{ Name: 'service', Value: service }],
          }),
        );
      }
    });

    it('fire the digest heartbeat when no digest succeeded in any hour of the last staleHours, missing data breaching', () => {
      const heartbeat = (x: Synthesized) => {
        const [, alarm] = resource(x.hubJson, 'AWS::CloudWatch::Alarm', 'AlarmsDigestHeartbeatAlarm');
        return alarm.Properties;
      };
      const expected = (periods: number) => ({
        Namespace: METRICS_NAMESPACE,
        MetricName: 'DigestSucceeded',
        Dimensions: [{ Name: 'service', Value: 'credreport-digest' }],
        Statistic: 'Sum',
        Period: 3600,
        EvaluationPeriods: periods,
        DatapointsToAlarm: periods,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        TreatMissingData: 'breaching',
      });
      // staleHours 26 (shipped): 26 one-hour periods; 30.5 is rounded up to 31.
      expect(heartbeat(shipped)).toMatchObject(expected(26));
      expect(heartbeat(withKms)).toMatchObject(expected(31));
      // Within CloudWatch's limit for periods of an hour or more: Period × EvaluationPeriods ≤ 7 days.
      for (const x of all()) {
        const p = heartbeat(x) as { Period: number; EvaluationPeriods: number };
        expect(p.Period * p.EvaluationPeriods).toBeLessThanOrEqual(604_800);
      }
    });

    it('publish to an existing topic given as alarmTopicArn, creating no topic, key or subscription', () => {
      const t = toTopic.hubJson;
      const alarms = resourcesOfType(t, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties ?? {});
      expect(alarms).toHaveLength(12);
      for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([EXISTING_TOPIC]);
      toTopic.hubTemplate.resourceCountIs('AWS::SNS::Topic', 0);
      toTopic.hubTemplate.resourceCountIs('AWS::SNS::TopicPolicy', 0);
      toTopic.hubTemplate.resourceCountIs('AWS::SNS::Subscription', 0);
      toTopic.hubTemplate.resourceCountIs('AWS::KMS::Key', 0);
    });

    it('keep the topic with no subscription and warn at synth when alarmDelivery is "none"', () => {
      const optedOut = synthesize({
        'aws:cdk:bundling-stacks': [],
        alarmEmail: undefined,
        alarmDelivery: 'none',
      });
      try {
        expect(optedOut.config.alarmDelivery).toEqual({ kind: 'none' });
        optedOut.hubTemplate.resourceCountIs('AWS::SNS::Topic', 1);
        optedOut.hubTemplate.resourceCountIs('AWS::SNS::Subscription', 0);
        const warning = Match.stringLikeRegexp('alarmDelivery is "none"');
        Annotations.fromStack(optedOut.hub).hasWarning('*', warning);
        Annotations.fromStack(shipped.hub).hasNoWarning('*', warning);
      } finally {
        fs.rmSync(optedOut.assemblyDir, { recursive: true, force: true });
      }
    });

    it('match the namespace and service the functions publish their metrics under', () => {
      expect(envOf(shipped.hubJson, 'DigestFunction')).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_SERVICE_NAME: 'credreport-digest',
      });
      expect(envOf(shipped.hubJson, 'IngestFunction')).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_SERVICE_NAME: 'credreport-ingest',
      });
    });

    it("go to a KMS-encrypted, TLS-only topic subscribed to alarmEmail, whose key only this account's alarms may use", () => {
      const t = shipped.hubJson;
      shipped.hubTemplate.hasResourceProperties('AWS::SNS::Topic', {
        KmsMasterKeyId: arnOf(logicalId(t, 'AWS::KMS::Key', 'AlarmsTopicKey')),
      });
      shipped.hubTemplate.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      // CloudWatch may use the key for this account's alarms only.
      shipped.hubTemplate.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            {
              Sid: 'AllowCloudWatchAlarmsToPublish',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
              Resource: '*',
              Condition: {
                StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
                ArnLike: {
                  'aws:SourceArn': {
                    'Fn::Join': [
                      '',
                      [
                        'arn:',
                        { Ref: 'AWS::Partition' },
                        ':cloudwatch:us-east-1:',
                        { Ref: 'AWS::AccountId' },
                        ':alarm:*',
                      ],
                    ],
                  },
                },
              },
            },
          ]),
        },
      });
      shipped.hubTemplate.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
            }),
          ]),
        },
      });
      shipped.hubTemplate.resourceCountIs('AWS::SNS::Subscription', 1);
      shipped.hubTemplate.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'security-alerts@example.com',
      });
      delegated.hubTemplate.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'oncall@example.com',
      });
    });
  });

  describe('outputs', () => {
    it('exports the bucket, the bus ARN and the digest function name under the OutputKeys the CLI reads', () => {
      const t = shipped.hubJson;
      expect(Object.keys(t.Outputs ?? {}).sort()).toEqual(
        [HUB_OUTPUTS.centralBusArn, HUB_OUTPUTS.digestFunctionName, HUB_OUTPUTS.reportBucketName].sort(),
      );
      expect(t.Outputs?.ReportBucketName?.Value).toEqual(ref(reportBucketId(t)));
      expect(t.Outputs?.CentralBusArn?.Value).toEqual(
        arnOf(logicalId(t, 'AWS::Events::EventBus', 'CentralBus')),
      );
      expect(t.Outputs?.DigestFunctionName?.Value).toEqual(
        ref(logicalId(t, 'AWS::Lambda::Function', 'DigestFunction')),
      );
    });

    it('exports the report bucket key ARN (what readers need kms:Decrypt on) when reportBucketKms is on', () => {
      const t = withKms.hubJson;
      expect(Object.keys(t.Outputs ?? {})).toContain(HUB_OUTPUTS.reportBucketKeyArn);
      expect(t.Outputs?.[HUB_OUTPUTS.reportBucketKeyArn]?.Value).toEqual(
        arnOf(logicalId(t, 'AWS::KMS::Key', 'ReportsReportsKey')),
      );
    });
  });

  describe('member StackSet', () => {
    it('is service-managed, auto-deploys, targets the root in one region, and is called as SELF from the management account', () => {
      const t = shipped.hubJson;
      const [, stackSet] = resource(t, 'AWS::CloudFormation::StackSet', 'Members');
      expect(stackSet.Properties).toMatchObject({
        StackSetName: MEMBER_STACKSET_NAME,
        PermissionModel: 'SERVICE_MANAGED',
        AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
        CallAs: 'SELF',
        Capabilities: ['CAPABILITY_NAMED_IAM'],
        ManagedExecution: { Active: true },
        OperationPreferences: {
          RegionConcurrencyType: 'PARALLEL',
          MaxConcurrentPercentage: 50,
          FailureTolerancePercentage: 10,
          ConcurrencyMode: 'SOFT_FAILURE_TOLERANCE',
        },
        StackInstancesGroup: [
          {
            DeploymentTargets: { AccountFilterType: 'NONE', OrganizationalUnitIds: ['r-ab12'] },
            Regions: ['us-east-1'],
          },
        ],
        Parameters: [
          {
            ParameterKey: 'CentralBusArn',
            ParameterValue: arnOf(logicalId(t, 'AWS::Events::EventBus', 'CentralBus')),
          },
          { ParameterKey: 'AgentSchedule', ParameterValue: 'rate(1 day)' },
        ],
      });
      expect(stackSet.Properties?.TemplateURL).toBeDefined();
    });

    it('is called as DELEGATED_ADMIN from a delegated admin, with the configured OUs, region and preferences', () => {
      const [, stackSet] = resource(delegated.hubJson, 'AWS::CloudFormation::StackSet', 'Members');
      expect(stackSet.Properties).toMatchObject({
        CallAs: 'DELEGATED_ADMIN',
        AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: true },
        OperationPreferences: { MaxConcurrentPercentage: 100, FailureTolerancePercentage: 25 },
        StackInstancesGroup: [
          {
            DeploymentTargets: {
              AccountFilterType: 'NONE',
              OrganizationalUnitIds: ['ou-ab12-cd34ef56', 'ou-ab12-99887766'],
            },
            Regions: ['eu-west-1'],
          },
        ],
      });
    });

    it('is created after the bus policy and the ingest rule, so the first reports are admitted and routed', () => {
      const t = shipped.hubJson;
      const [, stackSet] = resource(t, 'AWS::CloudFormation::StackSet', 'Members');
      expect(stackSet.DependsOn).toEqual(
        expect.arrayContaining([
          ...resourcesOfType(t, 'AWS::Events::EventBusPolicy').map(([id]) => id),
          logicalId(t, 'AWS::Events::Rule', 'IngestPartsRule'),
          logicalId(t, 'AWS::Lambda::Function', 'IngestFunction'),
        ]),
      );
    });

    it('ships the member template as a file asset of the hub (no asset buckets in member accounts)', () => {
      const manifest = JSON.parse(
        fs.readFileSync(path.join(shipped.assemblyDir, `${shipped.hub.artifactId}.assets.json`), 'utf8'),
      ) as { files: Record<string, { source: { path: string } }> };
      const assets = Object.values(manifest.files).map((f) => f.source.path);
      expect(assets).toContain(shipped.hub.members.memberStack.templateFile);
    });
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged finding on the hub or the member stack, in every configuration', () => {
    for (const s of all()) {
      const report = new AwsSolutionsChecks().validateScope(s.app);
      expect(
        report.violations.map(
          (v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(',')}`,
        ),
      ).toEqual([]);
    }
  });

  it('would report a finding that nobody acknowledged (the check is live)', () => {
    // The access-log bucket's S1 acknowledgement is what keeps it quiet; a bucket without one is reported.
    const app = new App();
    new Bucket(new Stack(app, 'Probe'), 'Unlogged');
    const rules = new AwsSolutionsChecks().validateScope(app).violations.map((v) => v.ruleName);
    expect(rules).toContain('AwsSolutions-S1');
  });
});

describe('cfn-lint', () => {
  it('finds no error and no unexplained warning in the hub and member templates', () => {
    for (const s of all()) {
      const files = templateFiles(s.assemblyDir);
      expect(files.some((f) => f.endsWith('.stackset.template.json'))).toBe(true);
      expect(files.length).toBe(2);
      const findings = cfnLint(files);
      const unexplained = findings.filter(
        (f) => f.Level === 'Error' || !(f.Rule.Id in ACCEPTED_CFN_LINT_WARNINGS) || f.Level !== 'Warning',
      );
      expect(unexplained.map((f) => `${f.Level} ${f.Rule.Id} ${f.Filename}: ${f.Message}`)).toEqual([]);
    }
  });
});

describe('HubStack chat and routing', () => {
  it('creates an encrypted, TLS-only chat topic and hands it and the central bus to the digest (chatTopic, findingEvents)', () => {
    const t = delegated.hubJson;
    const topic = logicalId(t, 'AWS::SNS::Topic', 'ChatTopic');
    const key = logicalId(t, 'AWS::KMS::Key', 'ChatTopicKey');
    delegated.hubTemplate.hasResourceProperties('AWS::SNS::Topic', {
      DisplayName: 'credreport chat summary',
      KmsMasterKeyId: arnOf(key),
    });
    delegated.hubTemplate.hasResourceProperties('AWS::KMS::Key', {
      Description: 'credreport: encrypts the chat summary topic',
      EnableKeyRotation: true,
    });
    delegated.hubTemplate.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [ref(topic)],
      PolicyDocument: Match.objectLike({
        Statement: [
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ],
      }),
    });
    const env = envOf(t, 'DigestFunction');
    expect(env.CHAT_TOPIC_ARN).toEqual(ref(topic));
    expect(env.FINDING_EVENTS_BUS_ARN).toEqual(arnOf(logicalId(t, 'AWS::Events::EventBus', 'CentralBus')));
    expect(env.MAX_FINDING_EVENTS).toBe('200');
    expect(delegated.hubTemplate.findOutputs(HUB_OUTPUTS.chatTopicArn)).toEqual({
      [HUB_OUTPUTS.chatTopicArn]: expect.objectContaining({ Value: ref(topic) }),
    });
  });

  it('keeps the ingest rule to the member agents source, so it never matches credreport.findings', () => {
    for (const s of [shipped, delegated]) {
      const rules = resourcesOfType(s.hubJson, 'AWS::Events::Rule').map(
        ([, r]) => r.Properties?.EventPattern as { source?: string[] } | undefined,
      );
      const patterns = rules.filter((p) => p?.source !== undefined);
      expect(patterns.length).toBeGreaterThan(0);
      for (const p of patterns) expect(p?.source).toEqual([EVENT_SOURCE]);
    }
  });

  it('publishes to an existing topic by its ARN alone, without creating one (chatTopicArn)', () => {
    const t = toTopic.hubJson;
    expect(resourcesOfType(t, 'AWS::SNS::Topic').filter(([id]) => id.startsWith('ChatTopic'))).toEqual([]);
    expect(envOf(t, 'DigestFunction').CHAT_TOPIC_ARN).toBe(EXISTING_CHAT_TOPIC);
    expect(envOf(t, 'DigestFunction').FINDING_EVENTS_BUS_ARN).toBe('');
    const statements = roleStatements(t, roleOf(t, 'DigestFunction'));
    expect(statement(statements, 'PublishChatSummary')).toMatchObject({
      Action: 'sns:Publish',
      Resource: EXISTING_CHAT_TOPIC,
    });
    expect(actionsOf(statements)).not.toContain('events:PutEvents');
    expect(actionsOf(statements)).not.toContain('kms:GenerateDataKey');
  });

  it('gives the digest no SNS or EventBridge grant when both are off (shipped cdk.json)', () => {
    const t = shipped.hubJson;
    const actions = actionsOf(roleStatements(t, roleOf(t, 'DigestFunction')));
    expect(actions).not.toContain('sns:Publish');
    expect(actions).not.toContain('events:PutEvents');
    expect(envOf(t, 'DigestFunction')).toMatchObject({ CHAT_TOPIC_ARN: '', FINDING_EVENTS_BUS_ARN: '' });
  });

  it('lets the digest put only credreport.findings on the central bus and publish only to the chat topic (simulated)', async () => {
    const HUB = '111111111111';
    const t = delegated.hubJson;
    const statements = resolveCfn(t, roleStatements(t, roleOf(t, 'DigestFunction')), {
      account: HUB,
      region: 'eu-west-1',
    }) as Statement[];
    const bus = `arn:aws:events:eu-west-1:${HUB}:event-bus/${CENTRAL_BUS_NAME}`;
    const topic = resolveCfn(t, ref(logicalId(t, 'AWS::SNS::Topic', 'ChatTopic')), {
      account: HUB,
      region: 'eu-west-1',
    }) as string;
    const cases: AccessCase[] = [
      {
        action: 'events:PutEvents',
        resource: bus,
        allowed: true,
        context: { 'events:source': [FINDINGS_EVENT_SOURCE] },
      },
      // It cannot pose as a member agent on the bus, alone or mixed into a batch.
      {
        action: 'events:PutEvents',
        resource: bus,
        allowed: false,
        context: { 'events:source': [EVENT_SOURCE] },
      },
      {
        action: 'events:PutEvents',
        resource: bus,
        allowed: false,
        context: { 'events:source': [FINDINGS_EVENT_SOURCE, EVENT_SOURCE] },
      },
      {
        action: 'events:PutEvents',
        resource: `arn:aws:events:eu-west-1:${HUB}:event-bus/default`,
        allowed: false,
        context: { 'events:source': [FINDINGS_EVENT_SOURCE] },
      },
      { action: 'sns:Publish', resource: topic, allowed: true },
      { action: 'sns:Publish', resource: `arn:aws:sns:eu-west-1:${HUB}:other-topic`, allowed: false },
    ];
    expect(
      await accessMismatches(statements, cases, {
        principal: `arn:aws:iam::${HUB}:role/digest`,
        principalAccount: HUB,
      }),
    ).toEqual([]);
  });
});

function envOf(t: CfnTemplate, functionPrefix: string): Record<string, unknown> {
  const [, fn] = resource(t, 'AWS::Lambda::Function', functionPrefix);
  return (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
}

const PLAUSIBLE_REFERENCES: Readonly<Record<string, string>> = {
  CHAT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111111111111:CredreportHub-ChatTopic-abc',
  FINDING_EVENTS_BUS_ARN: 'arn:aws:events:eu-west-1:111111111111:event-bus/credreport-central',
};

/** Environment values with CloudFormation references replaced by a plausible deployed value. */
function concrete(env: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => [
      k,
      typeof v === 'string' ? v : (PLAUSIBLE_REFERENCES[k] ?? 'credreporthub-reports-0123456789ab'),
    ]),
  );
}

/** The report bucket (the versioned one; the other is its access-log bucket). */
function reportBucketId(t: CfnTemplate): string {
  const found = resourcesOfType(t, 'AWS::S3::Bucket').filter(
    ([, b]) => b.Properties?.VersioningConfiguration !== undefined,
  );
  if (found.length !== 1) throw new Error(`expected one versioned bucket, found ${found.length}`);
  return (found[0] as [string, unknown])[0];
}

function objects(bucket: string, prefix: string) {
  return { 'Fn::Join': ['', [arnOf(bucket), `/${prefix}*`]] };
}
