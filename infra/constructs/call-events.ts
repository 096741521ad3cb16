/**
 * Call-record events in AWS (docs/events.md): the calls table's stream feeds the publisher,
 * which puts each completed or retagged record on the stack's EventBridge bus and queues one
 * delivery per webhook URL; the delivery function POSTs them, signed with the account's secret
 * from the webhook secrets, retrying with backoff for a day before the dead-letter queue and
 * its alarm. The voice function takes no part: a call pays nothing for its events.
 */
import { Duration, SecretValue, Validations } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ENV } from '../../functions/config.ts';
import type { Alerts } from './alerts.ts';
import { AppFunction, functionOptions } from './app-function.ts';
import type { Data } from './data.ts';
import { consumeStream } from './table-stream.ts';

/** Tries of one delivery: with delays doubling from a minute to at most an hour, a day's worth. */
export const WEBHOOK_MAX_RECEIVES = 30;

export interface CallEventsProps {
  readonly data: Data;
  readonly alerts: Alerts;
  readonly logRetention?: RetentionDays;
  readonly tracing?: boolean;
}

export class CallEvents extends Construct {
  readonly bus: EventBus;
  readonly publisher: AppFunction;
  readonly deliverer: AppFunction;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly webhookSecrets: Secret;

  constructor(scope: Construct, id: string, props: CallEventsProps) {
    super(scope, id);
    const { data, alerts } = props;
    const common = functionOptions(props);
    this.bus = new EventBus(this, 'Bus', { description: 'Tollgate: call records as they complete and when they are retagged (source tollgate)' });
    this.webhookSecrets = new Secret(this, 'WebhookSecrets', {
      description: 'Tollgate: each account\'s webhook signing secret, { "acme": "<64 hex digits>" }; put the real value in after the first deploy',
      secretStringValue: SecretValue.unsafePlainText('{}'),
    });
    this.deadLetterQueue = new Queue(this, 'DeadLetters', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    this.queue = new Queue(this, 'Deliveries', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.minutes(1),
      retentionPeriod: Duration.days(2),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: WEBHOOK_MAX_RECEIVES },
    });

    this.publisher = this.makePublisher(data, alerts, common);
    this.deliverer = this.makeDeliverer(common);

    alerts.deadLetters('WebhookDeadLetters', this.deadLetterQueue, 'A call-record webhook delivery');
    Validations.of(this.webhookSecrets).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Each account\'s receivers hold its webhook secret; the operator rotates it with them (README, "Deploy to AWS"): Secrets Manager cannot rotate it alone.',
    });
  }

  /** Reads the stream, the accounts' settings; puts events on the bus and deliveries on the queue. Nothing else. */
  private makePublisher(data: Data, alerts: Alerts, common: Pick<CallEventsProps, 'logRetention' | 'tracing'>): AppFunction {
    const publisher = new AppFunction(this, 'Publisher', {
      handlerFile: 'events-publish.ts',
      description: 'Tollgate call-record events: publishes completed and retagged records',
      timeout: Duration.seconds(30),
      memorySize: 512,
      ...common,
    });
    publisher.useTable(ENV.accountsTable, data.accounts, 'read');
    publisher.useTable(ENV.codesTable, data.codes, 'none');
    publisher.useTable(ENV.callsTable, data.calls, 'none');
    publisher.useSetting(ENV.eventBusName, this.bus.eventBusName);
    publisher.useSetting(ENV.webhookQueueUrl, this.queue.queueUrl);
    publisher.addToRolePolicy(new PolicyStatement({ actions: ['events:PutEvents'], resources: [this.bus.eventBusArn] }));
    this.queue.grantSendMessages(publisher);
    consumeStream(this, publisher, {
      table: data.calls,
      alerts,
      alarms: { failures: 'EventStreamFailures', errors: 'EventPublisherErrors' },
      what: 'Publishing call-record events',
      fnWhat: 'The event publisher',
    });
    return publisher;
  }

  /** POSTs deliveries, reading only the webhook secrets. */
  private makeDeliverer(common: Pick<CallEventsProps, 'logRetention' | 'tracing'>): AppFunction {
    const deliverer = new AppFunction(this, 'Deliverer', {
      handlerFile: 'events-deliver.ts',
      description: 'Tollgate call-record events: POSTs each to a webhook, signed',
      timeout: Duration.seconds(20),
      memorySize: 256,
      ...common,
    });
    deliverer.useSecret(ENV.webhookSecretsArn, this.webhookSecrets);
    deliverer.useSetting(ENV.webhookQueueUrl, this.queue.queueUrl);
    deliverer.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 5 }));

    return deliverer;
  }
}
