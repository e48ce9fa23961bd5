import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { DEFAULT_THRESHOLDS } from '../../core/thresholds';
import { CentralBus } from '../../stacks/constructs/central-bus';
import { HubFunction } from '../../stacks/constructs/hub-function';
import { MemberAgent, type MemberAgentProps } from '../../stacks/constructs/member-agent';
import { MemberStackSet, type MemberStackSetProps } from '../../stacks/constructs/member-stackset';
import { AlarmDelivery, heartbeatPeriods, OperationsAlarms } from '../../stacks/constructs/operations-alarms';
import { ReportBucket, ReportBucketEncryption } from '../../stacks/constructs/report-bucket';
import { ReportDigest, type ReportDigestProps } from '../../stacks/constructs/report-digest';
import { ReportIngest } from '../../stacks/constructs/report-ingest';
import {
  acknowledgeWildcardResources,
  grantAcknowledged,
} from '../../stacks/constructs/nag-acknowledgements';

// Construct validation runs before anything is bundled, so these need no synth.
const stack = () => new Stack(new App(), 'Test', { env: { region: 'us-east-1' } });

describe('CentralBus', () => {
  it('throws naming organizationId when it is not o-…', () => {
    expect(() => new CentralBus(stack(), 'Bus', { organizationId: '123456789012' })).toThrow(
      /CentralBus Bus: organizationId must look like o-/,
    );
  });
});

