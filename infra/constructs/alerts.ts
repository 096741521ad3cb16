/**
 * Where people hear that something needs them: one SNS topic for the voice function's alerts
 * (every emergency call, every locked-out user — docs/call-flow.md) and for every CloudWatch alarm, with
 * an optional e-mail subscription. The other constructs add their alarms here.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface AlertsProps {
  /** An address subscribed to the topic (it must confirm the subscription). @default none */
  readonly email?: string;
}

export interface AlarmOptions {
  readonly metric: IMetric;
  /** What it means and what to do, shown in the notification. */
  readonly description: string;
  readonly threshold: number;
  /** @default GREATER_THAN_OR_EQUAL_TO_THRESHOLD */
  readonly comparisonOperator?: ComparisonOperator;
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** @default evaluationPeriods */
  readonly datapointsToAlarm?: number;
}

export class Alerts extends Construct {
  readonly topic: Topic;
  /** Encrypts the topic's messages (caller IDs are personal data). CloudWatch may use it to publish alarms. */
  readonly key: Key;

  constructor(scope: Construct, id: string, props: AlertsProps = {}) {
    super(scope, id);
    this.key = new Key(this, 'Key', { description: 'Tollgate alerts topic', enableKeyRotation: true });
    // Alarm actions publish as CloudWatch, which needs the key to encrypt the message (the
    // statement AWS documents for alarms on encrypted topics; in a key policy `*` is this key).
    this.key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new Topic(this, 'Topic', { displayName: 'Tollgate alerts', masterKey: this.key, enforceSSL: true });
    // The topic policy enforceSSL writes replaces SNS's default one, which let the account's
    // services publish: let this account's alarms publish again, and nobody else's.
    const stack = Stack.of(this);
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
        },
      }),
    );
    if (props.email !== undefined) this.topic.addSubscription(new EmailSubscription(props.email));
  }

  /** An alarm whose state changes are sent to the topic. */
  alarm(id: string, options: AlarmOptions): Alarm {
    const evaluationPeriods = options.evaluationPeriods ?? 1;
    const alarm = new Alarm(this, id, {
      metric: options.metric,
      alarmDescription: options.description,
      threshold: options.threshold,
      comparisonOperator: options.comparisonOperator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods,
      datapointsToAlarm: options.datapointsToAlarm ?? evaluationPeriods,
      // No invocations means nothing went wrong.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    return alarm;
  }

  /** Any error of a function within five minutes. */
  functionErrors(id: string, fn: IFunction, what: string): Alarm {
    return this.alarm(id, {
      metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      description: `${what} failed (a crash or a timeout). Its log group has the error.`,
    });
  }

  /** Any throttled invocation of a function within five minutes. */
  functionThrottles(id: string, fn: IFunction, what: string): Alarm {
    return this.alarm(id, {
      metric: fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      description: `${what} was throttled: the account's Lambda concurrency is used up. Ask AWS for a higher limit.`,
    });
  }

  /** A dead-letter queue that holds any message. */
  deadLetters(id: string, queue: IQueue, what: string): Alarm {
    return this.alarm(id, {
      metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 1,
      description: `${what} failed on every attempt and waits in a dead-letter queue. Read the message, fix the cause, then redrive or delete it.`,
    });
  }
}
