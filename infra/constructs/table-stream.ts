/**
 * A function fed by a table's stream, as every stream consumer here is: batches of 100 from the
 * newest record, a failing batch halved until the bad write is found and retried, then set
 * aside in a dead-letter queue whose alarm says so; the function's errors alarmed too.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { StartingPosition, type FilterCriteria } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { Alerts } from './alerts.ts';
import type { AppFunction } from './app-function.ts';

export interface StreamConsumerProps {
  readonly table: Table;
  readonly alerts: Alerts;
  /** The alarms' ids: batches set aside, and the function's errors. */
  readonly alarms: { readonly failures: string; readonly errors: string };
  /** What the function does and what it is, for the alarms' descriptions ("Publishing call-record events", "The event publisher"). */
  readonly what: string;
  readonly fnWhat: string;
  /** Only the records these pass invoke the function. */
  readonly filters?: ReturnType<typeof FilterCriteria.filter>[];
}

/** Wire `fn` to the table's stream; returns the queue of the batches that failed every retry. */
export function consumeStream(scope: Construct, fn: AppFunction, props: StreamConsumerProps): Queue {
  const failures = new Queue(scope, 'StreamFailures', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
  Validations.of(failures).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: 'This queue is itself a dead-letter queue: of the stream batches that failed every retry (cdk-nag recognises only SQS redrive policies).',
  });
  fn.addEventSource(
    new DynamoEventSource(props.table, {
      startingPosition: StartingPosition.LATEST,
      batchSize: 100,
      bisectBatchOnError: true,
      retryAttempts: 10,
      onFailure: new SqsDlq(failures),
      reportBatchItemFailures: false,
      ...(props.filters === undefined ? {} : { filters: props.filters }),
    }),
  );
  Validations.of(fn.role as Construct).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      "CDK's DynamoDB stream source grants dynamodb:ListStreams, which supports no resource-level permission; the stream's own reads (DescribeStream, GetRecords, GetShardIterator) are on the table's stream only.",
  });
  props.alerts.deadLetters(props.alarms.failures, failures, props.what);
  props.alerts.functionErrors(props.alarms.errors, fn, props.fnWhat);
  return failures;
}
