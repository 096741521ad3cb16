/**
 * Imports through the bucket (docs/data-model.md): an object created under `imports/` — and only there —
 * is announced to an SQS queue, which feeds the import function one file at a time. A file
 * whose import throws (storage unavailable) is reported as a batch item failure, tried again,
 * and after the last try kept in a dead-letter queue with an alarm. A wrong file is not a
 * failure: it gets a `rejected` report under `results/`.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { EventType } from 'aws-cdk-lib/aws-s3';
import { SqsDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Alerts } from './alerts.ts';
import { AppFunction, functionOptions } from './app-function.ts';
import { BUCKET_PREFIXES, type Data } from './data.ts';
import { acknowledgeObjectWildcards } from './nag.ts';
import { ENV } from '../../functions/config.ts';
import { BULK_FUNCTION_MEMORY_MB } from '../function-memory.ts';

/** A file of a million rows takes minutes (bench/results/import.json); the import function may run the most Lambda allows. */
export const IMPORT_TIMEOUT = Duration.minutes(15);
/** Deliveries of one notification before it is dead-lettered. */
export const IMPORT_MAX_RECEIVES = 3;

export interface CodeImportProps {
  readonly data: Data;
  readonly alerts: Alerts;
  /**
   * Imports that run at once. Bounded so a burst of uploads cannot take the account's whole
   * Lambda concurrency from the voice function. @default 2
   */
  readonly maxConcurrency?: number;
  /** @default one month */
  readonly logRetention?: RetentionDays;
  /** @default false */
  readonly tracing?: boolean;
}

export class CodeImport extends Construct {
  readonly fn: AppFunction;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: CodeImportProps) {
    super(scope, id);
    const { data, alerts } = props;

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's advice: six times the function's timeout, so a retry after throttling does
      // not find the message still invisible from the attempt before.
      visibilityTimeout: Duration.seconds(IMPORT_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: IMPORT_MAX_RECEIVES },
    });
    data.bucket.addEventNotification(EventType.OBJECT_CREATED, new SqsDestination(this.queue), { prefix: BUCKET_PREFIXES.imports });

    this.fn = new AppFunction(this, 'Function', {
      handlerFile: 'import.ts',
      description: 'Tollgate imports: validates an uploaded settings, codes or users file whole, applies it, writes the report',
      timeout: IMPORT_TIMEOUT,
      memorySize: BULK_FUNCTION_MEMORY_MB,
      ...functionOptions(props),
    });
    this.fn.useTable(ENV.accountsTable, data.accounts, 'read-write');
    this.fn.useTable(ENV.codesTable, data.codes, 'read-write');
    // config.ts asks for every table name; imports never touch calls.
    this.fn.useTable(ENV.callsTable, data.calls, 'none');
    // Authorization digits never rest in the bucket (docs/security.md): a codes file that held
    // them is replaced under imports/ by a redacted copy, and the version that held them, or a
    // rejected file, is deleted for good.
    this.fn.useBucket(ENV.bucket, data.bucket, {
      read: [BUCKET_PREFIXES.imports],
      write: [BUCKET_PREFIXES.results, BUCKET_PREFIXES.imports],
      delete: [BUCKET_PREFIXES.imports],
    });
    this.fn.useSecret(ENV.pepperSecretArn, data.pepper);
    // The operator's SID → account bindings live beside the tokens (docs/security.md, "Tenancy"):
    // a settings file may name only the SIDs bound to its account.
    this.fn.useSecret(ENV.twilioSecretArn, data.twilioTokens);
    // An import that runs short of time pauses at a checkpoint and sends its notification
    // again, for a new invocation to carry on (docs/data-model.md).
    this.fn.useSetting(ENV.importQueueUrl, this.queue.queueUrl);
    this.queue.grantSendMessages(this.fn);
    this.fn.addEventSource(
      new SqsEventSource(this.queue, {
        // One file per invocation: a file may take the whole timeout.
        batchSize: 1,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency ?? 2,
      }),
    );

    acknowledgeObjectWildcards(this.fn, data.bucket, {
      [BUCKET_PREFIXES.imports]: 'The import function reads the files admins upload; any key under imports/ may be one (docs/data-model.md), and nothing else is readable.',
      [BUCKET_PREFIXES.results]: 'The import function writes one report per import under results/, named after the file (docs/data-model.md); it can write nowhere else.',
    });
    alerts.deadLetters('ImportDeadLetters', this.deadLetterQueue, 'An import');
    alerts.functionThrottles('ImportThrottles', this.fn, 'The import function');
    acknowledgeNotificationsHandler(this);
  }
}

/**
 * S3 notifications are configured by a custom resource CDK adds once per stack
 * (BucketNotificationsHandler…); it runs at deploy time only, and its role carries the basic
 * execution managed policy, which CDK does not let us replace.
 */
function acknowledgeNotificationsHandler(scope: Construct): void {
  const stack = Stack.of(scope);
  const handler = stack.node.children.find((c) => c.node.id.startsWith('BucketNotificationsHandler'));
  if (handler === undefined) throw new Error('the bucket notifications handler CDK adds was not found; look again at CodeImport');
  Validations.of(handler).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason:
      "CDK's own bucket-notifications custom resource, run at deploy time only, writes its logs through AWSLambdaBasicExecutionRole; CDK does not let its role be replaced. Its only other grant is s3:PutBucketNotification on this bucket.",
  });
}
