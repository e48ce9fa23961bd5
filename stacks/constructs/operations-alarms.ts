import { Annotations, ArnFormat, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alarmTopicArnProblem } from '../config';

const EMAIL = /^[^@\s,<>"]+@[^@\s,<>"]+\.[^@\s,<>".]+$/;

/** Where the alarms notify. One of its factories: {@link AlarmDelivery.email}, `existingTopic`, `none`. */
export class AlarmDelivery {
  /** Create the alarm topic and subscribe `address` (it must confirm the subscription). */
  static email(address: string): AlarmDelivery {
    return new AlarmDelivery('email', address);
  }
  /** Publish to an existing standard SNS topic of the stack's region; no topic is created. */
  static existingTopic(topicArn: string): AlarmDelivery {
    return new AlarmDelivery('topic', topicArn);
  }
  /**
   * The explicit opt-out: the alarm topic is created with no subscription (subscribe chat or ticketing to
   * it yourself), and synth warns that the alarms notify nobody.
   */
  static none(): AlarmDelivery {
    return new AlarmDelivery('none');
  }
  private constructor(
    /** Which kind of delivery. */
    readonly kind: 'email' | 'topic' | 'none',
    /** The address (`email`) or the topic ARN (`topic`). */
    readonly target?: string,
  ) {}
}

/** Longest evaluation range of a CloudWatch alarm whose period is one hour or more (7 days), in hours. */
export const MAX_ALARM_EVALUATION_HOURS = 168;

/**
 * Periods of the heartbeat alarm for "nothing within `hours`": one-hour periods, `hours` rounded up to
 * whole hours, at most {@link MAX_ALARM_EVALUATION_HOURS} (PutMetricAlarm: Period × EvaluationPeriods ≤
 * 604,800 s for periods of an hour or more). `capped` says the window is shorter than asked.
 */
export function heartbeatPeriods(hours: number): {
  readonly evaluationPeriods: number;
  readonly capped: boolean;
} {
  if (!(hours > 0) || !Number.isFinite(hours)) {
    throw new Error(`heartbeatPeriods: hours must be a positive number (got ${hours})`);
  }
  const whole = Math.ceil(hours);
  return {
    evaluationPeriods: Math.min(whole, MAX_ALARM_EVALUATION_HOURS),
    capped: whole > MAX_ALARM_EVALUATION_HOURS,
  };
}

/** Properties of {@link OperationsAlarms}. */
export interface OperationsAlarmsProps {
  /** Where the alarms notify (required: `AlarmDelivery.none()` is the explicit opt-out). */
  readonly delivery: AlarmDelivery;
}

/**
 * The alarm topic (KMS-encrypted with a rotating customer-managed key that only this account's alarms may
 * use through CloudWatch, TLS-only) or an existing topic, and helpers that add the alarms the hub needs,
 * each notifying that topic.
 */
export class OperationsAlarms extends Construct {
  /** Topic every alarm notifies. */
  readonly topic: sns.ITopic;
  /** Alarms added so far, by id. */
  readonly alarms: Record<string, cloudwatch.Alarm> = {};
  private readonly action: cwActions.SnsAction;

  constructor(scope: Construct, id: string, props: OperationsAlarmsProps) {
    super(scope, id);
    const { delivery } = props;
    const stack = Stack.of(this);
    if (delivery.kind === 'email' && !EMAIL.test(delivery.target ?? '')) {
      throw new Error(
        `OperationsAlarms ${id}: delivery email must be an email address (got ${delivery.target})`,
      );
    }
    if (delivery.kind === 'topic') {
      const arn = delivery.target ?? '';
      const problem = Token.isUnresolved(stack.region) ? undefined : alarmTopicArnProblem(arn, stack.region);
      if (problem !== undefined) throw new Error(`OperationsAlarms ${id}: delivery topic ${arn}: ${problem}`);
      this.topic = sns.Topic.fromTopicArn(this, 'Topic', arn);
      this.action = new cwActions.SnsAction(this.topic);
      return;
    }

    // The AWS-managed aws/sns key cannot be used by CloudWatch alarms; a customer-managed key can.
    const key = new kms.Key(this, 'TopicKey', {
      description: 'credreport: encrypts the alarm topic',
      enableKeyRotation: true,
      // It only encrypts alarm notifications in flight: nothing to keep once the stack is gone.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    const alarmArns = stack.formatArn({
      service: 'cloudwatch',
      resource: 'alarm',
      resourceName: '*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        // Only for this account's alarms: the service principal alone would let CloudWatch use the key on
        // behalf of any account or resource (the confused-deputy case).
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': alarmArns },
        },
      }),
    );
    const topic = new sns.Topic(this, 'Topic', {
      displayName: 'credreport alarms',
      masterKey: key,
      enforceSSL: true,
    });
    // enforceSSL replaces the default topic policy, so say explicitly that this account's alarms may publish.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisAccountsAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { ArnLike: { 'aws:SourceArn': alarmArns } },
      }),
    );
    if (delivery.kind === 'email') {
      topic.addSubscription(new subscriptions.EmailSubscription(delivery.target ?? ''));
    } else {
      Annotations.of(this).addWarningV2(
        'credreport:alarmDeliveryNone',
        'alarmDelivery is "none": the alarms publish to a topic nobody is subscribed to, so no one is told when reports go missing or the digest stops. Set alarmEmail or alarmTopicArn, or subscribe to the topic yourself.',
      );
    }
    this.topic = topic;
    this.action = new cwActions.SnsAction(topic);
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

  /**
   * Heartbeat: alarm when `metric` (a count published once per success) sums to nothing in every one-hour
   * period of the last `withinHours` (rounded up to whole hours, at most 168), missing data breaching — so
   * "no success within `withinHours`" fires, including when the function never ran at all.
   */
  onMissingHeartbeat(
    id: string,
    metric: cloudwatch.Metric,
    withinHours: number,
    description: string,
  ): cloudwatch.Alarm {
    const { evaluationPeriods, capped } = heartbeatPeriods(withinHours);
    if (capped) {
      Annotations.of(this).addWarningV2(
        'credreport:heartbeatCapped',
        `${id}: a CloudWatch alarm evaluates at most ${MAX_ALARM_EVALUATION_HOURS} hours, so it fires after ${MAX_ALARM_EVALUATION_HOURS} hours without success rather than ${withinHours}.`,
      );
    }
    const alarm = new cloudwatch.Alarm(this, id, {
      metric: metric.with({ statistic: 'Sum', period: Duration.hours(1) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods,
      datapointsToAlarm: evaluationPeriods,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(this.action);
    this.alarms[id] = alarm;
    return alarm;
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
