import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

const EMAIL = /^[^@\s,<>"]+@[^@\s,<>"]+\.[^@\s,<>".]+$/;

/** Properties of {@link OperationsAlarms}. */
export interface OperationsAlarmsProps {
  /**
   * Address subscribed to the alarm topic (it must confirm the subscription).
   * @default - no subscription; subscribe whatever you use (chat, ticketing) to the topic
   */
  readonly email?: string;
}

/**
 * The alarm topic (KMS-encrypted with a rotating customer-managed key that CloudWatch may use, TLS-only)
 * and helpers that add the alarms the hub needs, each notifying the topic.
 */
export class OperationsAlarms extends Construct {
  /** Topic every alarm notifies. */
  readonly topic: sns.Topic;
  /** Alarms added so far, by id. */
  readonly alarms: Record<string, cloudwatch.Alarm> = {};
  private readonly action: cwActions.SnsAction;

  constructor(scope: Construct, id: string, props: OperationsAlarmsProps = {}) {
    super(scope, id);
    if (props.email !== undefined && !EMAIL.test(props.email)) {
      throw new Error(`OperationsAlarms ${id}: email must be an email address (got ${props.email})`);
    }
    const stack = Stack.of(this);

    // The AWS-managed aws/sns key cannot be used by CloudWatch alarms; a customer-managed key can.
    const key = new kms.Key(this, 'TopicKey', {
      description: 'credreport: encrypts the alarm topic',
      enableKeyRotation: true,
      // It only encrypts alarm notifications in flight: nothing to keep once the stack is gone.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        // Only for this account's alarms: the service principal alone would let CloudWatch use the key on
        // behalf of any account (the confused-deputy case).
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'credreport alarms',
      masterKey: key,
      enforceSSL: true,
    });
    // enforceSSL replaces the default topic policy, so say explicitly that this account's alarms may publish.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisAccountsAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    if (props.email !== undefined)
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    this.action = new cwActions.SnsAction(this.topic);
  }

  /** Alarm when any message sits in `queue`. */
  onDeadLetters(id: string, queue: sqs.IQueue, description: string): cloudwatch.Alarm {
    return this.add(id, {
      metric: queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 0,
      alarmDescription: description,
    });
  }

  /** Alarm when `fn` reports any error. */
  onErrors(id: string, fn: lambda.IFunction, description: string): cloudwatch.Alarm {
    return this.add(id, {
      metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 0,
      alarmDescription: description,
    });
  }

  /** Alarm when `metric` goes above `threshold`. */
  onMetric(id: string, metric: cloudwatch.IMetric, threshold: number, description: string): cloudwatch.Alarm {
    return this.add(id, { metric, threshold, alarmDescription: description });
  }

  private add(
    id: string,
    props: { metric: cloudwatch.IMetric; threshold: number; alarmDescription: string },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      ...props,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    this.alarms[id] = alarm;
    return alarm;
  }
}
