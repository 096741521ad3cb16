/**
 * The usage export (docs/data-model.md): EventBridge Scheduler invokes the export function every hour;
 * it writes the days that are due, and the days that changed, under `exports/`. The function
 * works out what is due from its ledger and the clock, so a late, repeated or missed run only
 * moves work to another hour.
 *
 * Two dead-letter queues, both alarmed: the schedule's (the invocation itself could not be
 * delivered, e.g. a permission or throttling problem) and the function's own (an invocation
 * that still failed after Lambda's retries, with the error).
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { CALLS_BY_DAY_INDEX } from '../../functions/adapters/dynamodb/tables.ts';
import type { Alerts } from './alerts.ts';
import { AppFunction, functionOptions } from './app-function.ts';
import { BUCKET_PREFIXES, type Data } from './data.ts';
import { acknowledgeObjectWildcards, arnReference } from './nag.ts';
import { ENV } from '../../functions/config.ts';
import { BULK_FUNCTION_MEMORY_MB, EXPORT_SEMI_SPACE_MB } from '../function-memory.ts';

/** How often the export runs (docs/design.md). */
export const EXPORT_SCHEDULE = ScheduleExpression.rate(Duration.hours(1));

/**
 * The partition keys of the export's own items in the accounts table: its ledger of written
 * days, their totals and its lock (functions/adapters/dynamodb/exports.ts). The only items of
 * that table it may write.
 */
export const EXPORT_LEDGER_KEYS = ['EXPORT#*'] as const;

export interface UsageExportProps {
  readonly data: Data;
  readonly alerts: Alerts;
  /** @default one month */
  readonly logRetention?: RetentionDays;
  /** @default false */
  readonly tracing?: boolean;
}

export class UsageExport extends Construct {
  readonly fn: AppFunction;
  readonly schedule: Schedule;
  /** Invocations the scheduler could not deliver. */
  readonly scheduleDeadLetterQueue: Queue;
  /** Invocations that failed after Lambda's retries (and continuation messages that failed twice). */
  readonly failureQueue: Queue;
  /** Messages that invoke the export again when a run stopped for lack of time. */
  readonly continuations: Queue;

  constructor(scope: Construct, id: string, props: UsageExportProps) {
    super(scope, id);
    const { data, alerts } = props;
    const deadLetterQueue = (qid: string) => new Queue(this, qid, { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    this.scheduleDeadLetterQueue = deadLetterQueue('ScheduleDeadLetters');
    this.failureQueue = deadLetterQueue('FailedRuns');

    this.fn = new AppFunction(this, 'Function', {
      handlerFile: 'export.ts',
      description: 'Tollgate usage export: writes the daily usage CSV and the monthly per-code summary of every account',
      // The handler stops starting new days 3 minutes before the end (TIME_RESERVE_MS).
      timeout: Duration.minutes(15),
      memorySize: BULK_FUNCTION_MEMORY_MB,
      semiSpaceMb: EXPORT_SEMI_SPACE_MB,
      asyncFailureQueue: this.failureQueue,
      asyncRetryAttempts: 2,
      // The next hourly run does the same work: an older event is no use.
      asyncMaxEventAge: Duration.hours(1),
      ...functionOptions(props),
    });
    this.fn.useTable(ENV.callsTable, data.calls, 'read', { index: CALLS_BY_DAY_INDEX });
    this.fn.useTable(ENV.accountsTable, data.accounts, 'read-write', { writeLeadingKeys: EXPORT_LEDGER_KEYS });
    // config.ts asks for every table name; the export never reads or writes codes.
    this.fn.useTable(ENV.codesTable, data.codes, 'none');
    this.fn.useBucket(ENV.bucket, data.bucket, { write: [BUCKET_PREFIXES.exports] });
    this.continuations = this.makeContinuations();

    // The scheduler's own role, here rather than the stack-wide one the target would make, so
    // its single finding can be acknowledged where it is granted.
    const scheduleRole = new Role(this, 'ScheduleRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
      description: 'Tollgate: EventBridge Scheduler invokes the usage export',
    });
    this.schedule = new Schedule(this, 'Hourly', {
      description: 'Tollgate: the hourly usage export',
      schedule: EXPORT_SCHEDULE,
      target: new LambdaInvoke(this.fn, {
        role: scheduleRole,
        input: ScheduleTargetInput.fromObject({ source: 'tollgate.schedule' }),
        deadLetterQueue: this.scheduleDeadLetterQueue,
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
      }),
    });

    acknowledgeObjectWildcards(this.fn, data.bucket, {
      [BUCKET_PREFIXES.exports]:
        'The export function writes usage files under exports/<account>/usage/… for every account (docs/data-model.md); it can read nothing in the bucket and write nowhere else.',
    });
    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${arnReference(this.fn)}:*]`,
      reason: "CDK's LambdaInvoke target grants lambda:InvokeFunction on the export function and its versions (ARN:*); that one action, on that one function.",
    });
    // The failed runs are also the continuations' redrive target, which cdk-nag recognises.
    Validations.of(this.scheduleDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself a dead-letter queue (of the schedule target); cdk-nag only recognises SQS redrive policies.',
    });
    alerts.functionErrors('ExportErrors', this.fn, 'The usage export');
    alerts.functionThrottles('ExportThrottles', this.fn, 'The usage export');
    alerts.deadLetters('ExportScheduleDeadLetters', this.scheduleDeadLetterQueue, 'Starting the hourly usage export');
    alerts.deadLetters('ExportFailedRuns', this.failureQueue, 'An hourly usage export');
  }

  /**
   * A run out of time (a backlog of days) sends a message here, which invokes the function
   * again at once instead of at the next hour (docs/data-model.md).
   */
  private makeContinuations(): Queue {
    const queue = new Queue(this, 'Continuations', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.minutes(15 * 6),
      retentionPeriod: Duration.hours(2),
      deadLetterQueue: { queue: this.failureQueue, maxReceiveCount: 2 },
    });
    queue.grantSendMessages(this.fn);
    this.fn.useSetting(ENV.exportQueueUrl, queue.queueUrl);
    this.fn.addEventSource(new SqsEventSource(queue, { batchSize: 1, maxConcurrency: 2 }));
    return queue;
  }
}