describe('ReportBucket', () => {
  it('grants a role no KMS permission when the bucket is SSE-S3, and the key through S3 when it has a key', () => {
    for (const encryption of [
      ReportBucketEncryption.S3_MANAGED,
      ReportBucketEncryption.CUSTOMER_MANAGED_KEY,
    ]) {
      const s = stack();
      const reports = new ReportBucket(s, 'R', { retentionDays: 30, noncurrentVersionDays: 30, encryption });
      const role = new iam.Role(s, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      reports.allowKeyUseThroughS3('AllowRole', role);
      const policies = Template.fromStack(s).findResources('AWS::IAM::Policy');
      const kmsStatements = JSON.stringify(policies).includes('kms:');
      expect({ encryption, key: reports.encryptionKey !== undefined, kmsStatements }).toEqual({
        encryption,
        key: encryption === ReportBucketEncryption.CUSTOMER_MANAGED_KEY,
        kmsStatements: encryption === ReportBucketEncryption.CUSTOMER_MANAGED_KEY,
      });
    }
  });

  it('throws naming retentionDays, noncurrentVersionDays or incomingDays when not a positive whole number', () => {
    expect(() => new ReportBucket(stack(), 'R', { retentionDays: 0, noncurrentVersionDays: 30 })).toThrow(
      /ReportBucket R: retentionDays must be a whole number of days >= 1/,
    );
    expect(() => new ReportBucket(stack(), 'R', { retentionDays: 30, noncurrentVersionDays: 1.5 })).toThrow(
      /noncurrentVersionDays must be a whole number/,
    );
    expect(
      () => new ReportBucket(stack(), 'R', { retentionDays: 30, noncurrentVersionDays: 30, incomingDays: 0 }),
    ).toThrow(/incomingDays must be a whole number/);
  });
});

describe('HubFunction', () => {
  it('throws naming retryAttempts when outside 0-2', () => {
    const s = stack();
    expect(
      () =>
        new HubFunction(s, 'F', {
          entry: 'aggregator/ingest-handler.ts',
          description: 'x',
          timeout: Duration.minutes(1),
          memorySize: 128,
          environment: {},
          logRetention: logs.RetentionDays.ONE_WEEK,
          deadLetterQueue: new sqs.Queue(s, 'Q'),
          retryAttempts: 3,
          serviceName: 'x',
        }),
    ).toThrow(/HubFunction F: retryAttempts must be 0, 1 or 2/);
  });
});

describe('ReportDigest', () => {
  const props = (s: Stack): ReportDigestProps => ({
    bucket: new s3.Bucket(s, 'B'),
    organizationId: 'o-exampleorg1',
    targetOrganizationalUnitIds: ['r-ab12'],
    schedule: 'cron(0 7 * * ? *)',
    timeZone: 'UTC',
    recipients: [],
    tagKeys: [],
    breakdownTag: 'Environment',
    thresholds: DEFAULT_THRESHOLDS,
    maxEmailBytes: 10_000_000,
    tagCacheHours: 24,
    logRetention: logs.RetentionDays.ONE_WEEK,
  });

  it('throws naming sender when recipients are given without one', () => {
    const s = stack();
    expect(() => new ReportDigest(s, 'D', { ...props(s), recipients: ['a@example.com'] })).toThrow(
      /ReportDigest D: sender is required when recipients are given/,
    );
  });

  it('throws naming recipients when a sender is given without them', () => {
    const s = stack();
    expect(() => new ReportDigest(s, 'D', { ...props(s), sender: 'c@example.com' })).toThrow(
      /ReportDigest D: sender is set but recipients is empty/,
    );
  });

  it('throws naming configurationSet when it is set without a sender', () => {
    const s = stack();
    expect(() => new ReportDigest(s, 'D', { ...props(s), configurationSet: 'credreport' })).toThrow(
      /ReportDigest D: configurationSet is set but sender is not/,
    );
  });

  it('throws naming targetOrganizationalUnitIds when empty', () => {
    const s = stack();
    expect(() => new ReportDigest(s, 'D', { ...props(s), targetOrganizationalUnitIds: [] })).toThrow(
      /ReportDigest D: targetOrganizationalUnitIds must not be empty/,
    );
  });

  it('throws naming maxFindingEvents when it is set without a bus or out of bounds', () => {
    const s = stack();
    expect(() => new ReportDigest(s, 'D', { ...props(s), maxFindingEvents: 10 })).toThrow(
      /ReportDigest D: maxFindingEvents is set but findingEventsBus is not/,
    );
    const t = stack();
    const bus = new events.EventBus(t, 'Bus');
    expect(
      () => new ReportDigest(t, 'D', { ...props(t), findingEventsBus: bus, maxFindingEvents: 0 }),
    ).toThrow(/ReportDigest D: maxFindingEvents must be a whole number from 1 to 10000 \(got 0\)/);
  });

  it('throws naming chatTopicKey when it is set without chatTopic', () => {
    const s = stack();
    expect(() => new ReportDigest(s, 'D', { ...props(s), chatTopicKey: new kms.Key(s, 'K') })).toThrow(
      /ReportDigest D: chatTopicKey is set but chatTopic is not/,
    );
  });
});

describe('OperationsAlarms', () => {
  it('throws naming the delivery email when it is not an address', () => {
    expect(() => new OperationsAlarms(stack(), 'A', { delivery: AlarmDelivery.email('ops team') })).toThrow(
      /OperationsAlarms A: delivery email must be an email address/,
    );
  });

  it('throws naming the delivery topic when it is not an SNS topic ARN of the stack region', () => {
    const topic = (arn: string) => () =>
      new OperationsAlarms(stack(), 'A', { delivery: AlarmDelivery.existingTopic(arn) });
    expect(topic('arn:aws:sqs:us-east-1:123456789012:alarms')).toThrow(
      /OperationsAlarms A: delivery topic .*: expected an SNS topic ARN/,
    );
    expect(topic('arn:aws:sns:eu-west-1:123456789012:alarms')).toThrow(
      /OperationsAlarms A: delivery topic .*: the topic is in eu-west-1, .*own region \(deploymentRegion us-east-1\)/,
    );
    expect(topic('arn:aws:sns:us-east-1:123456789012:alarms')).not.toThrow();
  });

  it('warns at synth that nobody is notified when the delivery is none, and not otherwise', () => {
    const withDelivery = (delivery: AlarmDelivery) => {
      const s = stack();
      new OperationsAlarms(s, 'A', { delivery });
      return Annotations.fromStack(s);
    };
    const warning = Match.stringLikeRegexp(
      'alarmDelivery is "none": the alarms publish to a topic nobody is subscribed to',
    );
    withDelivery(AlarmDelivery.none()).hasWarning('/Test/A', warning);
    withDelivery(AlarmDelivery.email('oncall@example.com')).hasNoWarning('*', warning);
    withDelivery(AlarmDelivery.existingTopic('arn:aws:sns:us-east-1:123456789012:alarms')).hasNoWarning(
      '*',
      warning,
    );
  });

  it('warns that the heartbeat fires after 168 hours when asked for a longer window', () => {
    const s = stack();
    const alarms = new OperationsAlarms(s, 'A', { delivery: AlarmDelivery.email('oncall@example.com') });
    const metric = new cloudwatch.Metric({ namespace: 'Credreport', metricName: 'DigestSucceeded' });
    alarms.onMissingHeartbeat('Week', metric, 200, 'no digest');
    alarms.onMissingHeartbeat('Day', metric, 26, 'no digest');
    const annotations = Annotations.fromStack(s);
    annotations.hasWarning(
      '/Test/A',
      Match.stringLikeRegexp('Week: a CloudWatch alarm evaluates at most 168 hours'),
    );
    annotations.hasNoWarning('*', Match.stringLikeRegexp('Day: '));
  });
});

describe('heartbeatPeriods', () => {
  it('counts whole one-hour periods, rounding a fraction of an hour up', () => {
    expect(heartbeatPeriods(26)).toEqual({ evaluationPeriods: 26, capped: false });
    expect(heartbeatPeriods(0.5)).toEqual({ evaluationPeriods: 1, capped: false });
    expect(heartbeatPeriods(24.1)).toEqual({ evaluationPeriods: 25, capped: false });
  });

  it('caps the window at the 7 days (168 one-hour periods) a CloudWatch alarm can evaluate', () => {
    expect(heartbeatPeriods(168)).toEqual({ evaluationPeriods: 168, capped: false });
    expect(heartbeatPeriods(200)).toEqual({ evaluationPeriods: 168, capped: true });
  });

  it('throws when the window is not a positive number of hours', () => {
    expect(() => heartbeatPeriods(0)).toThrow(/hours must be a positive number/);
    expect(() => heartbeatPeriods(Number.NaN)).toThrow(/hours must be a positive number/);
  });
});

describe('MemberAgent', () => {
  const props: MemberAgentProps = {
    centralBusArn: 'arn:aws:events:us-east-1:111111111111:event-bus/credreport-central',
    schedule: 'rate(1 day)',
    code: 'exports.handler = async () => {};',
    maxEntryBytes: 250_000,
    collectBudgetSeconds: 600,
    logRetention: logs.RetentionDays.ONE_WEEK,
  };

  it('throws naming code when empty', () => {
    expect(() => new MemberAgent(stack(), 'M', { ...props, code: '  ' })).toThrow(
      /MemberAgent M: code is empty/,
    );
  });

  it('throws naming collectBudgetSeconds when it reaches the timeout', () => {
    expect(() => new MemberAgent(stack(), 'M', { ...props, collectBudgetSeconds: 900 })).toThrow(
      /MemberAgent M: collectBudgetSeconds must be below the 900s timeout/,
    );
  });

  it('throws naming startWindowMinutes when the window and the collect budget do not fit the timeout', () => {
    expect(() => new MemberAgent(stack(), 'M', { ...props, startWindowMinutes: 5 })).toThrow(
      /MemberAgent M: startWindowMinutes \(5 min\) \+ collectBudgetSeconds \(600 s\) \+ 60 s to publish exceed the 900s timeout/,
    );
    expect(() => new MemberAgent(stack(), 'M', { ...props, startWindowMinutes: -1 })).toThrow(
      /MemberAgent M: startWindowMinutes must be a whole number of minutes, 0 or more/,
    );
    expect(() => new MemberAgent(stack(), 'M', { ...props, startWindowMinutes: 4 })).not.toThrow();
  });

  it('throws naming maxEntryBytes when outside the EventBridge entry range', () => {
    expect(() => new MemberAgent(stack(), 'M', { ...props, maxEntryBytes: 2_000_000 })).toThrow(
      /MemberAgent M: maxEntryBytes must be from 16384 to 1048576/,
    );
  });

  it('throws naming schedule when a literal expression is malformed', () => {
    expect(() => new MemberAgent(stack(), 'M', { ...props, schedule: 'daily' })).toThrow(
      /MemberAgent M: schedule daily:/,
    );
  });
});

describe('MemberStackSet', () => {
  const props: MemberStackSetProps = {
    centralBusArn: 'arn:aws:events:us-east-1:111111111111:event-bus/credreport-central',
    agentSchedule: 'rate(1 day)',
    organizationalUnitIds: ['r-ab12'],
    region: 'us-east-1',
    delegatedAdmin: false,
    retainStacksOnAccountRemoval: false,
    maxConcurrentPercentage: 50,
    failureTolerancePercentage: 10,
    maxEntryBytes: 250_000,
    collectBudgetSeconds: 600,
    logRetention: logs.RetentionDays.ONE_WEEK,
    agentCode: 'exports.handler = async () => {};',
  };

  it('throws naming organizationalUnitIds when empty or not OU/root ids', () => {
    expect(() => new MemberStackSet(stack(), 'S', { ...props, organizationalUnitIds: [] })).toThrow(
      /MemberStackSet S: organizationalUnitIds must list at least one/,
    );
    expect(
      () => new MemberStackSet(stack(), 'S', { ...props, organizationalUnitIds: ['111111111111'] }),
    ).toThrow(/MemberStackSet S: organizationalUnitIds: 111111111111 is not an OU or root id/);
  });

  it('throws naming the percentage that is out of range', () => {
    expect(() => new MemberStackSet(stack(), 'S', { ...props, maxConcurrentPercentage: 0 })).toThrow(
      /MemberStackSet S: maxConcurrentPercentage must be a whole percentage from 1 to 100/,
    );
    expect(() => new MemberStackSet(stack(), 'S', { ...props, failureTolerancePercentage: 150 })).toThrow(
      /MemberStackSet S: failureTolerancePercentage must be a whole percentage from 0 to 100/,
    );
  });
});

describe('ReportIngest props', () => {
  const props = (s: Stack) => ({
    bus: new events.EventBus(s, 'Bus'),
    bucket: new s3.Bucket(s, 'B'),
    logRetention: logs.RetentionDays.ONE_WEEK,
  });

  it('throws naming maxOpenPartSets when it is below 2 or not whole', () => {
    const s = stack();
    expect(() => new ReportIngest(s, 'I', { ...props(s), maxOpenPartSets: 1 })).toThrow(
      /ReportIngest I: maxOpenPartSets must be an integer from 2 to 1000 \(got 1\)/,
    );
    const t = stack();
    expect(() => new ReportIngest(t, 'I', { ...props(t), maxOpenPartSets: 2.5 })).toThrow(/maxOpenPartSets/);
  });

  it('throws naming reservedConcurrency when it is not a positive integer', () => {
    const s = stack();
    expect(() => new ReportIngest(s, 'I', { ...props(s), reservedConcurrency: 0 })).toThrow(
      /ReportIngest I: reservedConcurrency must be an integer from 1 to 1000 \(got 0\)/,
    );
  });
});

describe('nag acknowledgements', () => {
  const role = () =>
    new iam.Role(stack(), 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const onStar = (sid?: string, actions = ['iam:ListUsers']) =>
    new iam.PolicyStatement({ ...(sid !== undefined ? { sid } : {}), actions, resources: ['*'] });

  it('refuses Resource::* on a role, naming the construct and grantAcknowledged', () => {
    expect(() => acknowledgeWildcardResources(role(), ['*'], 'because')).toThrow(
      /acknowledgeWildcardResources Test\/Role: Resource::\* may be acknowledged only on a policy of one statement \(use grantAcknowledged\)/,
    );
  });

  it('refuses Resource::* on a policy of two statements', () => {
    const r = role();
    const policy = new iam.Policy(r, 'Two', { statements: [onStar('A'), onStar('B', ['iam:GetUser'])] });
    expect(() => acknowledgeWildcardResources(policy, ['*'], 'because')).toThrow(
      /Test\/Role\/Two: Resource::\*/,
    );
  });

  it('grants a wildcard statement in a policy of its own, named by its sid and attached to the role', () => {
    const r = role();
    const policy = grantAcknowledged(r, onStar('ListThem'), 'ListUsers has no resource type.');
    expect(policy.node.path).toBe('Test/Role/ListThem');
    expect(policy.document.statementCount).toBe(1);
    expect(Stack.of(r).resolve(policy.document.toJSON())).toEqual({
      Version: '2012-10-17',
      Statement: [{ Sid: 'ListThem', Effect: 'Allow', Action: 'iam:ListUsers', Resource: '*' }],
    });
  });

  it('throws naming the sid when the statement has none', () => {
    expect(() => grantAcknowledged(role(), onStar(), 'r')).toThrow(
      /grantAcknowledged Test\/Role: the statement needs a sid/,
    );
  });

  it('throws when the statement has a wildcard action or is a Deny', () => {
    expect(() => grantAcknowledged(role(), onStar('All', ['iam:*']), 'r')).toThrow(
      /grantAcknowledged Test\/Role\/All: only Allow statements with exact actions/,
    );
    const deny = new iam.PolicyStatement({
      sid: 'No',
      effect: iam.Effect.DENY,
      actions: ['iam:ListUsers'],
      resources: ['*'],
    });
    expect(() => grantAcknowledged(role(), deny, 'r')).toThrow(/Test\/Role\/No: only Allow statements/);
  });
});
